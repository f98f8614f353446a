package accesslog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// Options configures Scan.
type Options struct {
	// Paths are files, globs, or "-" for Stdin. Files ending in .gz (or
	// starting with gzip's magic bytes) are decompressed transparently.
	Paths []string
	// Format is a preset name or an nginx log_format string; "" detects the
	// format of each input from its first lines.
	Format string
	Stdin  io.Reader
	// Workers is the number of parsing goroutines; 0 means GOMAXPROCS.
	Workers int
	// MaxSamples is how many malformed lines to keep (default 5).
	MaxSamples int
	// Progress, when set, is called from one goroutine with the bytes read
	// so far and the total (compressed sizes for .gz; 0 total for stdin).
	Progress func(done, total int64)
	// SuspectShare is the share of malformed lines above which the format
	// is probably wrong (default 0.05).
	SuspectShare float64
}

// Malformed is a line that did not parse.
type Malformed struct {
	File   string `json:"file"`
	Line   int64  `json:"line"`
	Text   string `json:"text"`
	Reason string `json:"reason"`
}

// Stats describes what Scan read.
type Stats struct {
	Lines     int64 `json:"lines"`
	Malformed int64 `json:"malformed"`
	// Skipped counts the lines of the proxy's own log mixed into its
	// access log (klog lines and nginx error-log lines in the output of
	// kubectl logs on an ingress controller): neither requests nor
	// malformed.
	Skipped int64    `json:"skipped"`
	Bytes   int64    `json:"bytes"`
	Sources []string `json:"sources"`
	// Formats maps each source to the format used.
	Formats map[string]string `json:"formats"`
	// Containers maps each source read out of a container runtime's
	// wrapper to that wrapper: "cri" (containerd, CRI-O), "docker"
	// (json-file) or "timestamps" (kubectl logs --timestamps).
	Containers map[string]string `json:"containers,omitempty"`
	// ProxyErrors counts what the proxy's error log, found among the
	// access-log lines, says about its upstreams (nginx's "upstream timed
	// out", "connect() failed (111: Connection refused)"), per minute.
	ProxyErrors []signal.ProxyError `json:"-"`
	// Detections holds the detection of each source whose format was
	// detected rather than given.
	Detections map[string]Detection `json:"detections,omitempty"`
	// Samples are the first malformed lines, with file and 1-based line.
	Samples []Malformed `json:"samples,omitempty"`
	// FormatSuspect is set when more than SuspectShare of the lines did not
	// parse: the format is probably wrong.
	FormatSuspect bool `json:"format_suspect,omitempty"`
	// Suggestion is a format that parses the malformed lines better.
	Suggestion string `json:"suggestion,omitempty"`
}

// chunkSize is how much one job carries to a worker: small enough that a
// chunk is still in the cache when a worker reads it, and that the stream
// of chunks does not push the aggregator's indexes out (2 MiB is this
// machine's L2; docs/performance.md has the measurements). A line longer
// than a chunk gets a larger one, up to maxLine; longer lines are
// malformed.
// Variables, so that tests can force many chunks and long lines.
var (
	chunkSize = 256 << 10
	maxLine   = 2 << 20
)

const sniffLines = 64

type input struct {
	path   string // as given / globbed ("-" for stdin)
	source string // base name without .gz
	idx    int
}

type job struct {
	in    *inputState
	chunk int
	buf   *[]byte
	n     int
}

type inputState struct {
	input
	format    *Format
	container container // the wrapper around each line, if any
	mu        sync.Mutex
	lines     []int64 // lines per chunk, filled by workers
}

type sample struct {
	in    int
	chunk int
	line  int64 // 1-based within the chunk
	text  string
	why   string
}

// before orders samples by position: input, chunk, line.
func (a sample) before(b sample) bool {
	if a.in != b.in {
		return a.in < b.in
	}
	if a.chunk != b.chunk {
		return a.chunk < b.chunk
	}
	return a.line < b.line
}

