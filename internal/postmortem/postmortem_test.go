package postmortem

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

var update = flag.Bool("update", false, "rewrite golden files")

func at(hm string) time.Time {
	t, err := time.Parse(time.RFC3339, "2026-11-20T"+hm+":00Z")
	if err != nil {
		panic(err)
	}
	return t
}

func tp(t time.Time) *time.Time { return &t }

func status(t time.Time, from, to incident.Status, text string) incident.Event {
	p, _ := json.Marshal(incident.StatusPayload{From: from, To: to})
	return incident.Event{Time: t, Kind: incident.EventStatus, Actor: "alice", Text: text, Payload: p}
}

// fullIncident is a resolved incident with every section recorded.
func fullIncident() (*incident.Incident, []incident.Event, []*incident.ActionItem) {
	users, reqs, down := int64(41200), int64(18734), 95.0
	inc := &incident.Incident{
		ID: 7, Title: "API returns 503s for European users", Severity: incident.SEV2, Status: incident.Resolved,
		Services: []string{"api"}, Commander: "alice", Communications: "bob", Responders: []string{"carol"},
		Impact:     incident.Impact{UsersAffected: &users, RequestsFailed: &reqs, DowntimeMinutes: &down, Summary: "about 5% of all users saw 503s"},
		RootCause:  "The eu DNS record moved to a new load balancer while its TTL was 86400; the old one was decommissioned.",
		Cause:      "dns-stale-cache",
		Resolution: "Pointed the old load balancer at the new target group until cached answers expired.",
		CreatedBy:  "alice", DetectedAt: tp(at("12:05")), CreatedAt: at("12:20"),
		AcknowledgedAt: tp(at("12:22")), MitigatedAt: tp(at("13:10")), ResolvedAt: tp(at("13:40")),
	}
	cause, _ := json.Marshal(map[string]string{"milestone": "root_cause", "cause": "dns-stale-cache"})
	ai, _ := json.Marshal(map[string]any{"action_item": 1})
	events := []incident.Event{
		status(at("12:20"), "", incident.Triggered, "Incident declared: API returns 503s for European users (SEV2)"),
		{Time: at("12:15"), Kind: incident.EventAlert, Actor: "alertmanager", Text: "HighErrorRate api 5xx > 2%"},
		status(at("12:22"), incident.Triggered, incident.Acknowledged, "Status triggered → acknowledged"),
		{Time: at("12:30"), Kind: incident.EventEvidence, Actor: "sitrep", Text: "region=eu holds 99% of errors and 5% of traffic"},
		{Time: at("12:41"), Kind: incident.EventNote, Actor: "carol", Text: "Root cause identified (dns-stale-cache): stale DNS", Payload: cause},
		{Time: at("12:50"), Kind: incident.EventAction, Actor: "carol", Text: "Re-registered targets on the old load balancer"},
		{Time: at("12:55"), Kind: incident.EventAction, Actor: "alice", Text: "Action item #1: lower TTLs before migrations", Payload: ai},
		status(at("13:10"), incident.Acknowledged, incident.Mitigated, "Status acknowledged → mitigated"),
		{Time: at("13:20"), Kind: incident.EventComms, Actor: "bob", Text: "Error rate back to baseline | monitoring"},
		status(at("13:40"), incident.Mitigated, incident.Resolved, "Status mitigated → resolved: old LB kept serving"),
	}
	actions := []*incident.ActionItem{
		{ID: 1, IncidentID: 7, Title: "Lower TTLs to 60 s 48 h before any DNS migration", Owner: "netops", Due: tp(at("00:00").AddDate(0, 0, 14)), State: incident.ActionOpen},
		{ID: 2, IncidentID: 7, Title: "Add dns guard to the decommission runbook", Owner: "alice", State: incident.ActionDone},
	}
	return inc, events, actions
}

// bareIncident has nothing recorded beyond the declaration.
func bareIncident() (*incident.Incident, []incident.Event, []*incident.ActionItem) {
	inc := &incident.Incident{ID: 3, Title: "Checkout is slow", Severity: incident.SEV3, Status: incident.Triggered,
		CreatedBy: "dave", CreatedAt: at("09:00")}
	return inc, []incident.Event{status(at("09:00"), "", incident.Triggered, "Incident declared: Checkout is slow (SEV3)")}, nil
}

func TestMarkdownGolden(t *testing.T) {
	for name, build := range map[string]func() (*incident.Incident, []incident.Event, []*incident.ActionItem){
		"full": fullIncident, "bare": bareIncident,
	} {
		t.Run(name, func(t *testing.T) {
			inc, evs, acts := build()
			r := Build(inc, evs, acts, at("14:00"))
			var md bytes.Buffer
			if err := r.Markdown(&md); err != nil {
				t.Fatal(err)
			}
			js, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", name+".md"), md.Bytes())
			golden(t, filepath.Join("testdata", name+".json"), append(js, '\n'))
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test -update and review the diff\n--- got\n%s", path, got)
	}
}

func TestMilestonesComeFromTheTimeline(t *testing.T) {
	inc, evs, acts := fullIncident()
	r := Build(inc, evs, acts, at("14:00"))
	want := map[string]string{
		Detected:        "12:05", // onset recorded before the alert
		TeamNotified:    "12:20",
		ContainStarted:  "12:50", // the first action, not the action-item entry
		CauseIdentified: "12:41",
		ResolutionImpl:  "13:10",
		ServiceRestored: "13:40",
	}
	for _, m := range r.Milestones {
		if m.Time == nil {
			t.Errorf("%s: not found on the timeline", m.Name)
			continue
		}
		if got := m.Time.Format("15:04"); got != want[m.Name] {
			t.Errorf("%s = %s, want %s", m.Name, got, want[m.Name])
		}
	}
	if r.Duration != "1h 35m" {
		t.Errorf("duration = %q, want 1h 35m (detected 12:05 → resolved 13:40)", r.Duration)
	}
}

func TestNothingIsInvented(t *testing.T) {
	inc, evs, acts := bareIncident()
	r := Build(inc, evs, acts, at("14:00"))
	if r.Impact.UsersAffected != Unknown || r.Impact.RequestsFailed != Unknown || r.Impact.DowntimeMinutes != Unknown {
		t.Errorf("impact = %+v, want every figure unknown", r.Impact)
	}
	for _, m := range r.Milestones {
		if (m.Name == ContainStarted || m.Name == CauseIdentified || m.Name == ResolutionImpl || m.Name == ServiceRestored) && m.Time != nil {
			t.Errorf("%s = %v, want not recorded", m.Name, m.Time)
		}
	}
	var md bytes.Buffer
	_ = r.Markdown(&md)
	for _, want := range []string{"Root cause\n\nUnknown", "Users affected: unknown", "- [ ]"} {
		if want == "- [ ]" {
			if strings.Contains(md.String(), want) {
				t.Errorf("bare incident lists action items")
			}
			continue
		}
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}
