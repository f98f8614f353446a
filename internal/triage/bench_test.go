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
	var reqs []signal.Request
	sc := scenarios()[1]
	sc.requests = 20000
	sc.generate(func() signal.RequestSink {
		return sinkFunc(func(r *signal.Request) {
			c := *r
			c.Fields = make([]signal.Field, len(r.Fields))
			for i, f := range r.Fields {
				c.Fields[i] = signal.Field{Name: f.Name, Value: append([]byte(nil), f.Value...)}
			}
			reqs = append(reqs, c)
		})
	})
	a := NewAggregator(AggOptions{})
	b.SetBytes(240)
	b.ReportAllocs()
	b.ResetTimer()
	step := int64(time.Hour) / 10_000_000
	for i := 0; i < b.N; i++ {
		r := &reqs[i%len(reqs)]
		r.Time = t0.UnixNano() + int64(i)*step
		a.Add(r)
	}
}

type sinkFunc func(r *signal.Request)

func (f sinkFunc) Add(r *signal.Request) { f(r) }
