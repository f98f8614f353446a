// Package dbhealth checks a PostgreSQL, MySQL or MariaDB server's health the
// way a responder would during an incident: connections in use against
// max_connections, by state and by client; the longest-running statements
// and idle open transactions; and lock waits, with who blocks whom.
//
// The check is strictly read-only: the session is opened read-only
// (PostgreSQL default_transaction_read_only=on, MySQL SET SESSION
// TRANSACTION READ ONLY) and every statement has a short timeout, so a sick
// server cannot hang it. It needs one connection; on PostgreSQL connect as
// a superuser (or a member of pg_monitor) to see other users' queries and
// to get a reserved slot when the pool is exhausted; on MySQL/MariaDB the
// PROCESS privilege shows every session.
//
// Check returns a Snapshot; Snapshot.Findings says what it means in words
// with numbers and Snapshot.Evidence gives the lines triage attaches to its
// hypotheses.
package dbhealth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Options tune a check. The zero value is a good default.
type Options struct {
	// Logger receives debug lines about what the check runs (default:
	// discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now); it stamps Snapshot.TakenAt.
	Now func() time.Time
	// ConnectTimeout bounds connecting (default 5s).
	ConnectTimeout time.Duration
	// StatementTimeout bounds each statement the check runs (default 5s).
	StatementTimeout time.Duration
	// TopQueries is how many longest queries to keep (default 10).
	TopQueries int
	// TopClients is how many client groups (and MySQL processlist groups)
	// to keep (default 20).
	TopClients int
	// QueryTextMax truncates query texts to this many characters
	// (default 200).
	QueryTextMax int
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = 5 * time.Second
	}
	if o.TopQueries <= 0 {
		o.TopQueries = 10
	}
	if o.TopClients <= 0 {
		o.TopClients = 20
	}
	if o.QueryTextMax <= 0 {
		o.QueryTextMax = 200
	}
}

// Check connects to the server dsn names (see ParseDSN), reads its health
// read-only and returns the snapshot. When the server refuses the
// connection because every slot is taken, Check returns a snapshot whose
// Refused field says so (the refusal is the finding) and a nil error.
func Check(ctx context.Context, dsn string, opts Options) (*Snapshot, error) {
	t, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	return CheckTarget(ctx, t, opts)
}

// CheckTarget is Check for an already parsed DSN.
func CheckTarget(ctx context.Context, t *Target, opts Options) (*Snapshot, error) {
	opts.defaults()
	log := opts.Logger.With("component", "dbhealth", "target", t.String())
	s := &Snapshot{Engine: t.Engine, Target: t.String(), Database: t.Database, TakenAt: opts.Now().UTC()}
	// A full server frees slots all the time (and MySQL's one SUPER slot
	// can be held for a moment by a connection it is refusing): retry a
	// refusal twice before reporting it.
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		var err error
		switch t.Engine {
		case EnginePostgres:
			err = checkPostgres(ctx, t, opts, log, s)
		default:
			err = checkMySQL(ctx, t, opts, log, s)
		}
		if err == nil {
			break
		}
		var ce *connectError
		if !errors.As(err, &ce) || !ce.tooMany {
			return nil, err
		}
		if attempt == 3 {
			s.Refused = ce.serverMsg
			s.finish(opts)
			return s, nil
		}
		log.Debug("server refused the connection, retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			s.Refused = ce.serverMsg
			s.finish(opts)
			return s, nil
		case <-time.After(backoff):
		}
		backoff *= 2
	}
	s.finish(opts)
	return s, nil
}

