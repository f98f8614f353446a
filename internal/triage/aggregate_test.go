package triage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// TestUnwantedFields: the aggregator tells the producer which fields it will
// not read — skipped names and dimensions dropped for their cardinality —
// and never a field the error predicate reads, so a producer that skips
// unwanted values loses nothing the analysis uses.
func TestUnwantedFields(t *testing.T) {
	pred, err := ParseErrorExpr("status>=500 || request_time>2")
	if err != nil {
		t.Fatal(err)
	}
	a := NewAggregator(AggOptions{Error: pred})
	r := &signal.Request{Fields: []signal.Field{{Name: "region"}, {Name: "req_id"}, {Name: "request_time"}, {Name: "client"}}}
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC).UnixNano()
	for i := 0; i < 5000; i++ {
		r.Time = t0 + int64(i)*int64(time.Millisecond)
		r.Status = 200
		r.Fields[0].Value = []byte([]string{"eu", "us"}[i%2])
		r.Fields[1].Value = []byte("id-" + strconv.Itoa(i))
		r.Fields[2].Value = []byte("3.5")
		r.Fields[3].Value = []byte("10.0." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250))
		a.Add(r)
	}
	want := map[string]bool{"region": false, "req_id": true, "request_time": false, "client": true}
	for _, f := range r.Fields {
		if f.Unwanted != want[f.Name] {
			t.Errorf("%s: Unwanted = %v, want %v", f.Name, f.Unwanted, want[f.Name])
		}
	}
	// request_time>2 made every request fail: the predicate still read it.
	if a.Failed != a.Requests || a.Requests != 5000 {
		t.Errorf("failed %d of %d, want all 5000", a.Failed, a.Requests)
	}
}

// TestCountsSurviveRelayout: per-value counts stay exact when the time
// range grows (slots coarsen and move) and when workers merge — with more
// values than the linear scan holds, so the hash index serves both.
func TestCountsSurviveRelayout(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC).UnixNano()
	col := NewCollector(AggOptions{MaxSlots: 10})
	sinks := []signal.RequestSink{col.NewSink(), col.NewSink()}
	r := &signal.Request{Fields: []signal.Field{{Name: "pod"}}}
	want := map[string][2]int64{}
	// 3 hours, forwards on one worker and backwards on the other, so both
	// grids grow in both directions and coarsen several times.
	for i := 0; i < 10800; i++ {
		for w, s := range sinks {
			sec := i
			if w == 1 {
				sec = 10799 - i
			}
			pod := "pod-" + strconv.Itoa(sec%40) // 40 values: the index grows
			r.Time = t0 + int64(sec)*int64(time.Second)
			r.Status = 200
			if sec%40 == 3 && sec%2 == 0 {
				r.Status = 503
			}
			r.Fields[0].Value = []byte(pod)
			s.Add(r)
			c := want[pod]
			c[0]++
			if r.Status >= 500 {
				c[1]++
			}
			want[pod] = c
		}
	}
	a := col.Merge()
	got := map[string][2]int64{}
	start, end := time.Unix(0, t0).UTC(), time.Unix(0, t0).Add(4*time.Hour).UTC()
	res := &Result{}
	res.Window.Incident.Start, res.Window.Incident.End = &start, &end
	for _, v := range a.Values("pod", res) {
		got[v.Value] = [2]int64{v.Requests, v.Errors}
	}
	if len(got) != 40 {
		t.Fatalf("%d values, want 40: %v", len(got), got)
	}
	for pod, w := range want {
		if got[pod] != w {
			t.Errorf("%s: requests, errors = %v, want %v", pod, got[pod], w)
		}
	}
}

