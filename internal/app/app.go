// Package app wires the service layer the CLI and the HTTP server share:
// it opens the store named by a DSN (a SQLite path or a postgres:// URL)
// and builds the incident, token and change-log services over it.
//
//	svc, err := app.Open(ctx, os.Getenv("SITREP_DB"), app.Options{Logger: logger})
//	if err != nil {
//		return err // says what is wrong and what to do
//	}
//	defer svc.Close()
//	inc, err := svc.Incidents.Declare(ctx, actor, in)
package app

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/changelog"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/store/postgres"
	"github.com/sitrep-dev/sitrep/internal/store/sqlite"
)

// Backend is a store: everything the services persist, plus a health check
// and Close. *sqlite.DB and *postgres.DB implement it.
type Backend interface {
	incident.Store
	auth.Store
	changelog.Store
	// Ping reports whether the store is reachable and migrated (/readyz).
	Ping(ctx context.Context) error
	Close() error
}

// Services is the service layer over one open store. Close it when done.
type Services struct {
	Backend   Backend
	Incidents *incident.Service
	Tokens    *auth.Service
	Changes   *changelog.Service
	// Driver is "sqlite" or "postgres".
	Driver string
	// Location says where the data lives, for messages: the SQLite file's
	// absolute path, or the PostgreSQL URL without its password.
	Location string
}

// Options configures Open.
type Options struct {
	// Logger is handed to the store and the services; discarded when nil.
	Logger *slog.Logger
	// Now is the services' clock; time.Now when nil.
	Now func() time.Time
	// Getenv reads XDG_DATA_HOME and HOME to find the default database;
	// os.Getenv when nil.
	Getenv func(string) string
}

// Open opens the store named by dsn and returns the services over it:
//
//   - postgres://… or postgresql://… opens PostgreSQL;
//   - "" opens the SQLite database at DefaultDBPath;
//   - anything else is a SQLite file path ("~/" is expanded), created with
//     its parent directories when missing.
//
// Pending migrations are applied. Errors say what is wrong and what to do.
func Open(ctx context.Context, dsn string, opts Options) (*Services, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	s := &Services{}
	switch {
	case isPostgres(dsn):
		s.Driver, s.Location = "postgres", postgres.Redact(dsn)
		db, err := postgres.Open(ctx, dsn, postgres.Options{Logger: opts.Logger})
		if err != nil {
			return nil, openError(s.Location, err)
		}
		s.Backend = db
	default:
		path, err := sqlitePath(dsn, opts.Getenv)
		if err != nil {
			return nil, err
		}
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		s.Driver, s.Location = "sqlite", path
		db, err := sqlite.Open(ctx, path, sqlite.Options{Logger: opts.Logger})
		if err != nil {
			return nil, openError(path, err)
		}
		s.Backend, s.Location = db, db.Path()
	}
	s.Incidents = incident.NewService(incident.Options{Store: s.Backend, Logger: opts.Logger, Now: opts.Now})
	s.Tokens = auth.NewService(s.Backend, opts.Now)
	s.Changes = changelog.NewService(s.Backend, opts.Now)
	opts.Logger.Debug("store opened", "component", "store", "driver", s.Driver, "location", s.Location)
	return s, nil
}

// Close closes the store.
func (s *Services) Close() error {
	if s == nil || s.Backend == nil {
		return nil
	}
	return s.Backend.Close()
}

