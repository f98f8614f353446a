package dbhealth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// mysqlSystemUsers are processlist users that are server threads, not
// client connections.
var mysqlSystemUsers = map[string]bool{"system user": true, "event_scheduler": true}

// mysqlSystemCommands are processlist commands of server threads.
var mysqlSystemCommands = map[string]bool{"Daemon": true, "Binlog Dump": true, "Binlog Dump GTID": true, "Slave_IO": true, "Slave_SQL": true, "Slave_worker": true}

const mysqlLockWaitsISSQL = `SELECT r.trx_mysql_thread_id, COALESCE(TIMESTAMPDIFF(SECOND, r.trx_wait_started, NOW()), 0),
	b.trx_mysql_thread_id, COALESCE(l.lock_type, ''), COALESCE(l.lock_mode, ''), COALESCE(l.lock_table, '')
FROM information_schema.INNODB_LOCK_WAITS w
JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id
JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id
LEFT JOIN information_schema.INNODB_LOCKS l ON l.lock_id = w.requested_lock_id`

const mysqlLockWaitsPSSQL = `SELECT r.trx_mysql_thread_id, COALESCE(TIMESTAMPDIFF(SECOND, r.trx_wait_started, NOW()), 0),
	b.trx_mysql_thread_id, COALESCE(l.LOCK_TYPE, ''), COALESCE(l.LOCK_MODE, ''),
	COALESCE(CONCAT('` + "`" + `', l.OBJECT_SCHEMA, '` + "`.`" + `', l.OBJECT_NAME, '` + "`" + `'), '')
FROM performance_schema.data_lock_waits w
JOIN information_schema.INNODB_TRX r ON r.trx_id = w.REQUESTING_ENGINE_TRANSACTION_ID
JOIN information_schema.INNODB_TRX b ON b.trx_id = w.BLOCKING_ENGINE_TRANSACTION_ID
LEFT JOIN performance_schema.data_locks l ON l.ENGINE_LOCK_ID = w.REQUESTING_ENGINE_LOCK_ID`

