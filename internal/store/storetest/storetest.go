// Package storetest is the conformance suite every store backend runs: the
// behaviour incident.Store, auth.Store and changelog.Store promise, checked
// the same way against SQLite and PostgreSQL.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Backend {
//			db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "s.db"), sqlite.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { db.Close() })
//			return db
//		})
//	}
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/changelog"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Backend is what a store implements to pass the suite.
type Backend interface {
	incident.Store
	auth.Store
	changelog.Store
	Ping(ctx context.Context) error
	Close() error
}

// Run runs the suite. open returns a new, empty, migrated store for one
// subtest and arranges for it to be closed when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"Ping", testPing},
		{"IncidentRoundTrip", testIncidentRoundTrip},
		{"IncidentNotFound", testIncidentNotFound},
		{"IncidentConflict", testIncidentConflict},
		{"IncidentInvalid", testIncidentInvalid},
		{"ListIncidentsFilters", testListIncidents},
		{"TimelineAppendOnly", testTimeline},
		{"ActionItems", testActions},
		{"Tokens", testTokens},
		{"TokenNameRace", testTokenNameRace},
		{"Changes", testChanges},
		{"ChangesUnknownFields", testChangesUnknownFields},
		{"ServiceLifecycle", testServiceLifecycle},
		{"ParallelNotes", testParallelNotes},
		{"ParallelAssignsAndTransitions", testParallelMutations},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// base is a fixed time with microseconds, in a zone other than UTC, so that
// the suite sees both normalisations.
var base = time.Date(2026, 11, 20, 12, 3, 4, 123456000, time.FixedZone("CET", 3600))

func at(d time.Duration) time.Time { return base.Add(d) }

func ptr[T any](v T) *T { return &v }

func utc(t time.Time) time.Time { return t.UTC() }

func newIncident(title string, created time.Time) *incident.Incident {
	return &incident.Incident{
		Title: title, Severity: incident.SEV2, Status: incident.Triggered,
		Services: []string{}, Labels: map[string]string{}, Responders: []string{},
		CreatedBy: "alice", CreatedAt: created, UpdatedAt: created,
	}
}

func mustCreate(t *testing.T, b Backend, inc *incident.Incident, events ...incident.Event) *incident.Incident {
	t.Helper()
	if err := b.CreateIncident(t.Context(), inc, events); err != nil {
		t.Fatalf("CreateIncident(%q): %v", inc.Title, err)
	}
	return inc
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// same fails the test when got and want differ, showing both as JSON.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("%s differs\n got: %s\nwant: %s\n(got %#v)", what, g, w, got)
	}
}

func testPing(t *testing.T, b Backend) {
	if err := b.Ping(t.Context()); err != nil {
		t.Fatalf("Ping on a fresh store: %v", err)
	}
}

