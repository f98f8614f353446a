package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/sitrep-dev/sitrep/internal/app"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/investigate"
	"github.com/sitrep-dev/sitrep/internal/lab"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
	"github.com/sitrep-dev/sitrep/internal/report"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

func newDemoCmd(a *App) *cobra.Command {
	var seed int64
	var scale float64
	var dir, scenario string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the end-to-end demo: a generated DNS-migration outage, triaged, on an incident, with a postmortem draft",
		Long: `The demo shows sitrep on a realistic incident without any setup:

  1. generates the dns-ttl-migration scenario (ingress-nginx and ALB logs,
     a change log with decoys, Prometheus metrics) into a directory,
  2. declares an incident in the default store (or --db),
  3. runs the full triage on the generated data,
  4. puts the findings, the ranked hypotheses and the blamed change on the
     incident's timeline and records the measured impact,
  5. prints the triage report and writes the postmortem draft.

Nothing leaves this machine.`,
		Example: `  sitrep demo
  sitrep demo --scenario db-pool-exhaustion --seed 7
  sitrep demo --db /tmp/demo.db --dir /tmp/demo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			t0 := time.Now()
			if dir == "" {
				d, err := os.MkdirTemp("", "sitrep-demo-")
				if err != nil {
					return err
				}
				dir = d
			}
			sc, ok := lab.Lookup(scenario)
			if !ok {
				return fmt.Errorf("unknown scenario %q (see sitrep lab list)", scenario)
			}
			step := func(n int, text string) { fmt.Fprintf(a.Stderr, "[%d/5] %s\n", n, text) }

			step(1, fmt.Sprintf("Generating the %s scenario (seed %d) in %s", sc.Name, seed, dir))
			// The generated hour ends now, so the incident reads as current.
			m, err := lab.Generate(ctx, sc.Name, dir, lab.GenerateOptions{Seed: seed, Scale: scale, Now: a.Now().UTC().Truncate(time.Minute)})
			if err != nil {
				return err
			}
			var lines int64
			var logs []string
			for _, l := range m.Logs {
				lines += l.Lines
				logs = append(logs, l.Path)
			}
			fmt.Fprintf(a.Stderr, "      %d log files (%d lines), %d changes, %d metric series\n", len(m.Logs), lines, m.ChangeCount, m.MetricSeries)

			svc, err := a.services(ctx)
			if err != nil {
				return err
			}
			defer svc.Close()
			step(2, "Declaring the incident in "+svc.Location)
			actor := a.Actor()
			inc, err := svc.Incidents.Declare(ctx, actor, incident.DeclareInput{
				Title: sc.Symptom, Severity: "SEV2", Services: []string{"api"},
				Labels: map[string]string{"demo": sc.Name, "seed": strconv.FormatInt(seed, 10)},
			})
			if err != nil {
				return err
			}
			if _, err := svc.Incidents.Transition(ctx, inc.ID, incident.Acknowledged, actor, "on it (demo)"); err != nil {
				return err
			}

			step(3, "Triaging the logs, the change log and the metrics")
			res, err := investigate.Run(ctx, investigate.Options{Logs: logs, ChangeFiles: []string{m.Changes}, MetricFiles: m.Metrics, Logger: a.Logger})
			if err != nil {
				return err
			}

			step(4, "Putting the evidence on "+inc.Ref()+"'s timeline")
			if err := attachTriage(ctx, svc, inc.ID, res); err != nil {
				return err
			}

			step(5, "Writing the postmortem draft")
			inc, err = svc.Incidents.Get(ctx, inc.ID)
			if err != nil {
				return err
			}
			events, err := svc.Incidents.Timeline(ctx, inc.ID)
			if err != nil {
				return err
			}
			pm := postmortem.Build(inc, events, nil, a.Now())
			var md bytes.Buffer
			if err := pm.Markdown(&md); err != nil {
				return err
			}
			pmPath := filepath.Join(dir, "postmortem-"+inc.Ref()+".md")
			if err := os.WriteFile(pmPath, md.Bytes(), 0o644); err != nil {
				return err
			}

			fmt.Fprintln(a.Stdout)
			color := isTTY(a.Stdout) && a.Getenv("NO_COLOR") == ""
			if err := report.Text(a.Stdout, res, report.TextOptions{Color: color, Width: termWidth(a), Verbose: a.Verbose}); err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "\nDemo finished in %.1fs. What happened really: %s\n", time.Since(t0).Seconds(), m.TruthPath)
			fmt.Fprintf(a.Stdout, "\nExplore further:\n")
			db := ""
			if a.DB != "" {
				db = " --db " + a.DB
			}
			fmt.Fprintf(a.Stdout, "  sitrep%s incident show %s            # the timeline with the evidence\n", db, inc.Ref())
			fmt.Fprintf(a.Stdout, "  less %s\n", pmPath)
			fmt.Fprintf(a.Stdout, "  sitrep triage --log '%s/logs/*' --changes %s --metrics '%s/metrics/*.json' -o markdown\n", dir, m.Changes, dir)
			fmt.Fprintf(a.Stdout, "  sitrep%s incident cause %s --hypothesis %s --root-cause \"…\"   # once you have confirmed it\n", db, inc.Ref(), topCause(res.Hypotheses))
			fmt.Fprintf(a.Stdout, "  sitrep%s serve                      # the HTTP API (create a token first: sitrep token create --name me --role admin)\n", db)
			fmt.Fprintf(a.Stdout, "  sitrep lab list                       # other failure scenarios to practise on\n")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&scenario, "scenario", "dns-ttl-migration", "the lab scenario to run")
	f.Int64Var(&seed, "seed", 1, "scenario seed")
	f.Float64Var(&scale, "scale", 1, "traffic volume (1 ≈ 30k lines)")
	f.StringVar(&dir, "dir", "", "where to write the generated data and the postmortem (default: a new temporary directory, kept)")
	return cmd
}

func termWidth(a *App) int {
	if c, err := strconv.Atoi(a.Getenv("COLUMNS")); err == nil && c >= 60 {
		return c
	}
	return 100
}

// attachTriage puts a triage result on an incident: evidence events on the
// timeline, the measured impact and the onset.
func attachTriage(ctx context.Context, svc *app.Services, id int64, res *triage.Result) error {
	if err := svc.Incidents.AppendEvidence(ctx, id, investigate.TimelineEvents(res, "sitrep")); err != nil {
		return err
	}
	im := investigate.Impact(res)
	edit := incident.EditInput{Impact: &im, DetectedAt: res.Impact.Onset}
	_, err := svc.Incidents.Edit(ctx, id, "sitrep", edit)
	return err
}

func topCause(hs []triage.Hypothesis) string {
	for _, h := range hs {
		if h.Cause != "unknown" {
			return h.Cause
		}
	}
	return "CAUSE"
}
