package dbhealth

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// TextOptions tune WriteText.
type TextOptions struct {
	// Color marks severities with ANSI colours (only for a terminal).
	Color bool
}

// WriteText renders the snapshot as a report for people: the verdict and
// findings first, then the tables they rest on.
func WriteText(w io.Writer, s *Snapshot, opts TextOptions) error {
	ew := &errWriter{w: w}
	sev := func(v Severity) string {
		label := strings.ToUpper(string(v))
		if !opts.Color {
			return label
		}
		switch v {
		case SeverityCritical:
			return "\x1b[1;31m" + label + "\x1b[0m"
		case SeverityWarning:
			return "\x1b[33m" + label + "\x1b[0m"
		}
		return "\x1b[32m" + label + "\x1b[0m"
	}

	name := map[Engine]string{EnginePostgres: "PostgreSQL", EngineMariaDB: "MariaDB", EngineMySQL: "MySQL"}[s.Engine]
	if name == "" {
		name = string(s.Engine)
	}
	if s.Version != "" {
		name += " " + s.Version
	}
	fmt.Fprintf(ew, "%s  %s  at %s\n", name, s.Target, s.TakenAt.UTC().Format("2006-01-02T15:04:05Z"))
	fmt.Fprintf(ew, "Health: %s\n", sev(s.Severity()))

	fmt.Fprintf(ew, "\nFindings\n")
	for _, f := range s.Findings() {
		// Pad the plain label so colour codes do not break alignment.
		pad := strings.Repeat(" ", 9-len(f.Severity))
		fmt.Fprintf(ew, "  %s%s %s\n", sev(f.Severity), pad, f.Summary)
	}
	if s.Refused != "" {
		fmt.Fprintf(ew, "\nNext: connect as a superuser (PostgreSQL keeps superuser_reserved_connections; MySQL/MariaDB admit one extra SUPER connection) to see who holds the connections.\n")
		return ew.err
	}

	c := s.Connections
	fmt.Fprintf(ew, "\nConnections\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  in use\t%d of %d (%.0f%%)\n", c.InUse, c.Max, c.UsedRatio*100)
	if s.Engine == EnginePostgres {
		fmt.Fprintf(tw, "  reserved for superusers\t%d (ordinary users can hold %d)\n", c.ReservedSuperuser, c.AvailableToUsers)
	} else {
		fmt.Fprintf(tw, "  reserved for superusers\t%d extra beyond max_connections\n", c.ReservedSuperuser)
	}
	for _, st := range sortedStates(c.ByState) {
		fmt.Fprintf(tw, "  %s\t%d\n", strings.ReplaceAll(st, "_", " "), c.ByState[st])
	}
	if m := s.MySQL; m != nil {
		fmt.Fprintf(tw, "  Threads_connected\t%d\n", m.ThreadsConnected)
		fmt.Fprintf(tw, "  Threads_running\t%d\n", m.ThreadsRunning)
		fmt.Fprintf(tw, "  Max_used_connections\t%d\n", m.MaxUsedConnections)
		fmt.Fprintf(tw, "  Connection_errors_max_connections\t%d\n", m.ConnectionErrorsMaxConnections)
	}
	tw.Flush()

	if len(s.Clients) > 0 {
		fmt.Fprintf(ew, "\nClients\n")
		tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  CONNECTIONS\tACTIVE\tIDLE IN TX\tIDLE\tUSER\tAPPLICATION\tCLIENT ADDR\n")
		for _, g := range s.Clients {
			fmt.Fprintf(tw, "  %d\t%d\t%d\t%d\t%s\t%s\t%s\n", g.Total, g.ByState["active"],
				g.ByState["idle_in_transaction"]+g.ByState["idle_in_transaction_aborted"], g.ByState["idle"],
				dash(g.User), dash(g.ApplicationName), dash(g.ClientAddr))
		}
		tw.Flush()
	}

	if m := s.MySQL; m != nil && len(m.Processlist) > 0 {
		fmt.Fprintf(ew, "\nProcesslist\n")
		tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  THREADS\tLONGEST\tUSER\tHOST\tCOMMAND\tSTATE\n")
		for _, g := range m.Processlist {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", g.Count, fmtDur(g.MaxSeconds), dash(g.User), dash(g.Host), dash(g.Command), dash(g.State))
		}
		tw.Flush()
	}

	if len(s.LongestQueries) > 0 {
		fmt.Fprintf(ew, "\nLongest-running statements and open transactions\n")
		tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  PID\tFOR\tSTATE\tWAITING ON\tCLIENT\tQUERY\n")
		for _, q := range s.LongestQueries {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", q.PID, fmtDur(q.DurationSeconds),
				strings.ReplaceAll(q.State, "_", " "), dash(waitLabel(q)),
				clientLabel(q.ApplicationName, q.User, q.ClientAddr), dash(oneLine(q.Query, 60)))
		}
		tw.Flush()
	}

	if len(s.LockWaits) > 0 {
		fmt.Fprintf(ew, "\nLock waits (who blocks whom)\n")
		tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  WAITING PID\tWAITED\tLOCK\tBLOCKED BY\tWAITING QUERY\n")
		for _, l := range s.LockWaits {
			var by []string
			for _, b := range l.Blockers {
				by = append(by, fmt.Sprintf("%d %s", b.PID, stateWithAge(b)))
			}
			lock := strings.TrimSpace(strings.Join([]string{l.LockType, l.Mode, l.Relation}, " "))
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", l.Waiting.PID, fmtDur(l.WaitSeconds), dash(lock),
				dash(strings.Join(by, ", ")), dash(oneLine(l.Waiting.Query, 60)))
		}
		tw.Flush()
	}

	if checks := s.Checks(); len(checks) > 0 {
		fmt.Fprintf(ew, "\nChecks (read-only)\n")
		for _, c := range checks {
			fmt.Fprintf(ew, "  %s\n", c)
		}
	}
	if actions := s.Containment(); len(actions) > 0 {
		fmt.Fprintf(ew, "\nContainment options (sitrep runs none of them)\n")
		for _, a := range actions {
			fmt.Fprintf(ew, "  - %s\n    risk: %s\n", a.Action, a.Risk)
		}
	}

	if len(s.Warnings) > 0 {
		fmt.Fprintf(ew, "\nNot visible to this check\n")
		for _, w := range s.Warnings {
			fmt.Fprintf(ew, "  - %s\n", w)
		}
	}
	return ew.err
}

func waitLabel(q Query) string {
	switch {
	case q.WaitEventType == "Client" && q.State != "active":
		return "" // an idle session waits for its client: not news
	case q.WaitEventType != "" && q.WaitEvent != "":
		return q.WaitEventType + "/" + q.WaitEvent
	default:
		return q.WaitEvent
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// errWriter remembers the first write error so rendering code can stay flat.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
