package mariadb_test

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/sitrep-dev/sitrep/internal/testsrv/mariadb"
)

func TestStartCreateDatabaseAndUser(t *testing.T) {
	srv := mariadb.Start(t, mariadb.Options{MaxConnections: 12})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	dsn := srv.CreateDatabase(t, "app")
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var cur string
	var maxConns int
	if err := db.QueryRowContext(ctx, "SELECT DATABASE(), @@max_connections").Scan(&cur, &maxConns); err != nil {
		t.Fatalf("query created database: %v", err)
	}
	if cur != "app" || maxConns != 12 {
		t.Errorf("got database=%s max_connections=%d, want app 12", cur, maxConns)
	}

	srv.Exec(t, "CREATE USER 'svc'@'%' IDENTIFIED BY 'pw'")
	srv.Exec(t, "GRANT SELECT ON app.* TO 'svc'@'%'")
	svc, err := sql.Open("mysql", srv.UserDSN("svc", "pw", "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	var who string
	if err := svc.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&who); err != nil || who != "svc@%" {
		t.Errorf("CURRENT_USER() = %q, %v; want svc@%%", who, err)
	}
	if got, want := srv.URL("svc", "pw", "app"), "mysql://svc:pw@127.0.0.1:"; len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("URL = %q", got)
	}
}

// TestMissingBinaries runs Start in a child process with no MariaDB: it
// skips normally and fails under CI=true.
func TestMissingBinaries(t *testing.T) {
	if os.Getenv("MARIADBTEST_CHILD") == "1" {
		mariadb.Start(t, mariadb.Options{})
		t.Log("started without binaries")
		return
	}
	for _, tc := range []struct {
		ci       string
		wantFail bool
		wantText string
	}{{"true", true, "CI=true: run scripts/install-deps.sh"}, {"", false, "--- SKIP"}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingBinaries$", "-test.v")
		cmd.Env = append(os.Environ(), "MARIADBTEST_CHILD=1", "SITREP_MARIADBD=/nonexistent", "CI="+tc.ci)
		out, err := cmd.CombinedOutput()
		if (err != nil) != tc.wantFail || !strings.Contains(string(out), tc.wantText) {
			t.Errorf("CI=%q: err=%v, want failure=%v and %q in:\n%s", tc.ci, err, tc.wantFail, tc.wantText, out)
		}
	}
}
