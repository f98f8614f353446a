package dbhealth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Snapshot is what one check saw on a database server. Its JSON field names
// are stable (snake_case); fields are only ever added. Marshalled to JSON it
// also carries "severity", "findings", "checks" and "containment" (see the
// methods of those names).
type Snapshot struct {
	// Engine is "postgresql", "mariadb" or "mysql".
	Engine Engine `json:"engine"`
	// Version is the server's version string.
	Version string `json:"version"`
	// Target is the DSN without its password.
	Target string `json:"target"`
	// Database is the database the check connected to.
	Database string `json:"database"`
	// TakenAt is when the check ran (UTC).
	TakenAt time.Time `json:"taken_at"`
	// Refused is set when the server refused the check's own connection
	// because every slot is taken: the other fields are then empty and
	// the refusal is itself the finding.
	Refused string `json:"refused,omitempty"`

	Connections Connections `json:"connections"`
	// Clients groups the connections by user, application and client
	// address, largest first.
	Clients []ClientGroup `json:"clients"`
	// LongestQueries are the longest-running statements and the longest
	// idle open transactions, longest first.
	LongestQueries []Query `json:"longest_queries"`
	// Slow counts the sessions past the findings' thresholds among all
	// sessions (LongestQueries keeps only the longest few).
	Slow SlowCounts `json:"slow"`
	// LockWaits are the sessions waiting for a lock, longest wait first.
	LockWaits []LockWait `json:"lock_waits"`
	// MySQL holds the MySQL/MariaDB status counters (nil on PostgreSQL).
	MySQL *MySQLStatus `json:"mysql,omitempty"`
	// Warnings are things the check could not see (missing privileges,
	// views absent on this version), in words.
	Warnings []string `json:"warnings,omitempty"`
}

// Connections counts client connections against the server's limit. The
// check's own session is not counted anywhere in a snapshot.
type Connections struct {
	// InUse is the number of client connections, the check's excluded.
	InUse int `json:"in_use"`
	// Max is max_connections.
	Max int `json:"max"`
	// ReservedSuperuser is the number of slots only superusers may take:
	// on PostgreSQL within Max (superuser_reserved_connections plus
	// reserved_connections), on MySQL/MariaDB the one extra connection
	// beyond Max for SUPER/CONNECTION ADMIN.
	ReservedSuperuser int `json:"reserved_superuser"`
	// AvailableToUsers is how many connections ordinary users can hold.
	AvailableToUsers int `json:"available_to_users"`
	// UsedRatio is InUse / Max.
	UsedRatio float64 `json:"used_ratio"`
	// ByState counts connections by state: active, idle,
	// idle_in_transaction, idle_in_transaction_aborted, and on PostgreSQL
	// fastpath_function_call, disabled, unknown (state not visible).
	ByState map[string]int `json:"by_state"`
}

// ClientGroup is the connections of one user + application + address.
type ClientGroup struct {
	User            string         `json:"user"`
	ApplicationName string         `json:"application_name"`
	ClientAddr      string         `json:"client_addr"`
	Total           int            `json:"total"`
	ByState         map[string]int `json:"by_state"`
}

// SlowCounts count sessions past the findings' thresholds.
type SlowCounts struct {
	// IdleInTransaction counts sessions idle in a transaction for 30s or more.
	IdleInTransaction int `json:"idle_in_transaction_over_30s"`
	// Active counts statements running for 30s or more.
	Active int `json:"active_over_30s"`
}

func (s *Snapshot) countSlow() SlowCounts {
	var c SlowCounts
	for _, q := range s.LongestQueries {
		switch {
		case strings.HasPrefix(q.State, "idle_in_transaction") && q.DurationSeconds >= idleTxMin.Seconds():
			c.IdleInTransaction++
		case q.State == "active" && q.DurationSeconds >= longQuery.Seconds():
			c.Active++
		}
	}
	return c
}

