// Package postgres is the PostgreSQL store, for teams that run `sitrep
// serve` next to a database they already operate. It implements
// incident.Store, auth.Store and changelog.Store and passes the
// conformance suite in internal/store/storetest.
//
// Queries go through a pgxpool. Migrations are embedded, versioned with
// goose and applied by Open under a PostgreSQL advisory lock held for the
// session, so that several servers starting at once migrate exactly once.
// Optimistic concurrency is a version column: an UPDATE … WHERE version =
// $n that touches no row is a conflict. The timeline table refuses updates,
// deletes and truncation (a trigger).
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/sitrep-dev/sitrep/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options configures Open.
type Options struct {
	// Logger receives the migrations applied at open; discarded when nil.
	Logger *slog.Logger
	// ConnectTimeout bounds each connection attempt when the DSN sets no
	// connect_timeout (default 10s).
	ConnectTimeout time.Duration
}

// DB is an open PostgreSQL store. It is safe for concurrent use.
type DB struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	dsn  string // with the password redacted, for messages
}

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value connection string) and applies pending migrations.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 10 * time.Second
	}
	safe := Redact(dsn)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors can quote the DSN, password included.
		return nil, fmt.Errorf("postgres: %s is not a valid connection string (want postgres://user@host:5432/db): %w", safe, store.ErrInvalid)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	}
	db := &DB{log: opts.Logger.With("component", "store", "backend", "postgres"), dsn: safe}
	if err := db.migrate(ctx, cfg.ConnConfig); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect to %s: %v", safe, err)
	}
	db.pool = pool
	if err := db.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", safe, err)
	}
	return db, nil
}

// Redact returns dsn with its password replaced by "xxxxx", for messages
// and logs.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "(connection string)" // key=value form: do not risk echoing a password
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	redacted := false
	for k := range q {
		if strings.EqualFold(k, "password") {
			q[k] = []string{"xxxxx"}
			redacted = true
		}
	}
	if redacted {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// migrate applies the embedded migrations over a connection of its own,
// holding a session advisory lock.
func (db *DB) migrate(ctx context.Context, cc *pgx.ConnConfig) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	sqlDB := stdlib.OpenDB(*cc)
	defer sqlDB.Close()
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("postgres: connect to %s: %v", db.dsn, err)
	}
	// Retry every second for up to five minutes: a long migration by
	// another server holds the lock.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("postgres: load migrations: %w", err)
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate %s: %v", db.dsn, err)
	}
	if current > target {
		return fmt.Errorf("postgres: %s has schema version %d but this sitrep knows only up to %d: upgrade sitrep: %w",
			db.dsn, current, target, store.ErrInvalid)
	}
	if current == target {
		return nil
	}
	res, err := p.Up(ctx)
	for _, r := range res {
		if r.Error == nil {
			db.log.Info("migration applied", "version", r.Source.Version, "file", path.Base(r.Source.Path), "duration", r.Duration)
		}
	}
	if err != nil {
		return fmt.Errorf("postgres: migrate %s: %v", db.dsn, err)
	}
	return nil
}

// Ping checks that the database is reachable and migrated.
func (db *DB) Ping(ctx context.Context) error {
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM incidents WHERE id = 0`).Scan(&n); err != nil {
		return mapErr(err)
	}
	return nil
}

// Close closes every connection.
func (db *DB) Close() error {
	if db.pool != nil {
		db.pool.Close()
	}
	return nil
}

// write runs fn in a transaction and commits it when fn returns nil.
func (db *DB) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return mapErr(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return mapErr(err)
	}
	return mapErr(tx.Commit(ctx))
}

// mapErr turns driver errors into the store's sentinels. Errors it does not
// recognise are returned as text, so that callers cannot come to depend on
// the driver's types.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrInvalid):
		return err
	case errors.Is(err, pgx.ErrNoRows):
		return store.ErrNotFound
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return fmt.Errorf("%w: %s", store.ErrConflict, pe.Message)
		case pe.Code == "23503": // foreign_key_violation
			return fmt.Errorf("%w: a referenced record does not exist", store.ErrNotFound)
		case pe.Code == "40001", pe.Code == "40P01": // serialization_failure, deadlock_detected
			return fmt.Errorf("%w: %s", store.ErrConflict, pe.Message)
		case strings.HasPrefix(pe.Code, "23"), strings.HasPrefix(pe.Code, "22"): // integrity constraints, data exceptions
			return fmt.Errorf("%w: %s", store.ErrInvalid, pe.Message)
		}
		return fmt.Errorf("postgres: %s (SQLSTATE %s)", pe.Message, pe.Code)
	}
	return fmt.Errorf("postgres: %v", err)
}
