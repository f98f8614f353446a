package dbhealth

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var takenAt = time.Date(2026, 11, 20, 12, 14, 5, 0, time.UTC)

// checkoutIncident is the reference pool-exhaustion incident: after a
// deploy, checkout leaks transactions and holds 71 connections idle in
// transaction; one of them blocks an UPDATE.
func checkoutIncident() *Snapshot {
	blocker := Query{PID: 4711, User: "shop", Database: "shop", ApplicationName: "checkout", ClientAddr: "10.0.3.17",
		State: "idle_in_transaction", DurationSeconds: 312, TransactionSeconds: 315, Query: "SELECT * FROM orders WHERE id = $1 FOR UPDATE"}
	waiter := Query{PID: 4802, User: "shop", Database: "shop", ApplicationName: "billing", ClientAddr: "10.0.4.2",
		State: "active", WaitEventType: "Lock", WaitEvent: "transactionid", DurationSeconds: 47.2, TransactionSeconds: 47.2,
		Query: "UPDATE orders SET status = 'paid' WHERE id = $1"}
	report := Query{PID: 3990, User: "analyst", Database: "shop", ApplicationName: "metabase", ClientAddr: "10.0.9.9",
		State: "active", WaitEventType: "IO", WaitEvent: "DataFileRead", DurationSeconds: 421.5, TransactionSeconds: 421.5,
		Query: "SELECT date_trunc('day', created_at), count(*)\n  FROM orders GROUP BY 1"}
	s := &Snapshot{
		Engine: EnginePostgres, Version: "15.8", Target: "postgresql://sitrep@db.internal:5432/shop", Database: "shop",
		TakenAt: takenAt,
		Connections: Connections{InUse: 96, Max: 100, ReservedSuperuser: 3, AvailableToUsers: 97,
			ByState: map[string]int{"active": 9, "idle": 16, "idle_in_transaction": 71}},
		Clients: []ClientGroup{
			{User: "shop", ApplicationName: "checkout", ClientAddr: "10.0.3.17", Total: 80, ByState: map[string]int{"active": 2, "idle": 7, "idle_in_transaction": 71}},
			{User: "shop", ApplicationName: "billing", ClientAddr: "10.0.4.2", Total: 12, ByState: map[string]int{"active": 5, "idle": 7}},
			{User: "analyst", ApplicationName: "metabase", ClientAddr: "10.0.9.9", Total: 4, ByState: map[string]int{"active": 2, "idle": 2}},
		},
		LongestQueries: []Query{report, blocker, waiter},
		LockWaits:      []LockWait{{Waiting: waiter, WaitSeconds: 46.9, LockType: "transactionid", Mode: "ShareLock", Blockers: []Query{blocker}}},
	}
	// 70 more idle-in-transaction sessions, shorter.
	for i := 0; i < 70; i++ {
		q := blocker
		q.PID = int64(5000 + i)
		q.DurationSeconds = float64(60 + i)
		s.LongestQueries = append(s.LongestQueries, q)
	}
	s.finish(Options{TopQueries: 5, TopClients: 20})
	return s
}

