package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

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
	var id int64
	err := db.write(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO tokens (name, role, hash, created_at, created_by)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			t.Name, string(t.Role), t.Hash, roundTime(t.CreatedAt), t.CreatedBy).Scan(&id)
	})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("create token: a token named %q exists already (revoke it first or pick another name): %w", t.Name, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	t.ID = id
	t.CreatedAt = roundTime(t.CreatedAt)
	return nil
}

const tokenCols = `id, name, role, hash, created_at, created_by`

func scanToken(row pgx.Row) (*auth.Token, error) {
	var t auth.Token
	var role string
	if err := row.Scan(&t.ID, &t.Name, &role, &t.Hash, &t.CreatedAt, &t.CreatedBy); err != nil {
		return nil, err
	}
	t.Role = auth.Role(role)
	t.CreatedAt = roundTime(t.CreatedAt)
	return &t, nil
}

// TokenByHash returns store.ErrNotFound when no token has the hash.
func (db *DB) TokenByHash(ctx context.Context, hash string) (*auth.Token, error) {
	t, err := scanToken(db.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = $1`, hash))
	if err != nil {
		return nil, mapErr(err)
	}
	return t, nil
}

// ListTokens returns every token by name.
func (db *DB) ListTokens(ctx context.Context) ([]*auth.Token, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY name`)
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
	tag, err := db.pool.Exec(ctx, `DELETE FROM tokens WHERE name = $1`, name)
	if err != nil {
		return mapErr(err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("token %q: %w", name, store.ErrNotFound)
	}
	return nil
}
