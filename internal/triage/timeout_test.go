package triage

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// TestTimeoutWall: failing requests that end at one duration well above the
// usual latency are a timeout's wall; failures that end fast, or spread
// over many durations, or too few, are not.
func TestTimeoutWall(t *testing.T) {
	base95 := 0.15
	cases := []struct {
		name    string
		durs    func(rng *rand.Rand, i int) float64
		n       int
		base95  *float64
		want    float64 // 0: no wall
		minimum float64 // least share
	}{
		{"nginx proxy_read_timeout", func(rng *rand.Rand, i int) float64 { return 60 + rng.Float64()*0.05 }, 200, &base95, 60, 0.99},
		{"pool timeout, some fast 500s", func(rng *rand.Rand, i int) float64 {
			if i%4 == 0 {
				return 0.01 + rng.Float64()*0.02
			}
			return 15 + rng.Float64()*0.05
		}, 400, &base95, 15, 0.74},
		{"sub-second deadline", func(rng *rand.Rand, i int) float64 { return 0.75 + rng.Float64()*0.01 }, 50, &base95, 0.75, 0.99},
		{"fast failures (refused)", func(rng *rand.Rand, i int) float64 { return 0.001 + rng.Float64()*0.0005 }, 300, &base95, 0, 0},
		{"slow and spread", func(rng *rand.Rand, i int) float64 { return 1 + rng.ExpFloat64()*5 }, 300, &base95, 0, 0},
		{"too few", func(rng *rand.Rand, i int) float64 { return 30 }, 5, &base95, 0, 0},
		{"the usual latency", func(rng *rand.Rand, i int) float64 { return 0.4 + rng.Float64()*0.01 }, 300, ptr(0.3), 0, 0},
		{"no baseline", func(rng *rand.Rand, i int) float64 { return 10 + rng.Float64()*0.1 }, 30, nil, 10, 0.99},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			sk := newSketch()
			for i := 0; i < c.n; i++ {
				_ = sk.Add(c.durs(rng, i))
			}
			got := timeoutWall(sk, &Latency{BaselineP95: c.base95})
			if c.want == 0 {
				if got != nil {
					t.Fatalf("wall at %v (%.0f%%), want none", got.Seconds, got.Share*100)
				}
				return
			}
			if got == nil {
				t.Fatalf("no wall, want one at %vs", c.want)
			}
			if got.Seconds != c.want || got.Share < c.minimum {
				t.Errorf("wall %vs holding %.2f, want %vs holding ≥ %.2f", got.Seconds, got.Share, c.want, c.minimum)
			}
		})
	}
}

// TestTimeoutInImpact: the wall is measured on the incident's failing
// requests only — the healthy ones and the baseline's failures do not
// blur it — and across the workers' aggregates.
func TestTimeoutInImpact(t *testing.T) {
	start := time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)
	const requests = 60_000
	step := int64(time.Hour) / requests
	scan := func(ctx context.Context, newSink func() signal.RequestSink) (Inputs, error) {
		rng := rand.New(rand.NewPCG(3, 4))
		sinks := []signal.RequestSink{newSink(), newSink()}
		r := &signal.Request{Fields: []signal.Field{{Name: "region"}}}
		for i := 0; i < requests; i++ {
			r.Fields[0].Value = []byte([]string{"us", "eu", "ap"}[rng.IntN(3)])
			r.Time = start.UnixNano() + int64(i)*step
			r.Status, r.Duration = 200, 0.02+rng.ExpFloat64()*0.05
			switch {
			case i > requests/2 && rng.Float64() < 0.3:
				// Waiting for a connection until the pool gives up.
				r.Status, r.Duration = 500, 30+rng.Float64()*0.1
			case rng.Float64() < 0.002:
				r.Status = 502 // background errors end fast
			}
			sinks[i%2].Add(r)
		}
		return Inputs{Lines: requests, Sources: []string{"pool.log"}}, nil
	}
	res, err := Run(context.Background(), Options{Scan: scan})
	if err != nil {
		t.Fatal(err)
	}
	to := res.Impact.Timeout
	if to == nil {
		t.Fatalf("no timeout; latency %+v", res.Impact.Latency)
	}
	if to.Seconds != 30 || to.Share < 0.95 || to.Failures < 8000 {
		t.Errorf("timeout %+v, want ~30 s holding ≥ 95%% of about 9,000 failures", *to)
	}
	if got, want := to.Summary(), "ended at ~30s"; !strings.Contains(got, want) {
		t.Errorf("summary %q lacks %q", got, want)
	}
}
