package guard

import (
	"context"
	"sync"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/source/accesslog"
)

// AccessLogs counts requests with sitrep's access-log reader (any format it
// detects: nginx, ingress-nginx, ALB, JSON lines).
type AccessLogs struct {
	// Format is a preset or nginx log_format ("" detects it).
	Format string
}

// CountSince implements TrafficCounter.
func (a AccessLogs) CountSince(ctx context.Context, paths []string, since time.Time) (Traffic, error) {
	var mu sync.Mutex
	var sinks []*countSink
	cut := since.UnixNano()
	st, err := accesslog.Scan(ctx, accesslog.Options{Paths: paths, Format: a.Format}, func() signal.RequestSink {
		s := &countSink{since: cut}
		mu.Lock()
		sinks = append(sinks, s)
		mu.Unlock()
		return s
	})
	tr := Traffic{Sources: st.Sources}
	if err != nil {
		return tr, err
	}
	var last int64
	for _, s := range sinks {
		tr.Requests += s.recent
		tr.Untimed += s.untimed
		tr.Total += s.total
		last = max(last, s.last)
	}
	if last > 0 {
		tr.Last = time.Unix(0, last).UTC()
	}
	return tr, nil
}

// countSink is owned by one parsing worker.
type countSink struct {
	since                  int64
	recent, untimed, total int64
	last                   int64
}

func (s *countSink) Add(r *signal.Request) {
	s.total++
	switch {
	case r.Time == 0:
		s.untimed++
	case r.Time >= s.since:
		s.recent++
	}
	s.last = max(s.last, r.Time)
}
