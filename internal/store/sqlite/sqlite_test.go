package sqlite

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/store/storetest"
)

// childEnv makes the test binary act as the writer that
// TestInterruptedWriteLeavesStoreConsistent kills.
const childEnv = "SITREP_SQLITE_TEST_CHILD_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		os.Exit(runChild(path))
	}
	goleak.VerifyTestMain(m)
}

func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "sitrep.db"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Backend { return openTemp(t) })
}

func TestConformanceInMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	storetest.Run(t, func(t *testing.T) storetest.Backend {
		db, err := Open(t.Context(), ":memory:", Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestOpenCreatesDirectoriesAndPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "sitrep.db")
	db, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("new database file has mode %v, want 0600 (incidents and token hashes are private)", perm)
	}
	var mode, sync string
	if err := db.w.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := db.w.QueryRowContext(t.Context(), `PRAGMA synchronous`).Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || sync != "2" {
		t.Errorf("journal_mode %s synchronous %s, want wal and 2 (FULL)", mode, sync)
	}
	var fk int
	if err := db.r.QueryRowContext(t.Context(), `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys on readers = %d, %v; want 1", fk, err)
	}
}

func TestOpenErrorsSayWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("this is not a database\n", 200)), 0o600); err != nil {
		t.Fatal(err)
	}
	fileAsDir := filepath.Join(dir, "file")
	if err := os.WriteFile(fileAsDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
		want       string
		is         error
	}{
		{"not a database", notDB, "is not a SQLite database", store.ErrInvalid},
		{"a directory", dir, "is a directory", store.ErrInvalid},
		{"parent is a file", filepath.Join(fileAsDir, "sitrep.db"), "create directory for", nil},
		{"empty path", "", "empty database path", store.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, err := Open(t.Context(), c.path, Options{})
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q) succeeded", c.path)
			}
			if !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
				t.Fatalf("Open(%q) = %v; want an error containing %q (is %v)", c.path, err, c.want, c.is)
			}
		})
	}
}

func TestOpenReadOnlyFileIsPermissionError(t *testing.T) {
	if os.Geteuid() == 0 {
		// Root can write any file: run this test again as nobody.
		rerunAsNobody(t, "^TestOpenReadOnlyFileIsPermissionError$")
		return
	}
	path := filepath.Join(t.TempDir(), "ro.db")
	db, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	db, err = Open(t.Context(), path, Options{})
	if err == nil {
		db.Close()
		t.Fatal("Open of a read-only file succeeded")
	}
	if !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("Open of a read-only file = %v, want fs.ErrPermission", err)
	}
	// An empty read-only file (a valid, empty database) fails in the
	// migrations, the same way.
	empty := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(empty, nil, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), empty, Options{}); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("Open of an empty read-only file = %v, want fs.ErrPermission", err)
	}
}

func TestReopenKeepsDataAndSkipsMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sitrep.db")
	ctx := t.Context()
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := incident.NewService(incident.Options{Store: db})
	inc, err := svc.Declare(ctx, "alice", incident.DeclareInput{Title: "persisted", Severity: "SEV2"})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	got, err := db.GetIncident(ctx, inc.ID)
	if err != nil || got.Title != "persisted" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	var versions int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	entries, _ := fs.Glob(migrations, "migrations/*.sql")
	if versions != len(entries) {
		t.Fatalf("goose_db_version has %d applied versions after two opens, want %d (one per migration)", versions, len(entries))
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sitrep.db")
	db, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.ExecContext(t.Context(), `INSERT INTO goose_db_version (version_id, is_applied) VALUES (999, 1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(t.Context(), path, Options{})
	if err == nil || !strings.Contains(err.Error(), "upgrade sitrep") {
		t.Fatalf("Open of a store from a newer sitrep = %v, want an error saying to upgrade", err)
	}
}

func TestConcurrentFirstOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sitrep.db")
	const n = 4
	dbs := make([]*DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dbs[i], errs[i] = Open(t.Context(), path, Options{}) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Open %d of a new file racing %d others: %v", i, n-1, errs[i])
			continue
		}
		if err := dbs[i].Ping(t.Context()); err != nil {
			t.Errorf("Ping %d: %v", i, err)
		}
		dbs[i].Close()
	}
}

