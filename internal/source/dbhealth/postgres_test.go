package dbhealth

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sitrep-dev/sitrep/internal/testsrv/pgtest"
)

func findingOf(t *testing.T, s *Snapshot, kind string) Finding {
	t.Helper()
	for _, f := range s.Findings() {
		if f.Kind == kind {
			return f
		}
	}
	t.Fatalf("no %s finding; findings: %+v", kind, s.Findings())
	return Finding{}
}

// TestPostgresExhaustedConnections really fills the server: an application
// role opens connections until PostgreSQL refuses, most of them idle in a
// transaction. A check as that role is refused (and says so); a check as
// the superuser gets a reserved slot and reports the exhaustion and who
// holds the connections.
func TestPostgresExhaustedConnections(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Options{MaxConnections: 20, SuperuserReservedConnections: 2})
	srv.Exec(t, "", "CREATE ROLE app LOGIN")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	appDSN := srv.UserDSN("app", "postgres") + "&application_name=checkout"
	var conns []*pgx.Conn
	defer func() {
		for _, c := range conns {
			c.Close(context.Background())
		}
	}()
	var refusal error
	for i := 0; i < 100; i++ {
		c, err := pgx.Connect(ctx, appDSN)
		if err != nil {
			refusal = err
			break
		}
		conns = append(conns, c)
		if i < 15 {
			if _, err := c.Exec(ctx, "BEGIN; SELECT 1"); err != nil {
				t.Fatal(err)
			}
		}
	}
	var pe *pgconn.PgError
	if !errors.As(refusal, &pe) || pe.Code != "53300" {
		t.Fatalf("after %d connections: want too_many_connections (53300), got %v", len(conns), refusal)
	}
	if len(conns) != 18 {
		t.Fatalf("server admitted %d application connections, want 18 (20 minus 2 reserved)", len(conns))
	}

	// The application's own role cannot get in: the refusal is the finding.
	refused, err := Check(ctx, srv.UserDSN("app", "postgres"), Options{})
	if err != nil {
		t.Fatalf("Check as app: %v", err)
	}
	if refused.Refused == "" || refused.Severity() != SeverityCritical {
		t.Fatalf("Check as app: want a refused, critical snapshot, got %+v", refused)
	}
	if f := findingOf(t, refused, "connections-refused"); !strings.Contains(f.Summary, "every connection slot is taken") {
		t.Errorf("refused finding = %q", f.Summary)
	}

	s, err := Check(ctx, srv.DSN("postgres"), Options{})
	if err != nil {
		t.Fatalf("Check as superuser: %v", err)
	}
	c := s.Connections
	if c.InUse != 18 || c.Max != 20 || c.ReservedSuperuser != 2 || c.AvailableToUsers != 18 {
		t.Errorf("connections = %+v, want 18 in use of 20, 2 reserved", c)
	}
	if c.UsedRatio < 0.9 {
		t.Errorf("used ratio %.2f, want >= 0.90", c.UsedRatio)
	}
	if c.ByState["idle_in_transaction"] != 15 || c.ByState["idle"] != 3 {
		t.Errorf("by state = %v, want 15 idle_in_transaction, 3 idle", c.ByState)
	}
	if len(s.Clients) != 1 || s.Clients[0].ApplicationName != "checkout" || s.Clients[0].User != "app" ||
		s.Clients[0].ClientAddr != "127.0.0.1" || s.Clients[0].Total != 18 {
		t.Errorf("clients = %+v, want one group app=checkout user=app addr=127.0.0.1 with 18", s.Clients)
	}
	if s.Severity() != SeverityCritical {
		t.Errorf("severity = %s, want critical", s.Severity())
	}
	f := findingOf(t, s, "connections-exhausted")
	for _, want := range []string{"18 of 20 connections in use (90%)", "all 18 slots open to ordinary users are taken",
		"15 idle in transaction from app=checkout user=app addr=127.0.0.1"} {
		if !strings.Contains(f.Summary, want) {
			t.Errorf("finding %q lacks %q", f.Summary, want)
		}
	}
	ev := strings.Join(s.Evidence(), "\n")
	if !strings.Contains(ev, "18 of 20 connections in use") || !strings.Contains(ev, "18 connections from app=checkout") {
		t.Errorf("evidence lacks the exhaustion and the client:\n%s", ev)
	}
	if !strings.HasPrefix(s.Version, "1") || s.Engine != EnginePostgres {
		t.Errorf("engine %s version %q", s.Engine, s.Version)
	}
}

