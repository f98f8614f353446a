package triage

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// sparseSeries builds a series of L buckets of about perBucket requests
// each, failing at p0 before bucket k and p1 from it; burst > 1 makes the
// errors come in clumps of that size (same mean), as a crawler on a broken
// page or a retrying client does.
func sparseSeries(seed uint64, L, perBucket, k int, p0, p1 float64, burst int) series {
	r := rand.New(rand.NewPCG(seed, 7))
	s := series{width: 30e9}
	for i := 0; i < L; i++ {
		n := perBucket/2 + r.IntN(perBucket+1)
		p := p0
		if i >= k {
			p = p1
		}
		e := 0
		for j := 0; j < n; j++ {
			if r.Float64() < p/float64(burst) {
				e += burst
			}
		}
		e = min(e, n)
		s.start = append(s.start, int64(i)*s.width)
		s.n = append(s.n, float64(n))
		s.e = append(s.e, float64(e))
		s.b = append(s.b, &bucket{req: uint32(n), err: uint32(e)})
	}
	return s
}

// TestOnsetInAQuietLog: a step of a few dozen errors in a log of a dozen
// requests per bucket is an incident (the binomial likelihood ratio is
// 12–20: below the fixed bar of 20 the onset used to need), and the
// likelihood interval of the onset holds the true start.
func TestOnsetInAQuietLog(t *testing.T) {
	found, placed := 0, 0
	for seed := uint64(1); seed <= 20; seed++ {
		// 720 buckets (6 h of 30 s), ~13 requests each; 0.15% fail, then
		// 1.2% for the last 100 buckets (~15 errors more than usual).
		s := sparseSeries(seed, 720, 13, 620, 0.0015, 0.012, 1)
		d := detectOnset(s)
		if d.onset < 0 {
			continue
		}
		found++
		if d.ev.Method != "error-rate" || d.ev.Dispersion < 1 {
			t.Errorf("seed %d: evidence %+v", seed, d.ev)
		}
		// Sparse data place the onset late; the interval reaches back.
		// It is a ≈95% interval, and a dozen requests per bucket can
		// cluster errors anywhere: most, not all, intervals hold the truth.
		if d.onsetLo <= 620+2 && d.onset >= 620-20 {
			placed++
		} else {
			t.Logf("seed %d: onset %d, earliest %d; truth 620", seed, d.onset, d.onsetLo)
		}
		if d.onsetLo < d.onset && (d.ev.Earliest == nil || !d.ev.Earliest.Before(d.ev.Time)) {
			t.Errorf("seed %d: earliest %v not reported before %v", seed, d.ev.Earliest, d.ev.Time)
		}
	}
	if found < 15 {
		t.Errorf("onset found in %d of 20 quiet logs with a real step, want ≥ 15", found)
	}
	if placed < found-2 {
		t.Errorf("the onset's interval holds the true start in %d of %d logs", placed, found)
	}
}

// TestNoOnsetInNoise: binomial noise, and noise in bursts (whose
// likelihood ratio alone often passes the bar), have no onset.
func TestNoOnsetInNoise(t *testing.T) {
	for _, c := range []struct {
		name             string
		L, perBucket     int
		p                float64
		burst, maxOnsets int
	}{
		{"binomial, quiet", 720, 13, 0.0015, 1, 0},
		{"binomial, busy", 720, 400, 0.002, 1, 0},
		{"binomial, long", 2880, 10, 0.005, 1, 0},
		{"bursts of 8", 720, 40, 0.004, 8, 0},
	} {
		onsets := 0
		for seed := uint64(1); seed <= 60; seed++ {
			s := sparseSeries(seed, c.L, c.perBucket, c.L, c.p, c.p, c.burst)
			if d := detectOnset(s); d.onset >= 0 || d.ev != nil {
				onsets++
			}
		}
		if onsets > c.maxOnsets {
			t.Errorf("%s: an onset in %d of 60 logs of pure noise", c.name, onsets)
		}
	}
	// The bursts are what the dispersion discounts: without it, they pass.
	passed := 0
	for seed := uint64(1); seed <= 60; seed++ {
		s := sparseSeries(seed, 720, 40, 720, 0.004, 0.004, 8)
		if sp := bestSplit(s.n, s.e, 0, len(s.n)); sp.llr >= minLLR && sp.disp > 1.5 {
			passed++
		}
	}
	if passed == 0 {
		t.Error("no bursty series would pass the bar without its dispersion: the test no longer tests it")
	}
}

