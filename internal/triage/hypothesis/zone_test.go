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

// zoneWorld is 18 pods, two on each of nine nodes, three nodes in each of
// zones a, b and c: pod i has IP 10.0.1.(i+1) on node n(i/2), whose zone
// is "abc"[i/6]. Its metrics join pods to nodes (kube_pod_info) and nodes
// to zones (a node series with the zone label).
func zoneWorld() []signal.Series {
	var out []signal.Series
	at := []signal.Point{{T: onset.UnixMilli(), V: 1}}
	for i := 0; i < 18; i++ {
		out = append(out, signal.Series{Name: "kube_pod_info", Points: at, Labels: map[string]string{
			"pod_ip": fmt.Sprintf("10.0.1.%d", i+1), "pod": fmt.Sprintf("api-%d", i), "node": fmt.Sprintf("n%d", i/2)}})
	}
	for n := 0; n < 9; n++ {
		out = append(out, signal.Series{Name: "node_load1", Points: at, Labels: map[string]string{
			"node": fmt.Sprintf("n%d", n), "zone": "zone-" + string("abc"[n/3])}})
	}
	return out
}

// zoneScan serves two hours of requests, one a second, spread over the
// 18 pods; from the onset the pods for which failing is true fail 85%.
func zoneScan(start, onsetAt time.Time, failing func(pod int) bool) triage.ScanFunc {
	return func(ctx context.Context, newSink func() signal.RequestSink) (triage.Inputs, error) {
		sink := newSink()
		r := rand.New(rand.NewPCG(9, 10))
		fs := []signal.Field{{Name: "upstream"}, {Name: "path"}}
		n := 0
		for t := start; t.Before(start.Add(2 * time.Hour)); t = t.Add(time.Second) {
			n++
			pod := r.IntN(18)
			fs[0].Value = []byte(fmt.Sprintf("10.0.1.%d:8080", pod+1))
			fs[1].Value = []byte("/api/v1/items/:id")
			status := 200
			if r.Float64() < 0.001 || (!t.Before(onsetAt) && failing(pod) && r.Float64() < 0.85) {
				status = 504
			}
			sink.Add(&signal.Request{Time: t.UnixNano(), Status: status, Duration: 0.05, Fields: fs})
		}
		return triage.Inputs{Lines: int64(n), Sources: []string{"ingress.log"}}, nil
	}
}

// TestZoneOutageOrCanaryInOneZone: every pod of zone b failing is a zone
// outage; two canary pods that happen to run on two of zone b's nodes, or
// on one node, are the canary's deploy, and the zone and node hypotheses
// say why they are doubted.
func TestZoneOutageOrCanaryInOneZone(t *testing.T) {
	start := onset.Add(-90 * time.Minute)
	canary := func(pods ...any) signal.Change {
		return signal.Change{ID: "chg-canary", Kind: signal.KindDeploy, Time: onset.Add(-6 * time.Minute), Service: "api",
			Summary: "canary api v2.50.0 (2 pods)", Scope: map[string]string{"service": "api", "version": "v2.50.0"},
			Details: map[string]any{"pods": pods, "version": "v2.50.0"}}
	}
	for _, c := range []struct {
		name    string
		failing func(int) bool
		changes []signal.Change
		want    string
	}{
		{"every pod of the zone", func(p int) bool { return p/6 == 1 }, nil, "zone-outage"},
		{"two canary pods in the zone", func(p int) bool { return p == 6 || p == 9 }, []signal.Change{canary("api-6", "api-9")}, "bad-deploy"},
		{"two canary pods on one node", func(p int) bool { return p == 6 || p == 7 }, []signal.Change{canary("api-6", "api-7")}, "bad-deploy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev := Evidence{Changes: c.changes, Metrics: zoneWorld()}
			res, err := triage.Run(context.Background(), triage.Options{Scan: zoneScan(start, onset, c.failing), Changes: ev.Changes, Stages: []triage.Stage{Stage(ev)}})
			if err != nil {
				t.Fatal(err)
			}
			h := res.Hypotheses[0]
			if h.Cause != c.want {
				t.Fatalf("top hypothesis %s %.2f: %s (all: %+v)", h.Cause, h.Confidence, h.Summary, res.Hypotheses)
			}
			if checks := strings.Join(h.Checks, "\n") + strings.Join(containText(h), "\n"); h.Cause == "zone-outage" && (!strings.Contains(checks, "zone-b") || strings.Contains(checks, "<zone>")) {
				t.Errorf("zone-outage's checks and containment do not name the zone its instances roll up to:\n%s", checks)
			}
			for _, h := range res.Hypotheses {
				ag := strings.Join(h.Against, "\n")
				doubt := strings.Contains(ag, "instances in zone-b that served requests fail")
				if h.Cause == "zone-outage" && doubt != (c.want != "zone-outage") {
					t.Errorf("zone-outage against = %q", h.Against)
				}
				if h.Cause == "bad-node" && c.changes != nil && !strings.Contains(ag, "chg-canary names the failing instances") {
					t.Errorf("bad-node does not hold the canary against itself: %q", h.Against)
				}
			}
		})
	}
}

// TestChangeInsideTheOnsetInterval: a deploy four minutes after the onset
// found, naming the failing instance, started the incident if the onset may
// be as late as six minutes after (its likelihood interval); when the onset
// is sharp, a change after it is not blamed.
func TestChangeInsideTheOnsetInterval(t *testing.T) {
	deploy := change("chg-late", signal.KindDeploy, onset.Add(4*time.Minute), map[string]string{"service": "api"},
		map[string]any{"instances": []any{"10.0.0.5:8080"}, "version": "v2.0.1"})
	for _, c := range []struct {
		name   string
		latest time.Duration
		blamed bool
	}{{"interval reaches past it", 6 * time.Minute, true}, {"sharp onset", 0, false}} {
		t.Run(c.name, func(t *testing.T) {
			r := result(finding("upstream", "10.0.0.5:8080", 0.9, 0.03, 0.7))
			r.Onset = &triage.OnsetEvidence{Method: "error-rate", Time: onset}
			if c.latest > 0 {
				l := onset.Add(c.latest)
				r.Onset.Latest = &l
			}
			Apply(r, Evidence{Changes: []signal.Change{deploy}})
			var blamed *triage.Hypothesis
			for i, h := range r.Hypotheses {
				if h.ChangeID != nil && *h.ChangeID == "chg-late" {
					blamed = &r.Hypotheses[i]
				}
			}
			if (blamed != nil) != c.blamed {
				t.Fatalf("blamed: %v, want %v (hypotheses %+v)", blamed != nil, c.blamed, r.Hypotheses)
			}
			if blamed != nil && !strings.Contains(blamed.Summary, "4 min after the onset found (which may be as late as 12:06:00)") {
				t.Errorf("summary does not say when: %s", blamed.Summary)
			}
		})
	}
}

func containText(h triage.Hypothesis) []string {
	var out []string
	for _, c := range h.Containment {
		out = append(out, c.Action)
	}
	return out
}
