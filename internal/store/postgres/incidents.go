package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
)

const incidentCols = `id, title, severity, status, services, labels, commander, communications, scribe,
	responders, impact, root_cause, cause, resolution, drill, created_by, detected_at, created_at,
	updated_at, acknowledged_at, mitigated_at, resolved_at, closed_at, version`

// incidentValues are the column values of inc from title to closed_at, in
// incidentCols order.
func incidentValues(inc *incident.Incident) ([]any, error) {
	if err := checkTimes(inc.DetectedAt, inc.CreatedAt, inc.UpdatedAt, inc.AcknowledgedAt, inc.MitigatedAt,
		inc.ResolvedAt, inc.ClosedAt); err != nil {
		return nil, err
	}
	impact, err := json.Marshal(inc.Impact)
	if err != nil {
		return nil, fmt.Errorf("impact: %v: %w", err, store.ErrInvalid)
	}
	return []any{
		inc.Title, string(inc.Severity), string(inc.Status), list(inc.Services), jsonMap(inc.Labels),
		inc.Commander, inc.Communications, inc.Scribe, list(inc.Responders), string(impact),
		inc.RootCause, inc.Cause, inc.Resolution, inc.Drill, inc.CreatedBy, timePtr(inc.DetectedAt),
		roundTime(inc.CreatedAt), roundTime(inc.UpdatedAt), timePtr(inc.AcknowledgedAt),
		timePtr(inc.MitigatedAt), timePtr(inc.ResolvedAt), timePtr(inc.ClosedAt),
	}, nil
}

func scanIncident(row pgx.Row) (*incident.Incident, error) {
	var inc incident.Incident
	var sev, status string
	var labels, impact []byte
	err := row.Scan(&inc.ID, &inc.Title, &sev, &status, &inc.Services, &labels, &inc.Commander,
		&inc.Communications, &inc.Scribe, &inc.Responders, &impact, &inc.RootCause, &inc.Cause, &inc.Resolution,
		&inc.Drill, &inc.CreatedBy, &inc.DetectedAt, &inc.CreatedAt, &inc.UpdatedAt, &inc.AcknowledgedAt,
		&inc.MitigatedAt, &inc.ResolvedAt, &inc.ClosedAt, &inc.Version)
	if err != nil {
		return nil, err
	}
	inc.Severity, inc.Status = incident.Severity(sev), incident.Status(status)
	if err := json.Unmarshal(labels, &inc.Labels); err != nil {
		return nil, fmt.Errorf("labels of %s: %v", inc.Ref(), err)
	}
	if err := json.Unmarshal(impact, &inc.Impact); err != nil {
		return nil, fmt.Errorf("impact of %s: %v", inc.Ref(), err)
	}
	normaliseIncident(&inc)
	return &inc, nil
}

// normaliseIncident gives inc the form the store returns: empty rather than
// nil lists and maps, times in UTC to the microsecond.
func normaliseIncident(inc *incident.Incident) {
	if inc.Services == nil {
		inc.Services = []string{}
	}
	if inc.Responders == nil {
		inc.Responders = []string{}
	}
	if inc.Labels == nil {
		inc.Labels = map[string]string{}
	}
	inc.CreatedAt = roundTime(inc.CreatedAt)
	inc.UpdatedAt = roundTime(inc.UpdatedAt)
	for _, p := range []**time.Time{&inc.DetectedAt, &inc.AcknowledgedAt, &inc.MitigatedAt, &inc.ResolvedAt, &inc.ClosedAt} {
		if *p != nil {
			t := roundTime(**p)
			*p = &t
		}
	}
}

// CreateIncident inserts inc and its first events in one transaction and
// sets inc.ID, inc.Version (1) and the events' IDs. inc's times are
// normalised to UTC microseconds, as stored.
func (db *DB) CreateIncident(ctx context.Context, inc *incident.Incident, events []incident.Event) error {
	if inc == nil {
		return fmt.Errorf("create incident: nil incident: %w", store.ErrInvalid)
	}
	vals, err := incidentValues(inc)
	if err != nil {
		return fmt.Errorf("create incident: %w", err)
	}
	if err := checkEvents(events); err != nil {
		return fmt.Errorf("create incident: %w", err)
	}
	var id int64
	var ids []int64
	err = db.write(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO incidents (`+incidentCols[len("id, "):]+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, 1)
			RETURNING id`, vals...).Scan(&id)
		if err != nil {
			return err
		}
		ids, err = insertEvents(ctx, tx, id, events)
		return err
	})
	if err != nil {
		return fmt.Errorf("create incident: %w", err)
	}
	inc.ID, inc.Version = id, 1
	normaliseIncident(inc)
	setEventIDs(events, id, ids)
	return nil
}

