package changes

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// MaxLineBytes bounds one line of a change log; a longer line is reported as
// a LineError and skipped.
const MaxLineBytes = 1 << 20

// LineError is one malformed line of a change log.
type LineError struct {
	File string // the name given to ReadJSONL
	Line int    // 1-based
	Err  error
}

// Error reads like "changes.jsonl:3: kind "deploi" is not one of …".
func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

// Unwrap returns the underlying error.
func (e *LineError) Unwrap() error { return e.Err }

// ReadJSONL reads a change log: one JSON change per line (design.md §4.1).
// Blank lines are skipped. A line that is not valid JSON, lacks a time or
// has an unknown kind is reported as a LineError and the rest are kept.
// Fields sitrep does not know are kept (signal.Change.Extra). A change
// without an id gets "<base name of file>:<line>", so that a hypothesis can
// still point at it. The error is non-nil only when reading r fails.
func ReadJSONL(r io.Reader, name string) ([]signal.Change, []LineError, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		out  []signal.Change
		bad  []LineError
		line []byte
		n    int
	)
	base := filepath.Base(name)
	for {
		chunk, err := br.ReadSlice('\n')
		tooLong := false
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line: gather it up to MaxLineBytes, then skip the rest.
			line = append(line[:0], chunk...)
			for errors.Is(err, bufio.ErrBufferFull) {
				chunk, err = br.ReadSlice('\n')
				if len(line)+len(chunk) > MaxLineBytes {
					tooLong = true
				} else {
					line = append(line, chunk...)
				}
			}
			chunk = line
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return out, bad, fmt.Errorf("read %s: %w", name, err)
		}
		if len(chunk) == 0 && errors.Is(err, io.EOF) {
			break
		}
		n++
		text := bytes.TrimSpace(chunk)
		if n == 1 {
			text = bytes.TrimPrefix(text, []byte("\xef\xbb\xbf")) // byte order mark
		}
		switch {
		case tooLong:
			bad = append(bad, LineError{name, n, fmt.Errorf("line is longer than %d bytes", MaxLineBytes)})
		case len(text) == 0:
		default:
			c, perr := parseLine(text)
			if perr != nil {
				bad = append(bad, LineError{name, n, perr})
				break
			}
			if c.ID == "" {
				c.ID = fmt.Sprintf("%s:%d", base, n)
			}
			out = append(out, c)
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	return out, bad, nil
}

func parseLine(b []byte) (signal.Change, error) {
	var c signal.Change
	if b[0] != '{' {
		return c, fmt.Errorf("not a JSON object (starts with %q)", abbrev(string(b), 20))
	}
	if err := json.Unmarshal(b, &c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return c, fmt.Errorf("field %s: want %s, got %s", te.Field, te.Type, te.Value)
		}
		if strings.Contains(err.Error(), "parsing time") {
			return c, fmt.Errorf("field time: want RFC 3339 such as 2026-11-20T12:03:00Z: %w", err)
		}
		return c, fmt.Errorf("invalid JSON: %w", err)
	}
	if c.Time.IsZero() {
		return c, errors.New("field time is required (RFC 3339, e.g. 2026-11-20T12:03:00Z)")
	}
	if c.Kind == "" {
		return c, fmt.Errorf("field kind is required (one of %s)", strings.Join(signal.ChangeKinds, ", "))
	}
	if !signal.ValidChangeKind(c.Kind) {
		return c, fmt.Errorf("field kind: %q is not one of %s", c.Kind, strings.Join(signal.ChangeKinds, ", "))
	}
	return c, nil
}

func abbrev(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// WriteJSONL writes changes one per line, unknown fields included, times in
// RFC 3339 as they were given.
func WriteJSONL(w io.Writer, changes []signal.Change) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range changes {
		if err := enc.Encode(changes[i]); err != nil {
			return fmt.Errorf("write change %q: %w", changes[i].ID, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write changes: %w", err)
	}
	return nil
}
