package hypothesis

import (
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

// clientStep is a result with no 5xx or latency incident and a step in
// 401s on one endpoint at the onset.
func clientStep() *triage.Result {
	r := result()
	r.Impact.Significant, r.Impact.Onset = false, nil
	fd := finding("path", "/api/v1/auth/token", 0.97, 0.02, 0.8)
	r.ClientErrors = &triage.ClientErrorAnalysis{Onset: onset, Share: 0.02, BaselineShare: 0.002, Expression: "status==401", Findings: []triage.Finding{fd}}
	return r
}

// TestClientErrorStepWithAConfigChange: 401s step up on one endpoint
// minutes after a config change of the service that names that endpoint's
// secret: the change is blamed, in the client errors' own words, and no
// cause that fails requests instead (a dependency, a zone) is proposed.
func TestClientErrorStepWithAConfigChange(t *testing.T) {
	cfg := change("chg-jwks", signal.KindConfig, onset.Add(-3*time.Minute), map[string]string{"service": "api", "path": "/api/v1/auth/token"},
		map[string]any{"key": "JWT_ISSUER", "old": "https://login.example.com/", "new": "https://login.example.com"})
	r := clientStep()
	Apply(r, Evidence{Changes: []signal.Change{cfg}})
	h := r.Hypotheses[0]
	if h.Cause != "bad-deploy" || h.ChangeID == nil || *h.ChangeID != "chg-jwks" {
		t.Fatalf("top hypothesis %s (%v): %s", h.Cause, h.ChangeID, h.Summary)
	}
	for _, h := range r.Hypotheses {
		if !clientCauses[h.Cause] && h.Cause != "unknown" {
			t.Errorf("%s weighed against client errors: %s", h.Cause, h.Summary)
		}
	}
	if len(r.Changes) == 0 || r.Changes[0].ID != "chg-jwks" || r.Changes[0].Score < 0.5 {
		t.Errorf("changes = %+v, want the config change ranked first", r.Changes)
	}

	// A change that does not say where it acts is a lead, not a culprit.
	vague := cfg
	vague.Scope = map[string]string{"service": "api"}
	r = clientStep()
	Apply(r, Evidence{Changes: []signal.Change{vague}})
	h = r.Hypotheses[0]
	if h.Cause != "unknown" || !strings.Contains(h.Summary, "got a 401 after") {
		t.Fatalf("with a vague change: %s: %s", h.Cause, h.Summary)
	}
	if !strings.Contains(strings.Join(h.Checks, "\n"), "Look at config chg-jwks, 3 min before the step") {
		t.Errorf("checks do not point at the change just before the step: %q", h.Checks)
	}

	// Without any change, nothing explains them: unknown, pointing at them.
	r = clientStep()
	Apply(r, Evidence{})
	if h := r.Hypotheses[0]; h.Cause != "unknown" || !strings.Contains(h.Summary, "got a 401 after") || strings.Contains(strings.Join(h.Checks, "\n"), "Look at") {
		t.Errorf("without a change: %s: %s %q", h.Cause, h.Summary, h.Checks)
	}
}
