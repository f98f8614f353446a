package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/lab"
	"github.com/sitrep-dev/sitrep/internal/labeval"
	"github.com/sitrep-dev/sitrep/internal/signal"
)

func newLabEvalCmd(a *App) *cobra.Command {
	var o labeval.Options
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Measure how often triage finds the truth: every scenario × N seeds",
		Long: `Generates every scenario (or --scenarios) for seeds 1..N, runs the full triage on
each (the same analysis as sitrep triage), and compares the top hypotheses, the
blamed change and the onset with truth.json. Prints a table per scenario: top-1 and
top-3 accuracy of the cause, accuracy of the blamed change (no change blamed counts
as right when no change caused it), the median onset error, and the time the triage
took.

--without leaves evidence out, to see how the triage reasons when a team lacks it:
metrics, changes, or one kind of log (alb, ingress, cdn). A scenario left with no
log counts as a miss.`,
		Example: `  sitrep lab eval --seeds 10
  sitrep lab eval --seeds 3 --scenarios dns-ttl-migration,db-pool-exhaustion
  sitrep lab eval --seeds 10 -o json > eval.json

  # Only logs and the change log, as many teams have
  sitrep lab eval --seeds 5 --without metrics`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			if isTTY(a.Stderr) {
				o.Progress = func(done, total int, c labeval.Case) {
					mark := "✓"
					if !c.Top1 {
						mark = "✗"
					}
					fmt.Fprintf(a.Stderr, "\r\033[K[%d/%d] %s seed %d %s", done, total, c.Scenario, c.Seed, mark)
					if done == total {
						fmt.Fprint(a.Stderr, "\r\033[K")
					}
				}
			}
			o.Logger = a.Logger
			rep, err := labeval.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			if a.Output == "json" {
				return writeJSON(a.Stdout, jsonSafe(rep))
			}
			renderEval(a, rep)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Seeds, "seeds", 3, "seeds per scenario (1..N)")
	f.Int64Var(&o.FirstSeed, "first-seed", 1, "first seed")
	f.StringSliceVar(&o.Scenarios, "scenarios", nil, "scenarios to run (default: all)")
	f.Float64Var(&o.Scale, "scale", 1, "traffic volume per scenario")
	f.StringSliceVar(&o.Without, "without", nil, "evidence to leave out: "+strings.Join(labeval.Evidence, ", "))
	return cmd
}

// jsonSafe replaces NaN onset errors (no onset found) with -1 for JSON.
func jsonSafe(rep *labeval.Report) *labeval.Report {
	for i := range rep.Cases {
		if math.IsNaN(rep.Cases[i].OnsetErrorMinutes) {
			rep.Cases[i].OnsetErrorMinutes = -1
		}
	}
	return rep
}

func renderEval(a *App, rep *labeval.Report) {
	without := ""
	if len(rep.Without) > 0 {
		without = ", without " + strings.Join(rep.Without, ", ")
	}
	fmt.Fprintf(a.Stdout, "Triage evaluation: %d scenarios × %d seeds, scale %g%s\n\n", len(rep.Rows), rep.Seeds, rep.Scale, without)
	tw := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SCENARIO\tCASES\tTOP-1\tTOP-3\tCHANGE\tONSET ERR (median min)\tNO ONSET\tTRIAGE TIME\t")
	row := func(r labeval.Row) {
		fmt.Fprintf(tw, "%s\t%d\t%.0f%%\t%.0f%%\t%.0f%%\t%.1f\t%d\t%.2fs\t\n", r.Scenario, r.Cases, r.Top1*100, r.Top3*100, r.Change*100, r.OnsetMedianMinutes, r.OnsetMissed, r.Seconds)
	}
	for _, r := range rep.Rows {
		row(r)
	}
	fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t")
	row(rep.Total)
	tw.Flush()
	var misses []string
	for _, c := range rep.Cases {
		if c.Error != "" {
			misses = append(misses, fmt.Sprintf("  %s seed %d: error: %s", c.Scenario, c.Seed, c.Error))
		} else if !c.Top1 || !c.ChangeOK {
			got := strings.Join(c.Causes, ", ")
			misses = append(misses, fmt.Sprintf("  %s seed %d: truth %s/%s, got %s (change %s)", c.Scenario, c.Seed, c.TruthCause, dash(c.TruthChange), got, dash(c.Change)))
		}
	}
	if len(misses) > 0 {
		fmt.Fprintf(a.Stdout, "\nMisses:\n%s\n", strings.Join(misses, "\n"))
	}
}