// TestManyEvenValuesStayADimension: a dimension with a few thousand values
// in even use (client networks of a big site) is not "near-unique" — each
// value carries hundreds of requests — so a failing network among 3,000 is
// found, while a truly unique field (the client address) is still dropped.
func TestManyEvenValuesStayADimension(t *testing.T) {
	const nets, requests = 3000, 300_000
	start := time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)
	step := int64(time.Hour) / requests
	scan := func(ctx context.Context, newSink func() signal.RequestSink) (Inputs, error) {
		rng := rand.New(rand.NewPCG(7, 8))
		sink := newSink()
		r := &signal.Request{Fields: []signal.Field{{Name: "client"}, {Name: "client_net"}, {Name: "region"}}}
		for i := 0; i < requests; i++ {
			n := rng.IntN(nets)
			netStr := fmt.Sprintf("100.%d.%d.0/24", n/250, n%250)
			client := fmt.Sprintf("100.%d.%d.%d", n/250, n%250, rng.IntN(250))
			r.Fields[0].Value = []byte(client)
			r.Fields[1].Value = []byte(netStr)
			r.Fields[2].Value = []byte([]string{"us", "eu", "ap"}[rng.IntN(3)])
			r.Time = start.UnixNano() + int64(i)*step
			r.Status = 200
			if (i > requests*2/3 && n == 1234 && rng.Float64() < 0.8) || rng.Float64() < 0.002 {
				r.Status = 503
			}
			r.Duration = 0.05
			r.Client = r.Fields[0].Value
			sink.Add(r)
		}
		return Inputs{Lines: requests, Sources: []string{"many-nets.log"}}, nil
	}
	res, err := Run(context.Background(), Options{Scan: scan})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) == 0 {
		t.Fatal("no finding")
	}
	top := res.Findings[0]
	if top.Dimension != "client_net" || top.Value != "100.4.234.0/24" {
		t.Errorf("top finding %s=%s, want client_net=100.4.234.0/24", top.Dimension, top.Value)
	}
	for _, f := range res.Findings {
		if f.Dimension == "client" {
			t.Errorf("finding on the near-unique client address: %s", f.Value)
		}
	}
}

// TestCountsOnly: an aggregate for a second pass keeps no latency sketches
// and no client counts, yet correlates to the same findings as a full one.
func TestCountsOnly(t *testing.T) {
	sc := scenarioNamed(t, "bad-pod")
	full, lean := NewCollector(AggOptions{}), NewCollector(AggOptions{CountsOnly: true})
	sc.generate(full.NewSink)
	sc.generate(lean.NewSink)
	a, b := full.Merge(), lean.Merge()
	a.normalize()
	b.normalize()
	for i, bk := range b.buckets {
		if bk.sk != nil {
			t.Fatalf("bucket %d has a latency sketch", i)
		}
	}
	for i := range b.clients {
		if b.clients[i] != nil || b.errClients[i] != nil {
			t.Fatalf("slot %d counts clients", i)
		}
	}
	w, _ := a.scope(&Options{}, &Result{})
	fa, fb := a.correlate(w, 5), b.correlate(w, 5)
	if len(fa) == 0 || len(fa) != len(fb) {
		t.Fatalf("findings: full %d, counts-only %d", len(fa), len(fb))
	}
	for i := range fa {
		if fa[i].Summary != fb[i].Summary || fa[i].Errors != fb[i].Errors {
			t.Errorf("finding %d: full %q (%d errors), counts-only %q (%d)", i, fa[i].Summary, fa[i].Errors, fb[i].Summary, fb[i].Errors)
		}
	}
}

