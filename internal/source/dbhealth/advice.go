package dbhealth

import (
	"fmt"
	"strings"
)

// Action is a containment option and what it costs.
type Action struct {
	Action string `json:"action"`
	Risk   string `json:"risk"`
}

// Checks are the exact statements a responder can run on this server to
// confirm (or refute) the findings, most relevant first. They are
// read-only.
func (s *Snapshot) Checks() []string {
	pg := s.Engine == EnginePostgres
	var out []string
	added := map[string]bool{}
	add := func(pgSQL, mySQL string) {
		q := mySQL
		if pg {
			q = pgSQL
		}
		if !added[q] {
			added[q] = true
			out = append(out, q)
		}
	}
	seen := map[string]bool{}
	for _, f := range s.Findings() {
		if f.Severity == SeverityOK || seen[f.Kind] {
			continue
		}
		seen[f.Kind] = true
		switch f.Kind {
		case "connections-exhausted", "connections-high", "connections-refused", "connection-limit-hit":
			add("SELECT usename, application_name, client_addr, state, count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC;",
				"SELECT user, SUBSTRING_INDEX(host, ':', 1) AS client, command, COUNT(*) FROM information_schema.PROCESSLIST GROUP BY 1, 2, 3 ORDER BY 4 DESC;")
			if f.Kind == "connections-refused" {
				add("SHOW max_connections; SHOW superuser_reserved_connections;  -- as a superuser: reserved slots stay free",
					"SHOW GLOBAL STATUS LIKE 'Threads_connected'; SHOW VARIABLES LIKE 'max_connections';  -- as a SUPER user: one slot stays free")
			}
		case "idle-in-transaction":
			add("SELECT pid, usename, application_name, client_addr, now() - xact_start AS xact_age, now() - state_change AS idle_for, left(query, 80) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' ORDER BY xact_start;",
				"SELECT p.id, p.user, p.host, t.trx_started, TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) AS age_s FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.id = t.trx_mysql_thread_id WHERE p.command = 'Sleep' ORDER BY t.trx_started;")
		case "lock-waits":
			add("SELECT pid, pg_blocking_pids(pid) AS blocked_by, wait_event_type, wait_event, now() - query_start AS waiting, left(query, 80) FROM pg_stat_activity WHERE cardinality(pg_blocking_pids(pid)) > 0;",
				"SELECT r.trx_mysql_thread_id AS waiting, b.trx_mysql_thread_id AS blocking, TIMESTAMPDIFF(SECOND, r.trx_wait_started, NOW()) AS wait_s, r.trx_query FROM information_schema.INNODB_LOCK_WAITS w JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id;  -- MySQL 8: performance_schema.data_lock_waits")
		case "long-queries":
			add("SELECT pid, usename, application_name, now() - query_start AS running, wait_event_type, wait_event, left(query, 120) FROM pg_stat_activity WHERE state = 'active' AND backend_type = 'client backend' ORDER BY query_start LIMIT 10;",
				"SELECT id, user, host, time, state, LEFT(info, 120) FROM information_schema.PROCESSLIST WHERE command IN ('Query', 'Execute') ORDER BY time DESC LIMIT 10;")
		}
	}
	return out
}

// Containment are the options to relieve the findings, each with its risk,
// naming the sessions and clients the snapshot blames. sitrep never runs
// them: a responder chooses.
func (s *Snapshot) Containment() []Action {
	pg := s.Engine == EnginePostgres
	var out []Action
	seen := map[string]bool{}
	for _, f := range s.Findings() {
		if f.Severity == SeverityOK || seen[f.Kind] {
			continue
		}
		seen[f.Kind] = true
		switch f.Kind {
		case "connections-exhausted", "connections-high", "connections-refused":
			who := "the application holding most connections"
			if g := s.topGroup(""); g != nil {
				who = g.Label()
			}
			out = append(out,
				Action{"Do not scale the application tier out; if anything, lower the connection pool size of " + who,
					"every new instance opens its own pool: scaling out makes connection exhaustion worse"},
				Action{"Put a transaction-level connection pooler (PgBouncer, ProxySQL) in front, or raise max_connections",
					"raising max_connections needs a restart and memory per connection; it hides a leak instead of fixing it"})
		case "idle-in-transaction":
			g := s.topGroup("idle_in_transaction")
			filter, who := "", "the leaking client"
			if g != nil {
				who = g.Label()
				if pg && g.ApplicationName != "" {
					filter = fmt.Sprintf(" AND application_name = '%s'", strings.ReplaceAll(g.ApplicationName, "'", "''"))
				}
			}
			if pg {
				out = append(out, Action{
					"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in transaction' AND state_change < now() - interval '5 minutes'" + filter + ";",
					"rolls back those transactions; " + who + " sees broken connections (its pool must reconnect); the leak returns until the code or the change that introduced it is fixed"},
					Action{"ALTER ROLE … SET idle_in_transaction_session_timeout = '60s' for the application's role",
						"applies to new sessions only; a legitimately long transaction of that role is cut off too"})
			} else {
				out = append(out, Action{
					"KILL <id> for each connection idle in a transaction for minutes (see the check above)",
					"rolls back those transactions; " + who + " sees broken connections; the leak returns until the code or the change that introduced it is fixed"})
			}
		case "lock-waits":
			w := s.LockWaits[0]
			for _, b := range w.Blockers {
				if b.State == "unknown" {
					continue
				}
				stmt := fmt.Sprintf("SELECT pg_terminate_backend(%d);", b.PID)
				if !pg {
					stmt = fmt.Sprintf("KILL %d;", b.PID)
				}
				out = append(out, Action{stmt + "  -- the blocker, " + b.Label() + " " + stateWithAge(b),
					"rolls back the blocker's whole transaction and drops its connection; find out first what it was doing (its work is lost)"})
				break
			}
		case "long-queries":
			waiting := map[int64]bool{}
			for _, w := range s.LockWaits {
				waiting[w.Waiting.PID] = true
			}
			for _, q := range s.LongestQueries {
				if q.State != "active" || waiting[q.PID] {
					continue
				}
				stmt := fmt.Sprintf("SELECT pg_cancel_backend(%d);", q.PID)
				if !pg {
					stmt = fmt.Sprintf("KILL QUERY %d;", q.PID)
				}
				out = append(out, Action{stmt + "  -- cancels the longest statement, " + q.Label(),
					"cancels only that statement (the connection survives); the client may simply retry it"})
				break
			}
		}
	}
	return out
}
