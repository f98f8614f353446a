package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/signal"
)

func newIncidentCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "incident",
		Aliases: []string{"inc", "incidents"},
		Short:   "Declare and work incidents: status, roles, notes, updates, action items",
		Long: `Declare and work incidents.

An incident moves triggered → acknowledged → mitigated → resolved → closed
(closed once the postmortem is done). Every change lands on its append-only
timeline with who did it and when. The actor is $SITREP_USER, else the OS user.

Severities:
  SEV1  critical: customer-facing outage or data loss; page everyone now
  SEV2  major: a core feature degraded for many users, or a partial outage
  SEV3  minor: limited impact or a workaround exists; business hours
  SEV4  low: cosmetic or internal, no customer impact yet`,
		Example: `  sitrep incident declare --title "API returns 503s" --severity SEV2 --service api
  sitrep incident ack INC-1
  sitrep incident assign INC-1 --role commander alice
  sitrep incident note INC-1 "eu error rate 40%, others normal"
  sitrep incident update INC-1 "Investigating elevated errors for EU users"
  sitrep incident mitigate INC-1 --note "old load balancer serving again"
  sitrep incident resolve INC-1 --resolution "kept old LB until caches expired"
  sitrep incident show INC-1`,
	}
	cmd.AddCommand(
		incDeclareCmd(a), incListCmd(a), incShowCmd(a),
		incTransitionCmd(a, "ack", incident.Acknowledged, "Acknowledge an incident (you are on it)", "note"),
		incTransitionCmd(a, "mitigate", incident.Mitigated, "Mark an incident mitigated (impact contained)", "note"),
		incTransitionCmd(a, "resolve", incident.Resolved, "Mark an incident resolved (service restored)", "resolution"),
		incTransitionCmd(a, "close", incident.Closed, "Close a resolved incident (postmortem done)", "note"),
		incTransitionCmd(a, "reopen", incident.Acknowledged, "Reopen a resolved incident", "note"),
		incNoteCmd(a), incUpdateCmd(a), incAssignCmd(a), incEditCmd(a), incCauseCmd(a), incActionCmd(a),
	)
	return cmd
}

func incDeclareCmd(a *App) *cobra.Command {
	var in incident.DeclareInput
	var labels []string
	var detected string
	cmd := &cobra.Command{
		Use:   "declare",
		Short: "Declare a new incident",
		Example: `  sitrep incident declare --title "API returns 503s for EU users" --severity SEV2 --service api
  sitrep incident declare --title "Checkout slow" --severity 3 --service checkout --commander alice --label team=payments`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			lm, err := parseKV("--label", labels)
			if err != nil {
				return err
			}
			in.Labels = lm
			if detected != "" {
				t, err := parseWhen(detected, a.Now())
				if err != nil {
					return fmt.Errorf("--detected-at: %w", err)
				}
				in.DetectedAt = &t
			}
			svc, err := a.services(cmd.Context())
			if err != nil {
				return err
			}
			defer svc.Close()
			inc, err := svc.Incidents.Declare(cmd.Context(), a.Actor(), in)
			if err != nil {
				return err
			}
			if a.Output == "json" {
				return writeJSON(a.Stdout, inc)
			}
			fmt.Fprintf(a.Stdout, "Declared %s (%s, %s): %s\n", inc.Ref(), inc.Severity, inc.Status, inc.Title)
			fmt.Fprintf(a.Stdout, "Next: sitrep incident ack %s   ·   sitrep incident show %s\n", inc.Ref(), inc.Ref())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.Title, "title", "", "what is wrong, as users see it (required)")
	f.StringVar(&in.Severity, "severity", "", "SEV1 (critical) … SEV4 (low) (required)")
	f.StringSliceVar(&in.Services, "service", nil, "affected service (repeat or comma-separate)")
	f.StringArrayVar(&labels, "label", nil, "label key=value (repeatable)")
	f.StringVar(&in.Commander, "commander", "", "incident commander")
	f.StringVar(&in.Summary, "summary", "", "first note on the timeline")
	f.StringVar(&detected, "detected-at", "", "when the problem started, if before now (RFC 3339 or an age such as 20m)")
	return cmd
}

