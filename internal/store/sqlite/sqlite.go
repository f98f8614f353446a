// Package sqlite is the SQLite store: one file, no server, the default for
// a single responder's laptop and for small teams running `sitrep serve`.
// It implements incident.Store, auth.Store and changelog.Store and passes
// the conformance suite in internal/store/storetest.
//
// Durability and concurrency choices:
//
//   - The database runs in WAL mode with synchronous=FULL: a write that
//     returned without error survives a crash of the process and a loss of
//     power. (NORMAL would only protect against the former, and incident
//     records are few and small, so the extra fsync per commit is cheap.)
//   - Writes go through a single connection and begin with BEGIN IMMEDIATE,
//     so writers in this process queue in Go instead of failing with
//     SQLITE_BUSY, and writers in other processes (a CLI next to a running
//     server) wait up to Options.BusyTimeout for the write lock.
//   - Reads use a separate pool of read-only connections; in WAL mode they
//     never wait for the writer.
//   - Foreign keys are enforced; the timeline table refuses updates and
//     deletes (triggers).
//
// The schema is versioned with goose; migrations are embedded and applied
// by Open.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sitrep-dev/sitrep/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options configures Open.
type Options struct {
	// Logger receives the migrations applied at open; discarded when nil.
	Logger *slog.Logger
	// BusyTimeout is how long a write waits for another process holding
	// the write lock before it fails (default 5s).
	BusyTimeout time.Duration
	// ReadConns caps the read-only connections (default 4).
	ReadConns int
}

// DB is an open SQLite store. It is safe for concurrent use.
type DB struct {
	path string
	w    *sql.DB // one connection, BEGIN IMMEDIATE: the only writer
	r    *sql.DB // read-only connections
	log  *slog.Logger
}

// Open opens (creating it and its parent directories when missing) the
// SQLite database at path and applies pending migrations. path ":memory:"
// opens a private in-memory database, for tests.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: empty database path: %w", store.ErrInvalid)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = 4
	}
	db := &DB{path: path, log: opts.Logger.With("component", "store", "backend", "sqlite")}
	memory := path == ":memory:"
	if !memory {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", path, err)
		}
		db.path = abs
		if err := prepareFile(abs); err != nil {
			return nil, err
		}
	}
	busy := strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)
	wdsn := db.dsn(memory, url.Values{
		"_txlock":       {"immediate"},
		"_busy_timeout": {busy},
		"_foreign_keys": {"1"},
		"_journal_mode": {"WAL"},
		"_synchronous":  {"FULL"},
	})
	w, err := sql.Open("sqlite", wdsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", db.path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	db.w = w
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, db.openErr(err)
	}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	// SQLite silently opens a file it may not write read-only; write
	// (nothing) once so that this fails now, not at the first real write.
	if _, err := w.ExecContext(ctx, `UPDATE incidents SET version = version WHERE id = -1`); err != nil {
		w.Close()
		return nil, db.openErr(err)
	}
	if memory {
		// A second pool would open a second, empty in-memory database.
		db.r = w
		return db, nil
	}
	r, err := sql.Open("sqlite", db.dsn(false, url.Values{
		"_busy_timeout": {busy},
		"_foreign_keys": {"1"},
		"_query_only":   {"1"},
	}))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", db.path, err)
	}
	r.SetMaxOpenConns(opts.ReadConns)
	r.SetMaxIdleConns(opts.ReadConns)
	db.r = r
	if err := r.PingContext(ctx); err != nil {
		db.Close()
		return nil, db.openErr(err)
	}
	return db, nil
}

// prepareFile creates the parent directories and, when the database does
// not exist yet, an empty file readable only by its owner: incidents and
// token hashes are not for every local user. SQLite gives the -wal and -shm
// files the same mode.
func prepareFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("sqlite: create directory for %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return fmt.Errorf("sqlite: %s is a directory, not a database file: %w", path, store.ErrInvalid)
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("sqlite: %w", err)
	}
	// Only a file nobody has open yet is opened and closed here: closing a
	// descriptor drops the POSIX locks SQLite holds on the file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	return f.Close()
}

func (db *DB) dsn(memory bool, q url.Values) string {
	if memory {
		return ":memory:?" + q.Encode()
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(db.path), RawQuery: q.Encode()}
	if u.Path != "" && u.Path[0] != '/' { // Windows: C:/…
		u.Path = "/" + u.Path
	}
	return u.String()
}

// openErr turns the errors of opening a file into ones that say what is
// wrong with it.
func (db *DB) openErr(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB:
			return fmt.Errorf("sqlite: %s is not a SQLite database: %w", db.path, store.ErrInvalid)
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM:
			return fmt.Errorf("sqlite: open %s for writing: %w", db.path, fs.ErrPermission)
		}
	}
	return fmt.Errorf("sqlite: open %s: %v", db.path, err)
}

// migrate applies the embedded migrations. Each runs in one BEGIN
// IMMEDIATE transaction, so two processes opening a new file at once
// serialise; the loser's attempt fails and is retried, finding the work
// done.
func (db *DB) migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db.w, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("sqlite: load migrations: %w", err)
	}
	for try := 0; ; try++ {
		current, target, err := p.GetVersions(ctx)
		if err != nil {
			return db.migrateErr(err)
		}
		if current > target {
			return fmt.Errorf("sqlite: %s has schema version %d but this sitrep knows only up to %d: upgrade sitrep: %w",
				db.path, current, target, store.ErrInvalid)
		}
		if current == target {
			return nil
		}
		res, err := p.Up(ctx)
		for _, r := range res {
			if r.Error == nil {
				db.log.Info("migration applied", "version", r.Source.Version, "file", filepath.Base(r.Source.Path), "duration", r.Duration)
			}
		}
		if err == nil {
			return nil
		}
		if try >= 2 || ctx.Err() != nil {
			return db.migrateErr(err)
		}
		db.log.Debug("migration failed, retrying", "err", err)
	}
}

func (db *DB) migrateErr(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM:
			return db.openErr(err)
		}
	}
	return fmt.Errorf("sqlite: migrate %s: %v", db.path, err)
}

// Path is the absolute path of the database file (":memory:" for an
// in-memory database).
func (db *DB) Path() string { return db.path }

// Ping checks that the database is reachable and migrated.
func (db *DB) Ping(ctx context.Context) error {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM incidents WHERE id = 0`).Scan(&n); err != nil {
		return mapErr(err)
	}
	return nil
}

// Close closes the database; pending writes are already durable.
func (db *DB) Close() error {
	var errs []error
	if db.r != nil && db.r != db.w {
		errs = append(errs, db.r.Close())
	}
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	return errors.Join(errs...)
}

// write runs fn in a write transaction (BEGIN IMMEDIATE on the single
// write connection) and commits it when fn returns nil.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return mapErr(err)
	}
	return mapErr(tx.Commit())
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
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %s", store.ErrConflict, se.Error())
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: a referenced record does not exist", store.ErrNotFound)
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL, sqlite3.SQLITE_CONSTRAINT_TRIGGER:
			return fmt.Errorf("%w: %s", store.ErrInvalid, se.Error())
		}
		if se.Code()&0xff == sqlite3.SQLITE_BUSY {
			return fmt.Errorf("sqlite: the database is locked by another process (busy timeout exceeded): %v", err)
		}
	}
	return fmt.Errorf("sqlite: %v", err)
}