// GetIncident returns store.ErrNotFound when there is no such incident.
func (db *DB) GetIncident(ctx context.Context, id int64) (*incident.Incident, error) {
	inc, err := scanIncident(db.pool.QueryRow(ctx, `SELECT `+incidentCols+` FROM incidents WHERE id = $1`, id))
	if err != nil {
		return nil, mapErr(err)
	}
	return inc, nil
}

// args collects query arguments and hands out their placeholders.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// ListIncidents returns incidents newest first (by creation time, then ID).
func (db *DB) ListIncidents(ctx context.Context, f incident.ListFilter) ([]*incident.Incident, error) {
	if f.Limit < 0 {
		return nil, fmt.Errorf("list incidents: limit %d is negative: %w", f.Limit, store.ErrInvalid)
	}
	var where []string
	var a args
	if len(f.Statuses) > 0 {
		s := make([]string, len(f.Statuses))
		for i, v := range f.Statuses {
			s[i] = string(v)
		}
		where = append(where, "status = ANY("+a.add(s)+")")
	}
	if len(f.Severities) > 0 {
		s := make([]string, len(f.Severities))
		for i, v := range f.Severities {
			s[i] = string(v)
		}
		where = append(where, "severity = ANY("+a.add(s)+")")
	}
	if f.Service != "" {
		where = append(where, "services @> ARRAY["+a.add(f.Service)+"::text]")
	}
	q := `SELECT ` + incidentCols + ` FROM incidents`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT " + a.add(f.Limit)
	}
	rows, err := db.pool.Query(ctx, q, a...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []*incident.Incident{}
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, inc)
	}
	return out, mapErr(rows.Err())
}

// UpdateIncident saves inc if the stored version still equals inc.Version,
// increments inc.Version and appends events, in one transaction. It
// returns store.ErrConflict when the version moved and store.ErrNotFound
// when the incident does not exist.
func (db *DB) UpdateIncident(ctx context.Context, inc *incident.Incident, events []incident.Event) error {
	if inc == nil {
		return fmt.Errorf("update incident: nil incident: %w", store.ErrInvalid)
	}
	vals, err := incidentValues(inc)
	if err != nil {
		return fmt.Errorf("update %s: %w", inc.Ref(), err)
	}
	if err := checkEvents(events); err != nil {
		return fmt.Errorf("update %s: %w", inc.Ref(), err)
	}
	vals = append(vals, inc.ID, inc.Version)
	var ids []int64
	err = db.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE incidents SET title = $1, severity = $2, status = $3, services = $4,
			labels = $5, commander = $6, communications = $7, scribe = $8, responders = $9, impact = $10,
			root_cause = $11, cause = $12, resolution = $13, drill = $14, created_by = $15, detected_at = $16,
			created_at = $17, updated_at = $18, acknowledged_at = $19, mitigated_at = $20, resolved_at = $21,
			closed_at = $22, version = version + 1
			WHERE id = $23 AND version = $24`, vals...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFoundOrConflict(ctx, tx, "incidents", inc.ID)
		}
		ids, err = insertEvents(ctx, tx, inc.ID, events)
		return err
	})
	if err != nil {
		return fmt.Errorf("update %s: %w", inc.Ref(), err)
	}
	inc.Version++
	normaliseIncident(inc)
	setEventIDs(events, inc.ID, ids)
	return nil
}

// notFoundOrConflict explains why a versioned update touched no row.
func notFoundOrConflict(ctx context.Context, tx pgx.Tx, table string, id int64) error {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = $1)`, id).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		return store.ErrNotFound
	}
	return store.ErrConflict
}

