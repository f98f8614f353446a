package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

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
	text := []string{inc.Title, string(inc.Severity), string(inc.Status), inc.Commander, inc.Communications,
		inc.Scribe, inc.RootCause, inc.Cause, inc.Resolution, inc.CreatedBy, inc.Impact.Summary}
	text = append(append(text, inc.Services...), inc.Responders...)
	for k, v := range inc.Labels {
		text = append(text, k, v)
	}
	if err := checkText(text...); err != nil {
		return nil, err
	}
	impact, err := json.Marshal(inc.Impact)
	if err != nil {
		return nil, fmt.Errorf("impact: %v: %w", err, store.ErrInvalid)
	}
	return []any{
		inc.Title, string(inc.Severity), string(inc.Status), jsonList(inc.Services), jsonMap(inc.Labels),
		inc.Commander, inc.Communications, inc.Scribe, jsonList(inc.Responders), string(impact),
		inc.RootCause, inc.Cause, inc.Resolution, inc.Drill, inc.CreatedBy, fmtTimePtr(inc.DetectedAt),
		fmtTime(inc.CreatedAt), fmtTime(inc.UpdatedAt), fmtTimePtr(inc.AcknowledgedAt),
		fmtTimePtr(inc.MitigatedAt), fmtTimePtr(inc.ResolvedAt), fmtTimePtr(inc.ClosedAt),
	}, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanIncident(sc scanner) (*incident.Incident, error) {
	var inc incident.Incident
	err := sc.Scan(&inc.ID, &inc.Title, &inc.Severity, &inc.Status, jsonCol{&inc.Services}, jsonCol{&inc.Labels},
		&inc.Commander, &inc.Communications, &inc.Scribe, jsonCol{&inc.Responders}, jsonCol{&inc.Impact},
		&inc.RootCause, &inc.Cause, &inc.Resolution, &inc.Drill, &inc.CreatedBy, nullTimeCol{&inc.DetectedAt},
		timeCol{&inc.CreatedAt}, timeCol{&inc.UpdatedAt}, nullTimeCol{&inc.AcknowledgedAt},
		nullTimeCol{&inc.MitigatedAt}, nullTimeCol{&inc.ResolvedAt}, nullTimeCol{&inc.ClosedAt}, &inc.Version)
	if err != nil {
		return nil, err
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
	err = db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO incidents (`+incidentCols[len("id, "):]+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`, vals...)
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
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
	inc, err := scanIncident(db.r.QueryRowContext(ctx, `SELECT `+incidentCols+` FROM incidents WHERE id = ?`, id))
	if err != nil {
		return nil, mapErr(err)
	}
	return inc, nil
}

// ListIncidents returns incidents newest first (by creation time, then ID).
func (db *DB) ListIncidents(ctx context.Context, f incident.ListFilter) ([]*incident.Incident, error) {
	if f.Limit < 0 {
		return nil, fmt.Errorf("list incidents: limit %d is negative: %w", f.Limit, store.ErrInvalid)
	}
	var where []string
	var args []any
	if len(f.Statuses) > 0 {
		where = append(where, "status IN ("+placeholders(len(f.Statuses))+")")
		for _, s := range f.Statuses {
			args = append(args, string(s))
		}
	}
	if len(f.Severities) > 0 {
		where = append(where, "severity IN ("+placeholders(len(f.Severities))+")")
		for _, s := range f.Severities {
			args = append(args, string(s))
		}
	}
	if f.Service != "" {
		where = append(where, "EXISTS (SELECT 1 FROM json_each(incidents.services) AS s WHERE s.value = ?)")
		args = append(args, f.Service)
	}
	q := `SELECT ` + incidentCols + ` FROM incidents`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
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
	err = db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE incidents SET title = ?, severity = ?, status = ?, services = ?,
			labels = ?, commander = ?, communications = ?, scribe = ?, responders = ?, impact = ?, root_cause = ?,
			cause = ?, resolution = ?, drill = ?, created_by = ?, detected_at = ?, created_at = ?, updated_at = ?,
			acknowledged_at = ?, mitigated_at = ?, resolved_at = ?, closed_at = ?, version = version + 1
			WHERE id = ? AND version = ?`, vals...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
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
func notFoundOrConflict(ctx context.Context, tx *sql.Tx, table string, id int64) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE id = ?`, id).Scan(&one)
	if err == sql.ErrNoRows {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	return store.ErrConflict
}

func incidentExists(ctx context.Context, tx *sql.Tx, id int64) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM incidents WHERE id = ?`, id).Scan(&one)
	if err == sql.ErrNoRows {
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
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := incidentExists(ctx, tx, incidentID); err != nil {
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
	rows, err := db.r.QueryContext(ctx, `SELECT id, incident_id, time, kind, actor, text, payload
		FROM events WHERE incident_id = ? ORDER BY time, id`, incidentID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []incident.Event{}
	for rows.Next() {
		var e incident.Event
		var payload sql.NullString
		if err := rows.Scan(&e.ID, &e.IncidentID, timeCol{&e.Time}, &e.Kind, &e.Actor, &e.Text, &payload); err != nil {
			return nil, mapErr(err)
		}
		if payload.Valid {
			e.Payload = json.RawMessage(payload.String)
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
		if err := checkText(e.Kind, e.Actor, e.Text); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	return nil
}

func insertEvents(ctx context.Context, tx *sql.Tx, incidentID int64, events []incident.Event) ([]int64, error) {
	if len(events) == 0 {
		return nil, nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO events (incident_id, time, kind, actor, text, payload)
		VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	ids := make([]int64, len(events))
	for i, e := range events {
		var payload any
		if len(e.Payload) > 0 {
			payload = string(e.Payload)
		}
		res, err := stmt.ExecContext(ctx, incidentID, fmtTime(e.Time), e.Kind, e.Actor, e.Text, payload)
		if err != nil {
			return nil, err
		}
		if ids[i], err = res.LastInsertId(); err != nil {
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

func scanAction(sc scanner) (*incident.ActionItem, error) {
	var a incident.ActionItem
	if err := sc.Scan(&a.ID, &a.IncidentID, &a.Title, &a.Owner, nullTimeCol{&a.Due}, &a.State, &a.CreatedBy,
		timeCol{&a.CreatedAt}, nullTimeCol{&a.DoneAt}, &a.Version); err != nil {
		return nil, err
	}
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
	if err := checkText(a.Title, a.Owner, a.State, a.CreatedBy); err != nil {
		return fmt.Errorf("create action item: %w", err)
	}
	var id int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := incidentExists(ctx, tx, a.IncidentID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO action_items
			(incident_id, title, owner, due, state, created_by, created_at, done_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			a.IncidentID, a.Title, a.Owner, fmtTimePtr(a.Due), a.State, a.CreatedBy, fmtTime(a.CreatedAt), fmtTimePtr(a.DoneAt))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
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
	a, err := scanAction(db.r.QueryRowContext(ctx, `SELECT `+actionCols+` FROM action_items WHERE id = ?`, id))
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
	if err := checkText(a.Title, a.Owner, a.State); err != nil {
		return fmt.Errorf("update action item #%d: %w", a.ID, err)
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE action_items SET title = ?, owner = ?, due = ?, state = ?,
			done_at = ?, version = version + 1 WHERE id = ? AND version = ?`,
			a.Title, a.Owner, fmtTimePtr(a.Due), a.State, fmtTimePtr(a.DoneAt), a.ID, a.Version)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
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
	var args []any
	if f.IncidentID != 0 {
		where = append(where, "incident_id = ?")
		args = append(args, f.IncidentID)
	}
	if f.State != "" {
		where = append(where, "state = ?")
		args = append(args, f.State)
	}
	if f.Owner != "" {
		where = append(where, "owner = ?")
		args = append(args, f.Owner)
	}
	q := `SELECT ` + actionCols + ` FROM action_items`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at, id"
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []*incident.ActionItem{}
	for rows.Next() {
		a, err := scanAction(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, a)
	}
	return out, mapErr(rows.Err())
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
