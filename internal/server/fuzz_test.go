package server

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// Every request decoder is fuzzed through its route: whatever the body, the
// answer is a 2xx or a 4xx with the JSON error envelope, never a 5xx or a
// panic. The seed corpora live in testdata/fuzz/Fuzz*.

func fuzzRoute(f *testing.F, method, path string, role auth.Role) {
	f.Helper()
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"text":`))
	fx, _ := memFixture(f)
	if _, err := fx.svc.Incidents.Declare(f.Context(), "fuzz", incident.DeclareInput{Title: "fuzz", Severity: "SEV3"}); err != nil {
		f.Fatal(err)
	}
	if _, err := fx.svc.Incidents.AddAction(f.Context(), 1, "fuzz", incident.AddActionInput{Title: "fuzz"}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(method, path, strings.NewReader(string(body)))
		r.Header.Set("Authorization", "Bearer "+fx.tokens[role])
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		fx.h.ServeHTTP(w, r)
		switch {
		case w.Code >= 200 && w.Code < 300:
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("status %d with a body that is not JSON: %q", w.Code, w.Body)
			}
		case w.Code >= 400 && w.Code < 500:
			var e errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("status %d without the error envelope: %q", w.Code, w.Body)
			}
		default:
			t.Fatalf("body %q: status %d: %s", body, w.Code, w.Body)
		}
	})
}

func FuzzDeclare(f *testing.F) { fuzzRoute(f, "POST", "/api/v1/incidents", auth.Responder) }
func FuzzEdit(f *testing.F)    { fuzzRoute(f, "PATCH", "/api/v1/incidents/INC-1", auth.Responder) }
func FuzzStatus(f *testing.F)  { fuzzRoute(f, "POST", "/api/v1/incidents/INC-1/status", auth.Responder) }
func FuzzNote(f *testing.F)    { fuzzRoute(f, "POST", "/api/v1/incidents/INC-1/timeline", auth.Responder) }
func FuzzUpdate(f *testing.F) {
	fuzzRoute(f, "POST", "/api/v1/incidents/INC-1/updates", auth.Responder)
}
func FuzzRoles(f *testing.F) { fuzzRoute(f, "POST", "/api/v1/incidents/INC-1/roles", auth.Responder) }
func FuzzCause(f *testing.F) { fuzzRoute(f, "POST", "/api/v1/incidents/INC-1/cause", auth.Responder) }
func FuzzAction(f *testing.F) {
	fuzzRoute(f, "POST", "/api/v1/incidents/INC-1/actions", auth.Responder)
}
func FuzzChanges(f *testing.F) { fuzzRoute(f, "POST", "/api/v1/changes", auth.Responder) }
func FuzzToken(f *testing.F)   { fuzzRoute(f, "POST", "/api/v1/tokens", auth.Admin) }
