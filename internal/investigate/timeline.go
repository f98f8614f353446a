package investigate

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

// maxEvidence bounds how many findings and hypotheses a triage run puts on
// a timeline: enough to tell the story, not a dump.
const maxEvidence = 3

// TimelineEvents turns a triage result into evidence events for an
// incident's timeline: the impact, the top findings, the ranked hypotheses
// and the blamed change, each with its numbers in the payload.
func TimelineEvents(res *triage.Result, actor string) []incident.Event {
	var out []incident.Event
	addKind := func(kind, text string, payload any) {
		b, _ := json.Marshal(payload) // maps of numbers and strings: always marshal
		out = append(out, incident.Event{Kind: kind, Actor: actor, Text: text, Payload: b})
	}
	add := func(text string, payload any) { addKind(incident.EventEvidence, text, payload) }
	im := res.Impact
	onset := "no onset found"
	if im.Onset != nil {
		onset = "onset " + im.Onset.UTC().Format("2006-01-02 15:04 UTC")
	}
	add(fmt.Sprintf("Triage: %d of %d requests failed (%s vs %s in the baseline), %d clients affected, %s",
		im.Errors, im.Requests, pct(im.ErrorRate), pct(im.BaselineErrorRate), im.ClientsAffected, onset),
		map[string]any{"triage": "impact", "impact": im, "window": res.Window})
	for i, f := range res.Findings {
		if i >= maxEvidence {
			break
		}
		add("Finding: "+f.Summary, map[string]any{"triage": "finding", "rank": i + 1, "scope": f.Scope,
			"error_share": f.ErrorShare, "traffic_share": f.TrafficShare, "error_rate": f.ErrorRate})
	}
	for i, h := range res.Hypotheses {
		if i >= maxEvidence || (i > 0 && h.Confidence < 0.25) {
			break // the weak ones are in the report, not worth a timeline entry
		}
		text := fmt.Sprintf("Hypothesis #%d %s (confidence %.0f%%): %s", i+1, h.Cause, h.Confidence*100, h.Summary)
		if len(h.Checks) > 0 {
			text += "\nCheck: " + h.Checks[0]
		}
		if len(h.Containment) > 0 {
			text += "\nContain: " + h.Containment[0].Action + " — risk: " + h.Containment[0].Risk
		}
		add(text, map[string]any{"triage": "hypothesis", "rank": i + 1, "cause": h.Cause, "confidence": h.Confidence,
			"change_id": h.ChangeID, "evidence": h.Evidence, "against": h.Against})
	}
	if len(res.Hypotheses) > 0 && res.Hypotheses[0].ChangeID != nil {
		id := *res.Hypotheses[0].ChangeID
		reasons := []string{}
		for _, c := range res.Changes {
			if c.ID == id {
				reasons = c.Reasons
			}
		}
		addKind(incident.EventChange, fmt.Sprintf("Change %s is blamed by the leading hypothesis (%s)", id, strings.Join(reasons, "; ")),
			map[string]any{"triage": "blamed_change", "change_id": id, "reasons": reasons})
	}
	return out
}

// Impact is what the triage measured, for the incident's impact fields:
// the failing requests and the distinct clients behind them in the
// incident window. Only measured numbers are returned (no estimate).
func Impact(res *triage.Result) incident.Impact {
	var im incident.Impact
	if res.Impact.Errors > 0 {
		n := res.Impact.Errors
		im.RequestsFailed = &n
	}
	if res.Impact.ClientsAffected > 0 {
		n := res.Impact.ClientsAffected
		im.UsersAffected = &n
	}
	im.Summary = fmt.Sprintf("measured by triage from the access logs: %s of requests failed in the incident window; users are counted as distinct client addresses", pct(res.Impact.ErrorRate))
	return im
}

func pct(x float64) string {
	if x >= 0.1 {
		return fmt.Sprintf("%.0f%%", x*100)
	}
	return fmt.Sprintf("%.2f%%", x*100)
}
