package server

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/app"
	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/testsrv/pgtest"
)

// The whole incident lifecycle over the API, against each store.

func TestLifecycleSQLite(t *testing.T) {
	svc := openStore(t, filepath.Join(t.TempDir(), "sitrep.db"))
	lifecycle(t, newFixture(t, svc, Options{}))
}

func TestLifecyclePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	srv := pgtest.Start(t, pgtest.Options{})
	svc := openStore(t, srv.CreateDatabase(t, "sitrep"))
	lifecycle(t, newFixture(t, svc, Options{}))
}

func TestLifecycleMemStore(t *testing.T) {
	svc, _ := memServices(nil)
	lifecycle(t, newFixture(t, svc, Options{}))
}

func openStore(t *testing.T, dsn string) *app.Services {
	t.Helper()
	svc, err := app.Open(context.Background(), dsn, app.Options{})
	if err != nil {
		t.Fatalf("open store %s: %v", dsn, err)
	}
	t.Cleanup(func() {
		if err := svc.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return svc
}

func lifecycle(t *testing.T, f *fixture) {
	const R, V = auth.Responder, auth.Viewer
	post := func(path, body string, want int, out any) {
		t.Helper()
		f.call(t, req{method: "POST", path: path, role: R, body: body}, want, out)
	}

	var inc incident.Incident
	post("/api/v1/incidents", `{"title":"API returns 503s for EU users","severity":"SEV2","services":["api"],"labels":{"region":"eu"}}`, http.StatusCreated, &inc)
	if inc.ID == 0 || inc.Status != incident.Triggered || inc.CreatedBy != "token:responder" {
		t.Fatalf("declared %+v", inc)
	}
	base := "/api/v1/incidents/" + inc.Ref()

	post(base+"/status", `{"status":"acknowledged","text":"looking"}`, 200, &inc)
	f.call(t, req{method: "POST", path: base + "/roles", role: R, body: `{"role":"commander","person":"alice"}`,
		header: map[string]string{ActorHeader: "alice"}}, 200, &inc)
	post(base+"/roles", `{"role":"responder","person":"bob"}`, 200, &inc)
	post(base+"/timeline", `{"text":"errors only in eu; eu record moved at 12:03","payload":{"region":"eu"}}`, 201, nil)
	post(base+"/updates", `{"text":"Investigating elevated errors for EU users"}`, 201, nil)
	f.call(t, req{method: "PATCH", path: base, role: R, body: `{"severity":"SEV1","impact":{"users_affected":1200,"downtime_minutes":42}}`}, 200, &inc)
	post(base+"/status", `{"status":"mitigated","text":"old LB serving again"}`, 200, &inc)
	post(base+"/cause", `{"cause":"dns-stale-cache","root_cause":"old LB decommissioned while resolvers cached the record"}`, 200, &inc)
	post(base+"/status", `{"status":"resolved","text":"kept old LB until caches expired"}`, 200, &inc)

	var act incident.ActionItem
	post(base+"/actions", `{"title":"lower TTL before moving records","owner":"netops","due":"2026-12-01T00:00:00Z"}`, 201, &act)
	var actions ActionList
	f.call(t, req{method: "GET", path: "/api/v1/actions?state=open", role: V}, 200, &actions)
	if len(actions.Actions) != 1 || actions.Actions[0].Title != "lower TTL before moving records" || actions.Actions[0].Owner != "netops" {
		t.Fatalf("open actions: %+v", actions.Actions)
	}
	post("/api/v1/actions/"+itoa(act.ID)+"/done", ``, 200, &act)
	if act.State != incident.ActionDone || act.DoneAt == nil {
		t.Fatalf("action after done: %+v", act)
	}
	post(base+"/status", `{"status":"closed","text":"postmortem reviewed"}`, 200, &inc)
	// A closed incident stays closed.
	w := f.do(t, req{method: "POST", path: base + "/status", role: R, body: `{"status":"acknowledged"}`})
	if w.Code != http.StatusConflict {
		t.Fatalf("reopen a closed incident: status %d, want 409", w.Code)
	}

	var got incident.Incident
	f.call(t, req{method: "GET", path: base, role: V}, 200, &got)
	if got.Status != incident.Closed || got.Severity != incident.SEV1 || got.Commander != "alice" ||
		!slices.Equal(got.Responders, []string{"bob"}) || got.Cause != "dns-stale-cache" ||
		got.Resolution != "kept old LB until caches expired" || got.Impact.UsersAffected == nil || *got.Impact.UsersAffected != 1200 {
		t.Errorf("final incident: %+v", got)
	}
	for name, ts := range map[string]*time.Time{"acknowledged_at": got.AcknowledgedAt, "mitigated_at": got.MitigatedAt,
		"resolved_at": got.ResolvedAt, "closed_at": got.ClosedAt} {
		if ts == nil {
			t.Errorf("%s not set", name)
		}
	}

	var tl Timeline
	f.call(t, req{method: "GET", path: base + "/timeline", role: V}, 200, &tl)
	var statuses, kinds []string
	actors := map[string]bool{}
	for _, e := range tl.Events {
		kinds = append(kinds, e.Kind)
		actors[e.Actor] = true
		if e.Kind == incident.EventStatus {
			statuses = append(statuses, e.Text)
		}
	}
	if len(statuses) != 5 {
		t.Errorf("status events %q, want declare, ack, mitigate, resolve, close", statuses)
	}
	for _, k := range []string{incident.EventNote, incident.EventComms, incident.EventAction} {
		if !slices.Contains(kinds, k) {
			t.Errorf("timeline lacks a %s event: %v", k, kinds)
		}
	}
	if !actors["alice"] || !actors["token:responder"] {
		t.Errorf("timeline actors %v, want alice (header) and token:responder", actors)
	}

	var upd Timeline
	f.call(t, req{method: "GET", path: base + "/updates", role: V}, 200, &upd)
	if len(upd.Events) != 1 || !strings.Contains(upd.Events[0].Text, "Investigating") {
		t.Errorf("updates: %+v", upd.Events)
	}

	var list IncidentList
	f.call(t, req{method: "GET", path: "/api/v1/incidents?status=closed&service=api", role: V}, 200, &list)
	if list.Count != 1 || list.Incidents[0].ID != inc.ID {
		t.Errorf("closed incidents: %+v", list)
	}

	var chg ChangeList
	post("/api/v1/changes", `[{"id":"chg-2041","time":"2026-11-20T12:03:00Z","kind":"dns","summary":"eu record moved","scope":{"region":"eu"},"details":{"ttl":86400}},
		{"id":"chg-2042","time":"2026-11-20T13:00:00Z","kind":"infra","summary":"old LB decommissioned","details":{"action":"decommission"}}]`, 201, &chg)
	f.call(t, req{method: "GET", path: "/api/v1/changes?since=2026-11-20T12:00:00Z&until=2026-11-20T12:30:00Z", role: V}, 200, &chg)
	if len(chg.Changes) != 1 || chg.Changes[0].ID != "chg-2041" || chg.Changes[0].Actor != "token:responder" {
		t.Errorf("changes in window: %+v", chg.Changes)
	}
}

func itoa(n int64) string { return strings.TrimPrefix(incident.FormatID(n), "INC-") }

// Concurrent edits through the API lose nothing: each writer adds its own
// label to the same incident at the same time.
func TestConcurrentEditsSQLite(t *testing.T) {
	svc := openStore(t, filepath.Join(t.TempDir(), "sitrep.db"))
	f := newFixture(t, svc, Options{})
	var inc incident.Incident
	f.call(t, req{method: "POST", path: "/api/v1/incidents", role: auth.Responder, body: `{"title":"x","severity":"SEV3"}`}, 201, &inc)
	const writers = 8
	errs := make(chan string, writers)
	for i := range writers {
		go func() {
			w := f.do(t, req{method: "PATCH", path: "/api/v1/incidents/" + inc.Ref(), role: auth.Responder,
				body: `{"labels":{"w` + itoa(int64(i)) + `":"yes"}}`})
			if w.Code != 200 {
				errs <- w.Body.String()
				return
			}
			errs <- ""
		}()
	}
	for range writers {
		if e := <-errs; e != "" {
			t.Errorf("concurrent edit failed: %s", e)
		}
	}
	var got incident.Incident
	f.call(t, req{method: "GET", path: "/api/v1/incidents/" + inc.Ref(), role: auth.Viewer}, 200, &got)
	if len(got.Labels) != writers {
		t.Errorf("labels after %d concurrent edits: %v", writers, got.Labels)
	}
}
