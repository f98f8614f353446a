package hypothesis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

// apiFleetScan serves six hours of API traffic, a request every 0.5 s, to
// twelve pods (10.1.0.1–12) of the api service on five paths, with a
// 0.1% background of fast 502s. From onsetAt, fail(pod, path, t, rng)
// decides whether a request fails and how long it took (0: it does not).
func apiFleetScan(start, onsetAt time.Time, fail func(pod int, path string, t time.Time, r *rand.Rand) float64) triage.ScanFunc {
	return func(ctx context.Context, newSink func() signal.RequestSink) (triage.Inputs, error) {
		sink := newSink()
		r := rand.New(rand.NewPCG(11, 12))
		paths := []string{"/api/v1/users/:id", "/api/v1/cart", "/api/v1/orders", "/api/v1/search"}
		fs := []signal.Field{{Name: "upstream"}, {Name: "path"}, {Name: "service", Value: []byte("api")}}
		n := 0
		for t := start; t.Before(start.Add(6 * time.Hour)); t = t.Add(500 * time.Millisecond) {
			n++
			pod := 1 + r.IntN(12)
			fs[0].Value = []byte(fmt.Sprintf("10.1.0.%d:8080", pod))
			path := paths[r.IntN(len(paths))]
			if r.IntN(20) == 0 {
				path = "/" // the home page: 5% of the traffic
			}
			fs[1].Value = []byte(path)
			status, dur := 200, 0.02+r.ExpFloat64()*0.03
			if r.Float64() < 0.001 {
				status, dur = 502, 0.002
			}
			if !t.Before(onsetAt) {
				if d := fail(pod, path, t, r); d > 0 {
					status, dur = 503, d
				}
			}
			sink.Add(&signal.Request{Time: t.UnixNano(), Status: status, Duration: dur, Fields: fs})
		}
		return triage.Inputs{Lines: int64(n), Sources: []string{"ingress.log"}}, nil
	}
}

func apiDeploy(id string, at time.Time) signal.Change {
	return signal.Change{ID: id, Kind: signal.KindDeploy, Time: at, Service: "api", Summary: "deploy api v3.1.0",
		Scope: map[string]string{"service": "api", "version": "v3.1.0"}}
}

