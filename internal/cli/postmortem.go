package cli

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
)

func newPostmortemCmd(a *App) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "postmortem INC-n",
		Short: "Render an incident's postmortem draft from its timeline (markdown or json)",
		Long: `Render the postmortem draft of an incident: summary, timeline milestones
(detected, team notified, containment started, root cause identified,
resolution implemented, service restored), root cause, resolution, impact,
lessons learned and action items. Figures the incident did not record are
marked unknown, never estimated.`,
		Example: `  sitrep postmortem INC-1
  sitrep postmortem INC-1 --out postmortem-INC-1.md
  sitrep postmortem INC-1 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.Output == "text" {
				a.Output = "markdown"
			}
			if err := a.checkOutput("markdown", "json"); err != nil {
				return err
			}
			id, err := incidentArg(args[0])
			if err != nil {
				return err
			}
			svc, err := a.services(cmd.Context())
			if err != nil {
				return err
			}
			defer svc.Close()
			ctx := cmd.Context()
			inc, err := svc.Incidents.Get(ctx, id)
			if err != nil {
				return explain(err)
			}
			events, err := svc.Incidents.Timeline(ctx, id)
			if err != nil {
				return err
			}
			actions, err := svc.Incidents.ListActions(ctx, incident.ActionFilter{IncidentID: id})
			if err != nil {
				return err
			}
			r := postmortem.Build(inc, events, actions, a.Now())
			var buf bytes.Buffer
			if a.Output == "json" {
				err = writeJSON(&buf, r)
			} else {
				err = r.Markdown(&buf)
			}
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = a.Stdout.Write(buf.Bytes())
				return err
			}
			if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
				return fmt.Errorf("write postmortem: %w", err)
			}
			fmt.Fprintf(a.Stderr, "Wrote the postmortem draft of %s to %s\n", inc.Ref(), out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of standard output")
	return cmd
}
