package investigate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

func TestLoadChangesNamesTheBadLine(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "changes.jsonl")
	os.WriteFile(p, []byte(`{"id":"a","time":"2026-11-20T12:00:00Z","kind":"deploy","summary":"x"}`+"\n"+`{"id":"b","time":"yesterday","kind":"deploy"}`+"\n"), 0o644)
	if _, err := LoadChanges([]string{p}); err == nil || !strings.Contains(err.Error(), "changes.jsonl:2") {
		t.Errorf("error = %v, want one naming changes.jsonl:2", err)
	}
	if _, err := LoadChanges([]string{filepath.Join(dir, "*.nope")}); err == nil || !strings.Contains(err.Error(), "matches no file") {
		t.Errorf("empty glob: %v", err)
	}
}

func TestDedupeKeepsTheLastByID(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	out := dedupe([]signal.Change{
		{ID: "a", Time: t0.Add(time.Hour), Summary: "first"},
		{ID: "b", Time: t0},
		{ID: "a", Time: t0.Add(time.Hour), Summary: "stored"},
	})
	if len(out) != 2 || out[0].ID != "b" || out[1].Summary != "stored" {
		t.Errorf("dedupe = %+v", out)
	}
}

func TestTimelineEvents(t *testing.T) {
	id := "chg-1"
	on := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	res := &triage.Result{
		Impact:   triage.Impact{Requests: 1000, Errors: 50, ErrorRate: 0.05, Onset: &on, ClientsAffected: 40},
		Findings: []triage.Finding{{Summary: "region=eu holds the errors"}},
		Hypotheses: []triage.Hypothesis{
			{Cause: "dns-stale-cache", Confidence: 0.9, Summary: "stale", ChangeID: &id, Checks: []string{"dig"}, Containment: []triage.Containment{{Action: "keep", Risk: "low"}}},
			{Cause: "bad-deploy", Confidence: 0.1, Summary: "weak"},
		},
		Changes: []triage.Change{{ID: id, Score: 0.9, Reasons: []string{"60 min before"}}},
	}
	evs := TimelineEvents(res, "sitrep")
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != "evidence,evidence,evidence,change" {
		t.Fatalf("kinds = %v (a weak second hypothesis stays off the timeline)", kinds)
	}
	if !strings.Contains(evs[2].Text, "Check: dig") || !strings.Contains(evs[3].Text, "chg-1") || evs[3].Kind != incident.EventChange {
		t.Errorf("events = %+v", evs)
	}
	im := Impact(res)
	if im.RequestsFailed == nil || *im.RequestsFailed != 50 || im.UsersAffected == nil || *im.UsersAffected != 40 || im.DowntimeMinutes != nil {
		t.Errorf("impact = %+v (only measured numbers, no downtime estimate)", im)
	}
}
