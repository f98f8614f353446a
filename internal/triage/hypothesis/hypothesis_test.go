package hypothesis

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

var onset = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func tp(t time.Time) *time.Time { return &t }

// result builds a triage result with one incident and the given findings.
func result(findings ...triage.Finding) *triage.Result {
	bs, be := onset.Add(-2*time.Hour), onset
	ie := onset.Add(time.Hour)
	r := &triage.Result{
		Window:   triage.Window{Baseline: triage.Span{Start: &bs, End: &be}, Incident: triage.Span{Start: tp(onset), End: &ie}},
		Impact:   triage.Impact{Requests: 10000, Errors: 500, ErrorRate: 0.05, BaselineErrorRate: 0.001, Onset: tp(onset), Significant: true, BaselineRequests: 20000},
		Findings: findings,
		Series:   triage.Series{BucketSeconds: 60},
	}
	for t := bs; t.Before(ie); t = t.Add(time.Minute) {
		p := triage.Bucket{Time: t, Requests: 170}
		if !t.Before(onset) {
			p.Errors = 8
		}
		r.Series.Points = append(r.Series.Points, p)
	}
	return r
}

func finding(dim, val string, errShare, trafficShare, errRate float64) triage.Finding {
	return triage.Finding{Dimension: dim, Value: val, Scope: map[string]string{dim: val}, ErrorShare: errShare,
		TrafficShare: trafficShare, ErrorRate: errRate, Summary: dim + "=" + val + " holds the errors"}
}

func change(id, kind string, at time.Time, scope map[string]string, details map[string]any) signal.Change {
	return signal.Change{ID: id, Kind: kind, Time: at, Summary: id, Scope: scope, Details: details}
}

func TestStaleDNSBlamesTheDNSChangeNotTheLatestDeploy(t *testing.T) {
	r := result(
		triage.Finding{Dimension: "no_upstream", Value: "true", Scope: map[string]string{"no_upstream": "true"}, ErrorShare: 0.98, TrafficShare: 0.05, ErrorRate: 0.95,
			Summary: "never reached a backend", Related: []triage.Related{{Dimension: "elb", Value: "app/api-eu-old/1", Scope: map[string]string{"elb": "app/api-eu-old/1"}, Overlap: 1}}},
	)
	Apply(r, Evidence{Changes: []signal.Change{
		change("chg-dns", signal.KindDNS, onset.Add(-50*time.Minute), map[string]string{"region": "eu"},
			map[string]any{"name": "api.example.com", "old": "api-eu-old", "new": "api-eu-new", "ttl": 86400.0}),
		change("chg-infra", signal.KindInfra, onset.Add(-1*time.Minute), nil, map[string]any{"action": "decommission", "target": "api-eu-old"}),
		change("chg-deploy", signal.KindDeploy, onset.Add(-30*time.Second), map[string]string{"region": "us"}, map[string]any{"version": "v2"}),
	}})
	h := r.Hypotheses[0]
	if h.Cause != "dns-stale-cache" || h.ChangeID == nil || *h.ChangeID != "chg-dns" || h.Confidence < 0.7 {
		t.Fatalf("top hypothesis = %s %.2f %v: %s", h.Cause, h.Confidence, h.ChangeID, h.Summary)
	}
	joined := strings.Join(h.Checks, "\n") + strings.Join(func() []string {
		var s []string
		for _, c := range h.Containment {
			s = append(s, c.Action)
		}
		return s
	}(), "\n")
	for _, want := range []string{"dns check api.example.com", "twice the old TTL", "Do not roll back"} {
		if !strings.Contains(joined, want) {
			t.Errorf("checks/containment lack %q:\n%s", want, joined)
		}
	}
	for _, h := range r.Hypotheses {
		if h.ChangeID != nil && *h.ChangeID == "chg-deploy" {
			t.Errorf("%s blames the latest change, a deploy in another region: %s", h.Cause, h.Summary)
		}
	}
}

// A change is never blamed just for being the latest: failures on one pod
// are not explained by a deploy that names neither the pod nor its node.
func TestNoBlameForTimingAloneOnAConcentratedFailure(t *testing.T) {
	r := result(finding("upstream", "10.1.2.3:8080 (prod-api-80)", 0.9, 0.03, 0.6))
	Apply(r, Evidence{Changes: []signal.Change{
		change("chg-1", signal.KindDeploy, onset.Add(-20*time.Second), map[string]string{"service": "search"}, map[string]any{"version": "v9"}),
	}})
	if h := r.Hypotheses[0]; h.Cause != "bad-pod" || h.ChangeID != nil {
		t.Fatalf("top hypothesis = %s %v: %s", h.Cause, h.ChangeID, h.Summary)
	}
	for _, c := range r.Changes {
		if c.ID == "chg-1" && c.Score > 0.6 {
			t.Errorf("unrelated change ranked %.2f", c.Score)
		}
	}
}

func TestNoIncidentIsUnknown(t *testing.T) {
	r := result(finding("path", "/x", 0.5, 0.1, 0.01))
	r.Impact.Significant = false
	Apply(r, Evidence{Changes: []signal.Change{change("chg-1", signal.KindDeploy, onset.Add(-time.Minute), nil, nil)}})
	if h := r.Hypotheses[0]; h.Cause != "unknown" || h.Confidence > 0.5 {
		t.Fatalf("top hypothesis on noise = %s %.2f", h.Cause, h.Confidence)
	}
}

