package pgtest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sitrep-dev/sitrep/internal/testsrv/pgtest"
)

func TestStartCreateDatabaseAndSettings(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Options{
		MaxConnections:               12,
		SuperuserReservedConnections: 2,
		Settings:                     map[string]string{"application_name": "pgtest-check"},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	dsn := srv.CreateDatabase(t, "store")
	if again := srv.CreateDatabase(t, "store"); again != dsn {
		t.Fatalf("CreateDatabase twice: %q then %q", dsn, again)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to created database: %v", err)
	}
	defer conn.Close(ctx)

	var db, maxConns, reserved, app string
	if err := conn.QueryRow(ctx, `SELECT current_database(), current_setting('max_connections'),
		current_setting('superuser_reserved_connections'), current_setting('application_name')`).
		Scan(&db, &maxConns, &reserved, &app); err != nil {
		t.Fatal(err)
	}
	if db != "store" || maxConns != "12" || reserved != "2" {
		t.Errorf("got db=%s max_connections=%s reserved=%s, want store 12 2", db, maxConns, reserved)
	}
	if srv.Version == "" {
		t.Error("Version is empty")
	}
	if _, err := os.Stat(filepath.Join(srv.SocketDir(), ".s.PGSQL."+strconv.Itoa(srv.Port))); err != nil {
		t.Errorf("unix socket missing: %v", err)
	}

	// A role created with Exec can log in through UserDSN.
	srv.Exec(t, "", "CREATE ROLE app LOGIN")
	c2, err := pgx.Connect(ctx, srv.UserDSN("app", "store"))
	if err != nil {
		t.Fatalf("connect as app: %v", err)
	}
	var who string
	if err := c2.QueryRow(ctx, "SELECT current_user").Scan(&who); err != nil || who != "app" {
		t.Errorf("current_user = %q, %v; want app", who, err)
	}
	c2.Close(ctx)
}

func TestTwoServersSideBySide(t *testing.T) {
	a := pgtest.Start(t, pgtest.Options{})
	b := pgtest.Start(t, pgtest.Options{})
	if a.Port == b.Port || a.Dir == b.Dir {
		t.Fatalf("servers share port or dir: %d %d %s %s", a.Port, b.Port, a.Dir, b.Dir)
	}
	a.Exec(t, "", "CREATE TABLE only_in_a (x int)")
	b.Exec(t, "", "SELECT 1")
}

// TestNewForTestMain covers the shared-server path a package's TestMain uses.
func TestNewForTestMain(t *testing.T) {
	srv, err := pgtest.New(pgtest.Options{})
	if errors.Is(err, pgtest.ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	dsn := srv.CreateDatabase(t, "shared")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	srv.Stop()
	if _, err := os.Stat(srv.Dir); !os.IsNotExist(err) {
		t.Errorf("Stop left %s behind: %v", srv.Dir, err)
	}
	if _, err := pgx.Connect(ctx, dsn); err == nil {
		t.Error("server still accepts connections after Stop")
	}
}

// TestMissingBinaries runs Start in a child process with no PostgreSQL:
// it skips normally and fails under CI=true.
func TestMissingBinaries(t *testing.T) {
	if os.Getenv("PGTEST_CHILD") == "1" {
		pgtest.Start(t, pgtest.Options{})
		t.Log("started without binaries")
		return
	}
	for _, tc := range []struct {
		ci       string
		wantFail bool
		wantText string
	}{{"true", true, "CI=true: run scripts/install-deps.sh"}, {"", false, "--- SKIP"}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingBinaries$", "-test.v")
		cmd.Env = append(os.Environ(), "PGTEST_CHILD=1", "SITREP_PG_BIN=/nonexistent", "CI="+tc.ci)
		out, err := cmd.CombinedOutput()
		if (err != nil) != tc.wantFail || !strings.Contains(string(out), tc.wantText) {
			t.Errorf("CI=%q: err=%v, want failure=%v and %q in:\n%s", tc.ci, err, tc.wantFail, tc.wantText, out)
		}
	}
}