func runAPIFleet(t *testing.T, onsetAt time.Time, ev Evidence, fail func(pod int, path string, t time.Time, r *rand.Rand) float64) *triage.Result {
	t.Helper()
	start := onsetAt.Add(-5 * time.Hour)
	res, err := triage.Run(context.Background(), triage.Options{Scan: apiFleetScan(start, onsetAt, fail), Changes: ev.Changes, Stages: []triage.Stage{Stage(ev)}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Impact.Significant {
		t.Fatalf("no incident: %+v", res.Impact)
	}
	return res
}

func causes(res *triage.Result) []string {
	var out []string
	for _, h := range res.Hypotheses {
		out = append(out, fmt.Sprintf("%s %.2f", h.Cause, h.Confidence))
	}
	return out
}

// TestPoolWaitFromLogsAlone: with no connection data, every instance
// failing in proportion to its traffic, its failures ending at the same
// 15 s, half an hour after a deploy of the service, reads as requests
// waiting for a shared pool that the deploy leaks — not as the instances'
// fault, not as "unknown", and not as a dependency behind the one path
// that fails a little more than the others.
func TestPoolWaitFromLogsAlone(t *testing.T) {
	onsetAt := time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC)
	ev := Evidence{Changes: []signal.Change{apiDeploy("chg-leak", onsetAt.Add(-30*time.Minute))}}
	res := runAPIFleet(t, onsetAt, ev, func(pod int, path string, ts time.Time, r *rand.Rand) float64 {
		p := 0.4
		if path == "/" {
			p = 0.65 // the home page holds the pool longer: a little more of it fails
		}
		if r.Float64() < p {
			return 15 + r.Float64()*0.05
		}
		return 0
	})
	if to := res.Impact.Timeout; to == nil || to.Seconds != 15 {
		t.Fatalf("timeout %+v, want a wall at 15 s", to)
	}
	h := res.Hypotheses[0]
	if h.Cause != "db-pool-exhaustion" || h.ChangeID == nil || *h.ChangeID != "chg-leak" {
		t.Fatalf("top hypothesis %s (change %v), want db-pool-exhaustion blaming chg-leak; all: %v", h.Cause, h.ChangeID, causes(res))
	}
	if !strings.Contains(strings.Join(h.Evidence, "\n"), "ended at ~15s, spread over 12 instances") {
		t.Errorf("evidence lacks the wall over every instance: %q", h.Evidence)
	}
	for _, o := range res.Hypotheses {
		if o.Cause == "memory-leak" {
			t.Errorf("instances failing together read as taking turns: %s", o.Summary)
		}
		if o.Cause == "dependency" && strings.Contains(o.Summary, "behind path=/") {
			t.Errorf("one path a little worse than the rest read as a dependency behind it: %s", o.Summary)
		}
	}
}

// TestInstancesInTurnFromLogsAlone: with no memory series, the instances
// failing one after another — each slow to a timeout for a few minutes,
// then recovering — an hour after a deploy of the service read as a
// memory leak, blaming the deploy. The same turns right at the deploy
// read as no leak, and a wall that only some instances hit is no shared
// pool.
func TestInstancesInTurnFromLogsAlone(t *testing.T) {
	onsetAt := time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC)
	// Pod k's turn: minutes [5k, 5k+4) of the incident, for pods 1–8.
	turns := func(pod int, path string, ts time.Time, r *rand.Rand) float64 {
		m := int(ts.Sub(onsetAt).Minutes())
		if pod <= 8 && m >= 5*(pod-1) && m < 5*(pod-1)+4 && r.Float64() < 0.6 {
			return 5 + r.Float64()*0.02
		}
		return 0
	}
	t.Run("an hour after the deploy", func(t *testing.T) {
		ev := Evidence{Changes: []signal.Change{apiDeploy("chg-rel", onsetAt.Add(-60*time.Minute))}}
		res := runAPIFleet(t, onsetAt, ev, turns)
		h := res.Hypotheses[0]
		if h.Cause != "memory-leak" || h.ChangeID == nil || *h.ChangeID != "chg-rel" || h.Confidence < minConfidence {
			t.Fatalf("top hypothesis %s %.2f (change %v), want memory-leak blaming chg-rel; all: %v", h.Cause, h.Confidence, h.ChangeID, causes(res))
		}
		if !strings.Contains(strings.Join(h.Evidence, "\n"), "8 instances fail in turn") {
			t.Errorf("evidence lacks the turns: %q", h.Evidence)
		}
		for _, o := range res.Hypotheses {
			if o.Cause == "db-pool-exhaustion" && o.Confidence >= minConfidence {
				t.Errorf("instances taking turns read as a shared pool (%.2f): %q", o.Confidence, o.Evidence)
			}
		}
	})
	t.Run("at the deploy", func(t *testing.T) {
		ev := Evidence{Changes: []signal.Change{apiDeploy("chg-rel", onsetAt.Add(-3*time.Minute))}}
		res := runAPIFleet(t, onsetAt, ev, turns)
		for _, o := range res.Hypotheses {
			if o.Cause == "memory-leak" && o.Confidence >= minConfidence {
				t.Errorf("turns right at a release read as a leak (%.2f): %s", o.Confidence, o.Summary)
			}
		}
	})
	t.Run("together", func(t *testing.T) {
		// Pods 1–3 fail for the whole incident: a node, not turns.
		ev := Evidence{Changes: []signal.Change{apiDeploy("chg-rel", onsetAt.Add(-60*time.Minute))}}
		res := runAPIFleet(t, onsetAt, ev, func(pod int, path string, ts time.Time, r *rand.Rand) float64 {
			if pod <= 3 && ts.Before(onsetAt.Add(40*time.Minute)) && r.Float64() < 0.6 {
				return 5 + r.Float64()*0.02
			}
			return 0
		})
		for _, o := range res.Hypotheses {
			if o.Cause == "memory-leak" || o.Cause == "db-pool-exhaustion" && o.Confidence >= minConfidence {
				t.Errorf("three instances failing together read as %s (%.2f): %q", o.Cause, o.Confidence, o.Evidence)
			}
		}
	})
}
