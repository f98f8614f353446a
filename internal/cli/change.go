package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/source/changes"
)

func newChangeCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "change",
		Short: "Record, import and list change events (deploys, DNS, CDN, infra …)",
		Long: `The change log: what changed in production, when, and where. sitrep triage
uses the stored changes automatically to find the one that lines up with an
incident. Changes can also come from a JSON-lines file (--changes), from
POST /api/v1/changes, and from the importers below.`,
		Example: `  sitrep change record --kind deploy --service api --summary "deploy api v2.14.0" --scope region=eu --detail version=v2.14.0
  sitrep change list --since 24h
  sitrep change import git --repo . --service api
  kubectl get replicasets -n prod -o json | sitrep change import k8s --file -
  sitrep change import dns --before zone.old --after zone.new --origin example.com.`,
	}
	cmd.AddCommand(changeRecordCmd(a), changeListCmd(a), changeImportCmd(a))
	return cmd
}

func changeRecordCmd(a *App) *cobra.Command {
	var c signal.Change
	var scope, details []string
	var at string
	cmd := &cobra.Command{
		Use:   "record --kind KIND --summary TEXT",
		Short: "Record one change event",
		Example: `  sitrep change record --kind deploy --service api --summary "deploy api v2.14.0" --scope region=eu --detail version=v2.14.0 --detail previous_version=v2.13.2
  sitrep change record --kind dns --summary "api.example.com eu → new LB" --detail name=api.example.com --detail old=203.0.113.10 --detail new=198.51.100.20 --detail ttl=86400
  sitrep change record --kind infra --summary "decommission old eu LB" --detail action=decommission --at 2026-11-20T14:00:00Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			if !signal.ValidChangeKind(c.Kind) {
				return fmt.Errorf("--kind %q: want one of %s", c.Kind, strings.Join(signal.ChangeKinds, ", "))
			}
			var err error
			if c.Scope, err = parseKV("--scope", scope); err != nil {
				return err
			}
			if len(c.Scope) == 0 {
				c.Scope = nil
			}
			d, err := parseKV("--detail", details)
			if err != nil {
				return err
			}
			if len(d) > 0 {
				c.Details = map[string]any{}
				for k, v := range d {
					// numbers stay numbers (ttl, replicas), the rest is text
					if f, err := strconv.ParseFloat(v, 64); err == nil {
						c.Details[k] = f
					} else {
						c.Details[k] = v
					}
				}
			}
			if at != "" {
				if c.Time, err = parseWhen(at, a.Now()); err != nil {
					return fmt.Errorf("--at: %w", err)
				}
			}
			svc, err := a.services(cmd.Context())
			if err != nil {
				return err
			}
			defer svc.Close()
			out, err := svc.Changes.Record(cmd.Context(), a.Actor(), []signal.Change{c})
			if err != nil {
				return err
			}
			if a.Output == "json" {
				return writeJSON(a.Stdout, out[0])
			}
			fmt.Fprintf(a.Stdout, "Recorded %s (%s at %s): %s\n", out[0].ID, out[0].Kind, out[0].Time.Format(time.RFC3339), out[0].Summary)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.ID, "id", "", "change id (default: generated)")
	f.StringVar(&c.Kind, "kind", "", "one of "+strings.Join(signal.ChangeKinds, ", ")+" (required)")
	f.StringVar(&c.Service, "service", "", "the service changed")
	f.StringVar(&c.Summary, "summary", "", "what changed, in words (required)")
	f.StringArrayVar(&scope, "scope", nil, "where: key=value such as region=eu, cluster=…, pod=… (repeatable)")
	f.StringArrayVar(&details, "detail", nil, "kind-specific key=value: version, previous_version; name, old, new, ttl; action, target (repeatable)")
	f.StringVar(&at, "at", "", "when it happened (RFC 3339 or an age such as 20m; default now)")
	return cmd
}

func changeListCmd(a *App) *cobra.Command {
	var since, until, kind string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List stored changes, oldest first",
		Example: "  sitrep change list --since 24h\n  sitrep change list --since 2026-11-20 --kind dns -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			now := a.Now()
			s, err := parseWhen(since, now)
			if err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			u, err := parseWhen(until, now)
			if err != nil {
				return fmt.Errorf("--until: %w", err)
			}
			svc, err := a.services(cmd.Context())
			if err != nil {
				return err
			}
			defer svc.Close()
			chs, err := svc.Changes.List(cmd.Context(), s, u)
			if err != nil {
				return err
			}
			out := []signal.Change{}
			for _, c := range chs {
				if kind == "" || c.Kind == kind {
					out = append(out, c)
				}
			}
			if a.Output == "json" {
				return writeJSON(a.Stdout, out)
			}
			if len(out) == 0 {
				fmt.Fprintln(a.Stdout, "No changes in that window.")
				return nil
			}
			renderChanges(a.Stdout, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&since, "since", "24h", "from (RFC 3339, a date, or an age such as 24h)")
	cmd.Flags().StringVar(&until, "until", "", "until (default: now)")
	cmd.Flags().StringVar(&kind, "kind", "", "only this kind")
	return cmd
}

func renderChanges(w io.Writer, chs []signal.Change) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tID\tKIND\tSERVICE\tSCOPE\tSUMMARY")
	for _, c := range chs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Time.UTC().Format("2006-01-02 15:04:05"), c.ID, c.Kind, dash(c.Service), dash(signal.JoinScope(c.Scope, ",")), trunc(c.Summary, 70))
	}
	tw.Flush()
}

func changeImportCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import changes from git, Kubernetes rollouts or DNS zone files",
		Example: `  sitrep change import git --repo . --service api --since 7d
  sitrep change import k8s --file rollout.json --scope cluster=prod-eu
  sitrep change import dns --before zone.old --after zone.new --origin example.com. --at 2026-11-20T12:03:00Z`,
	}
	var dry bool
	var scope []string
	var service string
	store := func(cmd *cobra.Command, chs []signal.Change) error {
		if s, err := parseKV("--scope", scope); err != nil {
			return err
		} else if len(s) > 0 {
			for i := range chs {
				if chs[i].Scope == nil {
					chs[i].Scope = map[string]string{}
				}
				for k, v := range s {
					chs[i].Scope[k] = v
				}
			}
		}
		if service != "" {
			for i := range chs {
				chs[i].Service = service
			}
		}
		if !dry && len(chs) > 0 {
			if err := a.recordChanges(cmd.Context(), chs); err != nil {
				return err
			}
		}
		if a.Output == "json" {
			if chs == nil {
				chs = []signal.Change{}
			}
			return writeJSON(a.Stdout, chs)
		}
		if len(chs) > 0 {
			renderChanges(a.Stdout, chs)
		}
		verb := "Imported"
		if dry {
			verb = "Would import (--dry-run)"
		}
		fmt.Fprintf(a.Stderr, "%s %d changes\n", verb, len(chs))
		return nil
	}
	addCommon := func(c *cobra.Command) {
		c.Flags().BoolVar(&dry, "dry-run", false, "print the changes without storing them")
		c.Flags().StringArrayVar(&scope, "scope", nil, "add key=value to every change's scope (repeatable)")
		c.Flags().StringVar(&service, "service", "", "the service the changes belong to")
	}

	var repo, rev, since string
	var max int
	git := &cobra.Command{
		Use:     "git --repo PATH",
		Short:   "Commits and tags of a git repository as deploy candidates",
		Example: "  sitrep change import git --repo ~/src/api --service api --since 7d",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			o := changes.GitOptions{Service: service, Rev: rev, Max: max}
			var err error
			if o.Since, err = parseWhen(since, a.Now()); err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			chs, err := changes.ImportGit(cmd.Context(), repo, o)
			if err != nil {
				return err
			}
			return store(cmd, chs)
		},
	}
	git.Flags().StringVar(&repo, "repo", ".", "repository path")
	git.Flags().StringVar(&rev, "rev", "", "revision range (default HEAD)")
	git.Flags().StringVar(&since, "since", "", "only commits and tags after (RFC 3339 or an age such as 7d… use 168h)")
	git.Flags().IntVar(&max, "max", 500, "at most this many commits")
	addCommon(git)

	var file, deployment string
	k8s := &cobra.Command{
		Use:     "k8s --file FILE",
		Short:   "Deployment revisions from `kubectl get replicasets -o json` (or a Deployment/ReplicaSet object)",
		Example: "  kubectl get rs -n prod -l app=api -o json > rs.json && sitrep change import k8s --file rs.json --scope cluster=prod-eu",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			r, closeFn, err := openInput(a, file)
			if err != nil {
				return err
			}
			defer closeFn()
			chs, err := changes.ImportK8s(r, changes.K8sOptions{Service: service, Deployment: deployment})
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			return store(cmd, chs)
		},
	}
	k8s.Flags().StringVar(&file, "file", "-", "the JSON file (- for stdin)")
	k8s.Flags().StringVar(&deployment, "deployment", "", "only this Deployment's revisions")
	addCommon(k8s)

	var before, after, origin, at string
	dns := &cobra.Command{
		Use:     "dns --before ZONEFILE --after ZONEFILE",
		Short:   "Every changed record between two RFC 1035 zone files, with the TTL that was cached",
		Example: "  sitrep change import dns --before zone.old --after zone.new --origin example.com. --at 2026-11-20T12:03:00Z",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			if before == "" || after == "" {
				return fmt.Errorf("give both --before and --after zone files")
			}
			when := a.Now()
			if at != "" {
				var err error
				if when, err = parseWhen(at, a.Now()); err != nil {
					return fmt.Errorf("--at: %w", err)
				}
			}
			b, err := os.Open(before)
			if err != nil {
				return err
			}
			defer b.Close()
			af, err := os.Open(after)
			if err != nil {
				return err
			}
			defer af.Close()
			chs, err := changes.DiffZones(b, af, origin, when)
			if err != nil {
				return err
			}
			return store(cmd, chs)
		},
	}
	dns.Flags().StringVar(&before, "before", "", "the zone file before the change")
	dns.Flags().StringVar(&after, "after", "", "the zone file after the change")
	dns.Flags().StringVar(&origin, "origin", "", "the zone's origin when the files have no $ORIGIN (e.g. example.com.)")
	dns.Flags().StringVar(&at, "at", "", "when the change went live (default now)")
	addCommon(dns)

	cmd.AddCommand(git, k8s, dns)
	return cmd
}

// openInput opens a file, or standard input for "-".
func openInput(a *App, path string) (io.Reader, func(), error) {
	if path == "-" || path == "" {
		return a.Stdin, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}