// Scan reads every input and parses every line with Options.Workers
// goroutines. newSink is called once per worker; a worker's sink receives
// that worker's requests, never concurrently. Lines may arrive out of time
// order. The returned error names the file at fault; Stats counts what was
// read up to then.
func Scan(ctx context.Context, opts Options, newSink func() signal.RequestSink) (Stats, error) {
	st := Stats{Formats: map[string]string{}, Detections: map[string]Detection{}, Sources: []string{}}
	inputs, err := expand(opts.Paths)
	if err != nil {
		return st, err
	}
	if opts.MaxSamples <= 0 {
		opts.MaxSamples = 5
	}
	if opts.SuspectShare <= 0 {
		opts.SuspectShare = 0.05
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var given *Format
	if opts.Format != "" {
		if given, err = ParseFormat(opts.Format); err != nil {
			return st, err
		}
	}
	var total int64
	for _, in := range inputs {
		if in.path != "-" {
			if fi, err := os.Stat(in.path); err == nil {
				total += fi.Size()
			}
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job, workers*2)
	free := make(chan *[]byte, workers*3)
	for i := 0; i < cap(free); i++ {
		b := make([]byte, chunkSize)
		free <- &b
	}
	results := make([]workerResult, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			results[w] = runWorker(jobs, free, newSink(), opts.MaxSamples)
		}(w)
	}

	var readErr error
	var done atomic.Int64
	states := make([]*inputState, 0, len(inputs))
	for _, in := range inputs {
		if ctx.Err() != nil {
			readErr = ctx.Err()
			break
		}
		s := &inputState{input: in}
		states = append(states, s)
		st.Sources = append(st.Sources, in.source)
		n, err := readInput(ctx, s, opts, given, jobs, free, &done, total, &st)
		st.Bytes += n
		if err != nil {
			readErr = err
			break
		}
	}
	close(jobs)
	wg.Wait()

	var samples []sample
	errs := newErrorLog()
	for _, r := range results {
		errs.merge(r.errors)
		st.Lines += r.lines
		st.Malformed += r.malformed
		st.Skipped += r.skipped
		samples = append(samples, r.samples...)
	}
	st.ProxyErrors = errs.list()
	sort.Slice(samples, func(i, j int) bool { return samples[i].before(samples[j]) })
	if len(samples) > opts.MaxSamples {
		samples = samples[:opts.MaxSamples]
	}
	for _, s := range samples {
		in := states[s.in]
		var before int64
		for c := 0; c < s.chunk && c < len(in.lines); c++ {
			before += in.lines[c]
		}
		st.Samples = append(st.Samples, Malformed{File: in.path, Line: before + s.line, Text: s.text, Reason: s.why})
	}
	if st.Lines > st.Skipped && float64(st.Malformed)/float64(st.Lines-st.Skipped) > opts.SuspectShare {
		st.FormatSuspect = true
		var lines [][]byte
		for _, s := range samples {
			lines = append(lines, []byte(s.text))
		}
		if d, err := Detect(lines); err == nil && d.ParsedShare > 0.5 {
			for _, f := range st.Formats {
				if d.Format.Name != f {
					st.Suggestion = d.Format.Name
				}
			}
		}
	}
	if len(st.Detections) == 0 {
		st.Detections = nil
	}
	return st, readErr
}

// expand resolves globs; a pattern matching nothing is an error.
func expand(paths []string) ([]input, error) {
	if len(paths) == 0 {
		return nil, errors.New("no input: give at least one --log PATH (a file, a glob, or - for stdin)")
	}
	var out []input
	seen := map[string]bool{}
	add := func(p string) {
		if seen[p] {
			return
		}
		seen[p] = true
		src := "stdin"
		if p != "-" {
			src = containerSource(p)
		}
		out = append(out, input{path: p, source: src, idx: len(out)})
	}
	for _, p := range paths {
		if p == "-" {
			add(p)
			continue
		}
		if strings.ContainsAny(p, "*?[") {
			m, err := filepath.Glob(p)
			if err != nil {
				return nil, fmt.Errorf("log pattern %q: %w", p, err)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("log pattern %q matches no file", p)
			}
			sort.Strings(m)
			for _, f := range m {
				add(f)
			}
			continue
		}
		add(p)
	}
	return out, nil
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// readInput streams one input to the workers in newline-aligned chunks.
// It returns the (uncompressed) bytes read.
func readInput(ctx context.Context, s *inputState, opts Options, given *Format, jobs chan<- job, free chan *[]byte,
	done *atomic.Int64, total int64, st *Stats) (int64, error) {
	var raw io.Reader
	if s.path == "-" {
		if opts.Stdin == nil {
			return 0, errors.New("stdin: no standard input to read")
		}
		raw = opts.Stdin
	} else {
		f, err := os.Open(s.path)
		if err != nil {
			return 0, fmt.Errorf("open log: %w", err)
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.IsDir() {
			return 0, fmt.Errorf("log %s is a directory: give the files inside it (e.g. '%s/*.log')", s.path, s.path)
		}
		raw = f
	}
	br := bufio.NewReaderSize(countingReader{raw, done}, 1<<16)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return 0, fmt.Errorf("log %s: not a valid gzip file: %w", s.path, err)
		}
		defer gz.Close()
		r = gz
	}
	var n int64
	carry := make([]byte, 0, 1<<16)
	skipping := false // inside an over-long line
	// The first chunk is read at the largest size: format detection looks
	// that far past the proxy's own log lines (setup). Later chunks start
	// at chunkSize and grow, up to maxLine, while a line does not fit.
	size := maxLine
	for chunk := 0; ; {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		bp := <-free
		for size <= len(carry) && size < maxLine {
			size *= 2
		}
		size = min(size, maxLine)
		if cap(*bp) < size {
			*bp = make([]byte, size)
		}
		buf := (*bp)[:size]
		c := copy(buf, carry)
		m, err := io.ReadFull(r, buf[c:])
		n += int64(m)
		end := c + m
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			free <- bp
			return n, fmt.Errorf("read log %s: %w", s.path, err)
		}
		if err == io.ErrUnexpectedEOF && r != io.Reader(br) {
			// gzip: ReadFull reports a short read as ErrUnexpectedEOF too;
			// ask the gzip reader whether the stream really ended well.
			if _, err2 := r.Read(make([]byte, 1)); err2 != nil && err2 != io.EOF {
				free <- bp
				return n, fmt.Errorf("log %s: truncated or corrupt gzip stream after %d bytes (is the file still being written?): %w", s.path, n, err2)
			}
		}
		if !eof && !skipping && size < maxLine && bytes.IndexByte(buf[c:end], '\n') < 0 {
			// A line longer than the chunk: carried whole, it sizes the
			// next chunk (above) to twice this one.
			carry = append(carry[:0], buf[:end]...)
			free <- bp
			continue
		}
		if chunk == 0 {
			if err := s.setup(buf[:end], opts, given, st); err != nil {
				free <- bp
				return n, err
			}
		}
		data := buf[:end]
		carry = carry[:0]
		if !eof {
			last := bytes.LastIndexByte(data, '\n')
			if last < 0 {
				// One line longer than a chunk: count it as malformed once.
				if !skipping {
					skipping = true
					data = append(data[:0:0], "\x00too-long"...)
				} else {
					data = data[:0]
				}
			} else {
				carry = append(carry, data[last+1:]...)
				data = data[:last+1]
				if skipping {
					// drop the tail of the long line
					first := bytes.IndexByte(data, '\n')
					data = data[first+1:]
					skipping = false
				}
			}
		} else if skipping {
			// The input ends in or just after an over-long line, already
			// counted: drop its tail.
			if first := bytes.IndexByte(data, '\n'); first >= 0 {
				data = data[first+1:]
			} else {
				data = data[:0]
			}
			skipping = false
		}
		if len(data) > 0 {
			s.mu.Lock()
			s.lines = append(s.lines, 0)
			s.mu.Unlock()
			// the worker owns buf until it returns it to free
			if len(data) > 0 && &data[0] != &buf[0] {
				copy(buf, data)
				data = buf[:len(data)]
			}
			jobs <- job{in: s, chunk: chunk, buf: bp, n: len(data)}
			chunk++
			size = chunkSize
		} else {
			free <- bp
		}
		if opts.Progress != nil {
			opts.Progress(done.Load(), total)
		}
		if eof {
			return n, nil
		}
	}
}

