package dbhealth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const pgSettingsSQL = `SELECT current_setting('server_version'), current_database(), pg_backend_pid(),
	current_setting('max_connections')::int,
	current_setting('superuser_reserved_connections')::int,
	coalesce(current_setting('reserved_connections', true), '0')::int,
	coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)
	  OR pg_has_role(current_user, 'pg_read_all_stats', 'USAGE')`

// pgActivitySQL lists the client backends but ours; $1 truncates queries.
const pgActivitySQL = `SELECT a.pid, coalesce(a.usename::text, ''), coalesce(a.datname::text, ''),
	coalesce(a.application_name, ''),
	CASE WHEN a.client_port = -1 THEN 'local' ELSE coalesce(host(a.client_addr), '') END, coalesce(a.state, ''),
	coalesce(a.wait_event_type, ''), coalesce(a.wait_event, ''),
	coalesce(extract(epoch FROM clock_timestamp() - a.query_start), 0)::float8,
	coalesce(extract(epoch FROM clock_timestamp() - a.state_change), 0)::float8,
	coalesce(extract(epoch FROM clock_timestamp() - a.xact_start), 0)::float8,
	left(coalesce(a.query, ''), $1),
	pg_blocking_pids(a.pid)
FROM pg_stat_activity a
WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()`

// pgLocksSQL lists the locks being waited for (waitstart needs 14+).
const pgLocksSQL = `SELECT l.pid, l.locktype, l.mode, coalesce(l.relation::regclass::text, ''),
	coalesce(extract(epoch FROM clock_timestamp() - l.waitstart), -1)::float8
FROM pg_locks l WHERE NOT l.granted`

const pgLocksOldSQL = `SELECT l.pid, l.locktype, l.mode, coalesce(l.relation::regclass::text, ''), -1::float8
FROM pg_locks l WHERE NOT l.granted`

// pgConnect opens the check's read-only session.
func pgConnect(ctx context.Context, t *Target, opts Options) (*pgx.Conn, error) {
	cfg := t.pg.Copy()
	cfg.ConnectTimeout = opts.ConnectTimeout
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	cfg.RuntimeParams["lock_timeout"] = "1000"
	cfg.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds()*2, 10)
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "sitrep db check"
	}
	// No prepared statements left behind on the server. (Not the simple
	// protocol: pgx refuses it on SQL_ASCII databases.)
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec

	cctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		var pe *pgconn.PgError
		code, msg := "", ""
		if errors.As(err, &pe) {
			code, msg = pe.Code, pe.Message
		}
		return nil, explainConnect(t, err, code == "28P01" || code == "28000", code == "53300", code == "3D000", msg, opts.ConnectTimeout)
	}
	return conn, nil
}

