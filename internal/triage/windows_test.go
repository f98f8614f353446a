package triage

import (
	"context"
	"testing"
	"time"
)

// TestRecovery: an incident that ends inside the log has an end, and the
// incident window stops there.
func TestRecovery(t *testing.T) {
	sc := scenarioNamed(t, "bad-pod")
	inner := sc.fail
	sc.fail = func(g *genReq) float64 {
		return inner(g)
	}
	sc.name = "recovery"
	// Fail only between minute 40 and 50 of the hour.
	gen := sc.scan()
	res, err := Run(context.Background(), Options{Scan: func(ctx context.Context, ns func() signalSink) (Inputs, error) {
		return gen(ctx, func() signalSink {
			s := ns()
			return sinkFunc(func(r *signalReq) {
				if time.Unix(0, r.Time).Sub(sc.start) >= 50*time.Minute && r.Status >= 500 {
					r.Status = 200 // recovered
				}
				s.Add(r)
			})
		})
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Onset == nil || res.Onset.End == nil {
		t.Fatalf("no recovery found: %+v", res.Onset)
	}
	if d := res.Onset.End.Sub(sc.start.Add(50 * time.Minute)); d.Abs() > 2*bucketDur(res) {
		t.Errorf("recovery at %s, truth %s", res.Onset.End, sc.start.Add(50*time.Minute))
	}
	if len(res.Findings) == 0 || res.Findings[0].Scope["upstream"] != "10.0.2.2:8080" {
		t.Errorf("findings %+v", res.Findings)
	}
}

// TestBaselineOverride: --baseline replaces the automatic baseline and the
// incident runs from its end (or the onset, when later).
func TestBaselineOverride(t *testing.T) {
	sc := scenarioNamed(t, "bad-path")
	b := [2]time.Time{sc.start, sc.start.Add(10 * time.Minute)}
	res, err := Run(context.Background(), Options{Scan: sc.scan(), Baseline: &b})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Window.Baseline.Start.Equal(b[0]) || !res.Window.Baseline.End.Equal(b[1]) {
		t.Errorf("baseline %v–%v, want %v–%v", res.Window.Baseline.Start, res.Window.Baseline.End, b[0], b[1])
	}
	if !res.Window.Incident.Start.Equal(sc.start.Add(sc.onset)) {
		t.Errorf("incident starts %v, want the onset %v", res.Window.Incident.Start, sc.start.Add(sc.onset))
	}
	if got := res.Impact.BaselineRequests; got < 9000 || got > 11000 {
		t.Errorf("baseline holds %d requests, want ~10000 (10 minutes)", got)
	}
	if len(res.Findings) == 0 || res.Findings[0].Scope["path"] != "/api/checkout" {
		t.Errorf("findings %+v", res.Findings)
	}
}

// TestSinceUntil: requests outside --since/--until are not analysed.
func TestSinceUntil(t *testing.T) {
	sc := scenarioNamed(t, "bad-path")
	res, err := Run(context.Background(), Options{Scan: sc.scan(), Since: sc.start.Add(30 * time.Minute), Until: sc.start.Add(50 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Inputs.Requests != 20000 || res.Inputs.Filtered != 40000 {
		t.Errorf("analysed %d, filtered %d; want 20000 and 40000", res.Inputs.Requests, res.Inputs.Filtered)
	}
	if res.Impact.Onset == nil || !res.Impact.Onset.Equal(sc.start.Add(sc.onset)) {
		t.Errorf("onset %v", res.Impact.Onset)
	}
	_, err = Run(context.Background(), Options{Scan: sc.scan(), Since: sc.start.Add(2 * time.Hour)})
	if err == nil {
		t.Error("no error when every request is filtered out")
	}
}

// TestLatencyOnset: when errors do not move but latency does, the onset
// comes from latency.
func TestLatencyOnset(t *testing.T) {
	sc := scenarioNamed(t, "bad-pod")
	sc.name, sc.fail = "slow", nil
	gen := sc.scan()
	res, err := Run(context.Background(), Options{Scan: func(ctx context.Context, ns func() signalSink) (Inputs, error) {
		return gen(ctx, func() signalSink {
			s := ns()
			return sinkFunc(func(r *signalReq) {
				if time.Unix(0, r.Time).Sub(sc.start) >= sc.onset {
					r.Duration = r.Duration*4 + 0.5
				}
				s.Add(r)
			})
		})
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Onset == nil || res.Onset.Method != "latency" {
		t.Fatalf("onset evidence %+v", res.Onset)
	}
	if d := res.Onset.Time.Sub(sc.start.Add(sc.onset)); d.Abs() > 2*bucketDur(res) {
		t.Errorf("latency onset %s, truth %s", res.Onset.Time, sc.start.Add(sc.onset))
	}
	if res.Impact.Latency == nil || res.Impact.Latency.BaselineP50 == nil || res.Impact.Latency.P50 < 3**res.Impact.Latency.BaselineP50 {
		t.Errorf("latency %+v", res.Impact.Latency)
	}
}

// TestRampOnset: errors that ramp up (caches expiring, a leak) get their
// onset where the ramp starts, not in its middle.
func TestRampOnset(t *testing.T) {
	sc := scenarioNamed(t, "stale-endpoint")
	sc.name = "ramp"
	sc.fail = func(g *genReq) float64 { return 0 }
	gen := sc.scan()
	res, err := Run(context.Background(), Options{Scan: func(ctx context.Context, ns func() signalSink) (Inputs, error) {
		i := 0
		return gen(ctx, func() signalSink {
			s := ns()
			return sinkFunc(func(r *signalReq) {
				i++
				since := time.Unix(0, r.Time).Sub(sc.start) - sc.onset
				if since >= 0 && r.Status < 500 {
					// failure probability grows linearly to 30% over 20 minutes
					p := 0.3 * float64(since) / float64(20*time.Minute)
					if float64(i%1000)/1000 < p {
						r.Status = 503
					}
				}
				s.Add(r)
			})
		})
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Impact.Onset == nil {
		t.Fatal("no onset")
	}
	if d := res.Impact.Onset.Sub(sc.start.Add(sc.onset)); d < -time.Minute || d > 3*time.Minute {
		t.Errorf("ramp onset %s, truth %s", res.Impact.Onset, sc.start.Add(sc.onset))
	}
}