func testIncidentRoundTrip(t *testing.T, b Backend) {
	ctx := t.Context()
	// Every field set; times in another zone and with nanoseconds, which
	// the store keeps in UTC to the microsecond.
	inc := &incident.Incident{
		Title: "EU checkout failing — 5% of users", Severity: incident.SEV1, Status: incident.Mitigated,
		Services: []string{"api", "checkout"}, Labels: map[string]string{"region": "eu", "team": "payments"},
		Commander: "alice", Communications: "bob", Scribe: "carol", Responders: []string{"dave", "erin"},
		Impact: incident.Impact{UsersAffected: ptr[int64](1200), RequestsFailed: ptr[int64](0),
			DowntimeMinutes: ptr(12.5), Summary: "checkout errors in eu"},
		RootCause: "stale DNS", Cause: "dns-stale-cache", Resolution: "kept the old LB serving",
		Drill: true, CreatedBy: "alice",
		DetectedAt: ptr(at(-time.Minute)), CreatedAt: at(0), UpdatedAt: at(time.Minute + 789),
		AcknowledgedAt: ptr(at(2 * time.Minute)), MitigatedAt: ptr(at(3 * time.Minute)),
	}
	events := []incident.Event{
		{Time: at(0), Kind: incident.EventStatus, Actor: "alice", Text: "declared", Payload: json.RawMessage(`{"to":"triggered"}`)},
		{Time: at(0), Kind: incident.EventNote, Actor: "alice", Text: "summary ✓"},
	}
	mustCreate(t, b, inc, events...)
	if inc.ID <= 0 || inc.Version != 1 {
		t.Fatalf("after CreateIncident: ID %d, Version %d; want ID > 0, Version 1", inc.ID, inc.Version)
	}
	for i, e := range events {
		if e.ID <= 0 || e.IncidentID != inc.ID {
			t.Fatalf("event %d after CreateIncident: ID %d, IncidentID %d", i, e.ID, e.IncidentID)
		}
	}
	want := *inc
	want.DetectedAt = ptr(utc(at(-time.Minute)))
	want.CreatedAt = utc(at(0))
	want.UpdatedAt = utc(at(time.Minute)) // 789ns dropped
	want.AcknowledgedAt = ptr(utc(at(2 * time.Minute)))
	want.MitigatedAt = ptr(utc(at(3 * time.Minute)))

	got, err := b.GetIncident(ctx, inc.ID)
	if err != nil {
		t.Fatalf("GetIncident: %v", err)
	}
	same(t, "stored incident", got, &want)
	same(t, "incident as returned by CreateIncident", inc, &want)
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("times come back in %v, want UTC", got.CreatedAt.Location())
	}

	evs, err := b.ListEvents(ctx, inc.ID)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	wantEvs := []incident.Event{events[0], events[1]}
	wantEvs[0].Time, wantEvs[1].Time = utc(at(0)), utc(at(0))
	same(t, "timeline", evs, wantEvs)

	// An update rewrites every mutable field and clears the nullable ones.
	got.Status = incident.Acknowledged
	got.Services = []string{"checkout"}
	got.Labels = map[string]string{}
	got.Responders = append(got.Responders, "frank")
	got.Impact = incident.Impact{}
	got.MitigatedAt, got.DetectedAt = nil, nil
	got.ResolvedAt, got.ClosedAt = ptr(utc(at(time.Hour))), ptr(utc(at(2*time.Hour)))
	got.Drill = false
	got.Commander = "zoe"
	if err := b.UpdateIncident(ctx, got, nil); err != nil {
		t.Fatalf("UpdateIncident: %v", err)
	}
	if got.Version != 2 {
		t.Fatalf("Version after one update = %d, want 2", got.Version)
	}
	again, err := b.GetIncident(ctx, inc.ID)
	if err != nil {
		t.Fatalf("GetIncident: %v", err)
	}
	same(t, "updated incident", again, got)

	// nil lists and maps are stored as empty ones.
	bare := &incident.Incident{Title: "bare", Severity: incident.SEV4, Status: incident.Triggered,
		CreatedBy: "x", CreatedAt: at(0), UpdatedAt: at(0)}
	mustCreate(t, b, bare)
	gb, err := b.GetIncident(ctx, bare.ID)
	if err != nil {
		t.Fatalf("GetIncident: %v", err)
	}
	if gb.Services == nil || gb.Responders == nil || gb.Labels == nil {
		t.Fatalf("nil lists/maps came back nil: services %v, responders %v, labels %v", gb.Services, gb.Responders, gb.Labels)
	}
	if bare.ID == inc.ID {
		t.Fatalf("two incidents share ID %d", bare.ID)
	}
}

func testIncidentNotFound(t *testing.T, b Backend) {
	ctx := t.Context()
	_, err := b.GetIncident(ctx, 4242)
	wantErr(t, "GetIncident of a missing incident", err, store.ErrNotFound)
	ghost := newIncident("ghost", at(0))
	ghost.ID, ghost.Version = 4242, 1
	wantErr(t, "UpdateIncident of a missing incident", b.UpdateIncident(ctx, ghost, nil), store.ErrNotFound)
	err = b.AppendEvents(ctx, 4242, []incident.Event{{Time: at(0), Kind: incident.EventNote, Actor: "a", Text: "x"}})
	wantErr(t, "AppendEvents to a missing incident", err, store.ErrNotFound)
	err = b.CreateAction(ctx, &incident.ActionItem{IncidentID: 4242, Title: "x", State: incident.ActionOpen, CreatedAt: at(0)})
	wantErr(t, "CreateAction on a missing incident", err, store.ErrNotFound)
	_, err = b.GetAction(ctx, 4242)
	wantErr(t, "GetAction of a missing item", err, store.ErrNotFound)
	err = b.UpdateAction(ctx, &incident.ActionItem{ID: 4242, IncidentID: 1, Title: "x", State: incident.ActionOpen, Version: 1})
	wantErr(t, "UpdateAction of a missing item", err, store.ErrNotFound)
	evs, err := b.ListEvents(ctx, 4242)
	if err != nil || len(evs) != 0 {
		t.Fatalf("ListEvents of a missing incident = %v, %v; want empty, nil", evs, err)
	}
}