// A change after the onset cannot have caused it.
func TestChangeAfterOnsetIsNotBlamed(t *testing.T) {
	r := result(finding("version", "v2", 0.95, 0.5, 0.1))
	Apply(r, Evidence{Changes: []signal.Change{change("chg-late", signal.KindDeploy, onset.Add(20*time.Minute), map[string]string{"version": "v2"}, nil)}})
	for _, h := range r.Hypotheses {
		if h.ChangeID != nil {
			t.Errorf("%s blames %s, which happened after the onset", h.Cause, *h.ChangeID)
		}
	}
	if len(r.Changes) != 1 || r.Changes[0].Score != 0 || !strings.Contains(strings.Join(r.Changes[0].Reasons, " "), "after the onset") {
		t.Errorf("changes = %+v", r.Changes)
	}
}

func TestEveryDetectorIsDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Detectors() {
		if d[1] == "" || seen[d[0]] {
			t.Errorf("detector %q: needs %q (duplicate %v)", d[0], d[1], seen[d[0]])
		}
		seen[d[0]] = true
	}
	for _, c := range []string{"bad-deploy", "db-pool-exhaustion", "slow-queries", "memory-leak", "dns-stale-cache", "bad-pod", "bad-node", "zone-outage", "cdn-origin", "cert-expired", "capacity", "dependency"} {
		if !seen[c] {
			t.Errorf("no detector for cause %s", c)
		}
	}
}

// Without a baseline (no onset, so no window before it) the unknown cause
// must not compare the error rate with a baseline that does not exist.
func TestNoIncidentWithoutBaselineClaimsNoBaselineRate(t *testing.T) {
	for _, withBase := range []bool{true, false} {
		r := result()
		r.Impact.Significant = false
		if !withBase {
			r.Window.Baseline = triage.Span{}
			r.Impact.BaselineRequests, r.Impact.BaselineErrorRate = 0, 0
		}
		Apply(r, Evidence{})
		h := r.Hypotheses[0]
		if h.Cause != "unknown" || len(h.Evidence) == 0 {
			t.Fatalf("baseline=%v: top hypothesis %s with evidence %q", withBase, h.Cause, h.Evidence)
		}
		text := h.Summary + " " + strings.Join(h.Evidence, " ")
		if got := strings.Contains(text, "baseline's noise") || strings.Contains(text, "in the baseline"); got != withBase {
			t.Errorf("baseline=%v: hypothesis compares with a baseline: %v\n%s", withBase, got, text)
		}
	}
}

// latencyResult is a latency incident: the error rate flat, one finding of
// the slow-request pass, with the given summary.
func latencyResult(slow triage.Finding, summary string) *triage.Result {
	r := result()
	r.Impact.ErrorRate, r.Impact.BaselineErrorRate = 0.002, 0.002
	slow.Summary = summary
	r.Slow = &triage.SlowAnalysis{Expression: "request_time>0.5", ThresholdSeconds: 0.5, Findings: []triage.Finding{slow}}
	return r
}

// On a latency incident the slow-request pass says where the failure is:
// one node's instances all slow is a bad node, in words about slowness.
func TestLatencyIncidentReadsTheSlowRequests(t *testing.T) {
	r := latencyResult(finding("node", "node-3", 1, 0.24, 1), "node=node-3 holds 100% of the slow requests")
	Apply(r, Evidence{})
	h := r.Hypotheses[0]
	if h.Cause != "bad-node" {
		t.Fatalf("top cause %s (%s), want bad-node", h.Cause, h.Summary)
	}
	text := h.Summary + " " + strings.Join(h.Evidence, " ")
	if !strings.Contains(text, "slow") || strings.Contains(text, "of the errors") {
		t.Errorf("bad-node speaks of errors on a latency incident: %s", text)
	}
}

// With no detector fitting (a slow path, no change log, no metrics), the
// unknown cause points at where the slow requests are.
func TestUnknownLatencyIncidentPointsAtTheSlowRequests(t *testing.T) {
	r := latencyResult(finding("user_agent", "okhttp/4.9", 0.9, 0.3, 0.4), "user_agent=okhttp/4.9 holds 90% of the slow requests")
	slow := r.Slow.Findings[0]
	Apply(r, Evidence{})
	h := r.Hypotheses[0]
	if h.Cause != "unknown" {
		t.Fatalf("top cause %s (%s) without evidence for one", h.Cause, h.Summary)
	}
	if !slices.Contains(h.Evidence, slow.Summary) {
		t.Errorf("evidence %q lacks the slow finding", h.Evidence)
	}
	if len(h.Checks) == 0 || !strings.Contains(h.Checks[0], "user_agent=okhttp/4.9") {
		t.Errorf("first check %q does not name the slow scope", h.Checks)
	}
}

// A step in client errors with nothing else moving: the cause stays
// unknown, but says so and points at the scope the client-error pass found.
func TestUnknownClientErrorStepPointsAtItsScope(t *testing.T) {
	r := result()
	r.Impact.Significant, r.Impact.Onset = false, nil
	fd := finding("path", "/api/login", 1, 0.13, 0.69)
	fd.Summary = "path=/api/login holds 100% of the 401 responses"
	r.ClientErrors = &triage.ClientErrorAnalysis{Onset: onset, Share: 0.12, BaselineShare: 0.03, Expression: "status==401", Findings: []triage.Finding{fd}}
	Apply(r, Evidence{})
	h := r.Hypotheses[0]
	if h.Cause != "unknown" || !strings.Contains(h.Summary, "client errors") {
		t.Fatalf("top hypothesis %s: %s", h.Cause, h.Summary)
	}
	if !slices.Contains(h.Evidence, fd.Summary) {
		t.Errorf("evidence %q lacks the client-error finding", h.Evidence)
	}
	checks := strings.Join(h.Checks, "\n")
	if !strings.Contains(checks, "path=/api/login") || !strings.Contains(checks, "--error 'status==401'") {
		t.Errorf("checks do not name the scope and the expression:\n%s", checks)
	}
}
