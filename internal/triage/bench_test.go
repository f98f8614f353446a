package triage

import (
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// BenchmarkAggregate measures the per-request cost of the aggregator on
// synthetic requests shaped like an extended combined log (18 fields).
// Bytes are the ~240 bytes of the log line such a request comes from.
func BenchmarkAggregate(b *testing.B) {
	// Pre-generate requests as a parser would hold them: values in one
	// line buffer, one reused Request whose field values alias it.
	type line struct {
		buf    []byte
		offs   []int
		status int
		dur    float64
	}
	var lines []line
	var names []string
	sc := scenarioNamed(b, "bad-pod")
	sc.requests = 20000
	sc.generate(func() signal.RequestSink {
		return sinkFunc(func(r *signal.Request) {
			var l line
			names = names[:0]
			for _, f := range r.Fields {
				names = append(names, f.Name)
				l.offs = append(l.offs, len(l.buf))
				l.buf = append(l.buf, f.Value...)
			}
			l.offs = append(l.offs, len(l.buf))
			l.status, l.dur = r.Status, r.Duration
			lines = append(lines, l)
		})
	})
	a := NewAggregator(AggOptions{})
	r := &signal.Request{Fields: make([]signal.Field, len(names))}
	buf := make([]byte, 0, 1024)
	b.SetBytes(240)
	b.ReportAllocs()
	b.ResetTimer()
	step := int64(time.Hour) / 10_000_000
	for i := 0; i < b.N; i++ {
		l := &lines[i%len(lines)]
		buf = append(buf[:0], l.buf...)
		for j, name := range names {
			r.Fields[j] = signal.Field{Name: name, Value: buf[l.offs[j]:l.offs[j+1]]}
		}
		r.Time = t0.UnixNano() + int64(i)*step
		r.Status, r.Duration = l.status, l.dur
		r.Client = r.Fields[0].Value
		a.Add(r)
	}
}

type sinkFunc func(r *signal.Request)

func (f sinkFunc) Add(r *signal.Request) { f(r) }
