package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// PutChanges inserts the changes, replacing any with the same ID, in one
// transaction. The whole change is kept as JSON, fields sitrep does not
// know included; its time is stored in UTC to the microsecond.
func (db *DB) PutChanges(ctx context.Context, changes []signal.Change) error {
	type row struct {
		id, time, kind, service string
		doc                     []byte
	}
	rows := make([]row, len(changes))
	for i, c := range changes {
		if strings.TrimSpace(c.ID) == "" {
			return fmt.Errorf("change %d: id is required: %w", i, store.ErrInvalid)
		}
		if err := checkTimes(c.Time); err != nil {
			return fmt.Errorf("change %q: %w", c.ID, err)
		}
		if err := checkText(c.ID, c.Kind, c.Service); err != nil {
			return fmt.Errorf("change %q: %w", c.ID, err)
		}
		c.Time = roundTime(c.Time)
		doc, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("change %q: %v: %w", c.ID, err, store.ErrInvalid)
		}
		rows[i] = row{c.ID, fmtTime(c.Time), c.Kind, c.Service, doc}
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO changes (id, time, kind, service, doc) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET time = excluded.time, kind = excluded.kind,
			service = excluded.service, doc = excluded.doc`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range rows {
			if _, err := stmt.ExecContext(ctx, r.id, r.time, r.kind, r.service, string(r.doc)); err != nil {
				return fmt.Errorf("change %q: %w", r.id, mapErr(err))
			}
		}
		return nil
	})
}

// ListChanges returns the changes with since <= time < until, oldest first
// (ties by ID). A zero bound is open.
func (db *DB) ListChanges(ctx context.Context, since, until time.Time) ([]signal.Change, error) {
	q := `SELECT doc FROM changes`
	var where []string
	var args []any
	// Stored times are years 0000-9999, compared as text: clamp the bounds.
	if y := since.UTC().Year(); !since.IsZero() && y > 9999 || !until.IsZero() && until.UTC().Year() < 0 {
		return []signal.Change{}, nil
	}
	if !since.IsZero() && since.UTC().Year() < 0 {
		since = time.Time{}
	}
	if !until.IsZero() && until.UTC().Year() > 9999 {
		until = time.Time{}
	}
	if !since.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, fmtTime(since))
	}
	if !until.IsZero() {
		where = append(where, "time < ?")
		args = append(args, fmtTime(until))
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY time, id"
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []signal.Change{}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, mapErr(err)
		}
		var c signal.Change
		if err := json.Unmarshal([]byte(doc), &c); err != nil {
			return nil, fmt.Errorf("sqlite: stored change is not valid JSON: %v", err)
		}
		c.Time = c.Time.UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, mapErr(err)
	}
	return out, nil
}
