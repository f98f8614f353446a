// Package postmortem builds the postmortem draft of an incident from what
// the incident recorded — its fields, its timeline and its action items —
// and renders it as Markdown or JSON. Nothing is invented: what was not
// recorded is marked unknown, for the team to fill in.
package postmortem

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

// Unknown is what the draft says where the incident recorded nothing.
const Unknown = "unknown"

// Report is a postmortem draft.
type Report struct {
	Incident   string      `json:"incident"`
	Title      string      `json:"title"`
	Severity   string      `json:"severity"`
	Status     string      `json:"status"`
	Drill      bool        `json:"drill,omitempty"`
	Services   []string    `json:"services"`
	Start      *time.Time  `json:"start"`
	End        *time.Time  `json:"end"`
	Duration   string      `json:"duration"`
	Summary    string      `json:"summary"`
	People     People      `json:"people"`
	Milestones []Milestone `json:"milestones"`
	Timeline   []Entry     `json:"timeline"`
	RootCause  string      `json:"root_cause"`
	Cause      string      `json:"cause,omitempty"`
	Resolution string      `json:"resolution"`
	Impact     Impact      `json:"impact"`
	Lessons    Lessons     `json:"lessons"`
	Actions    []Action    `json:"action_items"`
	Generated  time.Time   `json:"generated_at"`
}

// People are the incident's role holders.
type People struct {
	Commander      string   `json:"commander,omitempty"`
	Communications string   `json:"communications,omitempty"`
	Scribe         string   `json:"scribe,omitempty"`
	Responders     []string `json:"responders"`
}

// Milestone is one of the standard moments of an incident; Time is nil when
// the timeline does not show it.
type Milestone struct {
	Name string     `json:"name"`
	Time *time.Time `json:"time"`
	Text string     `json:"text,omitempty"`
}

// Entry is one notable timeline event.
type Entry struct {
	Time  time.Time `json:"time"`
	Kind  string    `json:"kind"`
	Actor string    `json:"actor"`
	Text  string    `json:"text"`
}

// Impact holds the recorded impact as text, "unknown" where not recorded.
type Impact struct {
	UsersAffected   string `json:"users_affected"`
	RequestsFailed  string `json:"requests_failed"`
	DowntimeMinutes string `json:"downtime_minutes"`
	Summary         string `json:"summary,omitempty"`
}

// Lessons are the prompts the team fills in, seeded with what the timeline
// shows (how fast the team engaged and mitigated).
type Lessons struct {
	WentWell     []string `json:"went_well"`
	CouldImprove []string `json:"could_improve"`
}

// Action is an action item as listed in the draft.
type Action struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
	Owner string `json:"owner"`
	Due   string `json:"due"`
	Done  bool   `json:"done"`
}

// Milestone names, in order.
const (
	Detected        = "Detected"
	TeamNotified    = "Team notified"
	ContainStarted  = "Containment started"
	CauseIdentified = "Root cause identified"
	ResolutionImpl  = "Resolution implemented"
	ServiceRestored = "Service restored"
)

// Build assembles the draft. now stamps it.
func Build(inc *incident.Incident, events []incident.Event, actions []*incident.ActionItem, now time.Time) *Report {
	r := &Report{
		Incident: inc.Ref(), Title: inc.Title, Severity: string(inc.Severity), Status: string(inc.Status),
		Drill: inc.Drill, Services: append([]string{}, inc.Services...),
		People: People{Commander: inc.Commander, Communications: inc.Communications, Scribe: inc.Scribe,
			Responders: append([]string{}, inc.Responders...)},
		RootCause: inc.RootCause, Cause: inc.Cause, Resolution: inc.Resolution,
		Generated: now.UTC(),
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) })

	start := inc.CreatedAt
	if inc.DetectedAt != nil && inc.DetectedAt.Before(start) {
		start = *inc.DetectedAt
	}
	r.Start = ptr(start.UTC())
	if inc.ResolvedAt != nil {
		r.End = ptr(inc.ResolvedAt.UTC())
		r.Duration = humanDuration(inc.ResolvedAt.Sub(start))
	} else {
		r.Duration = "ongoing (not resolved)"
	}

	// Milestones come from the timeline; a missing one stays nil.
	detected := ptr(start.UTC())
	dtext := "incident declared"
	if inc.DetectedAt != nil {
		dtext = "first sign of the problem (onset)"
	}
	var containment, cause *time.Time
	var containText, causeText string
	for _, e := range events {
		switch {
		case e.Kind == incident.EventAlert && detected != nil && e.Time.Before(*detected):
			detected, dtext = ptr(e.Time.UTC()), e.Text
		case e.Kind == incident.EventAction && containment == nil && !isActionItem(e):
			containment, containText = ptr(e.Time.UTC()), e.Text
		case isMilestone(e, "root_cause") && cause == nil:
			cause, causeText = ptr(e.Time.UTC()), e.Text
		}
	}
	if containment == nil && inc.MitigatedAt != nil {
		containment, containText = ptr(inc.MitigatedAt.UTC()), "mitigation recorded (no earlier containment action on the timeline)"
	}
	r.Milestones = []Milestone{
		{Name: Detected, Time: detected, Text: dtext},
		{Name: TeamNotified, Time: ptr(inc.CreatedAt.UTC()), Text: "incident declared by " + inc.CreatedBy},
		{Name: ContainStarted, Time: containment, Text: containText},
		{Name: CauseIdentified, Time: cause, Text: causeText},
		{Name: ResolutionImpl, Time: utc(inc.MitigatedAt), Text: statusText(events, incident.Mitigated)},
		{Name: ServiceRestored, Time: utc(inc.ResolvedAt), Text: statusText(events, incident.Resolved)},
	}

	for _, e := range events {
		r.Timeline = append(r.Timeline, Entry{Time: e.Time.UTC(), Kind: e.Kind, Actor: e.Actor, Text: firstLine(e.Text)})
	}
	if r.Timeline == nil {
		r.Timeline = []Entry{}
	}

	r.Impact = Impact{UsersAffected: Unknown, RequestsFailed: Unknown, DowntimeMinutes: Unknown, Summary: inc.Impact.Summary}
	if v := inc.Impact.UsersAffected; v != nil {
		r.Impact.UsersAffected = fmt.Sprint(*v)
	}
	if v := inc.Impact.RequestsFailed; v != nil {
		r.Impact.RequestsFailed = fmt.Sprint(*v)
	}
	if v := inc.Impact.DowntimeMinutes; v != nil {
		r.Impact.DowntimeMinutes = fmt.Sprintf("%.0f", *v)
	}
	r.Summary = summary(inc, r)
	r.Lessons = lessons(inc, events)
	r.Actions = []Action{}
	for _, a := range actions {
		due := ""
		if a.Due != nil {
			due = a.Due.UTC().Format("2006-01-02")
		}
		r.Actions = append(r.Actions, Action{ID: a.ID, Title: a.Title, Owner: a.Owner, Due: due, Done: a.State == incident.ActionDone})
	}
	return r
}