// setup picks the input's format from its first bytes and rejects binary
// files.
func (s *inputState) setup(head []byte, opts Options, given *Format, st *Stats) error {
	probe := head
	if len(probe) > 1<<16 {
		probe = probe[:1<<16]
	}
	if nul := bytes.Count(probe, []byte{0}); nul > 0 && nul*100 >= len(probe) {
		return fmt.Errorf("log %s looks binary (%d NUL bytes in its first %d): is it an access log? Compressed files must end in .gz or be gzip", s.path, nul, len(probe))
	}
	c, raw, lines := look(probe, head)
	if len(lines) == 0 && len(probe) < len(head) {
		// The first 64 KiB are all the proxy's own lines (a controller's
		// start-up): look at the whole first chunk.
		c, raw, lines = look(head, head)
	}
	if fields := w3cFields(probe); fields != nil && (given == nil || given.kind == kindW3C) {
		// A W3C extended log names its columns itself.
		f, err := w3cFormat(fields)
		if err != nil {
			return fmt.Errorf("log %s: %w", s.path, err)
		}
		s.format = f
		s.setContainer(noContainer, st)
		st.Formats[s.source] = f.Name
		return nil
	}
	if given != nil && given.kind == kindW3C {
		return fmt.Errorf("log %s: no #Fields directive in its first lines: a W3C extended log (IIS, CloudFront) names its columns there", s.path)
	}
	if given != nil {
		if c == containerTimestamps {
			withTime, _ := parseCounts(given, raw)
			without, _ := parseCounts(given, lines)
			if withTime > without {
				c = noContainer // the format itself opens with the time
			}
		}
		s.format = given
		s.setContainer(c, st)
		st.Formats[s.source] = given.Name
		return nil
	}
	if len(lines) == 0 {
		s.format, _ = ParseFormat("combined") // empty input: nothing to parse anyway
		s.setContainer(c, st)
		st.Formats[s.source] = "combined"
		return nil
	}
	d, err := Detect(lines)
	if c == containerTimestamps {
		if dr, errRaw := Detect(raw); errRaw == nil && (err != nil || dr.ParsedShare > d.ParsedShare) {
			d, err, c = dr, nil, noContainer // the format itself opens with the time
		}
	}
	if err != nil {
		return fmt.Errorf("log %s: %w", s.path, err)
	}
	s.format = d.Format
	s.setContainer(c, st)
	st.Formats[s.source] = d.Format.Name
	st.Detections[s.source] = d
	return nil
}

