package sqlite

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// FuzzChangeRoundTrip: any change line sitrep accepts comes back from the
// store meaning the same thing, unknown fields included. Seeds live in
// testdata/fuzz/FuzzChangeRoundTrip.
func FuzzChangeRoundTrip(f *testing.F) {
	f.Add(`{"id":"chg-2041","time":"2026-11-20T12:03:00Z","kind":"dns","service":"api","summary":"moved","scope":{"region":"eu"},"details":{"ttl":86400}}`)
	db, err := Open(f.Context(), ":memory:", Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	f.Fuzz(func(t *testing.T, line string) {
		var c signal.Change
		if json.Unmarshal([]byte(line), &c) != nil {
			return
		}
		ctx := t.Context()
		if _, err := db.w.ExecContext(ctx, `DELETE FROM changes`); err != nil {
			t.Fatal(err)
		}
		err := db.PutChanges(ctx, []signal.Change{c})
		if errors.Is(err, store.ErrInvalid) {
			return // no id, or a time JSON cannot hold
		}
		if err != nil {
			t.Fatalf("PutChanges(%s): %v", line, err)
		}
		list, err := db.ListChanges(ctx, time.Time{}, time.Time{})
		if err != nil || len(list) != 1 {
			t.Fatalf("ListChanges after storing %s: %v, %v", line, list, err)
		}
		got := list[0]
		if !got.Time.Equal(c.Time.Truncate(time.Microsecond)) {
			t.Fatalf("time %v came back as %v", c.Time, got.Time)
		}
		// The time range finds it too.
		if l, err := db.ListChanges(ctx, got.Time, got.Time.Add(time.Microsecond)); err != nil || len(l) != 1 {
			t.Fatalf("ListChanges([%v, +1µs)) = %v, %v", got.Time, l, err)
		}
		c.Time = got.Time
		want, _ := json.Marshal(c)
		have, _ := json.Marshal(got)
		var w, h any
		_ = json.Unmarshal(want, &w)
		_ = json.Unmarshal(have, &h)
		if !reflect.DeepEqual(w, h) {
			t.Fatalf("change changed in the store\n in: %s\nout: %s", want, have)
		}
	})
}

// FuzzIncidentText: whatever text responders type (titles, services,
// labels, notes, payloads) is stored and listed back unchanged, or refused
// with ErrInvalid when it is not UTF-8 or holds a NUL byte.
func FuzzIncidentText(f *testing.F) {
	f.Add("EU checkout 503s", "api", "region", "eu", "note with ünïcode ✓", `{"a":1}`)
	db, err := Open(f.Context(), ":memory:", Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, title, service, key, value, text, payload string) {
		bad := false
		for _, s := range []string{title, service, key, value, text} {
			bad = bad || !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0
		}
		ctx := t.Context()
		inc := &incident.Incident{Title: title, Severity: incident.SEV3, Status: incident.Triggered,
			Services: []string{service}, Labels: map[string]string{key: value}, Responders: []string{},
			CreatedBy: text, CreatedAt: now, UpdatedAt: now}
		ev := incident.Event{Time: now, Kind: incident.EventNote, Actor: key, Text: text}
		if json.Valid([]byte(payload)) {
			ev.Payload = json.RawMessage(payload)
		}
		err := db.CreateIncident(ctx, inc, []incident.Event{ev})
		if bad {
			// Invalid UTF-8 and NUL bytes are refused, as PostgreSQL does.
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("CreateIncident with invalid text = %v, want ErrInvalid", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("CreateIncident: %v", err)
		}
		got, err := db.GetIncident(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, inc) {
			t.Fatalf("incident changed in the store\n in: %#v\nout: %#v", inc, got)
		}
		list, err := db.ListIncidents(ctx, incident.ListFilter{Service: service, Limit: 1})
		if err != nil || len(list) != 1 || list[0].ID != inc.ID {
			t.Fatalf("ListIncidents(service %q) = %v, %v; want %s", service, list, err, inc.Ref())
		}
		evs, err := db.ListEvents(ctx, inc.ID)
		if err != nil || len(evs) != 1 {
			t.Fatalf("ListEvents = %v, %v", evs, err)
		}
		if evs[0].Text != text || string(evs[0].Payload) != string(ev.Payload) {
			t.Fatalf("event came back as %q %q, want %q %q", evs[0].Text, evs[0].Payload, text, ev.Payload)
		}
	})
}