// Query is one session's current statement or open transaction.
type Query struct {
	// PID is the backend pid (PostgreSQL) or the connection id (MySQL).
	PID             int64  `json:"pid"`
	User            string `json:"user"`
	Database        string `json:"database"`
	ApplicationName string `json:"application_name"`
	ClientAddr      string `json:"client_addr"`
	// State uses the ByState names.
	State string `json:"state"`
	// WaitEventType and WaitEvent say what an active session waits on
	// (PostgreSQL), e.g. "Lock"/"transactionid"; MySQL puts its thread
	// state in WaitEvent.
	WaitEventType string `json:"wait_event_type"`
	WaitEvent     string `json:"wait_event"`
	// DurationSeconds is how long the statement has run (active) or how
	// long the session has sat idle in its transaction.
	DurationSeconds float64 `json:"duration_seconds"`
	// TransactionSeconds is the age of the open transaction (0 if none).
	TransactionSeconds float64 `json:"transaction_seconds"`
	// Query is the statement text, truncated.
	Query string `json:"query"`
}

// LockWait is one session waiting for a lock and who holds it up.
type LockWait struct {
	Waiting     Query   `json:"waiting"`
	WaitSeconds float64 `json:"wait_seconds"`
	// LockType, Mode and Relation describe the awaited lock where the
	// server says (e.g. "transactionid", "ShareLock", "" / "RECORD", "X",
	// "`shop`.`orders`").
	LockType string `json:"lock_type"`
	Mode     string `json:"mode"`
	Relation string `json:"relation"`
	// Blockers are the sessions holding the lock up (pg_blocking_pids or
	// the blocking InnoDB transactions).
	Blockers []Query `json:"blockers"`
}

// MySQLStatus are MySQL/MariaDB status counters.
type MySQLStatus struct {
	ThreadsConnected   int64 `json:"threads_connected"`
	ThreadsRunning     int64 `json:"threads_running"`
	MaxUsedConnections int64 `json:"max_used_connections"`
	// ConnectionErrorsMaxConnections counts connections refused because
	// max_connections was reached, since the server started.
	ConnectionErrorsMaxConnections int64 `json:"connection_errors_max_connections"`
	AbortedConnects                int64 `json:"aborted_connects"`
	UptimeSeconds                  int64 `json:"uptime_seconds"`
	// LockWaitSource is the view lock waits came from:
	// information_schema.INNODB_LOCK_WAITS or
	// performance_schema.data_lock_waits.
	LockWaitSource string `json:"lock_wait_source"`
	// Processlist groups the client threads by user, host, command and
	// thread state, largest first.
	Processlist []ProcessGroup `json:"processlist"`
}

// ProcessGroup is the processlist threads sharing user, host (without
// port), command and state.
type ProcessGroup struct {
	User    string `json:"user"`
	Host    string `json:"host"`
	Command string `json:"command"`
	State   string `json:"state"`
	Count   int    `json:"count"`
	// MaxSeconds is the longest TIME among them.
	MaxSeconds float64 `json:"max_seconds"`
}

// Severity grades a finding and a snapshot.
type Severity string