func TestTimelineRefusesUpdateAndDelete(t *testing.T) {
	db := openTemp(t)
	ctx := t.Context()
	svc := incident.NewService(incident.Options{Store: db})
	inc, err := svc.Declare(ctx, "alice", incident.DeclareInput{Title: "x", Severity: "SEV4"})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE events SET text = 'rewritten' WHERE incident_id = ?`, `DELETE FROM events WHERE incident_id = ?`} {
		err := db.write(ctx, func(tx *sql.Tx) error { _, err := tx.ExecContext(ctx, q, inc.ID); return err })
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the append-only refusal", q, err)
		}
	}
}

// runChild is the writer process: it declares incidents with a few
// timeline events each, as fast as it can, and prints each incident's ID
// once its transaction committed.
func runChild(path string) int {
	ctx := context.Background()
	db, err := Open(ctx, path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	svc := incident.NewService(incident.Options{Store: db})
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		inc, err := svc.Declare(ctx, "child", incident.DeclareInput{Title: fmt.Sprint("write ", i), Severity: "SEV3",
			Summary: strings.Repeat("evidence ", 50), Commander: "child", Services: []string{"api", "web"}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		if _, err := svc.Note(ctx, inc.ID, "child", incident.EventNote, fmt.Sprint("note for ", inc.ID), nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		// Acknowledged: the incident and its note are committed.
		fmt.Fprintln(out, inc.ID)
		out.Flush()
	}
}

func TestInterruptedWriteLeavesStoreConsistent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "sitrep.db")
	// Create the schema first so the child is killed while writing data.
	db, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+path)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var acked []int64
		sc := bufio.NewScanner(stdout)
		killAfter := 40 + 25*round // vary where in the stream the kill lands
		for sc.Scan() {
			id, err := strconv.ParseInt(sc.Text(), 10, 64)
			if err != nil {
				t.Fatalf("child printed %q", sc.Text())
			}
			acked = append(acked, id)
			if len(acked) == killAfter {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
		}
		werr := cmd.Wait()
		if len(acked) < killAfter {
			t.Fatalf("round %d: child stopped after %d writes (%v): %s", round, len(acked), werr, stderr.String())
		}
		var ee *exec.ExitError
		if !errors.As(werr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v, want killed by SIGKILL", round, werr)
		}

		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		db, err := Open(ctx, path, Options{})
		if err != nil {
			cancel()
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		var check string
		if err := db.w.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
			t.Errorf("round %d: integrity_check = %q, %v", round, check, err)
		}
		var fkProblems int
		rows, err := db.w.QueryContext(ctx, `PRAGMA foreign_key_check`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			fkProblems++
		}
		rows.Close()
		if fkProblems > 0 {
			t.Errorf("round %d: %d foreign key violations", round, fkProblems)
		}
		for _, id := range acked {
			inc, err := db.GetIncident(ctx, id)
			if err != nil {
				t.Errorf("round %d: acknowledged %s is missing: %v", round, incident.FormatID(id), err)
				continue
			}
			evs, err := db.ListEvents(ctx, id)
			if err != nil || len(evs) != 4 {
				t.Errorf("round %d: %s has %d events (%v), want 4", round, inc.Ref(), len(evs), err)
			}
		}
		// Whatever the child had not acknowledged is either wholly there or
		// wholly absent: every incident has its declaration events.
		var partial int
		if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM incidents i
			WHERE (SELECT count(*) FROM events e WHERE e.incident_id = i.id) < 3`).Scan(&partial); err != nil {
			t.Fatal(err)
		}
		if partial > 0 {
			t.Errorf("round %d: %d incidents without their declaration events: a transaction was half applied", round, partial)
		}
		db.Close()
		cancel()
		t.Logf("round %d: %d writes acknowledged before SIGKILL, all present", round, len(acked))
	}
}

// Two handles on one file behave like two processes (a CLI next to a
// running server): their writers wait for each other instead of failing
// with "database is locked".
func TestTwoHandlesWriteWithoutBusyErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sitrep.db")
	ctx := t.Context()
	var dbs [2]*DB
	for i := range dbs {
		db, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
	}
	inc, err := incident.NewService(incident.Options{Store: dbs[0]}).Declare(ctx, "a", incident.DeclareInput{Title: "shared", Severity: "SEV3"})
	if err != nil {
		t.Fatal(err)
	}
	const perWriter = 15
	var wg sync.WaitGroup
	errs := make(chan error, 2*4*perWriter)
	for h, db := range dbs {
		svc := incident.NewService(incident.Options{Store: db})
		for w := range 4 {
			wg.Go(func() {
				for n := range perWriter {
					if _, err := svc.Note(ctx, inc.ID, "x", incident.EventNote, fmt.Sprintf("h%d w%d n%d", h, w, n), nil); err != nil {
						errs <- err
					}
					if n%5 == 0 {
						if _, err := svc.Assign(ctx, inc.ID, "x", incident.RoleResponder, fmt.Sprintf("h%d-w%d-%d", h, w, n)); err != nil {
							errs <- err
						}
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	evs, err := dbs[1].ListEvents(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + 2*4*perWriter + 2*4*3; len(evs) != want {
		t.Fatalf("%d events, want %d", len(evs), want)
	}
}

// rerunAsNobody runs the test binary's tests matching run as the user
// nobody, from a copy of the binary nobody can execute, and fails t when
// they fail.
func rerunAsNobody(t *testing.T, run string) {
	t.Helper()
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("running as root and there is no user nobody: %v", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "store.test")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, 0o777); err != nil { // umask
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), exe, "-test.run="+run, "-test.v")
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "HOME="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s as nobody: %v\n%s", run, err, out)
	}
	if !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("%s as nobody ran nothing:\n%s", run, out)
	}
}
