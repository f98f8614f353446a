// Package incident is the incident domain: severities, the status lifecycle
// and its rules, roles, the append-only timeline, status updates and action
// items, and the service both the CLI and the HTTP API call.
package incident

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Severity is how bad an incident is.
type Severity string

// Severities, most severe first.
const (
	SEV1 Severity = "SEV1" // critical: customer-facing outage or data loss; all hands, page now
	SEV2 Severity = "SEV2" // major: a core feature degraded for many users, or a partial outage
	SEV3 Severity = "SEV3" // minor: limited impact, a workaround exists; business hours
	SEV4 Severity = "SEV4" // low: cosmetic or internal, no customer impact yet
)

// Severities lists the valid severities with what each means.
var Severities = []struct {
	Severity Severity
	Meaning  string
}{
	{SEV1, "critical: customer-facing outage or data loss; page everyone now"},
	{SEV2, "major: a core feature degraded for many users, or a partial outage"},
	{SEV3, "minor: limited impact or a workaround exists; handle in business hours"},
	{SEV4, "low: cosmetic or internal, no customer impact yet"},
}

// ParseSeverity accepts SEV1…SEV4 in any case, and 1…4.
func ParseSeverity(s string) (Severity, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if len(u) == 1 {
		u = "SEV" + u
	}
	for _, v := range Severities {
		if Severity(u) == v.Severity {
			return v.Severity, nil
		}
	}
	return "", invalidf("severity", "%q is not one of SEV1, SEV2, SEV3, SEV4", s)
}

// Status is where an incident is in its lifecycle.
type Status string

// The lifecycle: triggered → acknowledged → mitigated → resolved → closed.
const (
	Triggered    Status = "triggered"
	Acknowledged Status = "acknowledged"
	Mitigated    Status = "mitigated"
	Resolved     Status = "resolved"
	Closed       Status = "closed" // the postmortem is done
)

// Statuses lists the statuses in lifecycle order.
var Statuses = []Status{Triggered, Acknowledged, Mitigated, Resolved, Closed}

func (s Status) rank() int {
	for i, v := range Statuses {
		if v == s {
			return i
		}
	}
	return -1
}

// ParseStatus validates a status name.
func ParseStatus(s string) (Status, error) {
	st := Status(strings.ToLower(strings.TrimSpace(s)))
	if st.rank() < 0 {
		return "", invalidf("status", "%q is not one of triggered, acknowledged, mitigated, resolved, closed", s)
	}
	return st, nil
}

// CanTransition reports whether an incident may move from one status to
// another. Status only moves forward, and may skip steps (an incident can be
// resolved straight from acknowledged), except that it must be resolved
// before it is closed. A resolved incident may be reopened to acknowledged
// when the problem comes back.
func CanTransition(from, to Status) bool {
	switch {
	case from == Resolved && to == Acknowledged:
		return true // reopen
	case to == Closed:
		return from == Resolved
	case from == Closed:
		return false
	}
	return to.rank() > from.rank()
}

// Role names.
const (
	RoleCommander      = "commander"
	RoleCommunications = "communications"
	RoleScribe         = "scribe"
	RoleResponder      = "responder"
)

// Roles lists the valid role names.
var Roles = []string{RoleCommander, RoleCommunications, RoleScribe, RoleResponder}

// Impact is what the incident cost, as recorded by responders or by triage.
// A nil field is unknown; the postmortem says so rather than inventing it.
type Impact struct {
	UsersAffected   *int64   `json:"users_affected,omitempty"`
	RequestsFailed  *int64   `json:"requests_failed,omitempty"`
	DowntimeMinutes *float64 `json:"downtime_minutes,omitempty"`
	Summary         string   `json:"summary,omitempty"`
}

