package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// CreateToken inserts t and sets t.ID; store.ErrConflict when the name (or
// the hash) is taken.
func (db *DB) CreateToken(ctx context.Context, t *auth.Token) error {
	if t == nil || t.Name == "" || t.Hash == "" {
		return fmt.Errorf("create token: name and hash are required: %w", store.ErrInvalid)
	}
	if err := checkTimes(t.CreatedAt); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	if err := checkText(t.Name, string(t.Role), t.Hash, t.CreatedBy); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	var id int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		var taken int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tokens WHERE name = ?`, t.Name).Scan(&taken)
		if err != nil {
			return err
		}
		if taken > 0 {
			return fmt.Errorf("a token named %q exists already (revoke it first or pick another name): %w", t.Name, store.ErrConflict)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO tokens (name, role, hash, created_at, created_by)
			VALUES (?, ?, ?, ?, ?)`, t.Name, string(t.Role), t.Hash, fmtTime(t.CreatedAt), t.CreatedBy)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	t.ID = id
	t.CreatedAt = roundTime(t.CreatedAt)
	return nil
}

const tokenCols = `id, name, role, hash, created_at, created_by`

func scanToken(sc scanner) (*auth.Token, error) {
	var t auth.Token
	if err := sc.Scan(&t.ID, &t.Name, &t.Role, &t.Hash, timeCol{&t.CreatedAt}, &t.CreatedBy); err != nil {
		return nil, err
	}
	return &t, nil
}

// TokenByHash returns store.ErrNotFound when no token has the hash.
func (db *DB) TokenByHash(ctx context.Context, hash string) (*auth.Token, error) {
	t, err := scanToken(db.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, hash))
	if err != nil {
		return nil, mapErr(err)
	}
	return t, nil
}

// ListTokens returns every token by name.
func (db *DB) ListTokens(ctx context.Context) ([]*auth.Token, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY name`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	out := []*auth.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, t)
	}
	return out, mapErr(rows.Err())
}

// DeleteToken removes the named token; store.ErrNotFound when absent.
func (db *DB) DeleteToken(ctx context.Context, name string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE name = ?`, name)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = fmt.Errorf("token %q: %w", name, store.ErrNotFound)
		}
		return err
	})
}

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