func TestFindings(t *testing.T) {
	healthy := &Snapshot{Engine: EnginePostgres, Connections: Connections{InUse: 12, Max: 100, AvailableToUsers: 97, UsedRatio: 0.12,
		ByState: map[string]int{"idle": 12}}, Clients: []ClientGroup{{User: "shop", ApplicationName: "api", Total: 12, ByState: map[string]int{"idle": 12}}}}
	high := &Snapshot{Engine: EnginePostgres, Connections: Connections{InUse: 80, Max: 100, AvailableToUsers: 97, UsedRatio: 0.8}}
	mysqlLimit := &Snapshot{Engine: EngineMariaDB, Connections: Connections{InUse: 40, Max: 151, AvailableToUsers: 151, UsedRatio: 40.0 / 151},
		MySQL: &MySQLStatus{MaxUsedConnections: 152, ConnectionErrorsMaxConnections: 31, UptimeSeconds: 7200}}
	longQ := &Snapshot{Engine: EngineMySQL, Connections: Connections{InUse: 3, Max: 100, UsedRatio: 0.03},
		LongestQueries: []Query{{PID: 7, User: "etl", State: "active", DurationSeconds: 95, Query: "SELECT   *\nFROM big"}}}

	for _, tc := range []struct {
		name     string
		s        *Snapshot
		severity Severity
		want     []string // "kind: summary fragment", in order
	}{
		{"healthy", healthy, SeverityOK, []string{"connections-ok: 12 of 100 connections in use (12%); 12 from app=api user=shop"}},
		{"high", high, SeverityWarning, []string{"connections-high: 80 of 100 connections in use (80%)"}},
		{"reference pool exhaustion", checkoutIncident(), SeverityCritical, []string{
			"connections-exhausted: 96 of 100 connections in use (96%); 71 idle in transaction from app=checkout user=shop addr=10.0.3.17",
			"idle-in-transaction: 71 sessions idle in transaction for over 30s; longest 5m12s: pid 4711 (app=checkout user=shop addr=10.0.3.17)",
			"lock-waits: 1 session waiting for a lock; longest 47s: pid 4802 (app=billing user=shop addr=10.0.4.2) waits on pid 4711 (app=checkout user=shop addr=10.0.3.17) (idle in transaction for 5m12s)",
			"long-queries: 1 statement running for over 30s; longest 7m02s: pid 3990 (app=metabase user=analyst addr=10.0.9.9): SELECT date_trunc('day', created_at), count(*) FROM orders GROUP BY 1",
		}},
		{"mysql limit hit earlier", mysqlLimit, SeverityWarning, []string{
			"connection-limit-hit: the server has hit max_connections since it started 2h00m ago: Max_used_connections 152 of 151; 31 connections refused for max_connections",
			"connections-ok: 40 of 151 connections in use (26%)",
		}},
		{"long query", longQ, SeverityWarning, []string{"long-queries: 1 statement running for over 30s; longest 1m35s: pid 7 (user=etl): SELECT * FROM big", "connections-ok"}},
		{"refused", &Snapshot{Refused: "sorry, too many clients already"}, SeverityCritical, []string{
			"connections-refused: the server refused sitrep's connection: sorry, too many clients already — every connection slot is taken"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.s.Findings()
			if len(got) != len(tc.want) {
				t.Fatalf("got %d findings, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				kind, frag, _ := strings.Cut(w, ": ")
				if got[i].Kind != kind || !strings.Contains(got[i].Summary, frag) {
					t.Errorf("finding %d = %s: %q\nwant %s containing %q", i, got[i].Kind, got[i].Summary, kind, frag)
				}
			}
			if sev := tc.s.Severity(); sev != tc.severity {
				t.Errorf("severity = %s, want %s", sev, tc.severity)
			}
		})
	}
}

func TestEvidenceNamesSourceAndClients(t *testing.T) {
	ev := checkoutIncident().Evidence()
	want := []string{
		"db postgresql postgresql://sitrep@db.internal:5432/shop at 2026-11-20T12:14:05Z: 96 of 100 connections in use (96%)",
		"db postgresql postgresql://sitrep@db.internal:5432/shop at 2026-11-20T12:14:05Z: 80 connections from app=checkout user=shop addr=10.0.3.17 (2 active, 71 idle in transaction, 7 idle)",
	}
	all := strings.Join(ev, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("evidence lacks %q:\n%s", w, all)
		}
	}
}

