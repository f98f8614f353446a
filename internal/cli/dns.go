package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"github.com/sitrep-dev/sitrep/internal/dnsops/audit"
	"github.com/sitrep-dev/sitrep/internal/dnsops/guard"
	"github.com/sitrep-dev/sitrep/internal/dnsops/plan"
	dnsprobe "github.com/sitrep-dev/sitrep/internal/probe/dns"
)

// newDNSCmd builds `sitrep dns` and its subcommands.
func newDNSCmd(a *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dns",
		Short: "Check resolvers, audit TTLs, plan and guard DNS migrations",
		Long: `See what resolvers really answer, audit TTLs against a policy, plan a record
migration that cannot strand users, and guard the decommission of the old
endpoint.`,
		Example: `  sitrep dns check api.example.com --resolver eu=10.1.0.53 --resolver us=10.2.0.53 --expect 198.51.100.20
  sitrep dns audit --zone example.com.zone --max-ttl 300
  sitrep dns plan api.example.com --from 203.0.113.10 --to 198.51.100.20 --ttl 86400 -o markdown
  sitrep dns guard --old 203.0.113.10 --log /var/log/nginx/old-lb.log --name api.example.com --expect 198.51.100.20`,
	}
	cmd.AddCommand(newDNSCheckCmd(a), newDNSAuditCmd(a), newDNSPlanCmd(a), newDNSGuardCmd(a))
	return cmd
}

// resolverFlags are the flags that choose which DNS servers to ask.
type resolverFlags struct {
	resolvers   []string
	set         string
	config      string
	authority   []string
	noAuthority bool
	timeout     time.Duration
}

func (f *resolverFlags) register(cmd *cobra.Command, withAuthority bool) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.resolvers, "resolver", nil, "resolver to ask, label=ADDR or ADDR (host or host:port); repeat for several (default: the config's resolver set, else /etc/resolv.conf)")
	fl.StringVar(&f.set, "resolvers", "", "named resolver set from the config file (default: the set named \"default\" if there is one)")
	fl.StringVar(&f.config, "config", "", "config file (env SITREP_CONFIG; default $XDG_CONFIG_HOME/sitrep/config.yaml)")
	fl.DurationVar(&f.timeout, "timeout", 2*time.Second, "timeout of one DNS query attempt")
	if withAuthority {
		fl.StringArrayVar(&f.authority, "authority", nil, "authoritative server to compare with, host or host:port (default: the zone's NS, found through the first resolver); repeat for several")
		fl.BoolVar(&f.noAuthority, "no-authority", false, "do not compare with the authoritative servers (for GeoDNS names whose answer depends on who asks)")
	}
}

// resolve returns the resolvers to ask: --resolver, else --resolvers SET,
// else the config's default set, else the system's resolvers.
func (f *resolverFlags) resolve(a *App) ([]dnsprobe.Resolver, error) {
	if len(f.resolvers) > 0 {
		if f.set != "" {
			return nil, fmt.Errorf("--resolver and --resolvers %s: give one or the other", f.set)
		}
		out := make([]dnsprobe.Resolver, 0, len(f.resolvers))
		seen := map[string]bool{}
		for _, s := range f.resolvers {
			r, err := dnsprobe.ParseResolver(s)
			if err != nil {
				return nil, fmt.Errorf("--resolver: %w", err)
			}
			if seen[r.Label] {
				return nil, fmt.Errorf("--resolver: label %q is used twice", r.Label)
			}
			seen[r.Label] = true
			out = append(out, r)
		}
		return out, nil
	}
	path, explicit := f.config, f.config != ""
	if !explicit {
		if env := a.Getenv("SITREP_CONFIG"); env != "" {
			path, explicit = env, true
		} else {
			path = dnsprobe.DefaultConfigPath(a.Getenv)
		}
	}
	cfg := &dnsprobe.Config{}
	if path != "" {
		var err error
		if cfg, err = dnsprobe.LoadConfig(path, !explicit); err != nil {
			return nil, err
		}
	}
	if f.set != "" {
		return cfg.Set(f.set)
	}
	if rs, ok := cfg.Resolvers["default"]; ok {
		return rs, nil
	}
	return dnsprobe.SystemResolvers("/etc/resolv.conf")
}

