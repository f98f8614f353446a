package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// Store persists incidents, their timelines and action items. Both backends
// (sqlite, postgres) implement it and pass the same conformance suite.
type Store interface {
	// CreateIncident inserts inc and its first events in one transaction,
	// setting inc.ID, inc.Version (1) and the events' IDs.
	CreateIncident(ctx context.Context, inc *Incident, events []Event) error
	// GetIncident returns store.ErrNotFound when there is no such incident.
	GetIncident(ctx context.Context, id int64) (*Incident, error)
	// ListIncidents returns incidents newest first.
	ListIncidents(ctx context.Context, f ListFilter) ([]*Incident, error)
	// UpdateIncident saves inc if the stored version still equals
	// inc.Version, increments inc.Version, and appends events — all in one
	// transaction. It returns store.ErrConflict when the version moved.
	UpdateIncident(ctx context.Context, inc *Incident, events []Event) error
	// AppendEvents adds events to the timeline (store.ErrNotFound when the
	// incident does not exist), setting their IDs.
	AppendEvents(ctx context.Context, incidentID int64, events []Event) error
	// ListEvents returns the timeline in time order (ties by ID).
	ListEvents(ctx context.Context, incidentID int64) ([]Event, error)

	// CreateAction inserts a, setting a.ID and a.Version (1).
	CreateAction(ctx context.Context, a *ActionItem) error
	// GetAction returns store.ErrNotFound when there is no such action item.
	GetAction(ctx context.Context, id int64) (*ActionItem, error)
	// UpdateAction saves a if the stored version equals a.Version and
	// increments it; store.ErrConflict otherwise.
	UpdateAction(ctx context.Context, a *ActionItem) error
	// ListActions returns action items, oldest first.
	ListActions(ctx context.Context, f ActionFilter) ([]*ActionItem, error)
}

// ListFilter selects incidents. Empty fields match everything.
type ListFilter struct {
	Statuses   []Status
	Severities []Severity
	Service    string
	Limit      int // 0 = no limit
}

// ActionFilter selects action items. Zero fields match everything.
type ActionFilter struct {
	IncidentID int64
	State      string
	Owner      string
}

