package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/signal"
)

// Handlers decode, call the service layer and return what to encode. Rules
// belong to the services, never here.

// List limits for GET /api/v1/incidents.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

func (s *Server) healthz(http.ResponseWriter, *http.Request, principal) (int, any, error) {
	return http.StatusOK, map[string]string{"status": "ok"}, nil
}

func (s *Server) readyz(_ http.ResponseWriter, r *http.Request, _ principal) (int, any, error) {
	if s.store == nil {
		return 0, nil, &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable, message: "no store configured"}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("store not reachable", "err", err)
		return 0, nil, &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable,
			message: "the store is not reachable", err: err}
	}
	return http.StatusOK, map[string]string{"status": "ready"}, nil
}

// incidentID parses the {id} path value: INC-7 or 7.
func incidentID(r *http.Request) (int64, error) {
	return incident.ParseID(r.PathValue("id"))
}

// checkQuery rejects query parameters the route does not know, so that a
// typo is not silently ignored.
func checkQuery(q url.Values, known ...string) error {
	for k := range q {
		if !slices.Contains(known, k) {
			return badRequest(k, fmt.Sprintf("unknown query parameter %q; known: %s", k, strings.Join(known, ", ")))
		}
	}
	return nil
}

// listValues splits repeated and comma-separated query values.
func listValues(q url.Values, key string) []string {
	var out []string
	for _, v := range q[key] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// IncidentList is the body of GET /api/v1/incidents.
type IncidentList struct {
	Incidents []*incident.Incident `json:"incidents"`
	Count     int                  `json:"count"`
}

func (s *Server) listIncidents(_ http.ResponseWriter, r *http.Request, _ principal) (int, any, error) {
	q := r.URL.Query()
	if err := checkQuery(q, "status", "severity", "service", "limit"); err != nil {
		return 0, nil, err
	}
	f := incident.ListFilter{Service: strings.TrimSpace(q.Get("service")), Limit: defaultListLimit}
	for _, v := range listValues(q, "status") {
		switch strings.ToLower(v) {
		case "all":
			f.Statuses = nil
			continue
		case "open":
			f.Statuses = append(f.Statuses, incident.Triggered, incident.Acknowledged, incident.Mitigated)
			continue
		}
		st, err := incident.ParseStatus(v)
		if err != nil {
			return 0, nil, err
		}
		f.Statuses = append(f.Statuses, st)
	}
	for _, v := range listValues(q, "severity") {
		sev, err := incident.ParseSeverity(v)
		if err != nil {
			return 0, nil, err
		}
		f.Severities = append(f.Severities, sev)
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			return 0, nil, badRequest("limit", fmt.Sprintf("limit %q: want a number from 1 to %d", v, maxListLimit))
		}
		f.Limit = n
	}
	list, err := s.incidents.List(r.Context(), f)
	if err != nil {
		return 0, nil, err
	}
	if list == nil {
		list = []*incident.Incident{}
	}
	return http.StatusOK, IncidentList{Incidents: list, Count: len(list)}, nil
}

func (s *Server) declareIncident(w http.ResponseWriter, r *http.Request, p principal) (int, any, error) {
	var in incident.DeclareInput
	if err := s.decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	inc, err := s.incidents.Declare(r.Context(), p.actor, in)
	if err != nil {
		return 0, nil, err
	}
	w.Header().Set("Location", "/api/v1/incidents/"+inc.Ref())
	return http.StatusCreated, inc, nil
}