// TestPostgresLockWait holds a row lock in one transaction while another
// waits for it; the check names the waiter, the blocker and the lock.
func TestPostgresLockWait(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Options{})
	dsn := srv.CreateDatabase(t, "shop")
	srv.Exec(t, "shop", "CREATE TABLE orders (id int PRIMARY KEY, status text); INSERT INTO orders VALUES (1, 'new')")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	blocker, err := pgx.Connect(ctx, dsn+"&application_name=batch")
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Close(context.Background())
	if _, err := blocker.Exec(ctx, "BEGIN; SELECT * FROM orders WHERE id = 1 FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	var blockerPID int64
	if err := blocker.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&blockerPID); err != nil {
		t.Fatal(err)
	}

	waiter, err := pgx.Connect(ctx, dsn+"&application_name=checkout")
	if err != nil {
		t.Fatal(err)
	}
	defer waiter.Close(context.Background())
	var waiterPID int64
	if err := waiter.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&waiterPID); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var updateErr error
	go func() {
		defer wg.Done()
		_, updateErr = waiter.Exec(ctx, "UPDATE orders SET status = 'paid' WHERE id = 1")
	}()
	defer wg.Wait()
	defer func() { _, _ = blocker.Exec(context.Background(), "ROLLBACK") }()

	var s *Snapshot
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err = Check(ctx, srv.DSN("shop"), Options{})
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		if len(s.LockWaits) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(s.LockWaits) != 1 {
		t.Fatalf("lock waits = %+v, want 1", s.LockWaits)
	}
	w := s.LockWaits[0]
	if w.Waiting.PID != waiterPID || w.Waiting.ApplicationName != "checkout" || !strings.Contains(w.Waiting.Query, "UPDATE orders") {
		t.Errorf("waiting = %+v, want pid %d app=checkout running the UPDATE", w.Waiting, waiterPID)
	}
	if len(w.Blockers) != 1 || w.Blockers[0].PID != blockerPID || w.Blockers[0].ApplicationName != "batch" ||
		w.Blockers[0].State != "idle_in_transaction" {
		t.Errorf("blockers = %+v, want pid %d app=batch idle in transaction", w.Blockers, blockerPID)
	}
	if w.LockType != "transactionid" || w.Mode != "ShareLock" {
		t.Errorf("lock = %s %s %s, want transactionid ShareLock", w.LockType, w.Mode, w.Relation)
	}
	if w.Waiting.WaitEventType != "Lock" {
		t.Errorf("waiting wait_event_type = %q, want Lock", w.Waiting.WaitEventType)
	}
	f := findingOf(t, s, "lock-waits")
	if !strings.Contains(f.Summary, "1 session waiting for a lock") ||
		!strings.Contains(f.Summary, "app=checkout") || !strings.Contains(f.Summary, "waits on pid") ||
		!strings.Contains(f.Summary, "(app=batch user=postgres addr=127.0.0.1) (idle in transaction for") {
		t.Errorf("lock finding = %q", f.Summary)
	}

	if _, err := blocker.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if updateErr != nil {
		t.Errorf("waiting UPDATE failed after the blocker rolled back: %v", updateErr)
	}
}

// TestPostgresSessionIsReadOnly proves the check's session cannot write.
func TestPostgresSessionIsReadOnly(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tg, err := ParseDSN(srv.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{}
	opts.defaults()
	conn, err := pgConnect(ctx, tg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE TABLE must_fail (x int)")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "25006" {
		t.Errorf("CREATE TABLE in the check's session: want read_only_sql_transaction (25006), got %v", err)
	}
	var timeout string
	if err := conn.QueryRow(ctx, "SHOW statement_timeout").Scan(&timeout); err != nil || timeout != "5s" {
		t.Errorf("statement_timeout = %q, %v; want 5s", timeout, err)
	}
}

// TestPostgresConnectErrors checks the errors say what to do next.
func TestPostgresConnectErrors(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	port := closedPort(t)
	for _, tc := range []struct {
		name, dsn, want string
	}{
		{"refused", "postgres://app@127.0.0.1:" + port + "/x?sslmode=disable",
			"cannot connect to 127.0.0.1:" + port + ": connection refused — is the server running and is --dsn right?"},
		{"no database", srv.DSN("nope"), `database "nope" does not exist — check the database name in --dsn`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Check(ctx, tc.dsn, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestPostgresLegacyEncoding checks a SQL_ASCII database (old clusters
// initialised with the C locale) can be checked.
func TestPostgresLegacyEncoding(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Options{})
	srv.Exec(t, "", "CREATE DATABASE legacy ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Check(ctx, srv.DSN("legacy"), Options{})
	if err != nil {
		t.Fatalf("Check on a SQL_ASCII database: %v", err)
	}
	if s.Database != "legacy" || s.Connections.Max != 20 {
		t.Errorf("database %q max %d", s.Database, s.Connections.Max)
	}
}

// TestPostgresSocketClients: clients on the unix socket show as "local",
// and the check itself can connect through the socket.
func TestPostgresSocketClients(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	port := strconv.Itoa(srv.Port)
	sockDSN := "postgres://postgres@/postgres?host=" + srv.SocketDir() + "&port=" + port + "&application_name=cron"
	c, err := pgx.Connect(ctx, sockDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	s, err := Check(ctx, "postgres://postgres@/postgres?host="+srv.SocketDir()+"&port="+port, Options{})
	if err != nil {
		t.Fatalf("Check through the socket: %v", err)
	}
	if s.Target != "postgresql://postgres@/postgres?host="+strings.ReplaceAll(srv.SocketDir(), "/", "%2F")+"&port="+port {
		t.Errorf("target = %q", s.Target)
	}
	if len(s.Clients) != 1 || s.Clients[0].ClientAddr != "local" || s.Clients[0].ApplicationName != "cron" {
		t.Errorf("clients = %+v, want one app=cron from local", s.Clients)
	}
	if !s.Has("connections-ok") || s.Has("connections-exhausted") {
		t.Errorf("findings = %+v", s.Findings())
	}
}
