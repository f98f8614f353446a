// Package cli holds sitrep's cobra commands. Commands are thin: they parse
// flags, call the packages that do the work, and render the result.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X …/internal/cli.Version=v1.2.3".
var Version = "dev"

// App holds the process-wide settings every command shares.
type App struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// DB is the store's DSN: a SQLite path or a postgres:// URL.
	DB string
	// Output is the -o flag: "text" (default), "json", and per command
	// "markdown" or "html".
	Output   string
	LogLevel string
	Verbose  bool
	Logger   *slog.Logger
	Getenv   func(string) string
	Now      func() time.Time

	cpuProfile string
	stopProf   func()
}

// exitError carries a process exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// withExitCode makes a command return code without printing err again when
// err is nil (the command already printed what it found).
func withExitCode(code int, err error) error { return &exitError{code: code, err: err} }

// Main runs the CLI with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &App{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv, Now: time.Now}
	root := NewRoot(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "error: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "error: %v\n", err)
	return 1
}

// NewRoot builds the root command and every subcommand.
func NewRoot(a *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "sitrep",
		Short: "Incident response from evidence: triage, timeline, postmortem",
		Long: `sitrep works an incident with the on-call engineer, from evidence.

It reads access logs, Prometheus metrics, a change log, DNS answers and
database health; reports who is affected, since when, what the failing
requests share, which change lines up and the most likely cause; and keeps
the incident's timeline, status updates, postmortem draft and action items.`,
		Example: `  # See it work on a generated incident (no setup needed)
  sitrep demo

  # Triage an access log
  sitrep triage --log /var/log/nginx/access.log

  # Declare and work an incident
  sitrep incident declare --title "API returns 503s" --severity SEV2 --service api
  sitrep incident ack INC-1
  sitrep postmortem INC-1`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setup()
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.DB, "db", "", "store: a SQLite file path or a postgres:// URL (env SITREP_DB; default: the user's data directory)")
	pf.StringVarP(&a.Output, "output", "o", "text", "output format: text or json (some commands also take markdown or html)")
	pf.StringVar(&a.LogLevel, "log-level", "warn", "log level: debug, info, warn or error (env SITREP_LOG_LEVEL)")
	pf.BoolVarP(&a.Verbose, "verbose", "v", false, "say more about what is being done")
	pf.StringVar(&a.cpuProfile, "cpuprofile", "", "write a CPU profile of the command to this file (for go tool pprof)")
	_ = pf.MarkHidden("cpuprofile")
	root.PersistentPostRun = func(*cobra.Command, []string) {
		if a.stopProf != nil {
			a.stopProf()
		}
	}

	root.AddCommand(
		newVersionCmd(a),
		newIncidentCmd(a),
		newPostmortemCmd(a),
		newServeCmd(a),
		newTokenCmd(a),
		newChangeCmd(a),
		newTriageCmd(a),
		newDBCmd(a),
		newDNSCmd(a),
		newLabCmd(a),
		newDemoCmd(a),
	)
	return root
}

func (a *App) setup() error {
	if a.DB == "" {
		a.DB = a.Getenv("SITREP_DB")
	}
	lvl := a.LogLevel
	if env := a.Getenv("SITREP_LOG_LEVEL"); env != "" && lvl == "warn" {
		lvl = env
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(lvl)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", lvl)
	}
	a.Logger = slog.New(slog.NewTextHandler(a.Stderr, &slog.HandlerOptions{Level: level}))
	if a.cpuProfile != "" {
		f, err := os.Create(a.cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		a.stopProf = func() { pprof.StopCPUProfile(); f.Close() }
	}
	return nil
}

// Actor is who is acting: $SITREP_USER, else the OS user.
func (a *App) Actor() string {
	if u := strings.TrimSpace(a.Getenv("SITREP_USER")); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// checkOutput returns an error unless -o is one of allowed.
func (a *App) checkOutput(allowed ...string) error {
	for _, o := range allowed {
		if a.Output == o {
			return nil
		}
	}
	return fmt.Errorf("-o %s is not supported here; use one of: %s", a.Output, strings.Join(allowed, ", "))
}

func newVersionCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print sitrep's version",
		Example: "  sitrep version\n  sitrep version -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			if a.Output == "json" {
				return writeJSON(a.Stdout, map[string]string{"version": Version})
			}
			fmt.Fprintf(a.Stdout, "sitrep %s\n", Version)
			return nil
		},
	}
}