func checkPostgres(ctx context.Context, t *Target, opts Options, log *slog.Logger, s *Snapshot) error {
	log.Debug("connecting")
	conn, err := pgConnect(ctx, t, opts)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())

	q := func(sql string, args ...any) (context.Context, context.CancelFunc) {
		log.Debug("query", "sql", oneLine(sql, 2000))
		return context.WithTimeout(ctx, opts.StatementTimeout+opts.StatementTimeout/2)
	}

	var ownPID int32
	var maxConns, reservedSU, reserved int
	var seesAll bool
	qctx, cancel := q(pgSettingsSQL)
	err = conn.QueryRow(qctx, pgSettingsSQL).Scan(&s.Version, &s.Database, &ownPID, &maxConns, &reservedSU, &reserved, &seesAll)
	cancel()
	if err != nil {
		return fmt.Errorf("read server settings: %w", err)
	}
	c := &s.Connections
	c.Max = maxConns
	c.ReservedSuperuser = reservedSU + reserved
	c.AvailableToUsers = max(maxConns-c.ReservedSuperuser, 0)
	c.ByState = map[string]int{}
	if !seesAll {
		s.Warnings = append(s.Warnings, fmt.Sprintf("user %q is neither a superuser nor in pg_read_all_stats: other users' queries and states are hidden (GRANT pg_monitor TO %s)", t.User, pgx.Identifier{t.User}.Sanitize()))
	}

	qctx, cancel = q(pgActivitySQL)
	rows, err := conn.Query(qctx, pgActivitySQL, opts.QueryTextMax)
	if err != nil {
		cancel()
		return fmt.Errorf("read pg_stat_activity: %w", err)
	}
	sessions := map[int64]*Query{}
	blockedBy := map[int64][]int32{}
	groups := clientGroups{}
	var order []int64
	hidden := 0
	for rows.Next() {
		var sq Query
		var pid int32
		var rawState string
		var queryAge, stateAge, xactAge float64
		var blockers []int32
		if err := rows.Scan(&pid, &sq.User, &sq.Database, &sq.ApplicationName, &sq.ClientAddr, &rawState,
			&sq.WaitEventType, &sq.WaitEvent, &queryAge, &stateAge, &xactAge, &sq.Query, &blockers); err != nil {
			rows.Close()
			cancel()
			return fmt.Errorf("read pg_stat_activity: %w", err)
		}
		sq.PID = int64(pid)
		sq.State = normState(rawState)
		if rawState == "" {
			hidden++
		}
		sq.TransactionSeconds = xactAge
		switch {
		case sq.State == "active":
			sq.DurationSeconds = queryAge
		case strings.HasPrefix(sq.State, "idle_in_transaction"):
			sq.DurationSeconds = stateAge
		}
		c.InUse++
		c.ByState[sq.State]++
		groups.add(sq.User, sq.ApplicationName, sq.ClientAddr, sq.State)
		sessions[sq.PID] = &sq
		order = append(order, sq.PID)
		if len(blockers) > 0 {
			blockedBy[sq.PID] = blockers
		}
	}
	err = rows.Err()
	cancel()
	if err != nil {
		return fmt.Errorf("read pg_stat_activity: %w", err)
	}
	if hidden > 0 && seesAll {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d sessions report no state", hidden))
	}
	s.Clients = groups.list()
	for _, pid := range order {
		sq := sessions[pid]
		if sq.State == "active" || strings.HasPrefix(sq.State, "idle_in_transaction") {
			sq.Query = oneLine(sq.Query, opts.QueryTextMax)
			s.LongestQueries = append(s.LongestQueries, *sq)
		}
	}

	if len(blockedBy) == 0 {
		return nil
	}
	type lockInfo struct {
		locktype, mode, rel string
		wait                float64
	}
	locks := map[int64]lockInfo{}
	for _, sql := range []string{pgLocksSQL, pgLocksOldSQL} {
		qctx, cancel = q(sql)
		rows, err = conn.Query(qctx, sql)
		if err == nil {
			for rows.Next() {
				var pid int32
				var li lockInfo
				if err = rows.Scan(&pid, &li.locktype, &li.mode, &li.rel, &li.wait); err != nil {
					break
				}
				if old, ok := locks[int64(pid)]; !ok || li.wait > old.wait {
					locks[int64(pid)] = li
				}
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
		}
		cancel()
		var pe *pgconn.PgError
		if err != nil && errors.As(err, &pe) && pe.Code == "42703" { // no waitstart before 14
			continue
		}
		break
	}
	if err != nil {
		s.Warnings = append(s.Warnings, "could not read pg_locks: "+err.Error())
	}
	for _, pid := range order {
		bl, ok := blockedBy[pid]
		if !ok {
			continue
		}
		w := LockWait{Waiting: *sessions[pid]}
		w.Waiting.Query = oneLine(w.Waiting.Query, opts.QueryTextMax)
		w.WaitSeconds = w.Waiting.DurationSeconds
		if li, ok := locks[pid]; ok {
			w.LockType, w.Mode, w.Relation = li.locktype, li.mode, li.rel
			if li.wait >= 0 {
				w.WaitSeconds = li.wait
			}
		}
		for _, b := range bl {
			if bq, ok := sessions[int64(b)]; ok {
				bc := *bq
				bc.Query = oneLine(bc.Query, opts.QueryTextMax)
				w.Blockers = append(w.Blockers, bc)
			} else {
				w.Blockers = append(w.Blockers, Query{PID: int64(b), State: "unknown"})
			}
		}
		s.LockWaits = append(s.LockWaits, w)
	}
	return nil
}
