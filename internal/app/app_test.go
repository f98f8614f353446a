package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/store/postgres"
	"github.com/sitrep-dev/sitrep/internal/store/sqlite"
	"github.com/sitrep-dev/sitrep/internal/testsrv/pgtest"
)

// TestMain checks that Services.Close stops every goroutine the store
// started.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

var fixed = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// use drives every service once and checks the data is there after a
// reopen.
func use(t *testing.T, dsn string, opts Options) {
	t.Helper()
	ctx := t.Context()
	opts.Now = func() time.Time { return fixed }
	svc, err := Open(ctx, dsn, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", dsn, err)
	}
	inc, err := svc.Incidents.Declare(ctx, "alice", incident.DeclareInput{Title: "api 503s", Severity: "SEV2"})
	if err != nil {
		t.Fatal(err)
	}
	if !inc.CreatedAt.Equal(fixed) {
		t.Errorf("the services do not use Options.Now: created at %v", inc.CreatedAt)
	}
	secret, _, err := svc.Tokens.Create(ctx, "alice", "ci", "responder")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Changes.Record(ctx, "alice", []signal.Change{{ID: "chg-1", Kind: signal.KindDeploy, Summary: "api v2"}}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Backend.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}

	svc, err = Open(ctx, dsn, opts)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer svc.Close()
	if got, err := svc.Incidents.Get(ctx, inc.ID); err != nil || got.Title != "api 503s" {
		t.Fatalf("incident after reopen: %+v, %v", got, err)
	}
	if _, err := svc.Tokens.Authenticate(ctx, secret); err != nil {
		t.Fatalf("token after reopen: %v", err)
	}
	if ch, err := svc.Changes.List(ctx, time.Time{}, time.Time{}); err != nil || len(ch) != 1 {
		t.Fatalf("changes after reopen: %v, %v", ch, err)
	}
}

func TestOpenSQLitePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "team.db")
	use(t, path, Options{})
	svc, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, ok := svc.Backend.(*sqlite.DB); !ok || svc.Driver != "sqlite" || svc.Location != path {
		t.Fatalf("Open(%q) gave %T, driver %q, location %q", path, svc.Backend, svc.Driver, svc.Location)
	}
}

func TestOpenDefaultPath(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"XDG_DATA_HOME", map[string]string{"XDG_DATA_HOME": filepath.Join(dir, "xdg"), "HOME": filepath.Join(dir, "home")},
			filepath.Join(dir, "xdg", "sitrep", "sitrep.db")},
		{"HOME", map[string]string{"HOME": filepath.Join(dir, "home")},
			filepath.Join(dir, "home", ".local", "share", "sitrep", "sitrep.db")},
		{"relative XDG_DATA_HOME is ignored", map[string]string{"XDG_DATA_HOME": "rel", "HOME": filepath.Join(dir, "home2")},
			filepath.Join(dir, "home2", ".local", "share", "sitrep", "sitrep.db")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := defaultDBPath(env(c.env))
			if err != nil || got != c.want {
				t.Fatalf("defaultDBPath = %q, %v; want %q", got, err, c.want)
			}
			svc, err := Open(t.Context(), "", Options{Getenv: env(c.env)})
			if err != nil {
				t.Fatalf("Open(\"\"): %v", err)
			}
			svc.Close()
			if _, err := os.Stat(c.want); err != nil {
				t.Fatalf("Open(\"\") did not create the default database: %v", err)
			}
		})
	}
}

func TestOpenTildePath(t *testing.T) {
	home := t.TempDir()
	svc, err := Open(t.Context(), "~/sitrep/x.db", Options{Getenv: env(map[string]string{"HOME": home})})
	if err != nil {
		t.Fatal(err)
	}
	svc.Close()
	if want := filepath.Join(home, "sitrep", "x.db"); svc.Location != want {
		t.Fatalf("~/sitrep/x.db opened %s, want %s", svc.Location, want)
	}
}

func TestOpenErrorsSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte(strings.Repeat("not a database\n", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, dsn string
		want      []string
		is        error
	}{
		{"not a database", file, []string{"cannot open store at " + file, "is not a SQLite database", "pass --db or set SITREP_DB"}, store.ErrInvalid},
		{"parent is a file", filepath.Join(file, "x.db"), []string{"cannot open store at " + filepath.Join(file, "x.db"), "not a directory", "pass --db or set SITREP_DB"}, nil},
		{"key=value postgres dsn", "host=db user=sitrep dbname=sitrep password=hunter2", []string{"postgres:// URL", "SITREP_DB"}, store.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc, err := Open(t.Context(), c.dsn, Options{})
			if err == nil {
				svc.Close()
				t.Fatalf("Open(%q) succeeded", c.dsn)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open(%q) = %q; want it to contain %q", c.dsn, err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows a password: %v", err)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("Open(%q) = %v, want errors.Is %v", c.dsn, err, c.is)
			}
		})
	}
}

func TestPermissionErrorMessage(t *testing.T) {
	// Root can write anywhere, so the message is checked on the error the
	// SQLite store returns for an unwritable file.
	err := openError("/srv/sitrep.db", fmt.Errorf("sqlite: open /srv/sitrep.db for writing: %w", fs.ErrPermission))
	want := "cannot open store at /srv/sitrep.db: permission denied; make it writable for this user, or pass --db or set SITREP_DB to a path you can write"
	if err.Error() != want {
		t.Fatalf("message = %q\nwant %q", err, want)
	}
	if !errors.Is(err, fs.ErrPermission) {
		t.Fatal("the permission error does not unwrap to fs.ErrPermission")
	}
	if os.Geteuid() == 0 {
		return
	}
	ro := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	_, err = Open(t.Context(), filepath.Join(ro, "x.db"), Options{})
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "permission denied; ") {
		t.Fatalf("Open in a read-only directory = %v", err)
	}
}

func TestOpenPostgres(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.CreateDatabase(t, "app")
	use(t, dsn, Options{})
	// postgresql:// is the same thing.
	svc, err := Open(t.Context(), strings.Replace(dsn, "postgres://", "postgresql://", 1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, ok := svc.Backend.(*postgres.DB); !ok || svc.Driver != "postgres" {
		t.Fatalf("Open(postgresql://…) gave %T, driver %q", svc.Backend, svc.Driver)
	}

	// PostgreSQL 15 no longer lets every role create tables in public: a
	// role that does not own the database gets told what to change.
	srv.CreateDatabase(t, "owned_by_postgres")
	srv.Exec(t, "", "CREATE ROLE visitor LOGIN")
	_, err = Open(t.Context(), srv.UserDSN("visitor", "owned_by_postgres"), Options{})
	if err == nil || !strings.Contains(err.Error(), "permission denied") || !strings.Contains(err.Error(), "OWNER") {
		t.Fatalf("Open as a role that may not create tables = %v; want permission denied and what to do", err)
	}
	t.Log(err)
}
