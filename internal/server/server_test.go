package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/sitrep-dev/sitrep/internal/app"
	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// fixture is a server over a service layer with one token per role.
type fixture struct {
	h      http.Handler
	svc    *app.Services
	tokens map[auth.Role]string
}

func newFixture(t testing.TB, svc *app.Services, opts Options) *fixture {
	t.Helper()
	f := &fixture{svc: svc, tokens: map[auth.Role]string{}}
	for _, r := range []auth.Role{auth.Viewer, auth.Responder, auth.Admin} {
		secret, _, err := svc.Tokens.Create(context.Background(), "test", string(r), r)
		if err != nil {
			t.Fatalf("create %s token: %v", r, err)
		}
		f.tokens[r] = secret
	}
	opts.Services = svc
	f.h = New(opts).Handler()
	return f
}

func memFixture(t testing.TB) (*fixture, *memStore) {
	svc, m := memServices(func() time.Time { return t0 })
	return newFixture(t, svc, Options{MaxBody: 4096}), m
}

// req describes one request; an empty ctype with a body means
// application/json.
type req struct {
	method, path string
	role         auth.Role
	body         string
	ctype        string
	header       map[string]string
}

func (f *fixture) do(t testing.TB, rq req) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	r := httptest.NewRequest(rq.method, rq.path, body)
	if rq.role != "" {
		r.Header.Set("Authorization", "Bearer "+f.tokens[rq.role])
	}
	switch {
	case rq.ctype != "":
		r.Header.Set("Content-Type", rq.ctype)
	case rq.body != "":
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range rq.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// call does rq, checks the status and decodes the JSON answer into out
// (when not nil).
func (f *fixture) call(t testing.TB, rq req, want int, out any) {
	t.Helper()
	w := f.do(t, rq)
	if w.Code != want {
		t.Fatalf("%s %s: status %d, want %d; body: %s", rq.method, rq.path, w.Code, want, w.Body)
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", rq.method, rq.path, w.Body, err)
		}
	}
}

func errorOf(t testing.TB, w *httptest.ResponseRecorder) errorDetail {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body is not the JSON envelope: %v: %s", err, w.Body)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error envelope lacks code or message: %s", w.Body)
	}
	return e.Error
}

// TestRoutes runs every route, with its error cases, against the in-memory
// store and the real SQLite store.
func TestRoutes(t *testing.T) {
	t.Run("memstore", func(t *testing.T) {
		f, m := memFixture(t)
		testRoutes(t, f, m)
	})
	t.Run("sqlite", func(t *testing.T) {
		svc := openStore(t, filepath.Join(t.TempDir(), "sitrep.db"))
		svc.Incidents = incident.NewService(incident.Options{Store: svc.Backend, Now: func() time.Time { return t0 }})
		testRoutes(t, newFixture(t, svc, Options{MaxBody: 4096}), nil)
	})
}