// latencySeries builds L buckets of 30 s, each of minN to minN+9 requests
// whose durations dur draws (bucket i), with no errors.
func latencySeries(seed uint64, L, minN int, dur func(r *rand.Rand, i int) float64) series {
	r := rand.New(rand.NewPCG(seed, seed+1))
	s := series{width: 30e9}
	for i := 0; i < L; i++ {
		b := &bucket{sk: newSketch()}
		n := minN + r.IntN(10)
		for j := 0; j < n; j++ {
			_ = b.sk.Add(dur(r, i))
			b.req++
			b.durN++
		}
		s.start = append(s.start, int64(i)*s.width)
		s.n = append(s.n, float64(n))
		s.e = append(s.e, 0)
		s.b = append(s.b, b)
	}
	return s
}

// TestSlowShareOnset: one endpoint of many turns slow (2% of requests at
// 2 s instead of ~50 ms) with a dozen requests per bucket: no bucket's
// quantile moves, but the share of requests above the log's usual tail
// does, and that is the onset.
func TestSlowShareOnset(t *testing.T) {
	const k = 600
	s := latencySeries(3, 720, 8, func(r *rand.Rand, i int) float64 {
		d := 0.02 + 0.1*r.ExpFloat64()*0.3
		if i >= k && r.Float64() < 0.02 {
			d = 2 + r.Float64()
		}
		return d
	})
	if k1, _, _, _, _ := latencySplit(s); k1 > 0 {
		t.Fatalf("a bucket quantile moved (split at %d): the series does not test the slow share", k1)
	}
	d := detectOnset(s)
	if d.ev == nil || d.ev.Method != "latency" || d.ev.ThresholdSeconds == 0 {
		t.Fatalf("no latency onset from the slow share: %+v", d.ev)
	}
	if d.onsetLo > k+2 || d.onset < k-30 {
		t.Errorf("onset %d (earliest %d), truth %d", d.onset, d.onsetLo, k)
	}
	if d.ev.SlowAfter < 3*d.ev.SlowBefore || d.ev.ThresholdSeconds > 2 {
		t.Errorf("slow share %.4f → %.4f over %.3fs: want a clear step under the slow requests' 2 s", d.ev.SlowBefore, d.ev.SlowAfter, d.ev.ThresholdSeconds)
	}
	if d.ev.Quantile != 0.99 || d.ev.After < 1 {
		t.Errorf("moved quantile p%.0f %.3f → %.3f, want p99 above 1 s", d.ev.Quantile*100, d.ev.Before, d.ev.After)
	}
}

// TestSlowShareBeforeTheQuantile: one endpoint turns slow at k1 (2% of
// the requests at 2 s), and only later, at k2, the whole service slows a
// little (every request 1.6×, as a pool behind the slow queries fills): the
// p90 moves at k2, but the incident began at k1, where the share of slow
// requests stepped up.
func TestSlowShareBeforeTheQuantile(t *testing.T) {
	const k1, k2 = 500, 620
	s := latencySeries(5, 720, 20, func(r *rand.Rand, i int) float64 {
		d := 0.02 + 0.1*r.ExpFloat64()*0.3
		if i >= k2 {
			d *= 1.6
		}
		if i >= k1 && r.Float64() < 0.02 {
			d = 2 + r.Float64()
		}
		return d
	})
	k, _, _, _, _ := latencySplit(s)
	if k < k2-10 {
		t.Fatalf("the quantile split is at %d: the series does not test a quantile moving after the slow share (want about %d)", k, k2)
	}
	d := detectOnset(s)
	if d.ev == nil || d.ev.Method != "latency" || d.ev.ThresholdSeconds == 0 {
		t.Fatalf("onset %+v: want the slow share's", d.ev)
	}
	// Half a slow request per bucket: the step shows some buckets late,
	// but an hour before the quantile moves.
	if d.onset < k1-30 || d.onset > k1+30 {
		t.Errorf("onset %d (earliest %d), truth %d (the quantile moved at %d)", d.onset, d.onsetLo, k1, k)
	}
}

// quietPodScan serves six hours of a quiet service — one request every
// 3 s over 40 pods, 1% failing — in which, from failAt (when not zero),
// pod 10.0.0.7 fails half its requests: about 15 errors an hour more,
// over 12 an hour from the others.
func quietPodScan(seed uint64, start, failAt time.Time) ScanFunc {
	return func(ctx context.Context, newSink func() signal.RequestSink) (Inputs, error) {
		sink := newSink()
		r := rand.New(rand.NewPCG(seed, 11))
		fs := []signal.Field{{Name: "upstream"}}
		n := 0
		for t := start; t.Before(start.Add(6 * time.Hour)); t = t.Add(3 * time.Second) {
			n++
			pod := 1 + r.IntN(40)
			fs[0].Value = []byte("10.0." + string(rune('0'+pod/10)) + "." + string(rune('0'+pod%10)) + ":8080")
			status := 200
			if r.Float64() < 0.01 || (pod == 7 && !failAt.IsZero() && !t.Before(failAt) && r.IntN(2) == 0) {
				status = 503
			}
			sink.Add(&signal.Request{Time: t.UnixNano(), Status: status, Duration: 0.05, Fields: fs})
		}
		return Inputs{Lines: int64(n)}, nil
	}
}

