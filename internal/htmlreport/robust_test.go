package htmlreport

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

// randomResult builds a result with the shapes that break renderers: nil
// pointers, NaN and infinite numbers, negative counts, empty and huge
// slices, times far apart or all equal, and text taken from s.
func randomResult(r *rand.Rand, s string) (*triage.Result, []signal.Change) {
	odd := []float64{0, 1, -1, 0.5, 1e-9, 1e9, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, math.Copysign(0, -1)}
	num := func() float64 {
		if r.IntN(3) == 0 {
			return odd[r.IntN(len(odd))]
		}
		return r.Float64()
	}
	count := func() int64 {
		switch r.IntN(6) {
		case 0:
			return -r.Int64N(100)
		case 1:
			return math.MaxInt64
		}
		return r.Int64N(10000)
	}
	base := time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)
	when := func() time.Time {
		switch r.IntN(8) {
		case 0:
			return time.Time{}
		case 1:
			return base.AddDate(-r.IntN(3000), 0, 0)
		case 2:
			return base.AddDate(r.IntN(3000), 0, 0)
		}
		return base.Add(time.Duration(r.IntN(7200)) * time.Second)
	}
	ptime := func() *time.Time {
		if r.IntN(3) == 0 {
			return nil
		}
		t := when()
		return &t
	}
	pnum := func() *float64 {
		if r.IntN(3) == 0 {
			return nil
		}
		v := num()
		return &v
	}
	str := func() string {
		if s == "" || r.IntN(3) == 0 {
			return ""
		}
		a := r.IntN(len(s))
		return s[a:]
	}
	strs := func() []string {
		if r.IntN(4) == 0 {
			return nil
		}
		out := make([]string, r.IntN(4))
		for i := range out {
			out[i] = str()
		}
		return out
	}
	res := &triage.Result{
		Window: triage.Window{Baseline: triage.Span{Start: ptime(), End: ptime()}, Incident: triage.Span{Start: ptime(), End: ptime()}},
		Impact: triage.Impact{
			Requests: count(), Errors: count(), ErrorRate: num(), BaselineErrorRate: num(), Onset: ptime(),
			ClientsAffected: count(), Clients: count(), BaselineRequests: count(), Significant: r.IntN(2) == 0,
		},
		Series: triage.Series{BucketSeconds: num() * 600},
		Notes:  strs(),
		Inputs: triage.Inputs{Lines: count(), Malformed: count(), Sources: strs(), FormatWarning: str(), Error: str()},
	}
	if r.IntN(2) == 0 {
		res.Impact.StatusCodes = map[string]int64{str(): count(), "503": count()}
	}
	if r.IntN(2) == 0 {
		res.Impact.Latency = &triage.Latency{P50: num(), P99: num(), BaselineP99: pnum()}
	}
	if r.IntN(2) == 0 {
		res.Onset = &triage.OnsetEvidence{Method: []string{"", "latency", "error-rate", str()}[r.IntN(4)], Before: num(), After: num(), End: ptime()}
	}
	for range r.IntN(5) {
		res.Impact.TopPaths = append(res.Impact.TopPaths, triage.PathImpact{Path: str(), Requests: count(), Errors: count(), ErrorRate: num()})
	}
	for range r.IntN(5) {
		res.Findings = append(res.Findings, triage.Finding{Dimension: str(), Value: str(), ErrorShare: num(), TrafficShare: num(),
			ErrorRate: num(), BaselineErrorRate: pnum(), Lift: pnum(), Summary: str()})
	}
	var changes []signal.Change
	n := r.IntN(6)
	if r.IntN(10) == 0 {
		n = 400
	}
	for i := range n {
		changes = append(changes, signal.Change{ID: fmt.Sprintf("c%d%s", i%7, str()), Time: when(), Kind: []string{"dns", "", "deploy", str()}[r.IntN(4)], Summary: str()})
	}
	for range r.IntN(4) {
		id := str()
		if len(changes) > 0 && r.IntN(2) == 0 {
			id = changes[r.IntN(len(changes))].ID
		}
		res.Changes = append(res.Changes, triage.Change{ID: id, Score: num(), Reasons: strs()})
	}
	for range r.IntN(4) {
		h := triage.Hypothesis{Cause: str(), Confidence: num(), Summary: str(), Evidence: strs(), Against: strs(), Checks: strs()}
		if r.IntN(2) == 0 && len(changes) > 0 {
			h.ChangeID = &changes[r.IntN(len(changes))].ID
		} else if r.IntN(2) == 0 {
			h.ChangeID = new(string)
		}
		for range r.IntN(3) {
			h.Containment = append(h.Containment, triage.Containment{Action: str(), Risk: str()})
		}
		res.Hypotheses = append(res.Hypotheses, h)
	}
	points := r.IntN(40)
	if r.IntN(10) == 0 {
		points = 2000
	}
	step := time.Duration(r.IntN(120)) * time.Second
	t := when()
	for range points {
		b := triage.Bucket{Time: t, Requests: count(), Errors: count(), P50: pnum(), P99: pnum()}
		if r.IntN(10) == 0 {
			b.Time = when() // out of order
		}
		res.Series.Points = append(res.Series.Points, b)
		t = t.Add(step)
	}
	return res, changes
}

// TestRandomResults: no result, however odd, panics or produces a page
// that is not well-formed.
func TestRandomResults(t *testing.T) {
	n := 150
	if testing.Short() {
		n = 30
	}
	for seed := range n {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		res, ch := randomResult(r, "<x a='1'>&amp; \"quoted\" ünïcødé\x00 "+string(rune(0xFFFD)))
		var b bytes.Buffer
		if err := Write(&b, res, ch, Options{Title: "<t>"}); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		checkWellFormed(t, b.Bytes())
		if bytes.Contains(b.Bytes(), []byte("NaN")) || bytes.Contains(b.Bytes(), []byte("Inf")) {
			t.Fatalf("seed %d: a NaN or Inf reached the page", seed)
		}
	}
}

func FuzzWrite(f *testing.F) {
	f.Add(uint64(1), "eu")
	f.Add(uint64(42), "<script>alert(1)</script>")
	f.Add(uint64(7), "")
	f.Fuzz(func(t *testing.T, seed uint64, s string) {
		r := rand.New(rand.NewPCG(seed, 7))
		res, ch := randomResult(r, s)
		var b bytes.Buffer
		if err := Write(&b, res, ch, Options{Title: s}); err != nil {
			t.Fatal(err)
		}
	})
}