// lockIncident checks that the incident exists and keeps it from being
// deleted until the transaction ends (the lock a foreign key takes).
func lockIncident(ctx context.Context, tx pgx.Tx, id int64) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM incidents WHERE id = $1 FOR KEY SHARE`, id).Scan(&one)
	if err == pgx.ErrNoRows {
		return fmt.Errorf("%s: %w", incident.FormatID(id), store.ErrNotFound)
	}
	return err
}

// AppendEvents adds events to the incident's timeline and sets their IDs;
// store.ErrNotFound when the incident does not exist.
func (db *DB) AppendEvents(ctx context.Context, incidentID int64, events []incident.Event) error {
	if err := checkEvents(events); err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	var ids []int64
	err := db.write(ctx, func(tx pgx.Tx) error {
		if err := lockIncident(ctx, tx, incidentID); err != nil {
			return err
		}
		var err error
		ids, err = insertEvents(ctx, tx, incidentID, events)
		return err
	})
	if err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	setEventIDs(events, incidentID, ids)
	return nil
}

// ListEvents returns the timeline in time order, ties by ID. An incident
// without events (or without existence) has an empty timeline.
func (db *DB) ListEvents(ctx context.Context, incidentID int64) ([]incident.Event, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, incident_id, at, kind, actor, text, payload::text
		FROM events WHERE incident_id = $1 ORDER BY at, id`, incidentID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []incident.Event{}
	for rows.Next() {
		var e incident.Event
		var payload *string
		if err := rows.Scan(&e.ID, &e.IncidentID, &e.Time, &e.Kind, &e.Actor, &e.Text, &payload); err != nil {
			return nil, mapErr(err)
		}
		e.Time = roundTime(e.Time)
		if payload != nil {
			e.Payload = json.RawMessage(*payload)
		}
		out = append(out, e)
	}
	return out, mapErr(rows.Err())
}

