package cli

import (
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sitrep-dev/sitrep/internal/lab"
)

// newLabCmd builds `sitrep lab`: generate failure scenarios (and, later,
// run drills and evaluate triage on them).
func newLabCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Generate failure scenarios, run drills and evaluate triage",
		Long: `The lab simulates a production service — several regions and zones, tens of
pods behind ingress-nginx, AWS ALBs and sometimes a CDN, with browsers,
mobile apps, bots and API clients — and writes a failure scenario as the
files a real deployment would give you: access logs, a change log full of
plausible decoys, Prometheus metrics and the truth of what happened.

Everything is deterministic for a given --seed.`,
		Example: `  # What can go wrong
  sitrep lab list

  # Generate one, then triage it
  sitrep lab generate dns-ttl-migration --out /tmp/inc --seed 7
  sitrep triage --log '/tmp/inc/logs/*' --changes /tmp/inc/changes.jsonl --metrics '/tmp/inc/metrics/*.json'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newLabListCmd(a), newLabGenerateCmd(a), newLabEvalCmd(a), newLabDrillCmd(a), newLabRevealCmd(a))
	// `eval`, `drill` and `reveal` are added here as they land.
	return cmd
}

func newLabListCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the scenarios the lab can generate",
		Example: `  sitrep lab list
  sitrep lab list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			sc := lab.Scenarios()
			if a.Output == "json" {
				return writeJSON(a.Stdout, sc)
			}
			tw := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tCAUSE\tDESCRIPTION")
			for _, s := range sc {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, s.Cause, s.Summary)
			}
			return tw.Flush()
		},
	}
}

// labGenerateResult is `lab generate -o json`.
type labGenerateResult struct {
	Scenario     string        `json:"scenario"`
	Seed         int64         `json:"seed"`
	Scale        float64       `json:"scale"`
	Dir          string        `json:"dir"`
	Start        time.Time     `json:"start"`
	End          time.Time     `json:"end"`
	Logs         []lab.LogFile `json:"logs"`
	Changes      string        `json:"changes"`
	ChangeCount  int           `json:"change_count"`
	MetricsFiles int           `json:"metrics_files"`
	MetricSeries int           `json:"metric_series"`
	Truth        string        `json:"truth"`
	ElapsedMS    int64         `json:"elapsed_ms"`
	Next         string        `json:"next"`
}

func newLabGenerateCmd(a *App) *cobra.Command {
	var (
		out   string
		seed  int64
		scale float64
	)
	cmd := &cobra.Command{
		Use:   "generate NAME --out DIR",
		Short: "Write a scenario's logs, change log, metrics and truth into a directory",
		Long: `Generate writes scenario NAME into DIR:

  DIR/logs/*.log, *.jsonl   access logs (ingress-nginx, AWS ALB, CDN JSON lines)
  DIR/changes.jsonl         the change log, culprit among decoys
  DIR/metrics/*.json        Prometheus query_range bodies, one per metric name
  DIR/truth.json            what really happened (do not peek before triage)

The same --seed gives the same bytes. --scale multiplies the traffic: 1 is
about 30k log lines, 0.1 a few thousand, 100 a few million.`,
		Example: `  sitrep lab generate dns-ttl-migration --out /tmp/inc
  sitrep lab generate db-pool-exhaustion --out /tmp/db --seed 42
  sitrep lab generate capacity --out /tmp/big --scale 100 -o json`,
		Args: cobra.ExactArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			var n []string
			for _, s := range lab.Scenarios() {
				n = append(n, s.Name)
			}
			return n, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			if out == "" {
				return withExitCode(2, fmt.Errorf("--out DIR is required: the directory to write the scenario into"))
			}
			if scale <= 0 {
				return withExitCode(2, fmt.Errorf("--scale %g: want a positive number (1 = about 30k log lines)", scale))
			}
			if _, ok := lab.Lookup(args[0]); !ok {
				return withExitCode(2, fmt.Errorf("unknown scenario %q: run `sitrep lab list` to see them", args[0]))
			}
			began := time.Now()
			m, err := lab.Generate(cmd.Context(), args[0], out, lab.GenerateOptions{Seed: seed, Scale: scale})
			if err != nil {
				return err
			}
			next := fmt.Sprintf("sitrep triage --log '%s' --changes %s --metrics '%s'",
				filepath.Join(out, "logs", "*"), filepath.Join(out, "changes.jsonl"), filepath.Join(out, "metrics", "*.json"))
			if a.Output == "json" {
				return writeJSON(a.Stdout, labGenerateResult{
					Scenario: args[0], Seed: seed, Scale: scale, Dir: out, Start: m.Start, End: m.End,
					Logs: m.Logs, Changes: m.Changes, ChangeCount: m.ChangeCount,
					MetricsFiles: len(m.Metrics), MetricSeries: m.MetricSeries, Truth: m.TruthPath,
					ElapsedMS: time.Since(began).Milliseconds(), Next: next,
				})
			}
			w := a.Stdout
			fmt.Fprintf(w, "Generated %s (seed %d, scale %g) in %s: %s to %s\n\n", args[0], seed, scale, out,
				m.Start.Format("2006-01-02 15:04"), m.End.Format("15:04 MST"))
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "FILE\tFORMAT\tLINES\tSIZE")
			var lines, bytes int64
			for _, l := range m.Logs {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", labRel(out, l.Path), l.Format, l.Lines, labHumanBytes(l.Bytes))
				lines += l.Lines
				bytes += l.Bytes
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", labRel(out, m.Changes), "changes", m.ChangeCount, "")
			fmt.Fprintf(tw, "%s\t%s\t%d files\t%d series\n", filepath.Join("metrics", "*.json"), "query_range", len(m.Metrics), m.MetricSeries)
			fmt.Fprintf(tw, "%s\t%s\t\t\n", labRel(out, m.TruthPath), "truth (spoilers)")
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(w, "\n%d log lines, %s, in %s.\n", lines, labHumanBytes(bytes), time.Since(began).Round(time.Millisecond))
			fmt.Fprintf(w, "The page: %q\n\nNext:\n  %s\n", labSymptom(args[0]), next)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "directory to write the scenario into (created if needed)")
	f.Int64Var(&seed, "seed", 1, "seed for the scenario's parameters and every random draw")
	f.Float64Var(&scale, "scale", 1, "traffic volume: 1 ≈ 30k log lines, 0.1 ≈ 3k, 100 ≈ 3M")
	return cmd
}

func labSymptom(name string) string {
	s, _ := lab.Lookup(name)
	return s.Symptom
}

func labRel(base, p string) string {
	if r, err := filepath.Rel(base, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

func labHumanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