func isPostgres(dsn string) bool {
	l := strings.ToLower(strings.TrimSpace(dsn))
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// sqlitePath resolves the SQLite path dsn names.
func sqlitePath(dsn string, getenv func(string) string) (string, error) {
	if dsn == "" {
		return defaultDBPath(getenv)
	}
	if looksLikeKeyValueDSN(dsn) {
		return "", &OpenError{Location: "(connection string)", Reason: "it looks like a PostgreSQL key=value connection string",
			Hint: "pass a postgres:// URL (postgres://user@host:5432/dbname) with --db or SITREP_DB", Err: store.ErrInvalid}
	}
	if rest, ok := strings.CutPrefix(dsn, "~"+string(filepath.Separator)); ok || dsn == "~" {
		home, err := homeDir(getenv)
		if err != nil {
			return "", err
		}
		return filepath.Join(home, rest), nil
	}
	return dsn, nil
}

// looksLikeKeyValueDSN spots "host=db user=sitrep dbname=sitrep", which
// would otherwise become a SQLite file of that name.
func looksLikeKeyValueDSN(s string) bool {
	if !strings.Contains(s, "=") || !strings.Contains(s, " ") {
		return false
	}
	for _, k := range []string{"host=", "dbname=", "user=", "port=", "sslmode="} {
		if strings.HasPrefix(s, k) || strings.Contains(s, " "+k) {
			return true
		}
	}
	return false
}

// DefaultDBPath is where the SQLite store lives when neither --db nor
// SITREP_DB names one: $XDG_DATA_HOME/sitrep/sitrep.db, or
// ~/.local/share/sitrep/sitrep.db when XDG_DATA_HOME is unset.
func DefaultDBPath() (string, error) { return defaultDBPath(os.Getenv) }

func defaultDBPath(getenv func(string) string) (string, error) {
	// The XDG spec says relative paths are invalid and to be ignored.
	if d := getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "sitrep", "sitrep.db"), nil
	}
	home, err := homeDir(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "share", "sitrep", "sitrep.db"), nil
}

func homeDir(getenv func(string) string) (string, error) {
	if h := getenv("HOME"); h != "" {
		return h, nil
	}
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return h, nil
	}
	return "", errors.New("cannot find a place for the store: neither XDG_DATA_HOME nor HOME is set; pass --db or set SITREP_DB")
}

// OpenError is a store that could not be opened. Its message says where,
// why, and what to do; Unwrap gives the cause (fs.ErrPermission,
// store.ErrInvalid, …).
type OpenError struct {
	Location string
	Reason   string
	Hint     string
	Err      error
}

func (e *OpenError) Error() string {
	return "cannot open store at " + e.Location + ": " + e.Reason + "; " + e.Hint
}

func (e *OpenError) Unwrap() error { return e.Err }

func openError(location string, err error) error {
	oe := &OpenError{Location: location, Reason: reason(location, err), Hint: "pass --db or set SITREP_DB", Err: err}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		oe.Reason = "gave up: " + oe.Reason
	case errors.Is(err, fs.ErrPermission):
		oe.Reason = "permission denied"
		oe.Hint = "make it writable for this user, or pass --db or set SITREP_DB to a path you can write"
	case strings.Contains(err.Error(), "is not a SQLite database"):
		oe.Reason = "the file is not a SQLite database"
		oe.Hint = "pass --db or set SITREP_DB to a sitrep database (a new path creates one)"
	case strings.Contains(err.Error(), "upgrade sitrep"):
		oe.Hint = "install a newer sitrep, or pass --db or set SITREP_DB to another store"
	case strings.Contains(err.Error(), "SQLSTATE 42501"): // insufficient_privilege
		oe.Hint = "sitrep creates its own tables: let its role own the database (CREATE DATABASE sitrep OWNER sitrep) or grant it CREATE on the schema"
	case strings.HasPrefix(err.Error(), "postgres: connect"):
		oe.Hint = "check that PostgreSQL is running and the URL is right (--db or SITREP_DB)"
	}
	return oe
}

// reason is err's message without what OpenError says already: the
// backend prefix, the location, the sentinel suffix, repeated lines.
func reason(location string, err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + " " + pe.Path + ": " + pe.Err.Error()
	}
	msg := err.Error()
	for _, p := range []string{"sqlite: ", "postgres: ", "open " + location + ": ", "connect to " + location + ": "} {
		msg = strings.TrimPrefix(msg, p)
	}
	msg = strings.ReplaceAll(msg, " "+location+":", ":")
	msg = strings.TrimSuffix(msg, ": "+store.ErrInvalid.Error())
	var lines []string
	for _, l := range strings.Split(msg, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !slices.Contains(lines, l) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, " ")
}