// mysqlConnect opens the check's read-only session. Close the returned
// DB after the Conn.
func mysqlConnect(ctx context.Context, t *Target, opts Options) (*sql.DB, *sql.Conn, error) {
	cfg := t.mysql.Clone()
	cfg.Timeout = opts.ConnectTimeout
	cfg.ReadTimeout = 2 * opts.StatementTimeout
	cfg.WriteTimeout = 2 * opts.StatementTimeout
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("--dsn: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	cctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	conn, err := db.Conn(cctx)
	if err != nil {
		db.Close()
		var me *mysql.MySQLError
		var num uint16
		msg := ""
		if errors.As(err, &me) {
			num, msg = me.Number, me.Message
		}
		return nil, nil, explainConnect(t, err, num == 1045 || num == 1044, num == 1040 || num == 1203, num == 1049, msg, opts.ConnectTimeout)
	}
	if _, err := conn.ExecContext(cctx, "SET SESSION TRANSACTION READ ONLY"); err != nil {
		conn.Close()
		db.Close()
		return nil, nil, fmt.Errorf("make the session read-only: %w", err)
	}
	return db, conn, nil
}

func checkMySQL(ctx context.Context, t *Target, opts Options, log *slog.Logger, s *Snapshot) error {
	log.Debug("connecting")
	db, conn, err := mysqlConnect(ctx, t, opts)
	if err != nil {
		return err
	}
	defer db.Close()
	defer conn.Close()

	qctx := func(query string) (context.Context, context.CancelFunc) {
		log.Debug("query", "sql", oneLine(query, 2000))
		return context.WithTimeout(ctx, opts.StatementTimeout+opts.StatementTimeout/2)
	}
	exec := func(query string) error {
		c, cancel := qctx(query)
		defer cancel()
		_, err := conn.ExecContext(c, query)
		return err
	}

	var ownID int64
	var maxConns int
	const versionSQL = "SELECT VERSION(), @@max_connections, CONNECTION_ID(), COALESCE(DATABASE(), '')"
	c, cancel := qctx(versionSQL)
	err = conn.QueryRowContext(c, versionSQL).
		Scan(&s.Version, &maxConns, &ownID, &s.Database)
	cancel()
	if err != nil {
		return fmt.Errorf("read server settings: %w", err)
	}
	mariadb := strings.Contains(strings.ToLower(s.Version), "mariadb")
	if mariadb {
		s.Engine = EngineMariaDB
		err = exec(fmt.Sprintf("SET SESSION max_statement_time = %g", opts.StatementTimeout.Seconds()))
	} else {
		s.Engine = EngineMySQL
		err = exec(fmt.Sprintf("SET SESSION max_execution_time = %d", opts.StatementTimeout.Milliseconds()))
	}
	if err != nil {
		s.Warnings = append(s.Warnings, "could not set a statement timeout: "+err.Error())
	}
	_ = exec("SET SESSION lock_wait_timeout = 2")

	conns := &s.Connections
	conns.Max = maxConns
	conns.ReservedSuperuser = 1
	conns.AvailableToUsers = maxConns
	conns.ByState = map[string]int{}

	// Status counters.
	st := &MySQLStatus{}
	s.MySQL = st
	const statusSQL = `SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected', 'Threads_running',
		'Max_used_connections', 'Connection_errors_max_connections', 'Aborted_connects', 'Uptime')`
	c, cancel = qctx(statusSQL)
	rows, err := conn.QueryContext(c, statusSQL)
	if err != nil {
		cancel()
		return fmt.Errorf("read global status: %w", err)
	}
	for rows.Next() {
		var name, val string
		if err := rows.Scan(&name, &val); err != nil {
			break
		}
		n, _ := strconv.ParseInt(val, 10, 64)
		switch strings.ToLower(name) {
		case "threads_connected":
			st.ThreadsConnected = n
		case "threads_running":
			st.ThreadsRunning = n
		case "max_used_connections":
			st.MaxUsedConnections = n
		case "connection_errors_max_connections":
			st.ConnectionErrorsMaxConnections = n
		case "aborted_connects":
			st.AbortedConnects = n
		case "uptime":
			st.UptimeSeconds = n
		}
	}
	err = rows.Err()
	rows.Close()
	cancel()
	if err != nil {
		return fmt.Errorf("read global status: %w", err)
	}

	// Open InnoDB transactions by connection: an idle connection with one
	// is idle in transaction.
	trxAge := map[int64]float64{}
	const trxSQL = "SELECT trx_mysql_thread_id, COALESCE(TIMESTAMPDIFF(SECOND, trx_started, NOW()), 0) FROM information_schema.INNODB_TRX"
	c, cancel = qctx(trxSQL)
	rows, err = conn.QueryContext(c, trxSQL)
	if err == nil {
		for rows.Next() {
			var id int64
			var age float64
			if err = rows.Scan(&id, &age); err != nil {
				break
			}
			trxAge[id] = age
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
	}
	cancel()
	if err != nil {
		s.Warnings = append(s.Warnings, "cannot read information_schema.INNODB_TRX (needs the PROCESS privilege): idle-in-transaction sessions and lock waits are not visible: "+err.Error())
	}

	// The processlist.
	timeCol := "TIME"
	if mariadb {
		timeCol = "TIME_MS/1000"
	}
	plSQL := fmt.Sprintf(`SELECT ID, COALESCE(USER, ''), COALESCE(HOST, ''), COALESCE(DB, ''), COALESCE(COMMAND, ''),
		COALESCE(%s, 0), COALESCE(STATE, ''), LEFT(COALESCE(INFO, ''), %d)
		FROM information_schema.PROCESSLIST`, timeCol, opts.QueryTextMax)
	c, cancel = qctx(plSQL)
	rows, err = conn.QueryContext(c, plSQL)
	if err != nil {
		cancel()
		return fmt.Errorf("read the processlist: %w", err)
	}
	sessions := map[int64]*Query{}
	groups := clientGroups{}
	procGroups := map[[4]string]*ProcessGroup{}
	var order []int64
	for rows.Next() {
		var q Query
		var host, command string
		var secs float64
		if err = rows.Scan(&q.PID, &q.User, &host, &q.Database, &command, &secs, &q.WaitEvent, &q.Query); err != nil {
			break
		}
		if q.PID == ownID || mysqlSystemUsers[q.User] || mysqlSystemCommands[command] {
			continue
		}
		q.ClientAddr = host
		if h, _, err := net.SplitHostPort(host); err == nil {
			q.ClientAddr = h
		}
		q.TransactionSeconds = trxAge[q.PID]
		_, inTrx := trxAge[q.PID]
		switch command {
		case "Sleep":
			q.State = "idle"
			if inTrx {
				q.State = "idle_in_transaction"
				q.DurationSeconds = secs
			}
		case "Query", "Execute", "Fetch":
			q.State = "active"
			q.DurationSeconds = secs
		default:
			q.State = normState(command)
		}
		q.Query = oneLine(q.Query, opts.QueryTextMax)
		conns.InUse++
		conns.ByState[q.State]++
		groups.add(q.User, "", q.ClientAddr, q.State)
		pk := [4]string{q.User, q.ClientAddr, command, q.WaitEvent}
		pg := procGroups[pk]
		if pg == nil {
			pg = &ProcessGroup{User: q.User, Host: q.ClientAddr, Command: command, State: q.WaitEvent}
			procGroups[pk] = pg
		}
		pg.Count++
		pg.MaxSeconds = max(pg.MaxSeconds, secs)
		sessions[q.PID] = &q
		order = append(order, q.PID)
	}
	if err == nil {
		err = rows.Err()
	}
	rows.Close()
	cancel()
	if err != nil {
		return fmt.Errorf("read the processlist: %w", err)
	}
	if hidden := int(st.ThreadsConnected) - 1 - conns.InUse; hidden > 0 {
		// Without PROCESS a user sees only their own sessions; count the
		// rest from Threads_connected so the pool figure stays right.
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d of %d connections are not visible in the processlist (grant PROCESS to %s to see them)", hidden, st.ThreadsConnected-1, t.User))
		conns.InUse += hidden
		conns.ByState["unknown"] += hidden
	}
	s.Clients = groups.list()
	st.Processlist = make([]ProcessGroup, 0, len(procGroups))
	for _, g := range procGroups {
		st.Processlist = append(st.Processlist, *g)
	}
	sort.Slice(st.Processlist, func(i, j int) bool {
		a, b := st.Processlist[i], st.Processlist[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.MaxSeconds != b.MaxSeconds {
			return a.MaxSeconds > b.MaxSeconds
		}
		return fmt.Sprint(a) < fmt.Sprint(b)
	})
	if len(st.Processlist) > opts.TopClients {
		st.Processlist = st.Processlist[:opts.TopClients]
	}
	for _, id := range order {
		if q := sessions[id]; q.State == "active" || q.State == "idle_in_transaction" {
			s.LongestQueries = append(s.LongestQueries, *q)
		}
	}

	s.LockWaits = mysqlLockWaits(conn, qctx, s, sessions, order)
	return nil
}

// mysqlLockWaits reads InnoDB lock waits from whichever view this server
// has, and adds sessions waiting for a metadata lock.
func mysqlLockWaits(conn *sql.Conn, qctx func(string) (context.Context, context.CancelFunc), s *Snapshot, sessions map[int64]*Query, order []int64) []LockWait {
	var waits []LockWait
	byWaiter := map[int64]int{}

	const detectSQL = `SELECT
		(SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'information_schema' AND TABLE_NAME = 'INNODB_LOCK_WAITS'),
		(SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'performance_schema' AND TABLE_NAME = 'data_lock_waits')`
	c, cancel := qctx(detectSQL)
	var isViews, psViews int
	err := conn.QueryRowContext(c, detectSQL).Scan(&isViews, &psViews)
	cancel()
	query := ""
	switch {
	case err != nil:
		s.Warnings = append(s.Warnings, "cannot detect the InnoDB lock-wait view: "+err.Error())
	case isViews > 0:
		s.MySQL.LockWaitSource = "information_schema.INNODB_LOCK_WAITS"
		query = mysqlLockWaitsISSQL
	case psViews > 0:
		s.MySQL.LockWaitSource = "performance_schema.data_lock_waits"
		query = mysqlLockWaitsPSSQL
	default:
		s.Warnings = append(s.Warnings, "neither information_schema.INNODB_LOCK_WAITS nor performance_schema.data_lock_waits exists: InnoDB lock waits are not visible")
	}
	if query != "" {
		c, cancel = qctx(query)
		rows, err := conn.QueryContext(c, query)
		if err == nil {
			for rows.Next() {
				var waiter, blocker int64
				var secs float64
				var ltype, mode, table string
				if err = rows.Scan(&waiter, &secs, &blocker, &ltype, &mode, &table); err != nil {
					break
				}
				i, ok := byWaiter[waiter]
				if !ok {
					w := LockWait{WaitSeconds: secs, LockType: ltype, Mode: mode, Relation: table}
					if q, ok := sessions[waiter]; ok {
						w.Waiting = *q
					} else {
						w.Waiting = Query{PID: waiter, State: "unknown"}
					}
					waits = append(waits, w)
					i = len(waits) - 1
					byWaiter[waiter] = i
				}
				if q, ok := sessions[blocker]; ok {
					waits[i].Blockers = append(waits[i].Blockers, *q)
				} else {
					waits[i].Blockers = append(waits[i].Blockers, Query{PID: blocker, State: "unknown"})
				}
			}
			if err == nil {
				err = rows.Err()
			}
			rows.Close()
		}
		cancel()
		if err != nil {
			s.Warnings = append(s.Warnings, "cannot read InnoDB lock waits from "+s.MySQL.LockWaitSource+": "+err.Error())
		}
	}

	// Metadata lock waits (LOCK TABLES, ALTER TABLE behind an open
	// transaction) are not InnoDB waits; the processlist shows them.
	for _, id := range order {
		q := sessions[id]
		if _, ok := byWaiter[q.PID]; ok {
			continue
		}
		st := strings.ToLower(q.WaitEvent)
		if strings.HasPrefix(st, "waiting for") && strings.HasSuffix(st, "lock") {
			waits = append(waits, LockWait{Waiting: *q, WaitSeconds: q.DurationSeconds, LockType: "metadata", Mode: q.WaitEvent})
		}
	}
	return waits
}