func testRoutes(t *testing.T, f *fixture, m *memStore) {
	ctx := context.Background()
	inc, err := f.svc.Incidents.Declare(ctx, "alice", incident.DeclareInput{Title: "API 503s", Severity: "SEV2", Services: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	act, err := f.svc.Incidents.AddAction(ctx, inc.ID, "alice", incident.AddActionInput{Title: "alert on LB health"})
	if err != nil {
		t.Fatal(err)
	}
	_ = act
	big := `{"title":"` + strings.Repeat("x", 5000) + `","severity":"SEV2"}`
	const (
		V, R, A = auth.Viewer, auth.Responder, auth.Admin
	)
	tests := []struct {
		name      string
		req       req
		want      int
		wantCode  string
		wantField string
		contains  string
	}{
		// Probes.
		{name: "healthz", req: req{method: "GET", path: "/healthz"}, want: 200, contains: `"ok"`},
		{name: "readyz", req: req{method: "GET", path: "/readyz"}, want: 200, contains: `"ready"`},
		{name: "metrics", req: req{method: "GET", path: "/metrics"}, want: 200, contains: "sitrep_open_incidents"},

		// Authentication and roles.
		{name: "no token", req: req{method: "GET", path: "/api/v1/incidents"}, want: 401, wantCode: "unauthenticated"},
		{name: "unknown token", req: req{method: "GET", path: "/api/v1/incidents", header: map[string]string{"Authorization": "Bearer sitrep_nope"}}, want: 401, wantCode: "unauthenticated"},
		{name: "basic auth", req: req{method: "GET", path: "/api/v1/incidents", header: map[string]string{"Authorization": "Basic dTpw"}}, want: 401, wantCode: "unauthenticated"},
		{name: "empty bearer", req: req{method: "GET", path: "/api/v1/incidents", header: map[string]string{"Authorization": "Bearer "}}, want: 401, wantCode: "unauthenticated"},
		{name: "viewer cannot declare", req: req{method: "POST", path: "/api/v1/incidents", role: V, body: `{"title":"x","severity":"SEV3"}`}, want: 403, wantCode: "forbidden"},
		{name: "viewer cannot note", req: req{method: "POST", path: "/api/v1/incidents/1/timeline", role: V, body: `{"text":"x"}`}, want: 403, wantCode: "forbidden"},
		{name: "viewer cannot record changes", req: req{method: "POST", path: "/api/v1/changes", role: V, body: `{"kind":"dns","summary":"x"}`}, want: 403, wantCode: "forbidden"},
		{name: "responder cannot list tokens", req: req{method: "GET", path: "/api/v1/tokens", role: R}, want: 403, wantCode: "forbidden"},
		{name: "responder cannot create tokens", req: req{method: "POST", path: "/api/v1/tokens", role: R, body: `{"name":"x","role":"admin"}`}, want: 403, wantCode: "forbidden"},
		{name: "responder cannot revoke", req: req{method: "DELETE", path: "/api/v1/tokens/viewer", role: R}, want: 403, wantCode: "forbidden"},

		// Incidents: list.
		{name: "list", req: req{method: "GET", path: "/api/v1/incidents", role: V}, want: 200, contains: `"INC-1"`},
		{name: "list filtered", req: req{method: "GET", path: "/api/v1/incidents?status=open&severity=2,SEV1&service=api&limit=5", role: V}, want: 200, contains: `"count": 1`},
		{name: "list filtered out", req: req{method: "GET", path: "/api/v1/incidents?status=closed", role: V}, want: 200, contains: `"count": 0`},
		{name: "list bad status", req: req{method: "GET", path: "/api/v1/incidents?status=bogus", role: V}, want: 400, wantField: "status"},
		{name: "list bad severity", req: req{method: "GET", path: "/api/v1/incidents?severity=SEV9", role: V}, want: 400, wantField: "severity"},
		{name: "list bad limit", req: req{method: "GET", path: "/api/v1/incidents?limit=0", role: V}, want: 400, wantField: "limit"},
		{name: "list unknown param", req: req{method: "GET", path: "/api/v1/incidents?stauts=open", role: V}, want: 400, wantField: "stauts"},

		// Incidents: declare and the request rules.
		{name: "declare", req: req{method: "POST", path: "/api/v1/incidents", role: R, body: `{"title":"Checkout slow","severity":"sev3","services":["checkout"]}`}, want: 201, contains: `"SEV3"`},
		{name: "declare malformed", req: req{method: "POST", path: "/api/v1/incidents", role: R, body: `{"title":`}, want: 400, wantCode: "bad_request"},
		{name: "declare syntax error", req: req{method: "POST", path: "/api/v1/incidents", role: R, body: `{"title" "x"}`}, want: 400, wantCode: "bad_request", contains: "byte"},
		{name: "declare unknown field", req: req{method: "POST", path: "/api/v1/incidents", role: R, body: `{"titel":"x","severity":"SEV2"}`}, want: 400, wantField: "titel", contains: "known fields"},
		{name: "declare wrong type", req: req{method: "POST", path: "/api/v1/incidents", role: R, body: `{"title":7,"severity":"SEV2"}`}, want: 400, wantField: "title"},
		{name: "declare bad severity", req: req{method: "POST", path: "/api/v1/incidents", role: R, body: `{"title":"x","severity":"SEV9"}`}, want: 400, wantCode: "invalid", wantField: "severity"},
		{name: "declare no title", req: req{method: "POST", path: "/api/v1/incidents", role: R, body: `{"severity":"SEV2"}`}, want: 400, wantCode: "invalid", wantField: "title"},
		{name: "declare bad time", req: req{method: "POST", path: "/api/v1/incidents", role: R, body: `{"title":"x","severity":"SEV2","detected_at":"yesterday"}`}, want: 400, wantField: "detected_at", contains: "RFC 3339"},
		{name: "declare two values", req: req{method: "POST", path: "/api/v1/incidents", role: R, body: `{"title":"x","severity":"SEV2"} {}`}, want: 400, contains: "more than one"},
		{name: "declare array", req: req{method: "POST", path: "/api/v1/incidents", role: R, body: `[]`}, want: 400, contains: "object"},
		{name: "declare empty", req: req{method: "POST", path: "/api/v1/incidents", role: R, ctype: "application/json"}, want: 400, contains: "empty"},
		{name: "declare text/plain", req: req{method: "POST", path: "/api/v1/incidents", role: R, body: `{}`, ctype: "text/plain"}, want: 415, wantCode: "unsupported_media_type"},
		{name: "declare form", req: req{method: "POST", path: "/api/v1/incidents", role: R, body: `title=x`, ctype: "application/x-www-form-urlencoded"}, want: 415},
		{name: "declare json charset", req: req{method: "POST", path: "/api/v1/incidents", role: R, body: `{"title":"x","severity":"4"}`, ctype: "application/json; charset=utf-8"}, want: 201},
		{name: "declare too large", req: req{method: "POST", path: "/api/v1/incidents", role: R, body: big}, want: 413, wantCode: "body_too_large"},

		// One incident.
		{name: "get", req: req{method: "GET", path: "/api/v1/incidents/INC-1", role: V}, want: 200, contains: `"API 503s"`},
		{name: "get bare number", req: req{method: "GET", path: "/api/v1/incidents/1", role: V}, want: 200},
		{name: "get lower case", req: req{method: "GET", path: "/api/v1/incidents/inc-1", role: V}, want: 200},
		{name: "get unknown", req: req{method: "GET", path: "/api/v1/incidents/INC-99", role: V}, want: 404, wantCode: "not_found"},
		{name: "get bad id", req: req{method: "GET", path: "/api/v1/incidents/abc", role: V}, want: 400, wantField: "id"},
		{name: "edit", req: req{method: "PATCH", path: "/api/v1/incidents/INC-1", role: R, body: `{"severity":"SEV1","impact":{"users_affected":120}}`}, want: 200, contains: `"SEV1"`},
		{name: "edit negative impact", req: req{method: "PATCH", path: "/api/v1/incidents/INC-1", role: R, body: `{"impact":{"users_affected":-1}}`}, want: 400, wantField: "impact.users_affected"},
		{name: "edit unknown nested field", req: req{method: "PATCH", path: "/api/v1/incidents/INC-1", role: R, body: `{"impact":{"users":1}}`}, want: 400, wantField: "impact.users", contains: "users_affected"},
		{name: "edit unknown", req: req{method: "PATCH", path: "/api/v1/incidents/INC-99", role: R, body: `{"title":"x"}`}, want: 404},

		// Status.
		{name: "illegal transition", req: req{method: "POST", path: "/api/v1/incidents/INC-1/status", role: R, body: `{"status":"closed"}`}, want: 409, wantCode: "illegal_transition", contains: "can move to"},
		{name: "bad status", req: req{method: "POST", path: "/api/v1/incidents/INC-1/status", role: R, body: `{"status":"fixed"}`}, want: 400, wantField: "status"},
		{name: "missing status", req: req{method: "POST", path: "/api/v1/incidents/INC-1/status", role: R, body: `{"text":"x"}`}, want: 400, wantField: "status"},
		{name: "status unknown incident", req: req{method: "POST", path: "/api/v1/incidents/INC-99/status", role: R, body: `{"status":"acknowledged"}`}, want: 404},
		{name: "ack", req: req{method: "POST", path: "/api/v1/incidents/INC-1/status", role: R, body: `{"status":"acknowledged","text":"on it"}`}, want: 200, contains: `"acknowledged"`},

		// Timeline, updates, roles, cause.
		{name: "timeline", req: req{method: "GET", path: "/api/v1/incidents/INC-1/timeline", role: V}, want: 200, contains: "Incident declared"},
		{name: "timeline unknown", req: req{method: "GET", path: "/api/v1/incidents/INC-99/timeline", role: V}, want: 404},
		{name: "note", req: req{method: "POST", path: "/api/v1/incidents/INC-1/timeline", role: R, body: `{"text":"eu only","payload":{"region":"eu"}}`}, want: 201, contains: `"token:responder"`},
		{name: "note evidence", req: req{method: "POST", path: "/api/v1/incidents/INC-1/timeline", role: R, body: `{"kind":"evidence","text":"99% of errors in eu"}`}, want: 201},
		{name: "note status kind", req: req{method: "POST", path: "/api/v1/incidents/INC-1/timeline", role: R, body: `{"kind":"status","text":"x"}`}, want: 400, wantField: "kind"},
		{name: "note empty", req: req{method: "POST", path: "/api/v1/incidents/INC-1/timeline", role: R, body: `{"text":"  "}`}, want: 400, wantField: "text"},
		{name: "note unknown incident", req: req{method: "POST", path: "/api/v1/incidents/INC-99/timeline", role: R, body: `{"text":"x"}`}, want: 404},
		{name: "note actor header", req: req{method: "POST", path: "/api/v1/incidents/INC-1/timeline", role: R, body: `{"text":"x"}`, header: map[string]string{ActorHeader: "alice"}}, want: 201, contains: `"actor": "alice"`},
		{name: "note bad actor header", req: req{method: "POST", path: "/api/v1/incidents/INC-1/timeline", role: R, body: `{"text":"x"}`, header: map[string]string{ActorHeader: "a\x01b"}}, want: 400, wantField: ActorHeader},
		{name: "update", req: req{method: "POST", path: "/api/v1/incidents/INC-1/updates", role: R, body: `{"text":"Investigating EU errors"}`}, want: 201, contains: `"comms"`},
		{name: "update empty", req: req{method: "POST", path: "/api/v1/incidents/INC-1/updates", role: R, body: `{"text":""}`}, want: 400, wantField: "text"},
		{name: "updates", req: req{method: "GET", path: "/api/v1/incidents/INC-1/updates", role: V}, want: 200, contains: "Investigating EU errors"},
		{name: "assign", req: req{method: "POST", path: "/api/v1/incidents/INC-1/roles", role: R, body: `{"role":"commander","person":"alice"}`}, want: 200, contains: `"commander": "alice"`},
		{name: "assign bad role", req: req{method: "POST", path: "/api/v1/incidents/INC-1/roles", role: R, body: `{"role":"boss","person":"alice"}`}, want: 400, wantField: "role"},
		{name: "cause", req: req{method: "POST", path: "/api/v1/incidents/INC-1/cause", role: R, body: `{"cause":"dns-stale-cache","root_cause":"old LB decommissioned while TTL 86400 cached"}`}, want: 200, contains: "dns-stale-cache"},
		{name: "cause empty", req: req{method: "POST", path: "/api/v1/incidents/INC-1/cause", role: R, body: `{}`}, want: 400, wantField: "root_cause"},

		// Action items.
		{name: "add action", req: req{method: "POST", path: "/api/v1/incidents/INC-1/actions", role: R, body: `{"title":"lower TTL before moves","owner":"netops","due":"2026-12-01T00:00:00Z"}`}, want: 201, contains: `"open"`},
		{name: "add action no title", req: req{method: "POST", path: "/api/v1/incidents/INC-1/actions", role: R, body: `{"owner":"x"}`}, want: 400, wantField: "title"},
		{name: "add action unknown incident", req: req{method: "POST", path: "/api/v1/incidents/INC-99/actions", role: R, body: `{"title":"x"}`}, want: 404},
		{name: "incident actions", req: req{method: "GET", path: "/api/v1/incidents/INC-1/actions", role: V}, want: 200, contains: "alert on LB health"},
		{name: "incident actions unknown", req: req{method: "GET", path: "/api/v1/incidents/INC-99/actions", role: V}, want: 404},
		{name: "actions", req: req{method: "GET", path: "/api/v1/actions?state=open&incident=INC-1", role: V}, want: 200, contains: `"incident": "INC-1"`},
		{name: "actions bad state", req: req{method: "GET", path: "/api/v1/actions?state=later", role: V}, want: 400, wantField: "state"},
		{name: "action done", req: req{method: "POST", path: "/api/v1/actions/1/done", role: R}, want: 200, contains: `"done"`},
		{name: "action done unknown", req: req{method: "POST", path: "/api/v1/actions/99/done", role: R}, want: 404},
		{name: "action done bad id", req: req{method: "POST", path: "/api/v1/actions/x/done", role: R}, want: 400, wantField: "id"},

		// Changes.
		{name: "record change", req: req{method: "POST", path: "/api/v1/changes", role: R, body: `{"id":"chg-1","time":"2026-11-20T11:50:00Z","kind":"dns","summary":"eu record moved","scope":{"region":"eu"},"ticket":"NET-7"}`}, want: 201, contains: `"ticket": "NET-7"`},
		{name: "record changes array", req: req{method: "POST", path: "/api/v1/changes", role: R, body: `[{"kind":"deploy","summary":"api v2"},{"kind":"cdn","summary":"purge"}]`}, want: 201, contains: `"token:responder"`},
		{name: "record change bad kind", req: req{method: "POST", path: "/api/v1/changes", role: R, body: `{"kind":"magic","summary":"x"}`}, want: 400},
		{name: "record change no summary", req: req{method: "POST", path: "/api/v1/changes", role: R, body: `{"kind":"dns"}`}, want: 400},
		{name: "record change bad time", req: req{method: "POST", path: "/api/v1/changes", role: R, body: `{"kind":"dns","summary":"x","time":"noon"}`}, want: 400, wantField: "time", contains: "RFC 3339"},
		{name: "record no changes", req: req{method: "POST", path: "/api/v1/changes", role: R, body: `[]`}, want: 400},
		{name: "record change malformed", req: req{method: "POST", path: "/api/v1/changes", role: R, body: `{"kind":`}, want: 400},
		{name: "record change text", req: req{method: "POST", path: "/api/v1/changes", role: R, body: `{}`, ctype: "text/plain"}, want: 415},
		{name: "list changes", req: req{method: "GET", path: "/api/v1/changes?since=2026-11-20T11:00:00Z&until=1s", role: V}, want: 200, contains: "chg-1"},
		{name: "list changes bad since", req: req{method: "GET", path: "/api/v1/changes?since=tuesday", role: V}, want: 400, wantField: "since"},

		// Tokens.
		{name: "list tokens", req: req{method: "GET", path: "/api/v1/tokens", role: A}, want: 200, contains: `"responder"`},
		{name: "create token", req: req{method: "POST", path: "/api/v1/tokens", role: A, body: `{"name":"ci","role":"responder"}`}, want: 201, contains: `"token": "sitrep_`},
		{name: "create token taken", req: req{method: "POST", path: "/api/v1/tokens", role: A, body: `{"name":"ci","role":"viewer"}`}, want: 409, wantCode: "conflict"},
		{name: "create token bad role", req: req{method: "POST", path: "/api/v1/tokens", role: A, body: `{"name":"x","role":"root"}`}, want: 400, wantField: "role"},
		{name: "create token bad name", req: req{method: "POST", path: "/api/v1/tokens", role: A, body: `{"name":"a b","role":"viewer"}`}, want: 400},
		{name: "revoke token", req: req{method: "DELETE", path: "/api/v1/tokens/ci", role: A}, want: 204},
		{name: "revoke unknown token", req: req{method: "DELETE", path: "/api/v1/tokens/ci", role: A}, want: 404},

		// What no route matches.
		{name: "unknown route", req: req{method: "GET", path: "/api/v1/nope", role: A}, want: 404, wantCode: "not_found"},
		{name: "wrong method", req: req{method: "DELETE", path: "/api/v1/incidents/INC-1", role: A}, want: 405, wantCode: "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(t, tt.req)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d; body: %s", w.Code, tt.want, w.Body)
			}
			if w.Code >= 400 {
				e := errorOf(t, w)
				if tt.wantCode != "" && e.Code != tt.wantCode {
					t.Errorf("error code %q, want %q (%s)", e.Code, tt.wantCode, e.Message)
				}
				if tt.wantField != "" && e.Field != tt.wantField {
					t.Errorf("error field %q, want %q (%s)", e.Field, tt.wantField, e.Message)
				}
			}
			if tt.contains != "" && !strings.Contains(w.Body.String(), tt.contains) {
				t.Errorf("body lacks %q:\n%s", tt.contains, w.Body)
			}
			if w.Code == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if ct := w.Header().Get("Content-Type"); tt.req.path != "/metrics" && w.Code != 204 && ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
		})
	}

	t.Run("store down", func(t *testing.T) {
		if m == nil {
			t.Skip("needs the in-memory store")
		}
		m.mu.Lock()
		m.pingErr = errors.New("disk on fire")
		m.mu.Unlock()
		defer func() { m.mu.Lock(); m.pingErr = nil; m.mu.Unlock() }()
		w := f.do(t, req{method: "GET", path: "/readyz"})
		if w.Code != 503 || errorOf(t, w).Code != "unavailable" {
			t.Fatalf("readyz with the store down: %d %s", w.Code, w.Body)
		}
		if strings.Contains(w.Body.String(), "disk on fire") {
			t.Errorf("readyz leaks the store error: %s", w.Body)
		}
	})
	t.Run("metrics count requests by route", func(t *testing.T) {
		w := f.do(t, req{method: "GET", path: "/metrics"})
		for _, s := range []string{
			`sitrep_http_requests_total{code="404",method="GET",route="/api/v1/incidents/{id}"}`,
			`sitrep_http_requests_total{code="201",method="POST",route="/api/v1/incidents"}`,
			`sitrep_open_incidents{severity="SEV1",status="acknowledged"} 1`,
			`sitrep_http_requests_total{code="405",method="ANY",route="unmatched"}`,
		} {
			if !strings.Contains(w.Body.String(), s) {
				t.Errorf("metrics lack %s", s)
			}
		}
	})
	t.Run("viewer actor header ignored", func(t *testing.T) {
		// A viewer cannot write, so its header is moot; reads still work.
		w := f.do(t, req{method: "GET", path: "/api/v1/incidents", role: V, header: map[string]string{ActorHeader: "a\x01b"}})
		if w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
	t.Run("revoked token is refused", func(t *testing.T) {
		f.call(t, req{method: "DELETE", path: "/api/v1/tokens/viewer", role: A}, 204, nil)
		w := f.do(t, req{method: "GET", path: "/api/v1/incidents", role: V})
		if w.Code != 401 {
			t.Fatalf("revoked token: status %d, want 401", w.Code)
		}
	})
}

// testutilGauge reads the in-flight requests gauge.
func testutilGauge(s *Server) float64 {
	var m dto.Metric
	if err := s.metrics.inFlight.Write(&m); err != nil {
		panic(err)
	}
	return m.GetGauge().GetValue()
}

func TestExposureWarning(t *testing.T) {
	for addr, warn := range map[string]bool{
		"127.0.0.1:8080": false, "localhost:8080": false, "[::1]:8080": false, "127.0.0.2:80": false,
		"0.0.0.0:8080": true, ":8080": true, "[::]:8080": true, "192.168.1.10:8080": true, "example.com:80": true,
	} {
		got := ExposureWarning(addr)
		if (got != "") != warn {
			t.Errorf("ExposureWarning(%q) = %q, want a warning: %v", addr, got, warn)
		}
		if strings.HasPrefix(addr, "0.0.0.0") && !strings.Contains(got, "every network interface") {
			t.Errorf("ExposureWarning(%q) = %q, want it to say every interface", addr, got)
		}
	}
}