func newLabDrillCmd(a *App) *cobra.Command {
	var seed int64
	var scale float64
	var dir string
	cmd := &cobra.Command{
		Use:   "drill SCENARIO",
		Short: "Start a practice incident: generate a scenario, declare a drill, show only the page",
		Long: `A "wheel of misfortune" drill: generates the scenario, declares an incident
marked as a drill, and prints only what the on-call engineer would be paged with.
Investigate the generated data with sitrep triage (or by hand), record the cause
you find with sitrep incident cause, then compare with the truth: sitrep lab reveal.`,
		Example: `  sitrep lab drill bad-node --seed 42
  sitrep lab drill "$(sitrep lab list -o json | jq -r '.[].name' | shuf -n1)"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, ok := lab.Lookup(args[0])
			if !ok {
				return fmt.Errorf("unknown scenario %q (see sitrep lab list)", args[0])
			}
			if dir == "" {
				d, err := os.MkdirTemp("", "sitrep-drill-")
				if err != nil {
					return err
				}
				dir = d
			}
			abs, _ := filepath.Abs(dir)
			m, err := lab.Generate(cmd.Context(), sc.Name, abs, lab.GenerateOptions{Seed: seed, Scale: scale})
			if err != nil {
				return err
			}
			svc, err := a.services(cmd.Context())
			if err != nil {
				return err
			}
			defer svc.Close()
			inc, err := svc.Incidents.Declare(cmd.Context(), a.Actor(), incident.DeclareInput{
				Title: sc.Symptom, Severity: "SEV2", Services: []string{"api"}, Drill: true,
				Labels: map[string]string{"drill_scenario": sc.Name, "drill_seed": strconv.FormatInt(seed, 10), "drill_dir": abs},
			})
			if err != nil {
				return err
			}
			if a.Output == "json" {
				return writeJSON(a.Stdout, map[string]any{"incident": inc.Ref(), "symptom": sc.Symptom, "dir": abs, "logs": filepath.Join(abs, "logs"), "changes": m.Changes, "metrics": filepath.Join(abs, "metrics")})
			}
			fmt.Fprintf(a.Stdout, "PAGE  %s  [DRILL] %s\n\n", inc.Ref(), sc.Symptom)
			fmt.Fprintf(a.Stdout, "Evidence is in %s:\n  logs/      access logs of the load balancers and ingresses\n  changes.jsonl  the change log\n  metrics/   Prometheus query_range exports\n\n", abs)
			fmt.Fprintf(a.Stdout, "When you know the cause:\n  sitrep incident cause %s --hypothesis <cause> --root-cause \"…\"\n  sitrep lab reveal %s\n", inc.Ref(), inc.Ref())
			return nil
		},
	}
	cmd.Flags().Int64Var(&seed, "seed", 1, "scenario seed")
	cmd.Flags().Float64Var(&scale, "scale", 1, "traffic volume")
	cmd.Flags().StringVar(&dir, "dir", "", "where to write the scenario (default: a new temporary directory)")
	return cmd
}

func newLabRevealCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:     "reveal INC-n",
		Short:   "Show a drill's truth and compare it with the cause the responder recorded",
		Example: "  sitrep lab reveal INC-12",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := incidentArg(args[0])
			if err != nil {
				return err
			}
			svc, err := a.services(cmd.Context())
			if err != nil {
				return err
			}
			defer svc.Close()
			inc, err := svc.Incidents.Get(cmd.Context(), id)
			if err != nil {
				return explain(err)
			}
			name := inc.Labels["drill_scenario"]
			if !inc.Drill || name == "" {
				return fmt.Errorf("%s is not a drill (drills are started with sitrep lab drill)", inc.Ref())
			}
			truth, err := readTruth(inc.Labels["drill_dir"])
			if err != nil {
				// The data may be gone; scenarios are deterministic, so regenerate.
				seed, _ := strconv.ParseInt(inc.Labels["drill_seed"], 10, 64)
				d, derr := os.MkdirTemp("", "sitrep-reveal-")
				if derr != nil {
					return derr
				}
				defer os.RemoveAll(d)
				m, gerr := lab.Generate(cmd.Context(), name, d, lab.GenerateOptions{Seed: seed})
				if gerr != nil {
					return fmt.Errorf("read the drill's truth: %v; regenerate: %w", err, gerr)
				}
				truth = &m.Truth
			}
			verdict := "not recorded yet (sitrep incident cause " + inc.Ref() + " --hypothesis …)"
			switch {
			case inc.Cause == truth.Cause:
				verdict = "right: " + inc.Cause
			case inc.Cause != "":
				verdict = fmt.Sprintf("wrong: you recorded %s, the truth is %s", inc.Cause, truth.Cause)
			}
			if a.Output == "json" {
				return writeJSON(a.Stdout, map[string]any{"incident": inc.Ref(), "scenario": name, "truth": truth,
					"recorded_cause": inc.Cause, "recorded_root_cause": inc.RootCause, "correct": inc.Cause == truth.Cause})
			}
			tw := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "Drill\t%s (%s, seed %s)\n", inc.Ref(), name, inc.Labels["drill_seed"])
			fmt.Fprintf(tw, "Cause\t%s\n", truth.Cause)
			fmt.Fprintf(tw, "Change\t%s\n", dash(truth.ChangeID))
			fmt.Fprintf(tw, "Onset\t%s\n", truth.Onset.UTC().Format("2006-01-02 15:04:05 UTC"))
			fmt.Fprintf(tw, "Scope\t%s\n", dash(signal.JoinScope(truth.Scope, ", ")))
			fmt.Fprintf(tw, "Your answer\t%s\n", verdict)
			if inc.RootCause != "" {
				fmt.Fprintf(tw, "Your root cause\t%s\n", inc.RootCause)
			}
			tw.Flush()
			fmt.Fprintf(a.Stdout, "\nWhat happened: %s\n", truth.Notes)
			return nil
		},
	}
}

func readTruth(dir string) (*lab.Truth, error) {
	if dir == "" {
		return nil, fmt.Errorf("no drill directory recorded")
	}
	b, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		return nil, err
	}
	var t lab.Truth
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "truth.json"), err)
	}
	return &t, nil
}