// Options configures a Service.
type Options struct {
	Store  Store
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service implements the incident operations shared by the CLI and the HTTP
// API. Every change lands on the timeline with its actor and time.
type Service struct {
	st     Store
	log    *slog.Logger
	now    func() time.Time
	maxTry int
}

// NewService returns a Service over opts.Store.
func NewService(opts Options) *Service {
	s := &Service{st: opts.Store, log: opts.Logger, now: opts.Now, maxTry: 20}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// DeclareInput is what declaring an incident takes.
type DeclareInput struct {
	Title      string            `json:"title"`
	Severity   string            `json:"severity"`
	Services   []string          `json:"services,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Commander  string            `json:"commander,omitempty"`
	Summary    string            `json:"summary,omitempty"`
	DetectedAt *time.Time        `json:"detected_at,omitempty"`
	Drill      bool              `json:"drill,omitempty"`
}

// Validate checks the input and normalises it.
func (in *DeclareInput) Validate() error {
	in.Title = strings.TrimSpace(in.Title)
	if in.Title == "" {
		return invalidf("title", "is required")
	}
	if len(in.Title) > 200 {
		return invalidf("title", "is longer than 200 characters")
	}
	if in.Severity == "" {
		return invalidf("severity", "is required (SEV1, SEV2, SEV3 or SEV4)")
	}
	if _, err := ParseSeverity(in.Severity); err != nil {
		return err
	}
	svcs, err := cleanList("services", in.Services)
	if err != nil {
		return err
	}
	in.Services = svcs
	for k := range in.Labels {
		if strings.TrimSpace(k) == "" {
			return invalidf("labels", "a label name is empty")
		}
	}
	return nil
}

func cleanList(field string, in []string) ([]string, error) {
	out := []string{}
	for _, v := range in {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			if len(p) > 100 {
				return nil, invalidf(field, "%q is longer than 100 characters", p)
			}
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// Declare opens a new incident in status triggered.
func (s *Service) Declare(ctx context.Context, actor string, in DeclareInput) (*Incident, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	sev, _ := ParseSeverity(in.Severity)
	now := s.clock()
	inc := &Incident{
		Title: in.Title, Severity: sev, Status: Triggered, Services: in.Services,
		Labels: in.Labels, Commander: strings.TrimSpace(in.Commander), Responders: []string{},
		Drill: in.Drill, CreatedBy: actor, CreatedAt: now, UpdatedAt: now,
	}
	if inc.Labels == nil {
		inc.Labels = map[string]string{}
	}
	if in.DetectedAt != nil {
		t := in.DetectedAt.UTC()
		inc.DetectedAt = &t
	}
	text := fmt.Sprintf("Incident declared: %s (%s)", inc.Title, sev)
	if in.Drill {
		text = "Drill declared: " + inc.Title + " (" + string(sev) + ")"
	}
	events := []Event{{Time: now, Kind: EventStatus, Actor: actor, Text: text, Payload: mustJSON(StatusPayload{To: Triggered})}}
	if in.Summary != "" {
		events = append(events, Event{Time: now, Kind: EventNote, Actor: actor, Text: in.Summary})
	}
	if inc.Commander != "" {
		events = append(events, Event{Time: now, Kind: EventNote, Actor: actor, Text: "Commander: " + inc.Commander,
			Payload: mustJSON(map[string]string{"role": RoleCommander, "person": inc.Commander})})
	}
	if err := s.st.CreateIncident(ctx, inc, events); err != nil {
		return nil, fmt.Errorf("declare incident: %w", err)
	}
	s.log.Info("incident declared", "incident", inc.Ref(), "severity", sev, "actor", actor)
	return inc, nil
}

// Get returns one incident.
func (s *Service) Get(ctx context.Context, id int64) (*Incident, error) {
	inc, err := s.st.GetIncident(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", FormatID(id), err)
	}
	return inc, nil
}

// List returns incidents newest first.
func (s *Service) List(ctx context.Context, f ListFilter) ([]*Incident, error) {
	return s.st.ListIncidents(ctx, f)
}

// Timeline returns the incident's timeline in time order.
func (s *Service) Timeline(ctx context.Context, id int64) ([]Event, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	return s.st.ListEvents(ctx, id)
}

// mutate applies fn to the latest version of the incident and saves it with
// the events fn returns, retrying when a concurrent writer got there first.
// fn must be safe to run more than once.
func (s *Service) mutate(ctx context.Context, id int64, fn func(inc *Incident, now time.Time) ([]Event, error)) (*Incident, error) {
	for try := 0; ; try++ {
		inc, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		now := s.clock()
		events, err := fn(inc, now)
		if err != nil {
			return nil, err
		}
		inc.UpdatedAt = now
		err = s.st.UpdateIncident(ctx, inc, events)
		if err == nil {
			return inc, nil
		}
		if !errors.Is(err, store.ErrConflict) || try >= s.maxTry {
			return nil, fmt.Errorf("update %s: %w", FormatID(id), err)
		}
		s.log.Debug("retrying after concurrent update", "incident", FormatID(id), "try", try+1)
	}
}

// Transition moves the incident to status to, recording text (optional) on
// the timeline. Illegal moves return a *TransitionError.
func (s *Service) Transition(ctx context.Context, id int64, to Status, actor, text string) (*Incident, error) {
	if to.rank() < 0 {
		return nil, invalidf("status", "%q is not a status", to)
	}
	return s.mutate(ctx, id, func(inc *Incident, now time.Time) ([]Event, error) {
		from := inc.Status
		if !CanTransition(from, to) {
			return nil, &TransitionError{ID: id, From: from, To: to}
		}
		inc.Status = to
		t := now
		switch to {
		case Acknowledged:
			if inc.AcknowledgedAt == nil {
				inc.AcknowledgedAt = &t
			}
			if from == Resolved { // reopened
				inc.ResolvedAt = nil
			}
		case Mitigated:
			inc.MitigatedAt = &t
		case Resolved:
			inc.ResolvedAt = &t
			if inc.MitigatedAt == nil {
				inc.MitigatedAt = &t
			}
			if text != "" {
				inc.Resolution = text
			}
		case Closed:
			inc.ClosedAt = &t
		}
		msg := fmt.Sprintf("Status %s → %s", from, to)
		if from == Resolved && to == Acknowledged {
			msg = "Reopened: status resolved → acknowledged"
		}
		if text != "" {
			msg += ": " + text
		}
		return []Event{{Time: now, Kind: EventStatus, Actor: actor, Text: msg, Payload: mustJSON(StatusPayload{From: from, To: to})}}, nil
	})
}

// Note appends a note (or an action/alert/evidence entry, by kind) to the
// timeline.
func (s *Service) Note(ctx context.Context, id int64, actor, kind, text string, payload json.RawMessage) (*Event, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, invalidf("text", "is required")
	}
	if kind == "" {
		kind = EventNote
	}
	if !slices.Contains(EventKinds, kind) {
		return nil, invalidf("kind", "%q is not one of %s", kind, strings.Join(EventKinds, ", "))
	}
	if kind == EventStatus {
		return nil, invalidf("kind", "status events come from status changes (ack, mitigate, resolve, close)")
	}
	if payload != nil && !json.Valid(payload) {
		return nil, invalidf("payload", "is not valid JSON")
	}
	evs := []Event{{Time: s.clock(), Kind: kind, Actor: actor, Text: text, Payload: payload}}
	if err := s.st.AppendEvents(ctx, id, evs); err != nil {
		return nil, fmt.Errorf("%s: %w", FormatID(id), err)
	}
	return &evs[0], nil // AppendEvents set its id
}

// AppendEvidence appends several evidence events at once (a triage run's
// findings and hypotheses), in one transaction.
func (s *Service) AppendEvidence(ctx context.Context, id int64, events []Event) error {
	now := s.clock()
	for i := range events {
		if events[i].Time.IsZero() {
			events[i].Time = now
		}
		if events[i].Kind == "" {
			events[i].Kind = EventEvidence
		}
	}
	if err := s.st.AppendEvents(ctx, id, events); err != nil {
		return fmt.Errorf("%s: %w", FormatID(id), err)
	}
	return nil
}

// PostUpdate records a stakeholder status update (a comms event).
func (s *Service) PostUpdate(ctx context.Context, id int64, actor, text string) (*Event, error) {
	return s.Note(ctx, id, actor, EventComms, text, nil)
}

// Updates returns the stakeholder status updates, oldest first.
func (s *Service) Updates(ctx context.Context, id int64) ([]Event, error) {
	evs, err := s.Timeline(ctx, id)
	if err != nil {
		return nil, err
	}
	out := []Event{}
	for _, e := range evs {
		if e.Kind == EventComms {
			out = append(out, e)
		}
	}
	return out, nil
}

// Assign gives person a role. Responders accumulate; the other roles have
// one holder, and reassigning replaces it.
func (s *Service) Assign(ctx context.Context, id int64, actor, role, person string) (*Incident, error) {
	person = strings.TrimSpace(person)
	if person == "" {
		return nil, invalidf("person", "is required")
	}
	role = strings.ToLower(strings.TrimSpace(role))
	if role == "responders" {
		role = RoleResponder
	}
	if !slices.Contains(Roles, role) {
		return nil, invalidf("role", "%q is not one of %s", role, strings.Join(Roles, ", "))
	}
	return s.mutate(ctx, id, func(inc *Incident, now time.Time) ([]Event, error) {
		var prev string
		switch role {
		case RoleCommander:
			prev, inc.Commander = inc.Commander, person
		case RoleCommunications:
			prev, inc.Communications = inc.Communications, person
		case RoleScribe:
			prev, inc.Scribe = inc.Scribe, person
		case RoleResponder:
			if !slices.Contains(inc.Responders, person) {
				inc.Responders = append(inc.Responders, person)
			}
		}
		text := fmt.Sprintf("%s assigned as %s", person, role)
		if prev != "" && prev != person {
			text += " (was " + prev + ")"
		}
		return []Event{{Time: now, Kind: EventNote, Actor: actor, Text: text,
			Payload: mustJSON(map[string]string{"role": role, "person": person})}}, nil
	})
}

// EditInput changes an incident's descriptive fields; nil means unchanged.
type EditInput struct {
	Title    *string           `json:"title,omitempty"`
	Severity *string           `json:"severity,omitempty"`
	Services []string          `json:"services,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Impact   *Impact           `json:"impact,omitempty"`
	// DetectedAt is when the problem started (the onset), if earlier than
	// the declaration.
	DetectedAt *time.Time `json:"detected_at,omitempty"`
}

// Edit changes title, severity, services, labels or impact. Each change is
// recorded on the timeline.
func (s *Service) Edit(ctx context.Context, id int64, actor string, in EditInput) (*Incident, error) {
	var sev Severity
	if in.Severity != nil {
		v, err := ParseSeverity(*in.Severity)
		if err != nil {
			return nil, err
		}
		sev = v
	}
	if in.Title != nil && strings.TrimSpace(*in.Title) == "" {
		return nil, invalidf("title", "cannot be empty")
	}
	svcs, err := cleanList("services", in.Services)
	if err != nil {
		return nil, err
	}
	if in.Impact != nil {
		if err := in.Impact.validate(); err != nil {
			return nil, err
		}
	}
	return s.mutate(ctx, id, func(inc *Incident, now time.Time) ([]Event, error) {
		var notes []string
		if in.Title != nil && strings.TrimSpace(*in.Title) != inc.Title {
			inc.Title = strings.TrimSpace(*in.Title)
			notes = append(notes, "title changed to "+strconvQuote(inc.Title))
		}
		if sev != "" && sev != inc.Severity {
			notes = append(notes, fmt.Sprintf("severity %s → %s", inc.Severity, sev))
			inc.Severity = sev
		}
		for _, v := range svcs {
			if !slices.Contains(inc.Services, v) {
				inc.Services = append(inc.Services, v)
				notes = append(notes, "service "+v+" affected")
			}
		}
		for k, v := range in.Labels {
			if inc.Labels == nil {
				inc.Labels = map[string]string{}
			}
			if inc.Labels[k] != v {
				inc.Labels[k] = v
				notes = append(notes, "label "+k+"="+v)
			}
		}
		if in.Impact != nil {
			inc.Impact = mergeImpact(inc.Impact, *in.Impact)
			notes = append(notes, "impact recorded: "+inc.Impact.String())
		}
		if in.DetectedAt != nil && (inc.DetectedAt == nil || !inc.DetectedAt.Equal(in.DetectedAt.UTC())) {
			t := in.DetectedAt.UTC().Truncate(time.Microsecond)
			inc.DetectedAt = &t
			notes = append(notes, "onset recorded: "+t.Format("2006-01-02 15:04:05 UTC"))
		}
		if len(notes) == 0 {
			return nil, nil
		}
		return []Event{{Time: now, Kind: EventNote, Actor: actor, Text: strings.Join(notes, "; ")}}, nil
	})
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

func (im Impact) validate() error {
	if im.UsersAffected != nil && *im.UsersAffected < 0 {
		return invalidf("impact.users_affected", "cannot be negative")
	}
	if im.RequestsFailed != nil && *im.RequestsFailed < 0 {
		return invalidf("impact.requests_failed", "cannot be negative")
	}
	if im.DowntimeMinutes != nil && *im.DowntimeMinutes < 0 {
		return invalidf("impact.downtime_minutes", "cannot be negative")
	}
	return nil
}

func mergeImpact(old, in Impact) Impact {
	if in.UsersAffected != nil {
		old.UsersAffected = in.UsersAffected
	}
	if in.RequestsFailed != nil {
		old.RequestsFailed = in.RequestsFailed
	}
	if in.DowntimeMinutes != nil {
		old.DowntimeMinutes = in.DowntimeMinutes
	}
	if in.Summary != "" {
		old.Summary = in.Summary
	}
	return old
}

// String renders the recorded impact, "unknown" for what was not recorded.
func (im Impact) String() string {
	parts := []string{}
	if im.UsersAffected != nil {
		parts = append(parts, fmt.Sprintf("%d users affected", *im.UsersAffected))
	}
	if im.RequestsFailed != nil {
		parts = append(parts, fmt.Sprintf("%d requests failed", *im.RequestsFailed))
	}
	if im.DowntimeMinutes != nil {
		parts = append(parts, fmt.Sprintf("%.0f minutes of downtime", *im.DowntimeMinutes))
	}
	if im.Summary != "" {
		parts = append(parts, im.Summary)
	}
	if len(parts) == 0 {
		return "unknown"
	}
	return strings.Join(parts, ", ")
}

// SetCause records the confirmed cause: a triage cause name (optional) and
// the root cause in words. The postmortem's Root cause section uses it.
func (s *Service) SetCause(ctx context.Context, id int64, actor, cause, rootCause string) (*Incident, error) {
	rootCause = strings.TrimSpace(rootCause)
	cause = strings.TrimSpace(cause)
	if rootCause == "" && cause == "" {
		return nil, invalidf("root_cause", "is required")
	}
	return s.mutate(ctx, id, func(inc *Incident, now time.Time) ([]Event, error) {
		inc.Cause = cause
		if rootCause != "" {
			inc.RootCause = rootCause
		}
		text := "Root cause identified"
		if cause != "" {
			text += " (" + cause + ")"
		}
		if rootCause != "" {
			text += ": " + rootCause
		}
		return []Event{{Time: now, Kind: EventNote, Actor: actor, Text: text,
			Payload: mustJSON(map[string]string{"milestone": "root_cause", "cause": cause})}}, nil
	})
}

// AddActionInput is what an action item takes.
type AddActionInput struct {
	Title string     `json:"title"`
	Owner string     `json:"owner,omitempty"`
	Due   *time.Time `json:"due,omitempty"`
}

// AddAction creates an action item linked to the incident.
func (s *Service) AddAction(ctx context.Context, id int64, actor string, in AddActionInput) (*ActionItem, error) {
	in.Title = strings.TrimSpace(in.Title)
	if in.Title == "" {
		return nil, invalidf("title", "is required")
	}
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	now := s.clock()
	a := &ActionItem{IncidentID: id, Title: in.Title, Owner: strings.TrimSpace(in.Owner), Due: in.Due,
		State: ActionOpen, CreatedBy: actor, CreatedAt: now}
	if err := s.st.CreateAction(ctx, a); err != nil {
		return nil, fmt.Errorf("add action item: %w", err)
	}
	text := "Action item #" + fmt.Sprint(a.ID) + ": " + a.Title
	if a.Owner != "" {
		text += " (owner " + a.Owner + ")"
	}
	if err := s.st.AppendEvents(ctx, id, []Event{{Time: now, Kind: EventAction, Actor: actor, Text: text,
		Payload: mustJSON(map[string]any{"action_item": a.ID})}}); err != nil {
		return nil, err
	}
	return a, nil
}

// CompleteAction marks an action item done.
func (s *Service) CompleteAction(ctx context.Context, actionID int64, actor string) (*ActionItem, error) {
	for try := 0; ; try++ {
		a, err := s.st.GetAction(ctx, actionID)
		if err != nil {
			return nil, fmt.Errorf("action item #%d: %w", actionID, err)
		}
		if a.State == ActionDone {
			return a, nil
		}
		now := s.clock()
		a.State = ActionDone
		a.DoneAt = &now
		err = s.st.UpdateAction(ctx, a)
		if errors.Is(err, store.ErrConflict) && try < s.maxTry {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("action item #%d: %w", actionID, err)
		}
		err = s.st.AppendEvents(ctx, a.IncidentID, []Event{{Time: now, Kind: EventAction, Actor: actor,
			Text: fmt.Sprintf("Action item #%d done: %s", a.ID, a.Title), Payload: mustJSON(map[string]any{"action_item": a.ID, "state": ActionDone})}})
		return a, err
	}
}

// ListActions returns action items.
func (s *Service) ListActions(ctx context.Context, f ActionFilter) ([]*ActionItem, error) {
	return s.st.ListActions(ctx, f)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called with values that always marshal
	}
	return b
}