func parseKV(flag string, items []string) (map[string]string, error) {
	m := map[string]string{}
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%s %q: want key=value", flag, it)
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m, nil
}

func incListCmd(a *App) *cobra.Command {
	var statuses, sevs []string
	var service string
	var limit int
	var all bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List incidents, newest first (open ones unless --all or --status)",
		Example: `  sitrep incident list
  sitrep incident list --all
  sitrep incident list --status triggered,acknowledged --severity SEV1,SEV2
  sitrep incident list --service api -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			f := incident.ListFilter{Service: service, Limit: limit}
			for _, s := range statuses {
				st, err := incident.ParseStatus(s)
				if err != nil {
					return err
				}
				f.Statuses = append(f.Statuses, st)
			}
			if len(f.Statuses) == 0 && !all {
				f.Statuses = []incident.Status{incident.Triggered, incident.Acknowledged, incident.Mitigated}
			}
			for _, s := range sevs {
				sv, err := incident.ParseSeverity(s)
				if err != nil {
					return err
				}
				f.Severities = append(f.Severities, sv)
			}
			svc, err := a.services(cmd.Context())
			if err != nil {
				return err
			}
			defer svc.Close()
			incs, err := svc.Incidents.List(cmd.Context(), f)
			if err != nil {
				return err
			}
			if a.Output == "json" {
				if incs == nil {
					incs = []*incident.Incident{}
				}
				return writeJSON(a.Stdout, incs)
			}
			if len(incs) == 0 {
				hint := ""
				if !all && len(statuses) == 0 {
					hint = " (resolved and closed ones are hidden: add --all)"
				}
				fmt.Fprintf(a.Stdout, "No incidents%s.\n", hint)
				return nil
			}
			tw := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSEV\tSTATUS\tAGE\tCOMMANDER\tSERVICES\tTITLE")
			for _, inc := range incs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", inc.Ref(), inc.Severity, inc.Status,
					age(a.Now(), inc.CreatedAt), dash(inc.Commander), dash(strings.Join(inc.Services, ",")), trunc(inc.Title, 60))
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&statuses, "status", nil, "only these statuses (comma-separated)")
	f.StringSliceVar(&sevs, "severity", nil, "only these severities (comma-separated)")
	f.StringVar(&service, "service", "", "only incidents affecting this service")
	f.IntVar(&limit, "limit", 0, "at most this many (0 = all)")
	f.BoolVar(&all, "all", false, "include resolved and closed incidents")
	return cmd
}

func incShowCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:     "show INC-n",
		Short:   "Show an incident: summary, roles, status updates, action items and timeline",
		Example: "  sitrep incident show INC-1\n  sitrep incident show INC-1 -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
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
			if a.Output == "json" {
				if actions == nil {
					actions = []*incident.ActionItem{}
				}
				return writeJSON(a.Stdout, struct {
					*incident.Incident
					Timeline    []incident.Event       `json:"timeline"`
					ActionItems []*incident.ActionItem `json:"action_items"`
				}{inc, events, actions})
			}
			renderIncident(a.Stdout, inc, events, actions, a.Now())
			return nil
		},
	}
}

func renderIncident(w io.Writer, inc *incident.Incident, events []incident.Event, actions []*incident.ActionItem, now time.Time) {
	drill := ""
	if inc.Drill {
		drill = " [DRILL]"
	}
	fmt.Fprintf(w, "%s  %s%s\n\n", inc.Ref(), inc.Title, drill)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Severity\t%s\n", inc.Severity)
	fmt.Fprintf(tw, "Status\t%s (since %s)\n", inc.Status, stamp(inc.UpdatedAt))
	fmt.Fprintf(tw, "Declared\t%s by %s (%s ago)\n", stamp(inc.CreatedAt), inc.CreatedBy, age(now, inc.CreatedAt))
	if inc.DetectedAt != nil {
		fmt.Fprintf(tw, "Onset\t%s\n", stamp(*inc.DetectedAt))
	}
	fmt.Fprintf(tw, "Services\t%s\n", dash(strings.Join(inc.Services, ", ")))
	if len(inc.Labels) > 0 {
		fmt.Fprintf(tw, "Labels\t%s\n", signal.JoinScope(inc.Labels, ", "))
	}
	fmt.Fprintf(tw, "Commander\t%s\n", dash(inc.Commander))
	fmt.Fprintf(tw, "Communications\t%s\n", dash(inc.Communications))
	fmt.Fprintf(tw, "Scribe\t%s\n", dash(inc.Scribe))
	fmt.Fprintf(tw, "Responders\t%s\n", dash(strings.Join(inc.Responders, ", ")))
	fmt.Fprintf(tw, "Impact\t%s\n", inc.Impact.String())
	if inc.RootCause != "" || inc.Cause != "" {
		c := inc.RootCause
		if inc.Cause != "" {
			c = strings.TrimSpace("[" + inc.Cause + "] " + c)
		}
		fmt.Fprintf(tw, "Root cause\t%s\n", c)
	}
	if inc.Resolution != "" {
		fmt.Fprintf(tw, "Resolution\t%s\n", inc.Resolution)
	}
	tw.Flush()

	var last *incident.Event
	for i := range events {
		if events[i].Kind == incident.EventComms {
			last = &events[i]
		}
	}
	if last != nil {
		fmt.Fprintf(w, "\nLatest status update (%s, %s):\n  %s\n", stamp(last.Time), last.Actor, last.Text)
	}
	if len(actions) > 0 {
		fmt.Fprintln(w, "\nAction items:")
		renderActions(w, actions)
	}
	fmt.Fprintf(w, "\nTimeline (%d events):\n", len(events))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, e := range events {
		text := e.Text
		lines := strings.Split(text, "\n")
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", stamp(e.Time), e.Kind, e.Actor, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(tw, "  \t\t\t%s\n", l)
		}
	}
	tw.Flush()
}

func incTransitionCmd(a *App, name string, to incident.Status, short, textFlag string) *cobra.Command {
	var text string
	cmd := &cobra.Command{
		Use:     name + " INC-n",
		Short:   short,
		Example: fmt.Sprintf("  sitrep incident %s INC-1\n  sitrep incident %s INC-1 --%s \"…\"", name, name, textFlag),
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
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
			if name == "reopen" {
				cur, err := svc.Incidents.Get(cmd.Context(), id)
				if err != nil {
					return explain(err)
				}
				if cur.Status != incident.Resolved {
					return fmt.Errorf("%s is %s; only a resolved incident can be reopened", cur.Ref(), cur.Status)
				}
			}
			inc, err := svc.Incidents.Transition(cmd.Context(), id, to, a.Actor(), text)
			if err != nil {
				return explain(err)
			}
			return printIncidentLine(a, inc, "is now "+string(inc.Status))
		},
	}
	cmd.Flags().StringVar(&text, textFlag, "", "text recorded on the timeline with the status change")
	return cmd
}

func printIncidentLine(a *App, inc *incident.Incident, what string) error {
	if a.Output == "json" {
		return writeJSON(a.Stdout, inc)
	}
	fmt.Fprintf(a.Stdout, "%s %s\n", inc.Ref(), what)
	return nil
}

func incNoteCmd(a *App) *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:   "note INC-n TEXT...",
		Short: "Add a note (or an action taken, or an alert) to the timeline",
		Example: `  sitrep incident note INC-1 "errors only from eu-west-1"
  sitrep incident note INC-1 --kind action "drained node ip-10-1-2-3"`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return addEvent(a, cmd, args, kind)
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "note", "note, action (something done), alert, evidence, change or comms")
	return cmd
}

func incUpdateCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:     "update INC-n TEXT...",
		Short:   "Post a stakeholder status update",
		Example: `  sitrep incident update INC-1 "Some EU users see errors. We have found the cause and are mitigating. Next update 13:30 UTC."`,
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return addEvent(a, cmd, args, incident.EventComms)
		},
	}
}

func addEvent(a *App, cmd *cobra.Command, args []string, kind string) error {
	if err := a.checkOutput("text", "json"); err != nil {
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
	ev, err := svc.Incidents.Note(cmd.Context(), id, a.Actor(), kind, strings.Join(args[1:], " "), nil)
	if err != nil {
		return explain(err)
	}
	if a.Output == "json" {
		return writeJSON(a.Stdout, ev)
	}
	what := "note"
	if kind == incident.EventComms {
		what = "status update"
	} else if kind != incident.EventNote {
		what = kind
	}
	fmt.Fprintf(a.Stdout, "%s: %s added\n", incident.FormatID(id), what)
	return nil
}

func incAssignCmd(a *App) *cobra.Command {
	var role string
	cmd := &cobra.Command{
		Use:   "assign INC-n PERSON",
		Short: "Give someone a role: commander, communications, scribe or responder",
		Example: `  sitrep incident assign INC-1 --role commander alice
  sitrep incident assign INC-1 --role responder bob`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
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
			inc, err := svc.Incidents.Assign(cmd.Context(), id, a.Actor(), role, args[1])
			if err != nil {
				return explain(err)
			}
			return printIncidentLine(a, inc, "now has "+args[1]+" as "+role)
		},
	}
	cmd.Flags().StringVar(&role, "role", incident.RoleResponder, "commander, communications, scribe or responder")
	return cmd
}

func incEditCmd(a *App) *cobra.Command {
	var title, sev, impact string
	var services, labels []string
	var users, reqs int64
	var downtime float64
	cmd := &cobra.Command{
		Use:   "edit INC-n",
		Short: "Change severity, title, services, labels, or record the impact",
		Example: `  sitrep incident edit INC-1 --severity SEV1
  sitrep incident edit INC-1 --users-affected 41200 --requests-failed 18734 --downtime-minutes 95`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			id, err := incidentArg(args[0])
			if err != nil {
				return err
			}
			var in incident.EditInput
			fl := cmd.Flags()
			if fl.Changed("title") {
				in.Title = &title
			}
			if fl.Changed("severity") {
				in.Severity = &sev
			}
			in.Services = services
			if in.Labels, err = parseKV("--label", labels); err != nil {
				return err
			}
			var im incident.Impact
			if fl.Changed("users-affected") {
				im.UsersAffected = &users
			}
			if fl.Changed("requests-failed") {
				im.RequestsFailed = &reqs
			}
			if fl.Changed("downtime-minutes") {
				im.DowntimeMinutes = &downtime
			}
			im.Summary = impact
			if im != (incident.Impact{}) {
				in.Impact = &im
			}
			svc, err := a.services(cmd.Context())
			if err != nil {
				return err
			}
			defer svc.Close()
			inc, err := svc.Incidents.Edit(cmd.Context(), id, a.Actor(), in)
			if err != nil {
				return explain(err)
			}
			return printIncidentLine(a, inc, "updated")
		},
	}
	f := cmd.Flags()
	f.StringVar(&title, "title", "", "new title")
	f.StringVar(&sev, "severity", "", "new severity")
	f.StringSliceVar(&services, "service", nil, "add an affected service")
	f.StringArrayVar(&labels, "label", nil, "set label key=value")
	f.Int64Var(&users, "users-affected", 0, "users affected (record only what you know)")
	f.Int64Var(&reqs, "requests-failed", 0, "requests that failed")
	f.Float64Var(&downtime, "downtime-minutes", 0, "minutes of downtime")
	f.StringVar(&impact, "impact", "", "impact in words")
	return cmd
}

func incCauseCmd(a *App) *cobra.Command {
	var cause, root string
	cmd := &cobra.Command{
		Use:   "cause INC-n",
		Short: "Record the confirmed root cause (the postmortem uses it)",
		Example: `  sitrep incident cause INC-1 --hypothesis dns-stale-cache --root-cause "eu record moved with TTL 86400; old LB decommissioned"
  sitrep incident cause INC-2 --root-cause "connection leak in v2.14.0"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
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
			inc, err := svc.Incidents.SetCause(cmd.Context(), id, a.Actor(), cause, root)
			if err != nil {
				return explain(err)
			}
			return printIncidentLine(a, inc, "root cause recorded")
		},
	}
	cmd.Flags().StringVar(&cause, "hypothesis", "", "the triage hypothesis confirmed (a cause such as dns-stale-cache, bad-deploy …)")
	cmd.Flags().StringVar(&root, "root-cause", "", "the root cause in words")
	return cmd
}

func incActionCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "action",
		Short: "Track action items: add, done, list",
		Example: `  sitrep incident action add INC-1 --title "Lower TTLs before migrations" --owner netops --due 2026-12-15
  sitrep incident action done 3
  sitrep incident action list --state open`,
	}
	var title, owner, due string
	add := &cobra.Command{
		Use:     "add INC-n --title TEXT [--owner WHO] [--due YYYY-MM-DD]",
		Short:   "Add an action item to an incident",
		Example: `  sitrep incident action add INC-1 --title "Add dns guard to the runbook" --owner alice --due 2026-12-01`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			id, err := incidentArg(args[0])
			if err != nil {
				return err
			}
			in := incident.AddActionInput{Title: title, Owner: owner}
			if due != "" {
				t, err := time.Parse("2006-01-02", due)
				if err != nil {
					return fmt.Errorf("--due %q: want a date like 2026-12-15", due)
				}
				in.Due = &t
			}
			svc, err := a.services(cmd.Context())
			if err != nil {
				return err
			}
			defer svc.Close()
			ai, err := svc.Incidents.AddAction(cmd.Context(), id, a.Actor(), in)
			if err != nil {
				return explain(err)
			}
			if a.Output == "json" {
				return writeJSON(a.Stdout, ai)
			}
			fmt.Fprintf(a.Stdout, "Action item #%d added to %s\n", ai.ID, incident.FormatID(id))
			return nil
		},
	}
	add.Flags().StringVar(&title, "title", "", "what to do (required)")
	add.Flags().StringVar(&owner, "owner", "", "who owns it")
	add.Flags().StringVar(&due, "due", "", "due date (YYYY-MM-DD)")

	done := &cobra.Command{
		Use:     "done ID",
		Short:   "Mark an action item done",
		Example: "  sitrep incident action done 3",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			n, err := strconv.ParseInt(strings.TrimPrefix(args[0], "#"), 10, 64)
			if err != nil {
				return fmt.Errorf("action item id %q: want a number (see sitrep incident action list)", args[0])
			}
			svc, err := a.services(cmd.Context())
			if err != nil {
				return err
			}
			defer svc.Close()
			ai, err := svc.Incidents.CompleteAction(cmd.Context(), n, a.Actor())
			if err != nil {
				return explain(err)
			}
			if a.Output == "json" {
				return writeJSON(a.Stdout, ai)
			}
			fmt.Fprintf(a.Stdout, "Action item #%d done\n", ai.ID)
			return nil
		},
	}
	var state, lowner string
	list := &cobra.Command{
		Use:     "list [INC-n]",
		Short:   "List action items (all incidents, or one)",
		Example: "  sitrep incident action list\n  sitrep incident action list INC-1 --state open -o json",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			f := incident.ActionFilter{State: state, Owner: lowner}
			if state != "" && state != incident.ActionOpen && state != incident.ActionDone {
				return fmt.Errorf("--state %q: want open or done", state)
			}
			if len(args) == 1 {
				id, err := incidentArg(args[0])
				if err != nil {
					return err
				}
				f.IncidentID = id
			}
			svc, err := a.services(cmd.Context())
			if err != nil {
				return err
			}
			defer svc.Close()
			items, err := svc.Incidents.ListActions(cmd.Context(), f)
			if err != nil {
				return err
			}
			if a.Output == "json" {
				if items == nil {
					items = []*incident.ActionItem{}
				}
				return writeJSON(a.Stdout, items)
			}
			if len(items) == 0 {
				fmt.Fprintln(a.Stdout, "No action items.")
				return nil
			}
			renderActions(a.Stdout, items)
			return nil
		},
	}
	list.Flags().StringVar(&state, "state", "", "open or done")
	list.Flags().StringVar(&lowner, "owner", "", "only this owner's")
	cmd.AddCommand(add, done, list)
	return cmd
}

func renderActions(w io.Writer, items []*incident.ActionItem) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tINCIDENT\tSTATE\tOWNER\tDUE\tTITLE")
	for _, it := range items {
		due := "-"
		if it.Due != nil {
			due = it.Due.UTC().Format("2006-01-02")
		}
		fmt.Fprintf(tw, "  #%d\t%s\t%s\t%s\t%s\t%s\n", it.ID, incident.FormatID(it.IncidentID), it.State, dash(it.Owner), due, trunc(it.Title, 70))
	}
	tw.Flush()
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

func age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

func trunc(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