func summary(inc *incident.Incident, r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s incident", inc.Severity)
	if len(inc.Services) > 0 {
		fmt.Fprintf(&b, " affecting %s", strings.Join(inc.Services, ", "))
	}
	fmt.Fprintf(&b, ": %s.", inc.Title)
	if r.End != nil {
		fmt.Fprintf(&b, " It lasted %s.", r.Duration)
	} else {
		b.WriteString(" It is not resolved yet.")
	}
	if inc.Impact.Summary != "" {
		fmt.Fprintf(&b, " Impact: %s.", strings.TrimSuffix(inc.Impact.Summary, "."))
	}
	return b.String()
}

func lessons(inc *incident.Incident, events []incident.Event) Lessons {
	l := Lessons{WentWell: []string{}, CouldImprove: []string{}}
	start := inc.CreatedAt
	if inc.DetectedAt != nil {
		if d := inc.CreatedAt.Sub(*inc.DetectedAt); d > 15*time.Minute {
			l.CouldImprove = append(l.CouldImprove, fmt.Sprintf("Detection: the incident was declared %s after the onset; an alert on the error rate would have paged sooner.", humanDuration(d)))
		} else if d >= 0 {
			l.WentWell = append(l.WentWell, fmt.Sprintf("Detection: declared %s after the onset.", humanDuration(d)))
		}
		start = *inc.DetectedAt
	}
	if inc.AcknowledgedAt != nil {
		d := inc.AcknowledgedAt.Sub(inc.CreatedAt)
		if d <= 10*time.Minute {
			l.WentWell = append(l.WentWell, fmt.Sprintf("Response: acknowledged %s after it was declared.", humanDuration(d)))
		} else {
			l.CouldImprove = append(l.CouldImprove, fmt.Sprintf("Response: acknowledged only %s after it was declared.", humanDuration(d)))
		}
	}
	if inc.MitigatedAt != nil {
		l.WentWell = append(l.WentWell, fmt.Sprintf("Mitigation: impact contained %s after the start.", humanDuration(inc.MitigatedAt.Sub(start))))
	}
	evidence := 0
	for _, e := range events {
		if e.Kind == incident.EventEvidence {
			evidence++
		}
	}
	if evidence > 0 {
		l.WentWell = append(l.WentWell, fmt.Sprintf("Evidence: %d triage finding(s) and hypotheses were recorded on the timeline.", evidence))
	}
	if inc.RootCause == "" {
		l.CouldImprove = append(l.CouldImprove, "Root cause: not recorded yet (`sitrep incident cause`).")
	}
	return l
}

func isActionItem(e incident.Event) bool {
	var p map[string]any
	if json.Unmarshal(e.Payload, &p) != nil {
		return false
	}
	_, ok := p["action_item"]
	return ok
}

func isMilestone(e incident.Event, name string) bool {
	var p map[string]any
	if json.Unmarshal(e.Payload, &p) != nil {
		return false
	}
	return p["milestone"] == name
}

func statusText(events []incident.Event, to incident.Status) string {
	for i := len(events) - 1; i >= 0; i-- {
		var p incident.StatusPayload
		if events[i].Kind == incident.EventStatus && json.Unmarshal(events[i].Payload, &p) == nil && p.To == to {
			return events[i].Text
		}
	}
	return ""
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

func ptr(t time.Time) *time.Time { return &t }

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return ptr(t.UTC())
}

func humanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h >= 48:
		return fmt.Sprintf("%dd %dh", h/24, h%24)
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	default:
		return fmt.Sprintf("%dm", m)
	}
}