func testIncidentConflict(t *testing.T, b Backend) {
	ctx := t.Context()
	inc := mustCreate(t, b, newIncident("conflict", at(0)))
	a, err := b.GetIncident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.GetIncident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	a.Commander = "alice"
	if err := b.UpdateIncident(ctx, a, []incident.Event{{Time: at(time.Second), Kind: incident.EventNote, Actor: "a", Text: "alice commands"}}); err != nil {
		t.Fatalf("first UpdateIncident: %v", err)
	}
	c.Commander = "bob"
	err = b.UpdateIncident(ctx, c, []incident.Event{{Time: at(time.Second), Kind: incident.EventNote, Actor: "b", Text: "bob commands"}})
	wantErr(t, "UpdateIncident from a stale version", err, store.ErrConflict)
	if c.Version != 1 {
		t.Errorf("a failed update changed Version to %d, want 1", c.Version)
	}
	got, err := b.GetIncident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Commander != "alice" || got.Version != 2 {
		t.Fatalf("after the conflict: commander %q version %d, want alice 2", got.Commander, got.Version)
	}
	evs, err := b.ListEvents(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Text != "alice commands" {
		t.Fatalf("the rejected update's events were stored: %+v", evs)
	}
}

func testIncidentInvalid(t *testing.T, b Backend) {
	ctx := t.Context()
	bad := newIncident("bad severity", at(0))
	bad.Severity = "SEV9"
	wantErr(t, "CreateIncident with severity SEV9", b.CreateIncident(ctx, bad, nil), store.ErrInvalid)
	late := newIncident("year 10000", at(0))
	late.ResolvedAt = ptr(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
	wantErr(t, "CreateIncident resolved in the year 10000", b.CreateIncident(ctx, late, nil), store.ErrInvalid)
	for name, mod := range map[string]func(*incident.Incident){
		"a NUL byte in the title":    func(i *incident.Incident) { i.Title = "a\x00b" },
		"invalid UTF-8 in the title": func(i *incident.Incident) { i.Title = "caf\xe9" },
		"a NUL byte in a label":      func(i *incident.Incident) { i.Labels = map[string]string{"k": "v\x00"} },
		"invalid UTF-8 in a service": func(i *incident.Incident) { i.Services = []string{"\xff"} },
		"a NUL byte in the impact":   func(i *incident.Incident) { i.Impact.Summary = "\x00" },
	} {
		inc := newIncident("text", at(0))
		mod(inc)
		wantErr(t, "CreateIncident with "+name, b.CreateIncident(ctx, inc, nil), store.ErrInvalid)
	}
	// A bad event fails the whole declaration: no incident without its
	// first events.
	half := newIncident("half", at(0))
	err1 := b.CreateIncident(ctx, half, []incident.Event{
		{Time: at(0), Kind: incident.EventStatus, Text: "declared"},
		{Time: at(0), Kind: incident.EventNote, Text: "bad", Payload: json.RawMessage(`{`)},
	})
	wantErr(t, "CreateIncident with an invalid event", err1, store.ErrInvalid)
	if list, err := b.ListIncidents(ctx, incident.ListFilter{}); err != nil || len(list) != 0 {
		t.Fatalf("after failed creations the store holds %d incidents (%v), want none", len(list), err)
	}
	err0 := b.PutChanges(ctx, []signal.Change{{ID: "chg\x00", Time: at(0), Kind: signal.KindOther, Summary: "x"}})
	wantErr(t, "PutChanges with a NUL byte in the id", err0, store.ErrInvalid)
	inc := mustCreate(t, b, newIncident("ok", at(0)))
	err := b.AppendEvents(ctx, inc.ID, []incident.Event{{Time: at(0), Kind: incident.EventNote, Text: "x", Payload: json.RawMessage(`{not json`)}})
	wantErr(t, "AppendEvents with a payload that is not JSON", err, store.ErrInvalid)
	err = b.AppendEvents(ctx, inc.ID, []incident.Event{{Time: at(0), Text: "no kind"}})
	wantErr(t, "AppendEvents without a kind", err, store.ErrInvalid)
	err = b.AppendEvents(ctx, inc.ID, []incident.Event{{Time: at(0), Kind: incident.EventNote, Text: "nul \x00 inside"}})
	wantErr(t, "AppendEvents with a NUL byte in the text", err, store.ErrInvalid)
	got, err := b.GetIncident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	got.Status = "exploded"
	wantErr(t, "UpdateIncident to status exploded", b.UpdateIncident(ctx, got, nil), store.ErrInvalid)
	evs, _ := b.ListEvents(ctx, inc.ID)
	if len(evs) != 0 {
		t.Fatalf("invalid writes left events behind: %+v", evs)
	}
}

func testListIncidents(t *testing.T, b Backend) {
	ctx := t.Context()
	type spec struct {
		title    string
		sev      incident.Severity
		status   incident.Status
		services []string
		created  time.Duration
	}
	specs := []spec{
		{"oldest", incident.SEV3, incident.Resolved, []string{"api"}, 0},
		{"api-gw only", incident.SEV2, incident.Triggered, []string{"api-gw"}, time.Minute},
		{"web and api", incident.SEV1, incident.Acknowledged, []string{"web", "api"}, 2 * time.Minute},
		{"closed", incident.SEV4, incident.Closed, []string{"billing"}, 3 * time.Minute},
		// Same creation time as the previous one: the higher ID is newer.
		{"same time", incident.SEV2, incident.Mitigated, []string{`we"ird%_*`}, 3 * time.Minute},
		{"newest", incident.SEV1, incident.Triggered, []string{}, 4 * time.Minute},
	}
	// Insert out of time order: the list sorts by creation time, not by
	// insertion order.
	for _, i := range []int{2, 0, 5, 1, 3, 4} {
		s := specs[i]
		inc := newIncident(s.title, at(s.created))
		inc.Severity, inc.Status, inc.Services = s.sev, s.status, s.services
		mustCreate(t, b, inc)
	}
	titles := func(f incident.ListFilter) []string {
		t.Helper()
		list, err := b.ListIncidents(ctx, f)
		if err != nil {
			t.Fatalf("ListIncidents(%+v): %v", f, err)
		}
		out := []string{}
		for _, inc := range list {
			out = append(out, inc.Title)
		}
		return out
	}
	cases := []struct {
		name string
		f    incident.ListFilter
		want []string
	}{
		{"all newest first", incident.ListFilter{}, []string{"newest", "same time", "closed", "web and api", "api-gw only", "oldest"}},
		{"limit", incident.ListFilter{Limit: 2}, []string{"newest", "same time"}},
		{"open statuses", incident.ListFilter{Statuses: []incident.Status{incident.Triggered, incident.Acknowledged, incident.Mitigated}},
			[]string{"newest", "same time", "web and api", "api-gw only"}},
		{"severity", incident.ListFilter{Severities: []incident.Severity{incident.SEV1}}, []string{"newest", "web and api"}},
		{"service is a member, not a substring", incident.ListFilter{Service: "api"}, []string{"web and api", "oldest"}},
		{"service with quotes and wildcards", incident.ListFilter{Service: `we"ird%_*`}, []string{"same time"}},
		{"service wildcard matches nothing", incident.ListFilter{Service: "%"}, []string{}},
		{"filters combine", incident.ListFilter{Service: "api", Statuses: []incident.Status{incident.Resolved}, Severities: []incident.Severity{incident.SEV3}}, []string{"oldest"}},
		{"no match", incident.ListFilter{Statuses: []incident.Status{incident.Closed}, Severities: []incident.Severity{incident.SEV1}}, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { same(t, "titles", titles(c.f), c.want) })
	}
	if _, err := b.ListIncidents(ctx, incident.ListFilter{Limit: -1}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("ListIncidents with limit -1: got %v, want ErrInvalid", err)
	}
}

func testTimeline(t *testing.T, b Backend) {
	ctx := t.Context()
	inc := mustCreate(t, b, newIncident("timeline", at(0)),
		incident.Event{Time: at(0), Kind: incident.EventStatus, Actor: "a", Text: "declared"})
	other := mustCreate(t, b, newIncident("other", at(0)),
		incident.Event{Time: at(0), Kind: incident.EventStatus, Actor: "a", Text: "other declared"})

	// Appended out of time order, with equal times, with payloads the store
	// must keep byte for byte.
	batch := []incident.Event{
		{Time: at(3 * time.Minute), Kind: incident.EventNote, Actor: "b", Text: "third"},
		{Time: at(time.Minute), Kind: incident.EventEvidence, Actor: "triage", Text: "first",
			Payload: json.RawMessage(`{"b": 1, "a": [1, 2.50, "x"], "nested": {"z": null}}`)},
		{Time: at(time.Minute), Kind: incident.EventAction, Actor: "c", Text: "first, later id", Payload: json.RawMessage(`[]`)},
	}
	if err := b.AppendEvents(ctx, inc.ID, batch); err != nil {
		t.Fatalf("AppendEvents: %v", err)
	}
	if !(batch[0].ID > 0 && batch[1].ID > batch[0].ID && batch[2].ID > batch[1].ID) {
		t.Fatalf("event IDs not increasing in append order: %d %d %d", batch[0].ID, batch[1].ID, batch[2].ID)
	}
	got, err := b.GetIncident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	got.Status = incident.Acknowledged
	upd := []incident.Event{{Time: at(2 * time.Minute), Kind: incident.EventStatus, Actor: "a", Text: "ack",
		Payload: json.RawMessage(`{"from":"triggered","to":"acknowledged"}`)}}
	if err := b.UpdateIncident(ctx, got, upd); err != nil {
		t.Fatalf("UpdateIncident: %v", err)
	}
	evs, err := b.ListEvents(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, e := range evs {
		texts = append(texts, e.Text)
		if e.IncidentID != inc.ID {
			t.Errorf("event %d has IncidentID %d, want %d", e.ID, e.IncidentID, inc.ID)
		}
	}
	same(t, "timeline order", texts, []string{"declared", "first", "first, later id", "ack", "third"})
	same(t, "payload kept byte for byte", string(evs[1].Payload), `{"b": 1, "a": [1, 2.50, "x"], "nested": {"z": null}}`)
	same(t, "empty array payload", string(evs[2].Payload), `[]`)
	if evs[4].Payload != nil {
		t.Errorf("event without payload came back with %q", evs[4].Payload)
	}
	same(t, "appended event as stored", evs[1], batch[1])

	// Appending never rewrites what is there: the earlier events are
	// unchanged after more writes, and the other incident's timeline is
	// untouched.
	before := evs
	if err := b.AppendEvents(ctx, inc.ID, []incident.Event{{Time: at(-time.Hour), Kind: incident.EventAlert, Actor: "pager", Text: "early alert"}}); err != nil {
		t.Fatal(err)
	}
	after, err := b.ListEvents(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+1 || after[0].Text != "early alert" {
		t.Fatalf("after appending an earlier event: %d events, first %q", len(after), after[0].Text)
	}
	same(t, "earlier events after another append", after[1:], before)
	oevs, err := b.ListEvents(ctx, other.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(oevs) != 1 || oevs[0].Text != "other declared" {
		t.Fatalf("other incident's timeline changed: %+v", oevs)
	}
	if err := b.AppendEvents(ctx, inc.ID, nil); err != nil {
		t.Errorf("AppendEvents with no events: %v", err)
	}
}

func testActions(t *testing.T, b Backend) {
	ctx := t.Context()
	inc := mustCreate(t, b, newIncident("actions", at(0)))
	other := mustCreate(t, b, newIncident("other", at(0)))
	mk := func(incID int64, title, owner string, created time.Duration) *incident.ActionItem {
		t.Helper()
		a := &incident.ActionItem{IncidentID: incID, Title: title, Owner: owner, State: incident.ActionOpen,
			CreatedBy: "alice", CreatedAt: at(created)}
		if err := b.CreateAction(ctx, a); err != nil {
			t.Fatalf("CreateAction(%q): %v", title, err)
		}
		if a.ID <= 0 || a.Version != 1 {
			t.Fatalf("CreateAction set ID %d Version %d", a.ID, a.Version)
		}
		return a
	}
	a1 := mk(inc.ID, "add alert on DNS TTL", "netops", 2*time.Minute)
	a1.Due = ptr(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	a2 := mk(inc.ID, "lower TTL before moves", "", time.Minute)
	a3 := mk(other.ID, "other incident's item", "netops", 0)

	got, err := b.GetAction(ctx, a2.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := *a2
	want.CreatedAt = utc(at(time.Minute))
	same(t, "stored action item", got, &want)

	got.State = incident.ActionDone
	got.DoneAt = ptr(utc(at(time.Hour)))
	got.Owner = "sre"
	stale := *got
	if err := b.UpdateAction(ctx, got); err != nil {
		t.Fatalf("UpdateAction: %v", err)
	}
	if got.Version != 2 {
		t.Fatalf("Version after UpdateAction = %d, want 2", got.Version)
	}
	wantErr(t, "UpdateAction from a stale version", b.UpdateAction(ctx, &stale), store.ErrConflict)
	again, err := b.GetAction(ctx, a2.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "updated action item", again, got)

	ids := func(f incident.ActionFilter) []int64 {
		t.Helper()
		list, err := b.ListActions(ctx, f)
		if err != nil {
			t.Fatalf("ListActions(%+v): %v", f, err)
		}
		out := []int64{}
		for _, a := range list {
			out = append(out, a.ID)
		}
		return out
	}
	same(t, "all, oldest first", ids(incident.ActionFilter{}), []int64{a3.ID, a2.ID, a1.ID})
	same(t, "by incident", ids(incident.ActionFilter{IncidentID: inc.ID}), []int64{a2.ID, a1.ID})
	same(t, "open", ids(incident.ActionFilter{State: incident.ActionOpen}), []int64{a3.ID, a1.ID})
	same(t, "by owner", ids(incident.ActionFilter{Owner: "netops", IncidentID: inc.ID}), []int64{a1.ID})
	same(t, "no match", ids(incident.ActionFilter{Owner: "nobody"}), []int64{})

	bad := &incident.ActionItem{IncidentID: inc.ID, Title: "x", State: "maybe", CreatedAt: at(0)}
	wantErr(t, "CreateAction with state maybe", b.CreateAction(ctx, bad), store.ErrInvalid)
}

func testTokens(t *testing.T, b Backend) {
	ctx := t.Context()
	tok := &auth.Token{Name: "ci-bot", Role: auth.Responder, Hash: auth.Hash("secret-1"), CreatedAt: at(0), CreatedBy: "alice"}
	if err := b.CreateToken(ctx, tok); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if tok.ID <= 0 {
		t.Fatalf("CreateToken set ID %d", tok.ID)
	}
	got, err := b.TokenByHash(ctx, auth.Hash("secret-1"))
	if err != nil {
		t.Fatalf("TokenByHash: %v", err)
	}
	want := *tok
	want.CreatedAt = utc(at(0))
	same(t, "token by hash", got, &want)
	_, err = b.TokenByHash(ctx, auth.Hash("wrong"))
	wantErr(t, "TokenByHash of an unknown secret", err, store.ErrNotFound)

	dup := &auth.Token{Name: "ci-bot", Role: auth.Admin, Hash: auth.Hash("secret-2"), CreatedAt: at(0), CreatedBy: "mallory"}
	wantErr(t, "CreateToken with a taken name", b.CreateToken(ctx, dup), store.ErrConflict)
	admin := &auth.Token{Name: "admin", Role: auth.Admin, Hash: auth.Hash("secret-3"), CreatedAt: at(time.Minute), CreatedBy: "root"}
	if err := b.CreateToken(ctx, admin); err != nil {
		t.Fatal(err)
	}
	bad := &auth.Token{Name: "bad", Role: "god", Hash: auth.Hash("secret-4"), CreatedAt: at(0)}
	wantErr(t, "CreateToken with role god", b.CreateToken(ctx, bad), store.ErrInvalid)

	list, err := b.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, t := range list {
		names = append(names, t.Name)
	}
	same(t, "token names", names, []string{"admin", "ci-bot"})

	if err := b.DeleteToken(ctx, "ci-bot"); err != nil {
		t.Fatalf("DeleteToken: %v", err)
	}
	wantErr(t, "DeleteToken again", b.DeleteToken(ctx, "ci-bot"), store.ErrNotFound)
	_, err = b.TokenByHash(ctx, auth.Hash("secret-1"))
	wantErr(t, "TokenByHash of a revoked token", err, store.ErrNotFound)

	// Through the service: the secret authenticates, a revoked one not.
	svc := auth.NewService(b, func() time.Time { return base })
	secret, created, err := svc.Create(ctx, "alice", "deploy-hook", auth.Responder)
	if err != nil {
		t.Fatalf("auth.Service.Create: %v", err)
	}
	who, err := svc.Authenticate(ctx, secret)
	if err != nil || who.Name != "deploy-hook" || who.ID != created.ID {
		t.Fatalf("Authenticate = %+v, %v", who, err)
	}
	if err := svc.Revoke(ctx, "deploy-hook"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, secret); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("Authenticate after Revoke: %v, want ErrUnauthenticated", err)
	}
}

func testTokenNameRace(t *testing.T, b Backend) {
	ctx := t.Context()
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = b.CreateToken(ctx, &auth.Token{Name: "shared", Role: auth.Viewer,
				Hash: auth.Hash(fmt.Sprint("secret-", i)), CreatedAt: at(0), CreatedBy: "racer"})
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("writer %d: %v, want nil or ErrConflict", i, err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d writers created the token \"shared\", want exactly 1", ok)
	}
}

func mustParseChanges(t *testing.T, lines ...string) []signal.Change {
	t.Helper()
	out := make([]signal.Change, len(lines))
	for i, l := range lines {
		if err := json.Unmarshal([]byte(l), &out[i]); err != nil {
			t.Fatalf("test change %d: %v", i, err)
		}
	}
	return out
}

func changeIDs(t *testing.T, b Backend, since, until time.Time) []string {
	t.Helper()
	list, err := b.ListChanges(t.Context(), since, until)
	if err != nil {
		t.Fatalf("ListChanges(%v, %v): %v", since, until, err)
	}
	out := []string{}
	for _, c := range list {
		out = append(out, c.ID)
	}
	return out
}

func testChanges(t *testing.T, b Backend) {
	ctx := t.Context()
	changes := mustParseChanges(t,
		`{"id":"chg-3","time":"2026-11-20T12:10:00Z","kind":"deploy","service":"api","summary":"api v2","details":{"version":"v2","previous_version":"v1"}}`,
		`{"id":"chg-1","time":"2026-11-20T13:00:00+02:00","kind":"config","summary":"pool size 50"}`,
		`{"id":"chg-2","time":"2026-11-20T12:03:00Z","kind":"dns","service":"api","summary":"eu record moved","scope":{"region":"eu"},"actor":"netops","details":{"name":"api.example.com","type":"A","old":"203.0.113.10","new":"198.51.100.20","ttl":86400,"new_ttl":300}}`,
		`{"id":"chg-4","time":"2026-11-20T12:10:00Z","kind":"scale","summary":"same time as chg-3"}`,
	)
	if err := b.PutChanges(ctx, changes); err != nil {
		t.Fatalf("PutChanges: %v", err)
	}
	t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	same(t, "all, oldest first, ties by id", changeIDs(t, b, time.Time{}, time.Time{}), []string{"chg-1", "chg-2", "chg-3", "chg-4"})
	same(t, "since is inclusive", changeIDs(t, b, t0.Add(12*time.Hour+3*time.Minute), time.Time{}), []string{"chg-2", "chg-3", "chg-4"})
	same(t, "until is exclusive", changeIDs(t, b, time.Time{}, t0.Add(12*time.Hour+10*time.Minute)), []string{"chg-1", "chg-2"})
	same(t, "closed range", changeIDs(t, b, t0.Add(11*time.Hour), t0.Add(12*time.Hour+5*time.Minute)), []string{"chg-1", "chg-2"})
	same(t, "empty range", changeIDs(t, b, t0.Add(20*time.Hour), time.Time{}), []string{})
	far := time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)
	same(t, "until beyond year 9999", changeIDs(t, b, t0, far), []string{"chg-1", "chg-2", "chg-3", "chg-4"})
	same(t, "since beyond year 9999", changeIDs(t, b, far, time.Time{}), []string{})

	list, err := b.ListChanges(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := changes[2]
	same(t, "dns change as stored", list[1], want)
	if !list[0].Time.Equal(time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)) || list[0].Time.Location() != time.UTC {
		t.Errorf("chg-1 time = %v, want 2026-11-20T11:00:00Z", list[0].Time)
	}

	// Upsert: the same ID replaces the change, moving it in time.
	repl := mustParseChanges(t, `{"id":"chg-3","time":"2026-11-20T12:20:00.123456789Z","kind":"rollback","service":"api","summary":"api back to v1"}`)
	if err := b.PutChanges(ctx, repl); err != nil {
		t.Fatalf("PutChanges (replace): %v", err)
	}
	list, err = b.ListChanges(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 4 {
		t.Fatalf("after replacing chg-3: %d changes, want 4", len(list))
	}
	last := list[3]
	if last.ID != "chg-3" || last.Kind != signal.KindRollback || last.Details != nil {
		t.Fatalf("replaced change = %+v, want the rollback without details", last)
	}
	if want := time.Date(2026, 11, 20, 12, 20, 0, 123456000, time.UTC); !last.Time.Equal(want) {
		t.Errorf("replaced change time = %v, want %v (microseconds)", last.Time, want)
	}

	bad := mustParseChanges(t, `{"id":"chg-9","time":"2026-11-20T12:00:00Z","kind":"other","summary":"ok"}`, `{"time":"2026-11-20T12:00:00Z","kind":"other","summary":"no id"}`)
	wantErr(t, "PutChanges with a change without id", b.PutChanges(ctx, bad), store.ErrInvalid)
	if ids := changeIDs(t, b, time.Time{}, time.Time{}); slices.Contains(ids, "chg-9") {
		t.Fatalf("a failed PutChanges stored part of its batch: %v", ids)
	}

	// Through the service.
	svc := changelog.NewService(b, func() time.Time { return base })
	rec, err := svc.Record(ctx, "bob", mustParseChanges(t, `{"kind":"cert","summary":"renewed api cert"}`))
	if err != nil {
		t.Fatalf("changelog.Service.Record: %v", err)
	}
	got, err := svc.List(ctx, utc(base), utc(base).Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != rec[0].ID || got[0].Actor != "bob" {
		t.Fatalf("recorded change listed as %+v, want %+v", got, rec)
	}
}

func testChangesUnknownFields(t *testing.T, b Backend) {
	ctx := t.Context()
	in := `{"id":"chg-x","time":"2026-11-20T12:03:00Z","kind":"cdn","summary":"purge","ticket":"OPS-1234",` +
		`"links":[{"rel":"runbook","href":"https://runbooks.example/cdn"}],"risk":0.25,"approved":true,"nothing":null,` +
		`"details":{"provider":"fastly","purge":{"keys":["a","b"]}}}`
	changes := mustParseChanges(t, in)
	if err := b.PutChanges(ctx, changes); err != nil {
		t.Fatal(err)
	}
	list, err := b.ListChanges(ctx, time.Time{}, time.Time{})
	if err != nil || len(list) != 1 {
		t.Fatalf("ListChanges = %v, %v", list, err)
	}
	same(t, "change with unknown fields", list[0], changes[0])
	out, err := json.Marshal(list[0])
	if err != nil {
		t.Fatal(err)
	}
	var gotDoc, wantDoc map[string]any
	_ = json.Unmarshal(out, &gotDoc)
	_ = json.Unmarshal([]byte(in), &wantDoc)
	same(t, "change JSON written back", gotDoc, wantDoc)
}

// testServiceLifecycle drives the store through incident.Service the way
// the CLI and the API do.
func testServiceLifecycle(t *testing.T, b Backend) {
	ctx := t.Context()
	now := base
	svc := incident.NewService(incident.Options{Store: b, Now: func() time.Time { now = now.Add(time.Second); return now }})
	inc, err := svc.Declare(ctx, "alice", incident.DeclareInput{Title: "checkout 503s", Severity: "sev2",
		Services: []string{"api,checkout"}, Commander: "alice", Summary: "eu users see 503"})
	if err != nil {
		t.Fatalf("Declare: %v", err)
	}
	if _, err := svc.Transition(ctx, inc.ID, incident.Acknowledged, "bob", ""); err != nil {
		t.Fatalf("ack: %v", err)
	}
	if _, err := svc.Assign(ctx, inc.ID, "alice", "responder", "bob"); err != nil {
		t.Fatal(err)
	}
	a, err := svc.AddAction(ctx, inc.ID, "alice", incident.AddActionInput{Title: "alert on TTL", Owner: "netops"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CompleteAction(ctx, a.ID, "netops"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Transition(ctx, inc.ID, incident.Resolved, "bob", "kept old LB serving"); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Transition(ctx, inc.ID, incident.Mitigated, "bob", "")
	var te *incident.TransitionError
	if !errors.As(err, &te) {
		t.Fatalf("resolved → mitigated: %v, want a TransitionError", err)
	}
	got, err := svc.Get(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != incident.Resolved || got.Version != 4 || got.Resolution != "kept old LB serving" ||
		!slices.Equal(got.Responders, []string{"bob"}) || got.AcknowledgedAt == nil || got.ResolvedAt == nil {
		t.Fatalf("incident after the lifecycle: %+v", got)
	}
	tl, err := svc.Timeline(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range tl {
		kinds = append(kinds, e.Kind)
	}
	same(t, "timeline kinds", kinds, []string{"status", "note", "note", "status", "note", "action", "action", "status"})
	open, err := svc.List(ctx, incident.ListFilter{Statuses: []incident.Status{incident.Triggered, incident.Acknowledged}})
	if err != nil || len(open) != 0 {
		t.Fatalf("open incidents = %v, %v; want none", open, err)
	}
}

func testParallelNotes(t *testing.T, b Backend) {
	ctx := t.Context()
	svc := incident.NewService(incident.Options{Store: b})
	inc, err := svc.Declare(ctx, "alice", incident.DeclareInput{Title: "busy timeline", Severity: "SEV3"})
	if err != nil {
		t.Fatal(err)
	}
	const writers, notes = 8, 25
	errs := make(chan error, writers*notes)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for n := range notes {
				if _, err := svc.Note(ctx, inc.ID, fmt.Sprint("writer-", w), incident.EventNote, fmt.Sprintf("note %d/%d", w, n), nil); err != nil {
					errs <- fmt.Errorf("writer %d note %d: %w", w, n, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	evs, err := b.ListEvents(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	ids := map[int64]bool{}
	for _, e := range evs {
		seen[e.Text] = true
		if ids[e.ID] {
			t.Errorf("event ID %d used twice", e.ID)
		}
		ids[e.ID] = true
	}
	for w := range writers {
		for n := range notes {
			if !seen[fmt.Sprintf("note %d/%d", w, n)] {
				t.Errorf("note %d/%d is missing from the timeline", w, n)
			}
		}
	}
	if len(evs) != writers*notes+1 {
		t.Errorf("timeline has %d events, want %d", len(evs), writers*notes+1)
	}
	got, err := b.GetIncident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 {
		t.Errorf("notes changed the incident's version to %d; they only append", got.Version)
	}
}

func testParallelMutations(t *testing.T, b Backend) {
	ctx := t.Context()
	svc := incident.NewService(incident.Options{Store: b})
	inc, err := svc.Declare(ctx, "alice", incident.DeclareInput{Title: "contended", Severity: "SEV1"})
	if err != nil {
		t.Fatal(err)
	}
	const writers, assigns = 8, 6
	var (
		mu          sync.Mutex
		writes      int // successful writes of the incident
		transitions int
		assigned    []string
	)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			steps := []incident.Status{incident.Acknowledged, incident.Mitigated, incident.Resolved}
			for i := range assigns {
				person := fmt.Sprintf("responder-%d-%d", w, i)
				_, err := svc.Assign(ctx, inc.ID, "lead", incident.RoleResponder, person)
				mu.Lock()
				switch {
				case err == nil:
					writes++
					assigned = append(assigned, person)
				case errors.Is(err, store.ErrConflict):
					// The service gave up after its retries: allowed, but
					// then the write must not have happened.
				default:
					t.Errorf("Assign %s: %v", person, err)
				}
				mu.Unlock()
				if i < len(steps) {
					_, err := svc.Transition(ctx, inc.ID, steps[i], fmt.Sprint("writer-", w), "")
					var te *incident.TransitionError
					mu.Lock()
					switch {
					case err == nil:
						writes++
						transitions++
					case errors.As(err, &te), errors.Is(err, store.ErrConflict):
					default:
						t.Errorf("Transition to %s: %v", steps[i], err)
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	got, err := b.GetIncident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(writes + 1); got.Version != want {
		t.Errorf("version = %d after %d successful writes, want %d: an update was lost or counted twice", got.Version, writes, want)
	}
	for _, p := range assigned {
		if !slices.Contains(got.Responders, p) {
			t.Errorf("responder %s was assigned but is missing: a lost update", p)
		}
	}
	if len(got.Responders) != len(assigned) {
		t.Errorf("%d responders stored, %d assignments succeeded", len(got.Responders), len(assigned))
	}
	if len(assigned) < writers*assigns/2 {
		t.Errorf("only %d of %d assignments succeeded: the store serialises writers too poorly", len(assigned), writers*assigns)
	}
	evs, err := b.ListEvents(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	status, notes := 0, 0
	for _, e := range evs {
		switch e.Kind {
		case incident.EventStatus:
			status++
		case incident.EventNote:
			notes++
		}
	}
	if status != transitions+1 || notes != len(assigned) {
		t.Errorf("timeline has %d status and %d note events, want %d and %d: events of a rejected write were kept, or of an accepted one lost",
			status, notes, transitions+1, len(assigned))
	}
}