// TestSampleIndependentOfWorkers: the sample behind the estimated pair
// figures is the same however the requests are split among workers and in
// whatever order each reads them, so a triage of the same logs gives the
// same figures on every run and on every machine (it used to depend on
// the workers' scheduling and on their number).
func TestSampleIndependentOfWorkers(t *testing.T) {
	reqs, names := captureRequests(t, "p2p-bitrate", 30000)
	const k = 800 // well below both classes: the sample is drawn, not everything
	run := func(workers int, reverse bool) ([]Finding, *Aggregator) {
		c := NewCollector(AggOptions{Samples: k})
		sinks := make([]signal.RequestSink, workers)
		rs := make([]*signal.Request, workers)
		for i := range sinks {
			sinks[i] = c.NewSink()
			rs[i] = &signal.Request{Fields: make([]signal.Field, len(names))}
			for j, n := range names {
				rs[i].Fields[j].Name = n
			}
		}
		for n := range reqs {
			i := n
			if reverse {
				i = len(reqs) - 1 - n
			}
			wk := (n / 97) % workers // runs of requests, as chunks are
			reqs[i].fill(rs[wk])
			sinks[wk].Add(rs[wk])
		}
		a := c.Merge()
		a.normalize()
		w, _ := a.scope(&Options{}, &Result{})
		return a.correlate(w, 5), a
	}
	want, a := run(1, false)
	nf, nok := 0, 0
	for _, s := range a.merged {
		if s.failed {
			nf++
		} else {
			nok++
		}
	}
	if nf != k || nok != k {
		t.Fatalf("sample holds %d failing and %d healthy requests, want %d each", nf, nok, k)
	}
	estimated := false
	for _, f := range want {
		estimated = estimated || f.Estimated
	}
	if !estimated {
		t.Fatal("no finding is estimated from the sample: the test would prove nothing")
	}
	wantJSON, _ := json.Marshal(want)
	for _, tc := range []struct {
		workers int
		reverse bool
	}{{2, false}, {3, true}, {5, false}} {
		got, _ := run(tc.workers, tc.reverse)
		if gotJSON, _ := json.Marshal(got); !bytes.Equal(gotJSON, wantJSON) {
			t.Errorf("%d workers (reversed %v): findings differ from one worker's\n got %s\nwant %s", tc.workers, tc.reverse, gotJSON, wantJSON)
		}
	}
}

// TestGridWidthIndependentOfOrder: the width the request series ends at is
// the finest that holds every request within MaxBuckets buckets, whatever
// the order of the requests and the number of workers. A grid used to
// stretch into the room it keeps ahead of the newest bucket (up to twice
// the cap) without coarsening, so one worker reading six hours ended at
// 10-second buckets (2,161 of them) and two workers, merging, at 30
// seconds: the onset and the baseline moved with the number of cores.
func TestGridWidthIndependentOfOrder(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC).UnixNano()
	const secs = 6 * 3600
	rng := rand.New(rand.NewPCG(7, 7))
	shuffled := rng.Perm(secs)
	orders := map[string]func(i int) int{
		"forward":  func(i int) int { return i },
		"backward": func(i int) int { return secs - 1 - i },
		"shuffled": func(i int) int { return shuffled[i] },
	}
	type grid struct {
		width        int64
		buckets, slo int
	}
	var want *grid
	for name, order := range orders {
		for _, workers := range []int{1, 2, 3} {
			col := NewCollector(AggOptions{})
			sinks := make([]signal.RequestSink, workers)
			for i := range sinks {
				sinks[i] = col.NewSink()
			}
			r := &signal.Request{Fields: []signal.Field{{Name: "pod", Value: []byte("a")}}, Status: 200, Duration: -1}
			for i := range secs {
				r.Time = t0 + int64(order(i))*int64(time.Second)
				sinks[(i/600)%workers].Add(r) // runs of requests, as chunks are
			}
			a := col.Merge()
			lo, hi := a.main.observed()
			slo, shi := a.slots.observed()
			g := grid{a.main.width(), hi - lo + 1, shi - slo + 1}
			if g.buckets > DefaultMaxBuckets || g.slo > DefaultMaxSlots {
				t.Errorf("%s, %d workers: %d buckets and %d slots, over the caps (%d, %d)", name, workers, g.buckets, g.slo, DefaultMaxBuckets, DefaultMaxSlots)
			}
			if want == nil {
				want = &g
				if g.width != int64(30*time.Second) {
					t.Errorf("six hours in %v buckets, want 30s: the finest width within %d buckets", time.Duration(g.width), DefaultMaxBuckets)
				}
			} else if g != *want {
				t.Errorf("%s, %d workers: %v buckets (%d, %d slots), want %v (%d, %d)", name, workers, time.Duration(g.width), g.buckets, g.slo, time.Duration(want.width), want.buckets, want.slo)
			}
		}
	}
}
