package lab

import (
	"bufio"
	"container/heap"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// logSink is one access log file. Servers write a line when a request
// completes, so lines are ordered by completion time although requests are
// simulated in order of arrival: a small heap holds the lines of requests
// still in flight (bounded by the arrival rate times the longest request),
// never the log.
type logSink struct {
	path   string
	format string
	f      *os.File
	w      *bufio.Writer
	lines  int64
	bytes  int64
	q      pendingHeap
	seq    uint64
	free   [][]byte
	err    error

	// cached formatting of the current second
	secNginx int64
	bufNginx []byte
	secISO   int64
	bufISO   []byte
}

type pending struct {
	end  int64 // completion, unix ns
	seq  uint64
	line []byte
}

type pendingHeap []pending

func (h pendingHeap) Len() int { return len(h) }
func (h pendingHeap) Less(i, j int) bool {
	if h[i].end != h[j].end {
		return h[i].end < h[j].end
	}
	return h[i].seq < h[j].seq
}
func (h pendingHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pendingHeap) Push(x any)   { *h = append(*h, x.(pending)) }
func (h *pendingHeap) Pop() any {
	old := *h
	n := len(old)
	x := old[n-1]
	*h = old[:n-1]
	return x
}

func newSink(dir, name, format string) (*logSink, error) {
	p := filepath.Join(dir, "logs", name)
	f, err := os.Create(p)
	if err != nil {
		return nil, fmt.Errorf("create log %s: %w", p, err)
	}
	return &logSink{path: p, format: format, f: f, w: bufio.NewWriterSize(f, 256<<10), secNginx: -1, secISO: -1}, nil
}

// buf returns an empty line buffer to fill and hand to add.
func (s *logSink) buf() []byte {
	if n := len(s.free); n > 0 {
		b := s.free[n-1]
		s.free = s.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, 512)
}

// add queues a line for a request completing at end (unix ns).
func (s *logSink) add(end int64, line []byte) {
	s.seq++
	heap.Push(&s.q, pending{end: end, seq: s.seq, line: line})
}

// flush writes every queued line that completed at or before t.
func (s *logSink) flush(t int64) {
	for len(s.q) > 0 && s.q[0].end <= t {
		p := heap.Pop(&s.q).(pending)
		s.write(p.line)
		s.free = append(s.free, p.line)
	}
}

func (s *logSink) write(line []byte) {
	if s.err != nil {
		return
	}
	n, err := s.w.Write(line)
	if err != nil {
		s.err = fmt.Errorf("write %s: %w", s.path, err)
	}
	s.lines++
	s.bytes += int64(n)
}

func (s *logSink) close() error {
	s.flush(1<<63 - 1)
	if err := s.w.Flush(); err != nil && s.err == nil {
		s.err = fmt.Errorf("write %s: %w", s.path, err)
	}
	if err := s.f.Close(); err != nil && s.err == nil {
		s.err = fmt.Errorf("close %s: %w", s.path, err)
	}
	return s.err
}

var monthAbbr = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func append2(b []byte, v int) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10))
}

// appendNginxTime appends $time_local for a UTC server: 20/Nov/2026:12:03:00 +0000.
func (s *logSink) appendNginxTime(b []byte, ns int64) []byte {
	sec := ns / 1e9
	if sec != s.secNginx {
		t := time.Unix(sec, 0).UTC()
		y, mo, d := t.Date()
		h, mi, se := t.Clock()
		x := s.bufNginx[:0]
		x = append2(x, d)
		x = append(x, '/')
		x = append(x, monthAbbr[mo-1]...)
		x = append(x, '/')
		x = strconv.AppendInt(x, int64(y), 10)
		x = append(x, ':')
		x = append2(x, h)
		x = append(x, ':')
		x = append2(x, mi)
		x = append(x, ':')
		x = append2(x, se)
		x = append(x, " +0000"...)
		s.bufNginx, s.secNginx = x, sec
	}
	return append(b, s.bufNginx...)
}

// appendISO appends an RFC 3339 UTC time with the given number of
// fractional digits (6 for ALB logs, 3 for the CDN).
func (s *logSink) appendISO(b []byte, ns int64, digits int) []byte {
	sec := ns / 1e9
	if sec != s.secISO {
		s.bufISO = appendISODate(s.bufISO[:0], sec)
		s.secISO = sec
	}
	b = append(b, s.bufISO...)
	return appendFrac(b, ns%1e9, digits)
}

func appendISODate(x []byte, sec int64) []byte {
	t := time.Unix(sec, 0).UTC()
	y, mo, d := t.Date()
	h, mi, se := t.Clock()
	x = strconv.AppendInt(x, int64(y), 10)
	x = append(x, '-')
	x = append2(x, int(mo))
	x = append(x, '-')
	x = append2(x, d)
	x = append(x, 'T')
	x = append2(x, h)
	x = append(x, ':')
	x = append2(x, mi)
	x = append(x, ':')
	x = append2(x, se)
	return x
}

func appendFrac(b []byte, frac int64, digits int) []byte {
	b = append(b, '.')
	div := int64(1e8)
	for i := 0; i < digits; i++ {
		b = append(b, byte('0'+frac/div%10))
		div /= 10
	}
	return append(b, 'Z')
}

// appendSeconds appends v seconds with 3 decimals, as nginx does.
func appendSeconds(b []byte, v float64) []byte {
	ms := int64(v*1000 + 0.5)
	b = strconv.AppendInt(b, ms/1000, 10)
	b = append(b, '.')
	r := ms % 1000
	return append(b, byte('0'+r/100), byte('0'+r/10%10), byte('0'+r%10))
}
