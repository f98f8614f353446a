package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/sitrep-dev/sitrep/internal/auth"
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
