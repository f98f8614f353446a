package hypothesis

import (
	"context"
	"math/rand/v2"
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

// loginScan serves two hours of requests, one a second, half to the api
// (ingress upstream prod-api-80) and half to the web front end
// (prod-web-80), with the odd 5xx on both; from the onset the api's token
// endpoint answers 401 to 80% of its requests.
func loginScan(start, onsetAt time.Time) triage.ScanFunc {
	return func(ctx context.Context, newSink func() signal.RequestSink) (triage.Inputs, error) {
		sink := newSink()
		r := rand.New(rand.NewPCG(11, 12))
		fs := []signal.Field{{Name: "upstream"}, {Name: "path"}}
		api := []string{"/api/v1/auth/token", "/api/v1/users/:id", "/api/v1/cart"}
		web := []string{"/", "/products/:slug", "/cart"}
		n := 0
		for t := start; t.Before(start.Add(2 * time.Hour)); t = t.Add(time.Second) {
			n++
			status := 200
			if r.IntN(2) == 0 {
				fs[0].Value = []byte("10.0.0." + string(rune('1'+r.IntN(4))) + ":8080 (prod-api-80)")
				fs[1].Value = []byte(api[r.IntN(len(api))])
				if string(fs[1].Value) == api[0] && !t.Before(onsetAt) && r.Float64() < 0.8 {
					status = 401
				}
			} else {
				fs[0].Value = []byte("10.0.1." + string(rune('1'+r.IntN(4))) + ":3000 (prod-web-80)")
				fs[1].Value = []byte(web[r.IntN(len(web))])
			}
			if r.Float64() < 0.002 {
				status = 500
			}
			sink.Add(&signal.Request{Time: t.UnixNano(), Status: status, Duration: 0.05, Fields: fs})
		}
		return triage.Inputs{Lines: int64(n), Sources: []string{"ingress.log"}}, nil
	}
}

// TestClientErrorStepEndToEnd: through the client-error pass, a config
// change of the service whose endpoint answers 401 — read from the
// upstream names of the client errors, not of the 5xx — is blamed; the
// same change of the other service is neither blamed nor offered as a lead.
func TestClientErrorStepEndToEnd(t *testing.T) {
	start := onset.Add(-90 * time.Minute)
	cfg := func(svc string) signal.Change {
		return signal.Change{ID: "chg-" + svc, Kind: signal.KindConfig, Time: onset.Add(-3 * time.Minute), Service: svc,
			Summary: svc + ": rotate the token signing key", Scope: map[string]string{"service": svc}}
	}
	for _, c := range []struct {
		svc, want string
	}{{"api", "bad-deploy"}, {"web", "unknown"}} {
		t.Run(c.svc, func(t *testing.T) {
			ev := Evidence{Changes: []signal.Change{cfg(c.svc)}}
			res, err := triage.Run(context.Background(), triage.Options{Scan: loginScan(start, onset), Rescannable: true,
				Changes: ev.Changes, Stages: []triage.Stage{Stage(ev)}})
			if err != nil {
				t.Fatal(err)
			}
			if res.ClientErrors == nil || len(res.ClientErrors.Findings) == 0 {
				t.Fatalf("no client-error step found: %+v", res.Notes)
			}
			h := res.Hypotheses[0]
			if h.Cause != c.want {
				t.Fatalf("top hypothesis %s %.2f: %s", h.Cause, h.Confidence, h.Summary)
			}
			blamed := h.ChangeID != nil && *h.ChangeID == "chg-api"
			lead := strings.Contains(strings.Join(h.Checks, "\n"), "chg-web")
			if blamed != (c.svc == "api") || lead {
				t.Errorf("change %v, checks %q", h.ChangeID, h.Checks)
			}
		})
	}
}

// TestFailuresFollowTheClients: when no cause fits and the failures follow
// a population of clients — one release of an app, one network — the
// answer says so and acts on the clients' side, never by draining
// servers; a user-agent family gets no such words.
func TestFailuresFollowTheClients(t *testing.T) {
	release := finding("path,ua_product", "/api/checkout,ShopApp/5.2.0", 0.94, 0.04, 0.91)
	release.Scope = map[string]string{"path": "/api/checkout", "ua_product": "ShopApp/5.2.0"}
	for _, tc := range []struct {
		name string
		fd   triage.Finding
		want []string // in the summary, checks and containment; nil: the generic unknown
	}{
		{"app release", release, []string{"follow the clients", "ShopApp/5.2.0", "pause its staged rollout", "Make the servers accept what ShopApp/5.2.0 sends", "Do not drain"}},
		{"network", finding("client_net16", "81.2.0.0/16", 0.8, 0.05, 0.6), []string{"follow the clients", "Who is behind 81.2.0.0/16", "rate-limit or block it", "Do not drain"}},
		{"family", finding("ua_family", "mobile-app", 0.9, 0.3, 0.2), nil},
		{"a minority of the errors", finding("ua_product", "curl/8.4.0", 0.3, 0.01, 0.9), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := result(tc.fd)
			Apply(r, Evidence{})
			h := r.Hypotheses[0]
			text := h.Summary + "\n" + strings.Join(h.Checks, "\n")
			for _, c := range h.Containment {
				text += "\n" + c.Action
			}
			if h.Cause != "unknown" {
				t.Fatalf("cause %s: %s", h.Cause, h.Summary)
			}
			if tc.want == nil {
				if strings.Contains(text, "follow the clients") || !strings.Contains(text, "drain the pod/node/zone") {
					t.Errorf("generic answer expected:\n%s", text)
				}
				return
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("missing %q in:\n%s", w, text)
				}
			}
			if strings.Contains(text, "drain the pod") {
				t.Errorf("offers to drain servers:\n%s", text)
			}
		})
	}
}
