package triage

import (
	"testing"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// TestAddAllocatesNothingPerRequest: once an Aggregator holds a log's values
// and time range, adding requests allocates nothing — its memory is bounded
// by its limits, not by the number of requests, and the scan's speed
// depends on it.
func TestAddAllocatesNothingPerRequest(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instruments allocations")
	}
	reqs, names := captureRequests(t, "bad-pod", 5000)
	a := NewAggregator(AggOptions{Samples: 256})
	r := &signal.Request{Fields: make([]signal.Field, len(names))}
	for j, n := range names {
		r.Fields[j].Name = n
	}
	addAll := func() {
		for i := range reqs {
			reqs[i].fill(r)
			a.Add(r)
		}
	}
	addAll() // learn the values and the time range; fill the reservoirs
	if n := testing.AllocsPerRun(5, addAll); n != 0 {
		t.Errorf("%.1f allocations per pass over %d requests, want 0", n, len(reqs))
	}
	if a.Requests != 7*uint64(len(reqs)) {
		t.Errorf("counted %d requests, want %d", a.Requests, 7*len(reqs))
	}
}

// capturedReq is a request of a generated scenario, copied out of the
// generator's reused Request.
type capturedReq struct {
	vals    [][]byte
	t       int64
	status  int
	dur     float64
	client  []byte
	retries int
}

// fill sets r (whose Fields have the captured names) to q.
func (q *capturedReq) fill(r *signal.Request) {
	for j, v := range q.vals {
		r.Fields[j].Value = v
	}
	r.Time, r.Status, r.Duration, r.Client, r.Retries = q.t, q.status, q.dur, q.client, q.retries
}

// captureRequests generates n requests of the named scenario and returns
// them with their field names.
func captureRequests(t testing.TB, name string, n int) ([]capturedReq, []string) {
	t.Helper()
	var reqs []capturedReq
	var names []string
	sc := scenarioNamed(t, name)
	sc.requests = n
	sc.generate(func() signal.RequestSink {
		return sinkFunc(func(r *signal.Request) {
			q := capturedReq{t: r.Time, status: r.Status, dur: r.Duration, client: append([]byte(nil), r.Client...), retries: r.Retries}
			names = names[:0]
			for _, f := range r.Fields {
				names = append(names, f.Name)
				q.vals = append(q.vals, append([]byte(nil), f.Value...))
			}
			reqs = append(reqs, q)
		})
	})
	if len(reqs) == 0 {
		t.Fatalf("scenario %s generated no requests", name)
	}
	return reqs, names
}