// Incident is one incident. Version increments on every write and guards
// against lost updates.
type Incident struct {
	ID             int64             `json:"-"`
	Title          string            `json:"title"`
	Severity       Severity          `json:"severity"`
	Status         Status            `json:"status"`
	Services       []string          `json:"services"`
	Labels         map[string]string `json:"labels"`
	Commander      string            `json:"commander,omitempty"`
	Communications string            `json:"communications,omitempty"`
	Scribe         string            `json:"scribe,omitempty"`
	Responders     []string          `json:"responders"`
	Impact         Impact            `json:"impact"`
	RootCause      string            `json:"root_cause,omitempty"`
	Cause          string            `json:"cause,omitempty"` // a triage cause name once confirmed
	Resolution     string            `json:"resolution,omitempty"`
	Drill          bool              `json:"drill,omitempty"`
	CreatedBy      string            `json:"created_by"`
	DetectedAt     *time.Time        `json:"detected_at,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	AcknowledgedAt *time.Time        `json:"acknowledged_at,omitempty"`
	MitigatedAt    *time.Time        `json:"mitigated_at,omitempty"`
	ResolvedAt     *time.Time        `json:"resolved_at,omitempty"`
	ClosedAt       *time.Time        `json:"closed_at,omitempty"`
	Version        int64             `json:"version"`
}

// Ref is the incident's public id, INC-<n>.
func (i *Incident) Ref() string { return FormatID(i.ID) }

// MarshalJSON adds the public id.
func (i Incident) MarshalJSON() ([]byte, error) {
	type plain Incident
	return json.Marshal(struct {
		ID string `json:"id"`
		plain
	}{FormatID(i.ID), plain(i)})
}

// UnmarshalJSON reads the public id back.
func (i *Incident) UnmarshalJSON(b []byte) error {
	type plain Incident
	var v struct {
		ID string `json:"id"`
		plain
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*i = Incident(v.plain)
	if v.ID != "" {
		n, err := ParseID(v.ID)
		if err != nil {
			return err
		}
		i.ID = n
	}
	return nil
}

// FormatID renders an incident number as INC-<n>.
func FormatID(n int64) string { return "INC-" + strconv.FormatInt(n, 10) }

// ParseID accepts INC-<n> (any case) or a bare number.
func ParseID(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if len(t) > 4 && strings.EqualFold(t[:4], "INC-") {
		t = t[4:]
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return 0, invalidf("id", "%q is not an incident id like INC-12", s)
	}
	return n, nil
}

// Event kinds on the timeline.
const (
	EventAlert    = "alert"
	EventStatus   = "status"
	EventNote     = "note"
	EventAction   = "action"
	EventEvidence = "evidence"
	EventChange   = "change"
	EventComms    = "comms"
)

// EventKinds lists the valid timeline event kinds.
var EventKinds = []string{EventAlert, EventStatus, EventNote, EventAction, EventEvidence, EventChange, EventComms}

// Event is one entry of the append-only timeline.
type Event struct {
	ID         int64           `json:"id"`
	IncidentID int64           `json:"-"`
	Time       time.Time       `json:"time"`
	Kind       string          `json:"kind"`
	Actor      string          `json:"actor"`
	Text       string          `json:"text"`
	Payload    json.RawMessage `json:"payload,omitempty"`
}

// StatusPayload is the payload of a status event.
type StatusPayload struct {
	From Status `json:"from,omitempty"`
	To   Status `json:"to"`
}

// Action item states.
const (
	ActionOpen = "open"
	ActionDone = "done"
)

// ActionItem is a follow-up task linked to an incident.
type ActionItem struct {
	ID         int64      `json:"id"`
	IncidentID int64      `json:"-"`
	Title      string     `json:"title"`
	Owner      string     `json:"owner,omitempty"`
	Due        *time.Time `json:"due,omitempty"`
	State      string     `json:"state"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	DoneAt     *time.Time `json:"done_at,omitempty"`
	Version    int64      `json:"version"`
}

// MarshalJSON adds the linked incident's public id.
func (a ActionItem) MarshalJSON() ([]byte, error) {
	type plain ActionItem
	return json.Marshal(struct {
		Incident string `json:"incident"`
		plain
	}{FormatID(a.IncidentID), plain(a)})
}

// ValidationError says which field is wrong and why. It is a client error.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

func invalidf(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// TransitionError is an illegal status change.
type TransitionError struct {
	ID       int64
	From, To Status
}

func (e *TransitionError) Error() string {
	next := []string{}
	for _, s := range Statuses {
		if CanTransition(e.From, s) {
			next = append(next, string(s))
		}
	}
	hint := "it can no longer change status"
	if len(next) > 0 {
		hint = "from " + string(e.From) + " it can move to " + strings.Join(next, ", ")
	}
	return fmt.Sprintf("%s is %s and cannot become %s: %s", FormatID(e.ID), e.From, e.To, hint)
}