func (f *resolverFlags) authorities() ([]string, error) {
	out := make([]string, 0, len(f.authority))
	for _, s := range f.authority {
		addr, err := dnsprobe.NormalizeAddr(s)
		if err != nil {
			return nil, fmt.Errorf("--authority: %w", err)
		}
		out = append(out, addr)
	}
	return out, nil
}

func (f *resolverFlags) client(a *App) *dnsprobe.Client {
	return dnsprobe.NewClient(dnsprobe.Options{Timeout: f.timeout, Logger: a.Logger, Now: a.Now})
}

func parseQType(s string) (uint16, error) {
	t, ok := dns.StringToType[strings.ToUpper(strings.TrimSpace(s))]
	if !ok {
		return 0, fmt.Errorf("--type %q: not a record type (A, AAAA, CNAME, MX, TXT …)", s)
	}
	return t, nil
}

// colours, used only on a terminal.
type palette struct{ on bool }

func (p palette) status(s string) string {
	if !p.on {
		return s
	}
	switch s {
	case dnsprobe.StatusOK:
		return "\x1b[32m" + s + "\x1b[0m"
	case dnsprobe.StatusStale:
		return "\x1b[33m" + s + "\x1b[0m"
	case dnsprobe.StatusFailing, "REFUSE":
		return "\x1b[31m" + s + "\x1b[0m"
	}
	return s
}