// Severities, mildest first.
const (
	SeverityOK       Severity = "ok"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

func (s Severity) rank() int {
	switch s {
	case SeverityCritical:
		return 2
	case SeverityWarning:
		return 1
	}
	return 0
}

// Finding is one fact the check established, in words with numbers.
type Finding struct {
	// Kind is one of connections-exhausted, connections-refused,
	// connections-high, connections-ok, idle-in-transaction, lock-waits,
	// long-queries, connection-limit-hit (MySQL/MariaDB: max_connections reached
	// since start).
	Kind     string   `json:"kind"`
	Severity Severity `json:"severity"`
	Summary  string   `json:"summary"`
}

// Thresholds the findings use.
const (
	// A pool is exhausted at 90% of max_connections, or when every slot
	// open to ordinary users is taken.
	exhaustedRatio = 0.90
	highRatio      = 0.75
	// Idle-in-transaction sessions matter once they have idled this long.
	idleTxMin = 30 * time.Second
	// Statements running this long are reported; longer is critical.
	longQuery         = 30 * time.Second
	veryLongQuery     = 5 * time.Minute
	longLockWait      = 30 * time.Second
	manyLockWaitsCrit = 5
)

// Findings are the snapshot's facts, most severe first. A healthy server
// yields one connections-ok finding.
func (s *Snapshot) Findings() []Finding {
	var out []Finding
	add := func(kind string, sev Severity, format string, args ...any) {
		out = append(out, Finding{Kind: kind, Severity: sev, Summary: fmt.Sprintf(format, args...)})
	}
	if s.Refused != "" {
		add("connections-refused", SeverityCritical,
			"the server refused sitrep's connection: %s — every connection slot is taken", s.Refused)
		return out
	}
	c := s.Connections
	if c.Max > 0 && c.UsedRatio == 0 {
		c.UsedRatio = float64(c.InUse) / float64(c.Max)
	}

	// Connections against the limit.
	if c.Max > 0 {
		pct := int(c.UsedRatio*100 + 0.5)
		head := fmt.Sprintf("%d of %d connections in use (%d%%)", c.InUse, c.Max, pct)
		var detail []string
		if c.AvailableToUsers > 0 && c.InUse >= c.AvailableToUsers {
			detail = append(detail, fmt.Sprintf("all %d slots open to ordinary users are taken — new application connections are refused", c.AvailableToUsers))
		}
		if g := s.topGroup("idle_in_transaction"); g != nil && g.ByState["idle_in_transaction"] > 0 {
			detail = append(detail, fmt.Sprintf("%d idle in transaction from %s", g.ByState["idle_in_transaction"], g.Label()))
		} else if g := s.topGroup(""); g != nil {
			detail = append(detail, fmt.Sprintf("%d from %s", g.Total, g.Label()))
		}
		summary := head
		if len(detail) > 0 {
			summary += "; " + strings.Join(detail, "; ")
		}
		switch {
		case c.UsedRatio >= exhaustedRatio || (c.AvailableToUsers > 0 && c.InUse >= c.AvailableToUsers):
			add("connections-exhausted", SeverityCritical, "%s", summary)
		case c.UsedRatio >= highRatio:
			add("connections-high", SeverityWarning, "%s", summary)
		default:
			add("connections-ok", SeverityOK, "%s", summary)
		}
	}

	if m := s.MySQL; m != nil && c.Max > 0 && (m.ConnectionErrorsMaxConnections > 0 || m.MaxUsedConnections >= int64(c.Max)) {
		refused := ""
		if m.ConnectionErrorsMaxConnections > 0 {
			refused = fmt.Sprintf("; %d connections refused for max_connections", m.ConnectionErrorsMaxConnections)
		}
		add("connection-limit-hit", SeverityWarning,
			"the server has hit max_connections since it started %s ago: Max_used_connections %d of %d%s",
			fmtDur(float64(m.UptimeSeconds)), m.MaxUsedConnections, c.Max, refused)
	}

	// Sessions idling inside a transaction hold connections and locks.
	slow := s.countSlow()
	slow.IdleInTransaction = max(slow.IdleInTransaction, s.Slow.IdleInTransaction)
	slow.Active = max(slow.Active, s.Slow.Active)
	// Statements stuck behind a lock are reported as lock waits, not as
	// long-running statements.
	waiting := map[int64]bool{}
	for _, w := range s.LockWaits {
		waiting[w.Waiting.PID] = true
		if w.Waiting.State == "active" && w.Waiting.DurationSeconds >= longQuery.Seconds() {
			slow.Active--
		}
	}
	var idleTx, long []Query
	for _, q := range s.LongestQueries {
		switch {
		case strings.HasPrefix(q.State, "idle_in_transaction") && q.DurationSeconds >= idleTxMin.Seconds():
			idleTx = append(idleTx, q)
		case q.State == "active" && q.DurationSeconds >= longQuery.Seconds() && !waiting[q.PID]:
			long = append(long, q)
		}
	}
	slow.Active = max(slow.Active, len(long))
	if n := slow.IdleInTransaction; n > 0 && len(idleTx) > 0 {
		o := idleTx[0]
		sev := SeverityWarning
		if c.Max > 0 && float64(n) >= 0.5*float64(c.Max) {
			sev = SeverityCritical
		}
		add("idle-in-transaction", sev,
			"%d %s idle in transaction for over %s; longest %s: %s — they hold their locks and connections until they commit or roll back",
			n, plural(n, "session", "sessions"), fmtDur(idleTxMin.Seconds()), fmtDur(o.DurationSeconds), o.Label())
	}

	// Lock waits: who blocks whom.
	if n := len(s.LockWaits); n > 0 {
		w := s.LockWaits[0]
		sev := SeverityWarning
		if w.WaitSeconds >= longLockWait.Seconds() || n >= manyLockWaitsCrit {
			sev = SeverityCritical
		}
		blockers := make([]string, 0, len(w.Blockers))
		for _, b := range w.Blockers {
			blockers = append(blockers, b.Label()+" "+stateWithAge(b))
		}
		if len(blockers) == 0 {
			blockers = append(blockers, "an unknown session")
		}
		add("lock-waits", sev, "%d %s waiting for a lock; longest %s: %s waits on %s",
			n, plural(n, "session", "sessions"), fmtDur(w.WaitSeconds), w.Waiting.Label(), strings.Join(blockers, ", "))
	}

	// Long-running statements.
	if n := slow.Active; n > 0 && len(long) > 0 {
		sev := SeverityWarning
		if long[0].DurationSeconds >= veryLongQuery.Seconds() {
			sev = SeverityCritical
		}
		add("long-queries", sev, "%d %s running for over %s; longest %s: %s: %s",
			n, plural(n, "statement", "statements"), fmtDur(longQuery.Seconds()), fmtDur(long[0].DurationSeconds),
			long[0].Label(), oneLine(long[0].Query, 120))
	}

	sort.SliceStable(out, func(i, j int) bool { return out[i].Severity.rank() > out[j].Severity.rank() })
	return out
}

// Has reports whether any of the findings is of one of kinds, e.g.
// s.Has("connections-exhausted", "connections-refused").
func (s *Snapshot) Has(kinds ...string) bool {
	for _, f := range s.Findings() {
		for _, k := range kinds {
			if f.Kind == k {
				return true
			}
		}
	}
	return false
}

// Severity is the most severe finding's severity.
func (s *Snapshot) Severity() Severity {
	sev := SeverityOK
	for _, f := range s.Findings() {
		if f.Severity.rank() > sev.rank() {
			sev = f.Severity
		}
	}
	return sev
}

// Evidence are the lines a triage attaches to a hypothesis: each finding
// that is not ok, prefixed by where and when it was seen, then the largest
// client groups. Healthy snapshots yield the connections-ok line, which is
// evidence against database causes.
func (s *Snapshot) Evidence() []string {
	where := fmt.Sprintf("db %s %s at %s", s.Engine, s.Target, s.TakenAt.UTC().Format(time.RFC3339))
	var out []string
	for _, f := range s.Findings() {
		out = append(out, fmt.Sprintf("%s: %s", where, f.Summary))
	}
	for i, g := range s.Clients {
		if i == 3 || s.Connections.Max == 0 {
			break
		}
		if s.Connections.UsedRatio < highRatio && g.ByState["idle_in_transaction"] == 0 {
			break
		}
		out = append(out, fmt.Sprintf("%s: %d connections from %s (%s)", where, g.Total, g.Label(), fmtStates(g.ByState)))
	}
	return out
}

// MarshalJSON adds "severity" and "findings" to the snapshot's fields.
func (s *Snapshot) MarshalJSON() ([]byte, error) {
	type plain Snapshot
	checks, actions := s.Checks(), s.Containment()
	if checks == nil {
		checks = []string{}
	}
	if actions == nil {
		actions = []Action{}
	}
	// Not HTML-escaped: SQL in checks reads "> 0", not "\u003e 0".
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(struct {
		*plain
		Severity    Severity  `json:"severity"`
		Findings    []Finding `json:"findings"`
		Checks      []string  `json:"checks"`
		Containment []Action  `json:"containment"`
	}{(*plain)(s), s.Severity(), s.Findings(), checks, actions})
	return bytes.TrimRight(buf.Bytes(), "\n"), err
}

// Label names the group: "app=checkout user=shop addr=10.0.0.5".
func (g *ClientGroup) Label() string {
	return clientLabel(g.ApplicationName, g.User, g.ClientAddr)
}

// Label names the session: "pid 4711 (app=checkout user=shop)".
func (q Query) Label() string {
	l := clientLabel(q.ApplicationName, q.User, q.ClientAddr)
	if l == "-" {
		return fmt.Sprintf("pid %d", q.PID)
	}
	return fmt.Sprintf("pid %d (%s)", q.PID, l)
}

func clientLabel(app, user, addr string) string {
	var parts []string
	if app != "" {
		parts = append(parts, "app="+app)
	}
	if user != "" {
		parts = append(parts, "user="+user)
	}
	if addr != "" {
		parts = append(parts, "addr="+addr)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func stateWithAge(q Query) string {
	state := strings.ReplaceAll(q.State, "_", " ")
	if state == "" {
		state = "unknown state"
	}
	if q.DurationSeconds > 0 {
		return fmt.Sprintf("(%s for %s)", state, fmtDur(q.DurationSeconds))
	}
	return "(" + state + ")"
}

// topGroup returns the client group with the most connections in state
// (all states when state is empty).
func (s *Snapshot) topGroup(state string) *ClientGroup {
	var best *ClientGroup
	bestN := 0
	for i := range s.Clients {
		g := &s.Clients[i]
		n := g.Total
		if state != "" {
			n = g.ByState[state]
		}
		if n > bestN {
			best, bestN = g, n
		}
	}
	return best
}

// stateOrder is the order states are listed in.
var stateOrder = []string{"active", "idle_in_transaction", "idle_in_transaction_aborted", "idle", "fastpath_function_call", "disabled", "unknown"}

func sortedStates(m map[string]int) []string {
	rank := map[string]int{}
	for i, s := range stateOrder {
		rank[s] = i + 1
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := rank[keys[i]], rank[keys[j]]
		if ri == 0 {
			ri = len(stateOrder) + 1
		}
		if rj == 0 {
			rj = len(stateOrder) + 1
		}
		if ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	return keys
}

func fmtStates(m map[string]int) string {
	var parts []string
	for _, k := range sortedStates(m) {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[k], strings.ReplaceAll(k, "_", " ")))
		}
	}
	return strings.Join(parts, ", ")
}

// fmtDur renders seconds as 45s, 3m12s, 2h05m.
func fmtDur(sec float64) string {
	d := time.Duration(sec * float64(time.Second)).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// secretLiteral matches the string literal of PASSWORD '…', PASSWORD = '…',
// PASSWORD('…') and IDENTIFIED BY '…', also when truncated.
var secretLiteral = regexp.MustCompile(`(?i)\b(password|identified\s+by)(\s*=\s*|\s*\(\s*|\s+)'[^']*('|$)`)

// oneLine collapses whitespace, masks password literals (query texts end up
// in reports and timelines) and truncates to max runes with "…".
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	s = secretLiteral.ReplaceAllString(s, "${1}${2}'***'")
	r := []rune(s)
	if len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}