// look splits the probe, a prefix of the input's first chunk head, into
// lines and returns the container wrapper they come in, and the first
// lines that are not the proxy's own, as they are and unwrapped.
func look(probe, head []byte) (c container, raw, lines [][]byte) {
	for _, l := range bytes.Split(probe, []byte{'\n'}) {
		if l = bytes.TrimRight(l, "\r"); len(l) > 0 {
			lines = append(lines, l)
		}
	}
	if len(lines) > 1 && !bytes.HasSuffix(probe, []byte{'\n'}) && (len(probe) < len(head) || len(head) >= chunkSize) {
		lines = lines[:len(lines)-1] // the last line may be cut
	}
	c = detectContainer(lines)
	return c, sniff(lines), sniff(c.unwrapSample(lines))
}

// sniff returns the first sniffLines lines that are not the proxy's own
// log (its start-up messages open the output of kubectl logs, and say
// nothing of the format).
func sniff(lines [][]byte) [][]byte {
	var out [][]byte
	for _, l := range lines {
		if len(out) == sniffLines {
			break
		}
		if !ownLog(l) {
			out = append(out, l)
		}
	}
	return out
}

func (s *inputState) setContainer(c container, st *Stats) {
	s.container = c
	if c != noContainer {
		if st.Containers == nil {
			st.Containers = map[string]string{}
		}
		st.Containers[s.source] = c.String()
	}
}

type workerResult struct {
	lines, malformed, skipped int64
	samples                   []sample
	errors                    *errorLog
}