func newDNSCheckCmd(a *App) *cobra.Command {
	var rf resolverFlags
	var typ string
	var expect []string
	var maxTTL uint32
	cmd := &cobra.Command{
		Use:   "check NAME",
		Short: "Ask every resolver what it answers for a name, and flag stale or failing ones",
		Long: `Ask every resolver in parallel for NAME, following CNAME chains, and print per
resolver the answer, the remaining TTL, the response time and the error
(timeout, SERVFAIL, NXDOMAIN, REFUSED, malformed; truncated answers are
retried over TCP). The answer of the zone's authoritative servers is asked
too: a resolver serving something else is stale, and so is one lacking an
--expect value or (with --max-ttl) holding the record for longer than the
lowered TTL; for those the time until their cache runs out is shown.

Exit status: 0 when every resolver is fine, 1 when one is stale or failing.`,
		Example: `  # The system's resolvers (/etc/resolv.conf)
  sitrep dns check api.example.com

  # Named vantage points, after a switch
  sitrep dns check api.example.com --resolver eu=10.1.0.53 --resolver us=10.2.0.53 --expect 198.51.100.20

  # Before a switch: has every resolver picked up the lowered TTL?
  sitrep dns check api.example.com --resolvers vantage --max-ttl 60

  # A resolver set from the config file, an explicit authority, JSON
  sitrep dns check api.example.com --resolvers vantage --authority ns1.example.com -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			qtype, err := parseQType(typ)
			if err != nil {
				return err
			}
			resolvers, err := rf.resolve(a)
			if err != nil {
				return err
			}
			auth, err := rf.authorities()
			if err != nil {
				return err
			}
			rep, err := rf.client(a).Check(cmd.Context(), dnsprobe.CheckOptions{
				Name: args[0], Type: qtype, Resolvers: resolvers, Authority: auth,
				NoAuthority: rf.noAuthority, Expect: expect, MaxTTL: maxTTL,
			})
			if err != nil {
				return err
			}
			if a.Output == "json" {
				if err := writeJSON(a.Stdout, rep); err != nil {
					return err
				}
			} else if err := writeCheckText(a.Stdout, rep, palette{isTTY(a.Stdout)}); err != nil {
				return err
			}
			if rep.Problems() {
				return withExitCode(1, nil)
			}
			return nil
		},
	}
	rf.register(cmd, true)
	cmd.Flags().StringVarP(&typ, "type", "t", "A", "record type: A, AAAA, CNAME, MX, TXT …")
	cmd.Flags().StringArrayVar(&expect, "expect", nil, "value resolvers should now serve (repeat for several); resolvers lacking it are stale")
	cmd.Flags().Uint32Var(&maxTTL, "max-ttl", 0, "seconds; a resolver holding the record for longer is stale (it cached it before the TTL was lowered)")
	return cmd
}

func writeCheckText(w io.Writer, rep *dnsprobe.Report, p palette) error {
	fmt.Fprintf(w, "%s %s", rep.Name, rep.Type)
	if len(rep.Expect) > 0 {
		fmt.Fprintf(w, "  expect %s", strings.Join(rep.Expect, ", "))
	}
	if rep.MaxTTL > 0 {
		fmt.Fprintf(w, "  max TTL %s", dnsprobe.FormatTTL(rep.MaxTTL))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RESOLVER\tADDRESS\tSTATUS\tANSWER\tTTL\tRTT\tERROR")
	row := func(label, addr, status string, r *dnsprobe.Result) {
		answer := strings.Join(r.Values, " ")
		if len(r.Chain) > 0 {
			hops := make([]string, 0, len(r.Chain)+1)
			for _, c := range r.Chain {
				hops = append(hops, c.Value)
			}
			if answer != "" {
				hops = append(hops, answer)
			}
			answer = "→ " + strings.Join(hops, " → ")
		}
		if answer == "" {
			answer = "-"
		}
		ttl := "-"
		if r.Answered() && (r.TTL > 0 || r.OK()) {
			ttl = dnsprobe.FormatTTL(r.TTL)
		}
		errText := r.Error
		if r.OverTCP {
			errText = strings.TrimSpace("truncated, retried over TCP " + errText)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.1fms\t%s\n", label, addr, status, answer, ttl, float64(r.RTT.Microseconds())/1000, errText)
	}
	for i := range rep.Resolvers {
		r := &rep.Resolvers[i]
		row(r.Resolver, r.Addr, p.status(r.Status), &r.Result)
	}
	for i := range rep.Authority {
		r := &rep.Authority[i]
		row("(authority)", r.Addr, "-", r)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, f := range rep.Findings {
		fmt.Fprintf(w, "- %s\n", f)
	}
	return nil
}

func newDNSAuditCmd(a *App) *cobra.Command {
	var rf resolverFlags
	var zone, names, origin string
	var maxTTL uint32
	cmd := &cobra.Command{
		Use:   "audit (--zone FILE | --names FILE)",
		Short: "List endpoint records whose TTL exceeds the policy, with the risk in words",
		Long: `Audit the TTLs of the records that send clients to endpoints (A, AAAA, CNAME,
SRV, HTTPS, SVCB, MX) against a policy (--max-ttl, default 300 s): a record
with a long TTL strands clients on caching resolvers for that long when it is
switched.

--zone reads a zone file (RFC 1035 format, as exported by most DNS hosts).
--names reads a file of names, one per line (optionally followed by record
types: "api.example.com A AAAA"; '#' starts a comment) and looks them up at
their authoritative servers (or --authority), so the TTLs are the
configured ones rather than what is left in a cache.

Exit status: 0 when every record meets the policy, 1 when one does not.`,
		Example: `  sitrep dns audit --zone example.com.zone
  sitrep dns audit --names endpoints.txt --max-ttl 600
  sitrep dns audit --names endpoints.txt --authority ns1.example.com -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			if (zone == "") == (names == "") {
				return fmt.Errorf("give exactly one of --zone FILE or --names FILE")
			}
			var recs []audit.Record
			var lookupErrs []string
			if zone != "" {
				f, err := os.Open(zone)
				if err != nil {
					return fmt.Errorf("--zone: %w", err)
				}
				defer f.Close()
				if recs, err = audit.ParseZone(f, zone, origin); err != nil {
					return err
				}
			} else {
				f, err := os.Open(names)
				if err != nil {
					return fmt.Errorf("--names: %w", err)
				}
				defer f.Close()
				list, err := audit.ParseNames(f, names)
				if err != nil {
					return err
				}
				if len(list) == 0 {
					return fmt.Errorf("--names %s lists no names", names)
				}
				auth, err := rf.authorities()
				if err != nil {
					return err
				}
				opts := audit.LookupOptions{Authority: auth}
				if len(auth) == 0 {
					rs, err := rf.resolve(a)
					if err != nil {
						return err
					}
					opts.Resolver = rs[0].Addr
				}
				recs, lookupErrs = audit.Lookup(cmd.Context(), rf.client(a), list, opts)
			}
			rep := audit.Audit(recs, maxTTL)
			rep.Errors = lookupErrs
			if a.Output == "json" {
				if err := writeJSON(a.Stdout, rep); err != nil {
					return err
				}
			} else if err := writeAuditText(a.Stdout, rep); err != nil {
				return err
			}
			if len(rep.Findings) > 0 || len(rep.Errors) > 0 {
				return withExitCode(1, nil)
			}
			return nil
		},
	}
	rf.register(cmd, true)
	cmd.Flags().StringVar(&zone, "zone", "", "zone file to audit")
	cmd.Flags().StringVar(&origin, "origin", "", "the zone's name, when the zone file has no $ORIGIN")
	cmd.Flags().StringVar(&names, "names", "", "file of names to look up live, one per line")
	cmd.Flags().Uint32Var(&maxTTL, "max-ttl", audit.DefaultMaxTTL, "policy: the longest acceptable TTL, in seconds")
	return cmd
}

