package dbhealth

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/sitrep-dev/sitrep/internal/testsrv/mariadb"
)

func startShop(t *testing.T, maxConns int) *mariadb.Server {
	t.Helper()
	srv := mariadb.Start(t, mariadb.Options{MaxConnections: maxConns})
	srv.CreateDatabase(t, "shop")
	srv.Exec(t, "CREATE TABLE shop.orders (id INT PRIMARY KEY, status VARCHAR(20)) ENGINE=InnoDB")
	srv.Exec(t, "INSERT INTO shop.orders VALUES (1,'new'),(2,'new'),(3,'new'),(4,'new'),(5,'new'),(6,'new'),(7,'new'),(8,'new'),(9,'new'),(10,'new')")
	srv.Exec(t, "CREATE USER 'app'@'%' IDENTIFIED BY 'secret'")
	srv.Exec(t, "GRANT SELECT, INSERT, UPDATE, DELETE ON shop.* TO 'app'@'%'")
	return srv
}

// TestMariaDBExhaustedConnections fills max_connections with an ordinary
// user, most sessions idle inside a transaction. The user's own check is
// refused; root's check takes the extra SUPER slot and reports 100%.
func TestMariaDBExhaustedConnections(t *testing.T) {
	srv := startShop(t, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	db, err := sql.Open("mysql", srv.UserDSN("app", "secret", "shop"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var refusal error
	for i := 0; i < 50; i++ {
		c, err := db.Conn(ctx)
		if err != nil {
			refusal = err
			break
		}
		conns = append(conns, c)
		if i < 7 {
			if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.ExecContext(ctx, "UPDATE orders SET status = 'held' WHERE id = ?", i+1); err != nil {
				t.Fatal(err)
			}
		}
	}
	var me *mysql.MySQLError
	if !errors.As(refusal, &me) || me.Number != 1040 {
		t.Fatalf("after %d connections: want Too many connections (1040), got %v", len(conns), refusal)
	}
	if len(conns) != 10 {
		t.Fatalf("server admitted %d connections, want 10", len(conns))
	}

	refused, err := Check(ctx, srv.URL("app", "secret", "shop"), Options{})
	if err != nil {
		t.Fatalf("Check as app: %v", err)
	}
	if refused.Refused == "" || refused.Severity() != SeverityCritical {
		t.Fatalf("Check as app: want a refused, critical snapshot, got %+v", refused)
	}

	s, err := Check(ctx, srv.URL("root", "", ""), Options{})
	if err != nil {
		t.Fatalf("Check as root: %v", err)
	}
	if s.Engine != EngineMariaDB || !strings.Contains(s.Version, "MariaDB") {
		t.Errorf("engine %s version %q", s.Engine, s.Version)
	}
	c := s.Connections
	if c.InUse != 10 || c.Max != 10 || c.UsedRatio != 1 {
		t.Errorf("connections = %+v, want 10 of 10 in use", c)
	}
	if c.ByState["idle_in_transaction"] != 7 || c.ByState["idle"] != 3 {
		t.Errorf("by state = %v, want 7 idle_in_transaction, 3 idle", c.ByState)
	}
	if s.MySQL == nil || s.MySQL.ThreadsConnected != 11 || s.MySQL.MaxUsedConnections != 11 {
		t.Errorf("status = %+v, want 11 threads connected, max used 11", s.MySQL)
	}
	if len(s.Clients) != 1 || s.Clients[0].User != "app" || s.Clients[0].ClientAddr != "127.0.0.1" || s.Clients[0].Total != 10 {
		t.Errorf("clients = %+v, want user=app addr=127.0.0.1 with 10", s.Clients)
	}
	if pl := s.MySQL.Processlist; len(pl) != 1 || pl[0].User != "app" || pl[0].Command != "Sleep" || pl[0].Count != 10 {
		t.Errorf("processlist = %+v, want one group of 10 sleeping app threads", pl)
	}
	f := findingOf(t, s, "connections-exhausted")
	for _, want := range []string{"10 of 10 connections in use (100%)", "7 idle in transaction from user=app addr=127.0.0.1"} {
		if !strings.Contains(f.Summary, want) {
			t.Errorf("finding %q lacks %q", f.Summary, want)
		}
	}
	findingOf(t, s, "connection-limit-hit")
}

// TestMariaDBLockWait holds a row lock while another session waits on it.
func TestMariaDBLockWait(t *testing.T) {
	srv := startShop(t, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := sql.Open("mysql", srv.UserDSN("app", "secret", "shop"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	blocker, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Close()
	var blockerID, waiterID int64
	if err := blocker.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&blockerID); err != nil {
		t.Fatal(err)
	}
	if _, err := blocker.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := blocker.ExecContext(ctx, "SELECT * FROM orders WHERE id = 1 FOR UPDATE"); err != nil {
		t.Fatal(err)
	}

	waiter, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer waiter.Close()
	if err := waiter.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&waiterID); err != nil {
		t.Fatal(err)
	}
	if _, err := waiter.ExecContext(ctx, "SET SESSION innodb_lock_wait_timeout = 40"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var updateErr error
	go func() {
		defer wg.Done()
		_, updateErr = waiter.ExecContext(ctx, "UPDATE orders SET status = 'paid' WHERE id = 1")
	}()
	defer wg.Wait()
	defer func() { _, _ = blocker.ExecContext(context.Background(), "ROLLBACK") }()

	var s *Snapshot
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err = Check(ctx, srv.URL("root", "", "shop"), Options{})
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
	if w.Waiting.PID != waiterID || w.Waiting.User != "app" || !strings.Contains(w.Waiting.Query, "UPDATE orders") {
		t.Errorf("waiting = %+v, want id %d user app running the UPDATE", w.Waiting, waiterID)
	}
	if len(w.Blockers) != 1 || w.Blockers[0].PID != blockerID || w.Blockers[0].State != "idle_in_transaction" {
		t.Errorf("blockers = %+v, want id %d idle in transaction", w.Blockers, blockerID)
	}
	if w.Relation != "`shop`.`orders`" || w.Mode != "X" {
		t.Errorf("lock = %q %q %q, want X on `shop`.`orders`", w.LockType, w.Mode, w.Relation)
	}
	if s.MySQL.LockWaitSource != "information_schema.INNODB_LOCK_WAITS" {
		t.Errorf("lock wait source = %q", s.MySQL.LockWaitSource)
	}
	f := findingOf(t, s, "lock-waits")
	if !strings.Contains(f.Summary, "1 session waiting for a lock") || !strings.Contains(f.Summary, "waits on pid") {
		t.Errorf("lock finding = %q", f.Summary)
	}

	if _, err := blocker.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if updateErr != nil {
		t.Errorf("waiting UPDATE failed after the blocker rolled back: %v", updateErr)
	}
}

// TestMariaDBSessionIsReadOnly proves the check's session cannot write.
func TestMariaDBSessionIsReadOnly(t *testing.T) {
	srv := startShop(t, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tg, err := ParseDSN(srv.URL("root", "", "shop"))
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{}
	opts.defaults()
	db, conn, err := mysqlConnect(ctx, tg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer conn.Close()
	_, err = conn.ExecContext(ctx, "UPDATE orders SET status = 'x' WHERE id = 1")
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1792 {
		t.Errorf("UPDATE in the check's session: want ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION (1792), got %v", err)
	}
}

func TestMariaDBConnectErrors(t *testing.T) {
	srv := startShop(t, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	port := closedPort(t)
	for _, tc := range []struct{ name, dsn, want string }{
		{"refused", "mysql://app@127.0.0.1:" + port + "/shop",
			"cannot connect to 127.0.0.1:" + port + ": connection refused — is the server running and is --dsn right?"},
		{"bad password", srv.URL("app", "wrong", "shop"), `authentication failed for user "app" — check the user and password in --dsn`},
		{"no database", srv.URL("root", "", "nope"), `database "nope" does not exist`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Check(ctx, tc.dsn, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}