// finish derives the totals and orders the lists.
func (s *Snapshot) finish(opts Options) {
	c := &s.Connections
	if c.Max > 0 {
		c.UsedRatio = float64(c.InUse) / float64(c.Max)
	}
	sort.SliceStable(s.Clients, func(i, j int) bool {
		a, b := s.Clients[i], s.Clients[j]
		if a.Total != b.Total {
			return a.Total > b.Total
		}
		return a.Label() < b.Label()
	})
	if len(s.Clients) > opts.TopClients {
		s.Clients = s.Clients[:opts.TopClients]
	}
	s.Slow = s.countSlow()
	sort.SliceStable(s.LongestQueries, func(i, j int) bool {
		a, b := s.LongestQueries[i], s.LongestQueries[j]
		if a.DurationSeconds != b.DurationSeconds {
			return a.DurationSeconds > b.DurationSeconds
		}
		return a.PID < b.PID
	})
	if len(s.LongestQueries) > opts.TopQueries {
		s.LongestQueries = s.LongestQueries[:opts.TopQueries]
	}
	sort.SliceStable(s.LockWaits, func(i, j int) bool { return s.LockWaits[i].WaitSeconds > s.LockWaits[j].WaitSeconds })
	if s.Clients == nil {
		s.Clients = []ClientGroup{}
	}
	if s.LongestQueries == nil {
		s.LongestQueries = []Query{}
	}
	if s.LockWaits == nil {
		s.LockWaits = []LockWait{}
	}
	if c.ByState == nil {
		c.ByState = map[string]int{}
	}
}

// clientGroups accumulates sessions into groups.
type clientGroups map[[3]string]*ClientGroup

func (m clientGroups) add(user, app, addr, state string) {
	k := [3]string{user, app, addr}
	g := m[k]
	if g == nil {
		g = &ClientGroup{User: user, ApplicationName: app, ClientAddr: addr, ByState: map[string]int{}}
		m[k] = g
	}
	g.Total++
	g.ByState[state]++
}

func (m clientGroups) list() []ClientGroup {
	out := make([]ClientGroup, 0, len(m))
	for _, g := range m {
		out = append(out, *g)
	}
	return out
}

// connectError explains a failed connection and what to do next.
type connectError struct {
	addr      string
	hint      string
	tooMany   bool
	serverMsg string
	err       error
}

func (e *connectError) Error() string {
	return fmt.Sprintf("cannot connect to %s: %s", e.addr, e.hint)
}

func (e *connectError) Unwrap() error { return e.err }

// explainConnect turns a driver's connect error into one that says what to
// do next. authFailed and tooMany are the engine's own classifications.
func explainConnect(t *Target, err error, authFailed, tooMany bool, dbMissing bool, serverMsg string, timeout time.Duration) error {
	ce := &connectError{addr: t.Addr, err: err, serverMsg: serverMsg}
	var dnsErr *net.DNSError
	switch {
	case tooMany:
		ce.tooMany = true
		ce.hint = "too many connections: " + serverMsg + " — every slot is taken; connect as a superuser to use a reserved slot"
	case authFailed:
		ce.hint = fmt.Sprintf("authentication failed for user %q — check the user and password in --dsn", t.User)
	case dbMissing:
		ce.hint = fmt.Sprintf("database %q does not exist — check the database name in --dsn", t.Database)
	case errors.Is(err, context.Canceled):
		ce.hint = "interrupted"
	case errors.Is(err, syscall.ECONNREFUSED):
		ce.hint = "connection refused — is the server running and is --dsn right?"
	case errors.As(err, &dnsErr):
		ce.hint = fmt.Sprintf("cannot resolve host %q — check the host name in --dsn", dnsErr.Name)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err):
		ce.hint = fmt.Sprintf("no answer within %s — is the host reachable (firewall, network) and the port right?", timeout)
	case errors.Is(err, syscall.ENOENT):
		ce.hint = "no such socket — is the server running and is the socket path right?"
	default:
		msg := err.Error()
		if strings.Contains(msg, "password") && strings.Contains(msg, "authentication") {
			ce.hint = fmt.Sprintf("authentication failed for user %q — check the user and password in --dsn", t.User)
		} else {
			ce.hint = msg + " — check --dsn"
		}
	}
	return ce
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// normState maps a server's state name to the snake_case names of
// Connections.ByState.
func normState(s string) string {
	switch s = strings.ToLower(strings.TrimSpace(s)); s {
	case "":
		return "unknown"
	case "idle in transaction (aborted)":
		return "idle_in_transaction_aborted"
	}
	return strings.ReplaceAll(s, " ", "_")
}
