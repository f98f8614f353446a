package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
	"github.com/sitrep-dev/sitrep/internal/store/storetest"
	"github.com/sitrep-dev/sitrep/internal/testsrv/pgtest"
)

// TestMain checks that closing a store stops every goroutine it started
// (pgxpool's health checks, database/sql's openers).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var dbSeq atomic.Int64

// freshDB creates a new, empty database on srv and returns its DSN.
func freshDB(t *testing.T, srv *pgtest.Server) string {
	return srv.CreateDatabase(t, fmt.Sprintf("store_%d", dbSeq.Add(1)))
}

func open(t *testing.T, dsn string) *DB {
	t.Helper()
	db, err := Open(t.Context(), dsn, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func startServer(t *testing.T) *pgtest.Server {
	return pgtest.Start(t, pgtest.Options{MaxConnections: 60})
}

func TestConformance(t *testing.T) {
	srv := startServer(t)
	storetest.Run(t, func(t *testing.T) storetest.Backend { return open(t, freshDB(t, srv)) })
}

func TestPostgres(t *testing.T) {
	// One server for the backend-specific tests below.
	srv := startServer(t)

	t.Run("ConcurrentOpenMigratesOnce", func(t *testing.T) {
		dsn := freshDB(t, srv)
		const n = 5
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				db, err := Open(t.Context(), dsn, Options{})
				if err == nil {
					err = db.Ping(t.Context())
					db.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Open %d of %d racing on a new database: %v", i, n, err)
			}
		}
		var applied int
		conn := connect(t, dsn)
		if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil {
			t.Fatal(err)
		}
		if applied != 1 {
			t.Fatalf("goose_db_version records %d applied migrations, want 1 (each applied once)", applied)
		}
	})

	t.Run("TimelineRefusesUpdateDeleteTruncate", func(t *testing.T) {
		dsn := freshDB(t, srv)
		db := open(t, dsn)
		svc := incident.NewService(incident.Options{Store: db})
		inc, err := svc.Declare(t.Context(), "alice", incident.DeclareInput{Title: "x", Severity: "SEV4"})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{`UPDATE events SET text = 'rewritten'`, `DELETE FROM events`, `TRUNCATE events`} {
			_, err := db.pool.Exec(t.Context(), q)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v, want the append-only refusal", q, err)
			}
			if !errors.Is(mapErr(err), store.ErrInvalid) {
				t.Errorf("%s: maps to %v, want ErrInvalid", q, mapErr(err))
			}
		}
		evs, err := db.ListEvents(t.Context(), inc.ID)
		if err != nil || len(evs) != 1 || evs[0].Text == "rewritten" {
			t.Fatalf("timeline after the refused writes: %+v, %v", evs, err)
		}
	})

	t.Run("NewerSchemaIsRefused", func(t *testing.T) {
		dsn := freshDB(t, srv)
		open(t, dsn).Close()
		conn := connect(t, dsn)
		if _, err := conn.Exec(t.Context(), `INSERT INTO goose_db_version (version_id, is_applied) VALUES (999, true)`); err != nil {
			t.Fatal(err)
		}
		_, err := Open(t.Context(), dsn, Options{})
		if err == nil || !strings.Contains(err.Error(), "upgrade sitrep") {
			t.Fatalf("Open of a store from a newer sitrep = %v, want an error saying to upgrade", err)
		}
	})

	t.Run("ErrorsHidePassword", func(t *testing.T) {
		// A closed loopback port: connection refused, quickly.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		_, err = Open(ctx, "postgres://sitrep:hunter2@"+addr+"/sitrep?sslmode=disable", Options{ConnectTimeout: 2 * time.Second})
		if err == nil {
			t.Fatal("Open of a closed port succeeded")
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), addr) {
			t.Errorf("error does not say where it tried to connect: %v", err)
		}
		_, err = Open(ctx, "postgres://sitrep:hunter2@[::1/x", Options{})
		if !errors.Is(err, store.ErrInvalid) || strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("Open of a malformed URL = %v; want ErrInvalid without the password", err)
		}
	})
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestRedact(t *testing.T) {
	cases := []struct{ in, want string }{
		{"postgres://u:secret@db:5432/sitrep?sslmode=require", "postgres://u:xxxxx@db:5432/sitrep?sslmode=require"},
		{"postgresql://u@db/sitrep", "postgresql://u@db/sitrep"},
		{"postgres://db/sitrep?password=secret&sslmode=disable", "postgres://db/sitrep?password=xxxxx&sslmode=disable"},
		{"host=db user=u password=secret", "(connection string)"},
	}
	for _, c := range cases {
		if got := Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
