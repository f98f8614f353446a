package sqlite

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// timeLayout is how times are stored: UTC, fixed width, to the microsecond,
// so that comparing the text compares the times.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// roundTime is t as the store keeps it: UTC, truncated to the microsecond.
func roundTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func fmtTime(t time.Time) string { return roundTime(t).Format(timeLayout) }

func fmtTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return fmtTime(*t)
}

func parseTime(v any) (time.Time, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		return time.Time{}, fmt.Errorf("time column holds %T, want text", v)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time column: %w", err)
	}
	return t.UTC(), nil
}

// timeCol scans a NOT NULL time column.
type timeCol struct{ dst *time.Time }

func (c timeCol) Scan(v any) error {
	t, err := parseTime(v)
	if err != nil {
		return err
	}
	*c.dst = t
	return nil
}

// nullTimeCol scans a nullable time column into a pointer.
type nullTimeCol struct{ dst **time.Time }

func (c nullTimeCol) Scan(v any) error {
	if v == nil {
		*c.dst = nil
		return nil
	}
	t, err := parseTime(v)
	if err != nil {
		return err
	}
	*c.dst = &t
	return nil
}

// jsonCol scans a JSON text column into dst.
type jsonCol struct{ dst any }

func (c jsonCol) Scan(v any) error {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	case []byte:
		b = x
	case nil:
		return nil
	default:
		return fmt.Errorf("json column holds %T, want text", v)
	}
	return json.Unmarshal(b, c.dst)
}

func jsonList(s []string) string {
	if len(s) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(s) // strings always marshal
	return string(b)
}

func jsonMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// checkTimes rejects times outside the years 0000–9999, which RFC 3339 (and
// so the JSON forms of the records) cannot represent. Arguments are
// time.Time or *time.Time (nil is fine).
func checkTimes(ts ...any) error {
	for _, v := range ts {
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case *time.Time:
			if x == nil {
				continue
			}
			t = *x
		}
		if y := t.UTC().Year(); y < 0 || y > 9999 {
			return fmt.Errorf("time %s is outside the years 0000-9999: %w", t.UTC().Format(time.RFC3339), store.ErrInvalid)
		}
	}
	return nil
}

// checkText rejects what PostgreSQL cannot store in text either, so that
// both backends accept the same records: invalid UTF-8 and NUL bytes.
func checkText(vals ...string) error {
	for _, v := range vals {
		if !utf8.ValidString(v) {
			return fmt.Errorf("text %q is not valid UTF-8: %w", v, store.ErrInvalid)
		}
		if strings.IndexByte(v, 0) >= 0 {
			return fmt.Errorf("text %q contains a NUL byte: %w", v, store.ErrInvalid)
		}
	}
	return nil
}