func runWorker(jobs <-chan job, free chan<- *[]byte, sink signal.RequestSink, maxSamples int) workerResult {
	res := workerResult{errors: newErrorLog()}
	parsers := map[*inputState]*parser{}
	var scratch []byte // a line out of Docker's escaped wrapper
	for j := range jobs {
		p := parsers[j.in]
		if p == nil {
			p = newParser(j.in.format, j.in.source)
			parsers[j.in] = p
		}
		data := (*j.buf)[:j.n]
		var lines int64
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			var line []byte
			if i < 0 {
				line, data = data, nil
			} else {
				line, data = data[:i], data[i+1:]
			}
			lines++
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			if len(line) == 0 {
				continue
			}
			res.lines++
			var why string
			var u unwrapped
			if line[0] == 0 && string(line) == "\x00too-long" {
				why = fmt.Sprintf("line longer than %d bytes", maxLine-1)
			} else if u = unwrapLine(j.in.container, line, &scratch); len(u.line) == 0 {
				res.skipped++ // an empty line, written by the proxy as such
				continue
			} else if why = p.parse(u.line); why == "" {
				if p.req.Time == 0 && u.stamp != nil {
					// The line has no time of its own: the runtime's
					// is when it was written.
					p.req.Time, _ = parseISO(u.stamp)
				}
				p.req.Key = xxhash.Sum64(line) ^ p.keySalt
				sink.Add(&p.req)
				continue
			} else if u.stderr || ownLog(u.line) {
				res.errors.add(u.line, u.stamp, p.der.offset())
				res.skipped++
				continue
			} else if u.partial {
				why = "a piece of a line the container runtime split (lines over 16 KiB): " + why
			}
			res.malformed++
			res.samples = keepSample(res.samples, sample{in: j.in.idx, chunk: j.chunk, line: lines, why: why}, line, maxSamples)
		}
		j.in.mu.Lock()
		j.in.lines[j.chunk] = lines
		j.in.mu.Unlock()
		free <- j.buf
	}
	return res
}

// unwrapLine takes a line out of its input's container wrapper; a line
// without the wrapper is read as it is.
func unwrapLine(c container, line []byte, scratch *[]byte) unwrapped {
	if c != noContainer {
		if u, ok := c.unwrap(line, scratch); ok {
			return u
		}
	}
	return unwrapped{line: line}
}

// keepSample keeps the maxSamples earliest malformed lines this worker saw.
func keepSample(ss []sample, s sample, line []byte, max int) []sample {
	if len(ss) >= max && !s.before(ss[len(ss)-1]) {
		return ss
	}
	t := line
	if len(t) > 4096 {
		t = t[:4096]
	}
	s.text = strings.ToValidUTF8(string(t), "?")
	ss = append(ss, s)
	sort.Slice(ss, func(i, j int) bool { return ss[i].before(ss[j]) })
	if len(ss) > max {
		ss = ss[:max]
	}
	return ss
}

// ownLog reports whether a line that is not a request belongs to the
// proxy's own log: the ingress-nginx controller's klog lines (I1120
// 12:00:00.000000 7 controller.go:…]), nginx's error log (2026/11/20
// 12:00:00 [error] 42#42: *1 upstream timed out …) or the controller's
// start-up banner. kubectl logs on an ingress controller interleaves them
// with the access log; during an incident the error log grows with the
// failures, and counting its lines as malformed would call the format
// wrong exactly then.
func ownLog(l []byte) bool {
	switch {
	case len(l) > 22 && bytes.IndexByte([]byte("IWEF"), l[0]) >= 0 && isDigits(l[1:5]) && l[5] == ' ' &&
		isDigits(l[6:8]) && l[8] == ':' && l[11] == ':' && l[14] == '.':
		return true // klog
	case errorLogLine(l):
		return true // nginx's error log
	case len(l) >= 20 && len(bytes.Trim(l, "-")) == 0,
		string(l) == "NGINX Ingress controller",
		bytes.HasPrefix(l, []byte("  ")) && bytes.IndexByte(l, ':') > 2 && bytes.IndexByte(l, ':') < 18 &&
			bytes.IndexByte([]byte("RBn"), l[2]) >= 0: // "  Release:", "  Build:", "  nginx version:"
		return true // the controller's start-up banner
	case w3cDirective(l):
		return true // a W3C extended log's #Fields, #Version …
	}
	return false
}
