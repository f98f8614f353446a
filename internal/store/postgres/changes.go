package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// PutChanges inserts the changes, replacing any with the same ID, in one
// transaction. The whole change is kept as JSON, fields sitrep does not
// know included; its time is stored in UTC to the microsecond.
func (db *DB) PutChanges(ctx context.Context, changes []signal.Change) error {
	batch := &pgx.Batch{}
	for i, c := range changes {
		if strings.TrimSpace(c.ID) == "" {
			return fmt.Errorf("change %d: id is required: %w", i, store.ErrInvalid)
		}
		if err := checkTimes(c.Time); err != nil {
			return fmt.Errorf("change %q: %w", c.ID, err)
		}
		c.Time = roundTime(c.Time)
		doc, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("change %q: %v: %w", c.ID, err, store.ErrInvalid)
		}
		batch.Queue(`INSERT INTO changes (id, at, kind, service, doc) VALUES ($1, $2, $3, $4, $5::text::json)
			ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at, kind = EXCLUDED.kind,
			service = EXCLUDED.service, doc = EXCLUDED.doc`, c.ID, c.Time, c.Kind, c.Service, string(doc))
	}
	if batch.Len() == 0 {
		return nil
	}
	return db.write(ctx, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, batch).Close()
	})
}

// ListChanges returns the changes with since <= time < until, oldest first
// (ties by ID). A zero bound is open.
func (db *DB) ListChanges(ctx context.Context, since, until time.Time) ([]signal.Change, error) {
	var where []string
	var a args
	if !since.IsZero() {
		where = append(where, "at >= "+a.add(roundTime(since)))
	}
	if !until.IsZero() {
		where = append(where, "at < "+a.add(roundTime(until)))
	}
	q := `SELECT doc::text FROM changes`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += ` ORDER BY at, id COLLATE "C"`
	rows, err := db.pool.Query(ctx, q, a...)
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
			return nil, fmt.Errorf("postgres: stored change is not valid JSON: %v", err)
		}
		c.Time = c.Time.UTC()
		out = append(out, c)
	}
	return out, mapErr(rows.Err())
}