func TestGolden(t *testing.T) {
	s := checkoutIncident()
	s.Warnings = []string{`user "sitrep" is neither a superuser nor in pg_read_all_stats: other users' queries and states are hidden (GRANT pg_monitor TO sitrep)`}
	mysqlSnap := &Snapshot{Engine: EngineMariaDB, Version: "10.11.6-MariaDB-0+deb12u1", Target: "mysql://root@127.0.0.1:3306/shop",
		Database: "shop", TakenAt: takenAt,
		Connections: Connections{InUse: 10, Max: 10, ReservedSuperuser: 1, AvailableToUsers: 10, ByState: map[string]int{"idle": 3, "idle_in_transaction": 7}},
		Clients:     []ClientGroup{{User: "app", ClientAddr: "127.0.0.1", Total: 10, ByState: map[string]int{"idle": 3, "idle_in_transaction": 7}}},
		MySQL: &MySQLStatus{ThreadsConnected: 11, ThreadsRunning: 1, MaxUsedConnections: 11, UptimeSeconds: 3, LockWaitSource: "information_schema.INNODB_LOCK_WAITS",
			Processlist: []ProcessGroup{{User: "app", Host: "127.0.0.1", Command: "Sleep", Count: 10, MaxSeconds: 2}}},
	}
	mysqlSnap.finish(Options{TopQueries: 10, TopClients: 20})
	refusedSnap := &Snapshot{Engine: EnginePostgres, Target: "postgresql://app@db:5432/shop", TakenAt: takenAt, Refused: "sorry, too many clients already"}
	refusedSnap.finish(Options{TopQueries: 10, TopClients: 20})
	for _, tc := range []struct {
		name string
		s    *Snapshot
	}{{"postgres-exhausted", s}, {"mariadb-exhausted", mysqlSnap}, {"refused", refusedSnap}} {
		t.Run(tc.name, func(t *testing.T) {
			var txt bytes.Buffer
			if err := WriteText(&txt, tc.s, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			// As the CLI writes it.
			var js bytes.Buffer
			enc := json.NewEncoder(&js)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			if err := enc.Encode(tc.s); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name+".txt", txt.Bytes())
			golden(t, tc.name+".json", js.Bytes())
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\ngot:\n%s", path, got)
	}
}

// TestJSONFieldsStable pins the snake_case contract of the JSON output.
func TestJSONFieldsStable(t *testing.T) {
	js, err := json.Marshal(checkoutIncident())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"engine", "version", "target", "database", "taken_at", "connections", "clients",
		"longest_queries", "lock_waits", "severity", "findings"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	conns := m["connections"].(map[string]any)
	for _, k := range []string{"in_use", "max", "reserved_superuser", "available_to_users", "used_ratio", "by_state"} {
		if _, ok := conns[k]; !ok {
			t.Errorf("connections lacks %q", k)
		}
	}
	if m["severity"] != "critical" {
		t.Errorf("severity = %v", m["severity"])
	}
}

func TestChecksAndContainment(t *testing.T) {
	s := checkoutIncident()
	checks := strings.Join(s.Checks(), "\n")
	for _, want := range []string{"FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY", "pg_blocking_pids(pid) AS blocked_by",
		"state LIKE 'idle in transaction%'"} {
		if !strings.Contains(checks, want) {
			t.Errorf("checks lack %q:\n%s", want, checks)
		}
	}
	var actions []string
	for _, a := range s.Containment() {
		if a.Risk == "" {
			t.Errorf("action %q has no risk", a.Action)
		}
		actions = append(actions, a.Action+" | "+a.Risk)
	}
	all := strings.Join(actions, "\n")
	for _, want := range []string{
		"Do not scale the application tier out; if anything, lower the connection pool size of app=checkout user=shop addr=10.0.3.17 | every new instance opens its own pool",
		"AND application_name = 'checkout';",
		"SELECT pg_terminate_backend(4711);  -- the blocker, pid 4711 (app=checkout user=shop addr=10.0.3.17) (idle in transaction for 5m12s) | rolls back",
		"SELECT pg_cancel_backend(3990);",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("containment lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "4802") {
		t.Errorf("containment targets the lock waiter 4802 instead of its blocker:\n%s", all)
	}

	healthy := &Snapshot{Engine: EngineMariaDB, Connections: Connections{InUse: 1, Max: 100, UsedRatio: 0.01}}
	if len(healthy.Checks()) != 0 || len(healthy.Containment()) != 0 {
		t.Errorf("a healthy server gets checks %v and containment %v", healthy.Checks(), healthy.Containment())
	}
}

func TestOneLineMasksPasswords(t *testing.T) {
	for in, want := range map[string]string{
		"ALTER ROLE app PASSWORD 'hunter2'":               "ALTER ROLE app PASSWORD '***'",
		"CREATE USER 'a'@'%' IDENTIFIED BY 'hunter2'":     "CREATE USER 'a'@'%' IDENTIFIED BY '***'",
		"SET PASSWORD FOR 'a'@'%' = PASSWORD('hunter2')":  "SET PASSWORD FOR 'a'@'%' = PASSWORD('***')",
		"SET PASSWORD = 'hunter2'":                        "SET PASSWORD = '***'",
		"alter user app with\n  password 'hunt":           "alter user app with password '***'",
		"SELECT * FROM users WHERE password_hash = 'abc'": "SELECT * FROM users WHERE password_hash = 'abc'",
		"UPDATE orders SET status = 'paid' WHERE id = 1":  "UPDATE orders SET status = 'paid' WHERE id = 1",
	} {
		if got := oneLine(in, 200); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