// checkEvents rejects events the timeline cannot hold.
func checkEvents(events []incident.Event) error {
	for i, e := range events {
		if e.Kind == "" {
			return fmt.Errorf("event %d: kind is required: %w", i, store.ErrInvalid)
		}
		if len(e.Payload) > 0 && !json.Valid(e.Payload) {
			return fmt.Errorf("event %d: payload is not valid JSON: %w", i, store.ErrInvalid)
		}
		if err := checkTimes(e.Time); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	return nil
}

func insertEvents(ctx context.Context, tx pgx.Tx, incidentID int64, events []incident.Event) ([]int64, error) {
	ids := make([]int64, len(events))
	for i, e := range events {
		var payload *string
		if len(e.Payload) > 0 {
			s := string(e.Payload)
			payload = &s
		}
		err := tx.QueryRow(ctx, `INSERT INTO events (incident_id, at, kind, actor, text, payload)
			VALUES ($1, $2, $3, $4, $5, $6::text::json) RETURNING id`,
			incidentID, roundTime(e.Time), e.Kind, e.Actor, e.Text, payload).Scan(&ids[i])
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// setEventIDs records what the store assigned, once the transaction
// committed.
func setEventIDs(events []incident.Event, incidentID int64, ids []int64) {
	for i := range events {
		events[i].ID = ids[i]
		events[i].IncidentID = incidentID
		events[i].Time = roundTime(events[i].Time)
		if len(events[i].Payload) == 0 {
			events[i].Payload = nil
		}
	}
}

const actionCols = `id, incident_id, title, owner, due, state, created_by, created_at, done_at, version`

func scanAction(row pgx.Row) (*incident.ActionItem, error) {
	var a incident.ActionItem
	if err := row.Scan(&a.ID, &a.IncidentID, &a.Title, &a.Owner, &a.Due, &a.State, &a.CreatedBy,
		&a.CreatedAt, &a.DoneAt, &a.Version); err != nil {
		return nil, err
	}
	normaliseAction(&a)
	return &a, nil
}

func normaliseAction(a *incident.ActionItem) {
	a.CreatedAt = roundTime(a.CreatedAt)
	for _, p := range []**time.Time{&a.Due, &a.DoneAt} {
		if *p != nil {
			t := roundTime(**p)
			*p = &t
		}
	}
}

// CreateAction inserts a and sets a.ID and a.Version (1); store.ErrNotFound
// when its incident does not exist.
func (db *DB) CreateAction(ctx context.Context, a *incident.ActionItem) error {
	if a == nil {
		return fmt.Errorf("create action item: nil action item: %w", store.ErrInvalid)
	}
	if err := checkTimes(a.CreatedAt, a.Due, a.DoneAt); err != nil {
		return fmt.Errorf("create action item: %w", err)
	}
	var id int64
	err := db.write(ctx, func(tx pgx.Tx) error {
		if err := lockIncident(ctx, tx, a.IncidentID); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO action_items
			(incident_id, title, owner, due, state, created_by, created_at, done_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1) RETURNING id`,
			a.IncidentID, a.Title, a.Owner, timePtr(a.Due), a.State, a.CreatedBy, roundTime(a.CreatedAt),
			timePtr(a.DoneAt)).Scan(&id)
	})
	if err != nil {
		return fmt.Errorf("create action item: %w", err)
	}
	a.ID, a.Version = id, 1
	normaliseAction(a)
	return nil
}

// GetAction returns store.ErrNotFound when there is no such action item.
func (db *DB) GetAction(ctx context.Context, id int64) (*incident.ActionItem, error) {
	a, err := scanAction(db.pool.QueryRow(ctx, `SELECT `+actionCols+` FROM action_items WHERE id = $1`, id))
	if err != nil {
		return nil, mapErr(err)
	}
	return a, nil
}

// UpdateAction saves a if the stored version equals a.Version and
// increments it; store.ErrConflict when it moved, store.ErrNotFound when
// the item does not exist.
func (db *DB) UpdateAction(ctx context.Context, a *incident.ActionItem) error {
	if a == nil {
		return fmt.Errorf("update action item: nil action item: %w", store.ErrInvalid)
	}
	if err := checkTimes(a.CreatedAt, a.Due, a.DoneAt); err != nil {
		return fmt.Errorf("update action item #%d: %w", a.ID, err)
	}
	err := db.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE action_items SET title = $1, owner = $2, due = $3, state = $4,
			done_at = $5, version = version + 1 WHERE id = $6 AND version = $7`,
			a.Title, a.Owner, timePtr(a.Due), a.State, timePtr(a.DoneAt), a.ID, a.Version)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFoundOrConflict(ctx, tx, "action_items", a.ID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("update action item #%d: %w", a.ID, err)
	}
	a.Version++
	normaliseAction(a)
	return nil
}

// ListActions returns action items oldest first (by creation time, then ID).
func (db *DB) ListActions(ctx context.Context, f incident.ActionFilter) ([]*incident.ActionItem, error) {
	var where []string
	var a args
	if f.IncidentID != 0 {
		where = append(where, "incident_id = "+a.add(f.IncidentID))
	}
	if f.State != "" {
		where = append(where, "state = "+a.add(f.State))
	}
	if f.Owner != "" {
		where = append(where, "owner = "+a.add(f.Owner))
	}
	q := `SELECT ` + actionCols + ` FROM action_items`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at, id"
	rows, err := db.pool.Query(ctx, q, a...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []*incident.ActionItem{}
	for rows.Next() {
		item, err := scanAction(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, item)
	}
	return out, mapErr(rows.Err())
}

// roundTime is t as the store keeps it: UTC, truncated to the microsecond
// (PostgreSQL would round to it).
func roundTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func timePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	r := roundTime(*t)
	return &r
}

func list(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func jsonMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m) // strings always marshal
	return string(b)
}

// checkTimes rejects times outside the years 0000–9999, which RFC 3339 (and
// so the JSON forms of the records) cannot represent. Arguments are
// time.Time or *time.Time (nil is fine).
func checkTimes(ts ...any) error {
	for _, v := range ts {
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case *time.Time:
			if x == nil {
				continue
			}
			t = *x
		}
		if y := t.UTC().Year(); y < 0 || y > 9999 {
			return fmt.Errorf("time %s is outside the years 0000-9999: %w", t.UTC().Format(time.RFC3339), store.ErrInvalid)
		}
	}
	return nil
}