// TestScopedOnset: when one pod's failures are too few to move the whole
// log's error rate, the onset is found in the pod's own requests, the
// baseline is what came before, and the result says so; a log without the
// failure has no onset at all.
func TestScopedOnset(t *testing.T) {
	start := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	failAt := start.Add(5 * time.Hour)
	scoped := 0
	for seed := uint64(1); seed <= 5; seed++ {
		res, err := Run(context.Background(), Options{Scan: quietPodScan(seed, start, failAt)})
		if err != nil {
			t.Fatal(err)
		}
		o := res.Onset
		if o == nil {
			t.Errorf("seed %d: no onset", seed)
			continue
		}
		if o.Scope == nil {
			continue // the whole log's rate moved enough this time
		}
		scoped++
		if o.Scope["upstream"] != "10.0.0.7:8080" || o.After < 0.3 || o.Before > 0.05 {
			t.Errorf("seed %d: onset evidence %+v, want pod 10.0.0.7's step to ~50%%", seed, o)
		}
		if d := res.Impact.Onset.Sub(failAt).Abs(); d > 10*time.Minute || !res.Impact.Significant {
			t.Errorf("seed %d: onset %s (significant %v), truth %s", seed, res.Impact.Onset, res.Impact.Significant, failAt)
		}
		if res.Window.Baseline.End == nil || !res.Window.Baseline.End.Equal(*res.Impact.Onset) {
			t.Errorf("seed %d: baseline %+v does not end at the onset", seed, res.Window.Baseline)
		}
		if len(res.Findings) == 0 || res.Findings[0].Value != "10.0.0.7:8080" || res.Findings[0].BaselineErrorRate == nil {
			t.Errorf("seed %d: findings do not compare pod 10.0.0.7 with its baseline: %+v", seed, res.Findings)
		}
	}
	if scoped < 3 {
		t.Errorf("the onset came from the pod's own requests in %d of 5 logs: the log is not quiet enough to test it", scoped)
	}
	for seed := uint64(1); seed <= 5; seed++ {
		res, err := Run(context.Background(), Options{Scan: quietPodScan(seed, start, time.Time{})})
		if err != nil {
			t.Fatal(err)
		}
		if res.Onset != nil || res.Impact.Onset != nil {
			t.Errorf("seed %d: an onset in a log without the failure: %+v", seed, res.Onset)
		}
	}
}

// TestOnsetIntervalBothWays: with sparse errors the best split can trail
// the real start (a quiet stretch after it) or lead it (a chance cluster
// just before it); the likelihood interval [earliest, latest] holds the
// true start either way (mostly: it is a likelihood interval), and the
// report carries both ends.
func TestOnsetIntervalBothWays(t *testing.T) {
	const truth = 620
	found, held, early, earlyHeld := 0, 0, 0, 0
	for seed := uint64(1); seed <= 60; seed++ {
		s := sparseSeries(seed, 720, 13, truth, 0.0015, 0.012, 1)
		d := detectOnset(s)
		if d.onset < 0 {
			continue
		}
		found++
		if d.onsetLo > d.onset || d.onsetHi < d.onset {
			t.Fatalf("seed %d: interval [%d, %d] does not hold the onset %d", seed, d.onsetLo, d.onsetHi, d.onset)
		}
		if d.onsetHi > d.onset && (d.ev.Latest == nil || !d.ev.Latest.After(d.ev.Time)) {
			t.Errorf("seed %d: latest %v not reported after %v", seed, d.ev.Latest, d.ev.Time)
		}
		ok := d.onsetLo <= truth+2 && d.onsetHi >= truth-2
		if d.onset < truth-2 {
			early++
			if ok {
				earlyHeld++
			}
		}
		if ok {
			held++
		} else {
			t.Logf("seed %d: onset %d in [%d, %d]; truth %d", seed, d.onset, d.onsetLo, d.onsetHi, truth)
		}
	}
	// A likelihood interval of a change point is nominally ≈95%; on these
	// series it holds the truth about 87% of the time (39 of 45).
	if held < found*8/10 {
		t.Errorf("the interval holds the true start in %d of %d logs, want ≥ 80%%", held, found)
	}
	if early == 0 || earlyHeld*2 < early {
		t.Errorf("%d onsets placed before the true start, %d of them held by the interval's upper end: want some, most held", early, earlyHeld)
	}
	t.Logf("%d onsets, %d placed early (%d held), %d intervals hold the truth", found, early, earlyHeld, held)
}