func writeAuditText(w io.Writer, rep *audit.Report) error {
	if len(rep.Findings) == 0 {
		fmt.Fprintf(w, "all %d endpoint record sets have a TTL of at most %d s\n", rep.Checked, rep.MaxTTL)
	} else {
		fmt.Fprintf(w, "%d of %d endpoint record sets have a TTL above %d s:\n\n", len(rep.Findings), rep.Checked, rep.MaxTTL)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tTYPE\tTTL\tVALUE")
		for _, f := range rep.Findings {
			v := strings.Join(f.Values, " ")
			if len(v) > 60 {
				v = v[:57] + "..."
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, f.Type, dnsprobe.FormatTTL(f.TTL), v)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
		for _, f := range rep.Findings {
			fmt.Fprintf(w, "- %s %s (TTL %s): %s.\n  Fix: %s.\n", f.Name, f.Type, dnsprobe.FormatTTL(f.TTL), f.Risk, f.Fix)
		}
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
	return nil
}

// parseTTL accepts seconds ("86400") or a duration ("24h").
func parseTTL(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--ttl %q: want seconds (86400) or a duration (24h)", s)
	}
	return d, nil
}

// parseAt accepts RFC 3339 or "2006-01-02 15:04" (UTC).
func parseAt(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("--at %q: want RFC 3339 (2026-11-24T10:00:00Z) or \"2026-11-24 10:00\" (UTC)", s)
}

func newDNSPlanCmd(a *App) *cobra.Command {
	var o plan.Options
	var ttl, at string
	var record bool
	cmd := &cobra.Command{
		Use:   "plan NAME --to NEW",
		Short: "Make a dated migration plan that cannot strand users",
		Long: `Make a dated plan to move a record to a new value:

  1. lower the TTL to 60 s at least max(current TTL, 48 h) before the switch;
  2. verify that resolvers see the low TTL;
  3. switch;
  4. verify with dns check --expect;
  5. keep the old endpoint serving at least 2 × the old TTL after the switch
     and until its traffic has stopped (dns guard), then decommission it;
  6. raise the TTL back to 300 s.

Without --at the switch is at the earliest safe time. An --at that is too
early is refused with the earliest safe time. --record writes the steps that
change the record (1, 3, 6) to the change log as planned dns changes.`,
		Example: `  sitrep dns plan api.example.com --from 203.0.113.10 --to 198.51.100.20 --ttl 86400
  sitrep dns plan api.example.com --to 198.51.100.20 --ttl 24h --at "2026-11-24 10:00" -o markdown > ticket.md
  sitrep dns plan api.example.com --to new-lb.example.net --type CNAME --ttl 3600 --record -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "markdown", "json"); err != nil {
				return err
			}
			var err error
			if o.CurrentTTL, err = parseTTL(ttl); err != nil {
				return err
			}
			if o.At, err = parseAt(at); err != nil {
				return err
			}
			o.Name, o.Now = args[0], a.Now()
			p, err := plan.Make(o)
			if err != nil {
				return err
			}
			switch a.Output {
			case "json":
				err = writeJSON(a.Stdout, p)
			case "markdown":
				err = p.WriteMarkdown(a.Stdout)
			default:
				err = p.WriteText(a.Stdout)
			}
			if err != nil || !record {
				return err
			}
			changes := p.Changes(a.Actor())
			if err := a.recordChanges(cmd.Context(), changes); err != nil {
				return fmt.Errorf("record the plan in the change log: %w", err)
			}
			if a.Output == "text" {
				fmt.Fprintf(a.Stdout, "\nrecorded %d planned changes in the change log\n", len(changes))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.To, "to", "", "the new value (required)")
	fl.StringVar(&o.From, "from", "", "the current value")
	fl.StringVarP(&o.Type, "type", "t", "A", "record type")
	fl.StringVar(&ttl, "ttl", "", "the record's current TTL, seconds or a duration (default: assume 86400)")
	fl.StringVar(&at, "at", "", "switch time, RFC 3339 or \"YYYY-MM-DD HH:MM\" UTC (default: the earliest safe time)")
	fl.BoolVar(&record, "record", false, "write the planned record changes to the change log (--db)")
	return cmd
}

func newDNSGuardCmd(a *App) *cobra.Command {
	var rf resolverFlags
	var o guard.Options
	var typ, format string
	cmd := &cobra.Command{
		Use:   "guard --old ENDPOINT [--log FILE …] [--name NAME --expect NEW]",
		Short: "Refuse to decommission an old endpoint while it is still resolved or used",
		Long: `Before decommissioning the endpoint a record moved away from, check that
no resolver still returns it (--name, with --expect the new value) and that
its access logs show no traffic in the last --window (default 1 h). The
guard refuses, with the numbers, while either holds, and also when something
cannot be checked (a resolver times out, a log cannot be read).

Access logs are read in any format sitrep detects (nginx combined,
ingress-nginx, ALB, JSON lines, or --format). "The last hour" is relative to
now.

Exit status: 0 when it is safe to decommission, 1 when the guard refuses.`,
		Example: `  sitrep dns guard --old 203.0.113.10 --log /var/log/nginx/old-lb.access.log
  sitrep dns guard --old 203.0.113.10 --name api.example.com --expect 198.51.100.20 \
      --log 'old-lb/*.log' --resolvers vantage --window 2h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			var err error
			if o.Type, err = parseQType(typ); err != nil {
				return err
			}
			if o.Name != "" {
				if o.Resolvers, err = rf.resolve(a); err != nil {
					return err
				}
				if o.Authority, err = rf.authorities(); err != nil {
					return err
				}
				o.NoAuthority = rf.noAuthority
				o.Client = rf.client(a)
			} else if len(o.Expect) > 0 {
				return fmt.Errorf("--expect needs --name: the record whose resolvers to ask")
			}
			o.Counter = guard.AccessLogs{Format: format}
			o.Now = a.Now
			res, err := guard.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			if a.Output == "json" {
				if err := writeJSON(a.Stdout, res); err != nil {
					return err
				}
			} else {
				writeGuardText(a.Stdout, res, palette{isTTY(a.Stdout)})
			}
			if res.Refuse {
				return withExitCode(1, nil)
			}
			return nil
		},
	}
	rf.register(cmd, true)
	fl := cmd.Flags()
	fl.StringVar(&o.Old, "old", "", "the endpoint to decommission: an address or host name (required)")
	fl.StringArrayVar(&o.Logs, "log", nil, "the old endpoint's access log (file or glob; repeat for several)")
	fl.StringVar(&format, "format", "", "access-log format: a preset (combined, ingress-nginx, alb, json) or an nginx log_format (default: detect)")
	fl.StringVar(&o.Name, "name", "", "the record that moved away from the old endpoint")
	fl.StringArrayVar(&o.Expect, "expect", nil, "the record's new value (repeat for several)")
	fl.StringVarP(&typ, "type", "t", "A", "record type of --name")
	fl.DurationVar(&o.Window, "window", guard.DefaultWindow, "traffic newer than this blocks the decommission")
	return cmd
}

func writeGuardText(w io.Writer, res *guard.Result, p palette) {
	verdict := "OK"
	if res.Refuse {
		verdict = "REFUSE"
	}
	fmt.Fprintf(w, "%s: decommission %s\n", p.status(verdict), res.Old)
	for _, r := range res.Reasons {
		fmt.Fprintf(w, "- %s\n", r)
	}
	if len(res.Holders) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RESOLVER\tANSWER\tCACHED FOR\tUNTIL")
		for _, h := range res.Holders {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Resolver, strings.Join(h.Values, " "), dnsprobe.FormatTTL(h.TTL), h.Until.Format(time.RFC3339))
		}
		tw.Flush()
	}
	if res.Traffic != nil {
		fmt.Fprintf(w, "\naccess logs: %d requests read from %s, %d in the last %s\n",
			res.Traffic.Total, strings.Join(res.Traffic.Sources, ", "), res.Traffic.Requests, dnsprobe.FormatTTL(uint32(res.Window/time.Second)))
	}
}
