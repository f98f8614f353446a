package cli

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/sitrep-dev/sitrep/internal/source/dbhealth"
)

// newDBCmd is "sitrep db": database health.
func newDBCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Check database health (PostgreSQL, MySQL, MariaDB)",
		Long: `Check a database server's health the way a responder would during an incident:
connections in use against max_connections, by state and by client, the
longest-running statements and idle open transactions, and lock waits with
who blocks whom.`,
		Example: `  sitrep db check --dsn postgres://sitrep@db.internal:5432/shop
  sitrep db check --dsn mysql://root:secret@127.0.0.1:3306/shop -o json`,
	}
	cmd.AddCommand(newDBCheckCmd(a))
	return cmd
}

func newDBCheckCmd(a *App) *cobra.Command {
	var (
		dsn            string
		failOn         string
		timeout        time.Duration
		connectTimeout time.Duration
		top            int
	)
	cmd := &cobra.Command{
		Use:   "check --dsn URL",
		Short: "Report connections, long queries and lock waits, read-only",
		Long: `Connect to a PostgreSQL, MySQL or MariaDB server and report, strictly read-only:

  - connections in use against max_connections (and the slots reserved for
    superusers), by state (active, idle, idle in transaction) and by client
    (user, application_name, client address);
  - the longest-running statements and the sessions idle inside a transaction;
  - lock waits: who waits, for how long, on which lock, blocked by whom;
  - on MySQL/MariaDB also Threads_connected, Threads_running,
    Max_used_connections and the processlist.

The session is opened read-only (PostgreSQL default_transaction_read_only=on,
MySQL SET SESSION TRANSACTION READ ONLY) and every statement has a short
timeout, so a sick server cannot hang the check. It takes one connection:
connect as a superuser (PostgreSQL: or a pg_monitor member; MySQL: a user with
PROCESS) to see every session and to get a reserved slot when the pool is
exhausted. If the server refuses the connection because every slot is taken,
that refusal is reported as the finding.

Exit status: 0 when the check ran (whatever it found), 1 when it could not
run, 2 when --fail-on is reached. With -v it logs each statement it runs.`,
		Example: `  # PostgreSQL (any libpq/pgx URL option works, e.g. ?sslmode=require)
  sitrep db check --dsn postgres://sitrep@db.internal:5432/shop

  # MySQL or MariaDB (go-sql-driver options as URL parameters)
  sitrep db check --dsn mysql://root:secret@127.0.0.1:3306/shop

  # Through a unix socket, JSON for scripts
  sitrep db check --dsn 'mysql://root@localhost/shop?socket=/run/mysqld/mysqld.sock' -o json

  # Fail (exit 2) when anything is critical, for cron or CI
  SITREP_DSN=postgres://sitrep@db:5432/shop sitrep db check --fail-on critical`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			if dsn == "" {
				dsn = a.Getenv("SITREP_DSN")
			}
			if dsn == "" {
				return fmt.Errorf("--dsn is required: e.g. --dsn postgres://user@host:5432/db or --dsn mysql://user:pass@host:3306/db (or set SITREP_DSN)")
			}
			switch failOn {
			case "never", "warning", "critical":
			default:
				return fmt.Errorf("--fail-on %q: want never, warning or critical", failOn)
			}
			logger := a.Logger
			if a.Verbose {
				// -v shows each statement the check runs.
				logger = slog.New(slog.NewTextHandler(a.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
			}
			snap, err := dbhealth.Check(cmd.Context(), dsn, dbhealth.Options{
				Logger:           logger,
				Now:              a.Now,
				StatementTimeout: timeout,
				ConnectTimeout:   connectTimeout,
				TopQueries:       top,
			})
			if err != nil {
				return err
			}
			if a.Output == "json" {
				// Not writeJSON: the SQL in "checks" should read "> 0",
				// not "\u003e 0".
				enc := json.NewEncoder(a.Stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				err = enc.Encode(snap)
			} else {
				err = dbhealth.WriteText(a.Stdout, snap, dbhealth.TextOptions{Color: isTTY(a.Stdout)})
			}
			if err != nil {
				return err
			}
			if sev := snap.Severity(); failOn != "never" &&
				(sev == dbhealth.SeverityCritical || (failOn == "warning" && sev == dbhealth.SeverityWarning)) {
				return withExitCode(2, nil)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dsn, "dsn", "", "database to check: postgres://user:pass@host:5432/db or mysql://user:pass@host:3306/db (env SITREP_DSN)")
	f.StringVar(&failOn, "fail-on", "never", "exit 2 when the health is at least this bad: never, warning or critical")
	f.DurationVar(&timeout, "timeout", 5*time.Second, "time limit for each statement the check runs")
	f.DurationVar(&connectTimeout, "connect-timeout", 5*time.Second, "time limit for connecting")
	f.IntVar(&top, "top", 10, "how many of the longest-running statements and open transactions to list")
	return cmd
}