func (s *Server) getIncident(_ http.ResponseWriter, r *http.Request, _ principal) (int, any, error) {
	id, err := incidentID(r)
	if err != nil {
		return 0, nil, err
	}
	inc, err := s.incidents.Get(r.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, inc, nil
}

func (s *Server) editIncident(w http.ResponseWriter, r *http.Request, p principal) (int, any, error) {
	id, err := incidentID(r)
	if err != nil {
		return 0, nil, err
	}
	var in incident.EditInput
	if err := s.decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	inc, err := s.incidents.Edit(r.Context(), id, p.actor, in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, inc, nil
}

// StatusRequest is the body of POST /api/v1/incidents/{id}/status.
type StatusRequest struct {
	Status string `json:"status"`
	// Text is an optional note; for resolved it is the resolution.
	Text string `json:"text,omitempty"`
}

func (s *Server) transition(w http.ResponseWriter, r *http.Request, p principal) (int, any, error) {
	id, err := incidentID(r)
	if err != nil {
		return 0, nil, err
	}
	var in StatusRequest
	if err := s.decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	if strings.TrimSpace(in.Status) == "" {
		return 0, nil, &incident.ValidationError{Field: "status", Reason: "is required (acknowledged, mitigated, resolved or closed)"}
	}
	to, err := incident.ParseStatus(in.Status)
	if err != nil {
		return 0, nil, err
	}
	inc, err := s.incidents.Transition(r.Context(), id, to, p.actor, strings.TrimSpace(in.Text))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, inc, nil
}

// Timeline is the body of GET /api/v1/incidents/{id}/timeline and
// /updates.
type Timeline struct {
	Incident string           `json:"incident"`
	Events   []incident.Event `json:"events"`
}

func (s *Server) timeline(_ http.ResponseWriter, r *http.Request, _ principal) (int, any, error) {
	id, err := incidentID(r)
	if err != nil {
		return 0, nil, err
	}
	evs, err := s.incidents.Timeline(r.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	if evs == nil {
		evs = []incident.Event{}
	}
	return http.StatusOK, Timeline{Incident: incident.FormatID(id), Events: evs}, nil
}

// NoteRequest is the body of POST /api/v1/incidents/{id}/timeline.
type NoteRequest struct {
	// Kind is note (default), alert, action, evidence, change or comms.
	Kind    string          `json:"kind,omitempty"`
	Text    string          `json:"text"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func (s *Server) addNote(w http.ResponseWriter, r *http.Request, p principal) (int, any, error) {
	id, err := incidentID(r)
	if err != nil {
		return 0, nil, err
	}
	var in NoteRequest
	if err := s.decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	if string(in.Payload) == "null" {
		in.Payload = nil
	}
	ev, err := s.incidents.Note(r.Context(), id, p.actor, strings.TrimSpace(in.Kind), in.Text, in.Payload)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, ev, nil
}

func (s *Server) listUpdates(_ http.ResponseWriter, r *http.Request, _ principal) (int, any, error) {
	id, err := incidentID(r)
	if err != nil {
		return 0, nil, err
	}
	evs, err := s.incidents.Updates(r.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, Timeline{Incident: incident.FormatID(id), Events: evs}, nil
}

// UpdateRequest is the body of POST /api/v1/incidents/{id}/updates.
type UpdateRequest struct {
	Text string `json:"text"`
}

func (s *Server) postUpdate(w http.ResponseWriter, r *http.Request, p principal) (int, any, error) {
	id, err := incidentID(r)
	if err != nil {
		return 0, nil, err
	}
	var in UpdateRequest
	if err := s.decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	ev, err := s.incidents.PostUpdate(r.Context(), id, p.actor, in.Text)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, ev, nil
}

// RoleRequest is the body of POST /api/v1/incidents/{id}/roles.
type RoleRequest struct {
	// Role is commander, communications, scribe or responder.
	Role   string `json:"role"`
	Person string `json:"person"`
}

func (s *Server) assignRole(w http.ResponseWriter, r *http.Request, p principal) (int, any, error) {
	id, err := incidentID(r)
	if err != nil {
		return 0, nil, err
	}
	var in RoleRequest
	if err := s.decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	inc, err := s.incidents.Assign(r.Context(), id, p.actor, in.Role, in.Person)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, inc, nil
}

// CauseRequest is the body of POST /api/v1/incidents/{id}/cause.
type CauseRequest struct {
	// Cause is a triage cause name (design.md §4.4), optional.
	Cause     string `json:"cause,omitempty"`
	RootCause string `json:"root_cause"`
}

func (s *Server) setCause(w http.ResponseWriter, r *http.Request, p principal) (int, any, error) {
	id, err := incidentID(r)
	if err != nil {
		return 0, nil, err
	}
	var in CauseRequest
	if err := s.decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	inc, err := s.incidents.SetCause(r.Context(), id, p.actor, in.Cause, in.RootCause)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, inc, nil
}

// ActionList is the body of GET /api/v1/actions and
// /api/v1/incidents/{id}/actions.
type ActionList struct {
	Actions []*incident.ActionItem `json:"actions"`
}

func (s *Server) listIncidentActions(_ http.ResponseWriter, r *http.Request, _ principal) (int, any, error) {
	id, err := incidentID(r)
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	if err := checkQuery(q, "state", "owner"); err != nil {
		return 0, nil, err
	}
	if _, err := s.incidents.Get(r.Context(), id); err != nil {
		return 0, nil, err
	}
	return s.actions(r.Context(), q, id)
}

func (s *Server) listActions(_ http.ResponseWriter, r *http.Request, _ principal) (int, any, error) {
	q := r.URL.Query()
	if err := checkQuery(q, "state", "owner", "incident"); err != nil {
		return 0, nil, err
	}
	var id int64
	if v := q.Get("incident"); v != "" {
		n, err := incident.ParseID(v)
		if err != nil {
			return 0, nil, err
		}
		id = n
	}
	return s.actions(r.Context(), q, id)
}

func (s *Server) actions(ctx context.Context, q url.Values, id int64) (int, any, error) {
	f := incident.ActionFilter{IncidentID: id, Owner: strings.TrimSpace(q.Get("owner"))}
	switch st := strings.ToLower(strings.TrimSpace(q.Get("state"))); st {
	case "", "all":
	case incident.ActionOpen, incident.ActionDone:
		f.State = st
	default:
		return 0, nil, badRequest("state", fmt.Sprintf("state %q: want open, done or all", st))
	}
	list, err := s.incidents.ListActions(ctx, f)
	if err != nil {
		return 0, nil, err
	}
	if list == nil {
		list = []*incident.ActionItem{}
	}
	return http.StatusOK, ActionList{Actions: list}, nil
}

func (s *Server) addAction(w http.ResponseWriter, r *http.Request, p principal) (int, any, error) {
	id, err := incidentID(r)
	if err != nil {
		return 0, nil, err
	}
	var in incident.AddActionInput
	if err := s.decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	a, err := s.incidents.AddAction(r.Context(), id, p.actor, in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, a, nil
}

func (s *Server) completeAction(_ http.ResponseWriter, r *http.Request, p principal) (int, any, error) {
	v := r.PathValue("id")
	id, err := strconv.ParseInt(strings.TrimPrefix(v, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, nil, &incident.ValidationError{Field: "id", Reason: fmt.Sprintf("%q is not an action item number like 3", v)}
	}
	a, err := s.incidents.CompleteAction(r.Context(), id, p.actor)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a, nil
}

// ChangeList is the body of GET and POST /api/v1/changes.
type ChangeList struct {
	Changes []signal.Change `json:"changes"`
}

func (s *Server) listChanges(_ http.ResponseWriter, r *http.Request, _ principal) (int, any, error) {
	q := r.URL.Query()
	if err := checkQuery(q, "since", "until"); err != nil {
		return 0, nil, err
	}
	now := s.now().UTC()
	since, err := parseWhen("since", q.Get("since"), now)
	if err != nil {
		return 0, nil, err
	}
	until, err := parseWhen("until", q.Get("until"), now)
	if err != nil {
		return 0, nil, err
	}
	list, err := s.changes.List(r.Context(), since, until)
	if err != nil {
		return 0, nil, err
	}
	if list == nil {
		list = []signal.Change{}
	}
	return http.StatusOK, ChangeList{Changes: list}, nil
}

// parseWhen reads an RFC 3339 time or an age (90m, 24h) before now.
func parseWhen(field, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, badRequest(field, fmt.Sprintf("%s %q: use an RFC 3339 time (2026-11-20T12:03:00Z) or an age (90m, 24h)", field, v))
}

func (s *Server) recordChanges(w http.ResponseWriter, r *http.Request, p principal) (int, any, error) {
	b, err := s.readBody(w, r)
	if err != nil {
		return 0, nil, err
	}
	in, err := decodeChanges(b)
	if err != nil {
		return 0, nil, err
	}
	out, err := s.changes.Record(r.Context(), p.actor, in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, ChangeList{Changes: out}, nil
}

// TokenList is the body of GET /api/v1/tokens.
type TokenList struct {
	Tokens []*auth.Token `json:"tokens"`
}

func (s *Server) listTokens(_ http.ResponseWriter, r *http.Request, _ principal) (int, any, error) {
	list, err := s.tokens.List(r.Context())
	if err != nil {
		return 0, nil, err
	}
	if list == nil {
		list = []*auth.Token{}
	}
	return http.StatusOK, TokenList{Tokens: list}, nil
}

// TokenRequest is the body of POST /api/v1/tokens.
type TokenRequest struct {
	Name string `json:"name"`
	// Role is viewer, responder or admin.
	Role string `json:"role"`
}

// CreatedToken is the answer to POST /api/v1/tokens: the only time the
// secret is shown.
type CreatedToken struct {
	*auth.Token
	Secret string `json:"token"`
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p principal) (int, any, error) {
	var in TokenRequest
	if err := s.decode(w, r, &in); err != nil {
		return 0, nil, err
	}
	role, err := auth.ParseRole(in.Role)
	if err != nil {
		return 0, nil, badRequest("role", err.Error())
	}
	secret, tok, err := s.tokens.Create(r.Context(), p.actor, in.Name, role)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, CreatedToken{Token: tok, Secret: secret}, nil
}

func (s *Server) revokeToken(_ http.ResponseWriter, r *http.Request, p principal) (int, any, error) {
	name := r.PathValue("name")
	if p.token != nil && p.token.Name == name {
		// Allowed, but worth a line in the log: the caller locks itself out.
		s.log.Info("token revoked itself", "token", name)
	}
	if err := s.tokens.Revoke(r.Context(), name); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
