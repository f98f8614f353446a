package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/sitrep-dev/sitrep/internal/app"
	"github.com/sitrep-dev/sitrep/internal/htmlreport"
	"github.com/sitrep-dev/sitrep/internal/investigate"
	dnsprobe "github.com/sitrep-dev/sitrep/internal/probe/dns"
	"github.com/sitrep-dev/sitrep/internal/source/dbhealth"
	"github.com/sitrep-dev/sitrep/internal/source/prom"
	"github.com/sitrep-dev/sitrep/internal/triage"
	"github.com/sitrep-dev/sitrep/internal/triage/hypothesis"
)

// evidenceFlags are the triage inputs beyond access logs and files: a live
// Prometheus, a metric mapping, a database check, DNS checks of the changed
// names, the stored change log, and the incident to attach the result to.
type evidenceFlags struct {
	prometheus string
	promWindow time.Duration
	mapping    string
	dsn        string
	dnsCheck   bool
	dns        resolverFlags
	incident   string
	noStore    bool
	out        string
	svc        *app.Services
	incidentID int64
}

func (e *evidenceFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&e.prometheus, "prometheus", "", "query a live Prometheus at this URL for the standard exporter metrics (the queries are printed with -v)")
	fl.DurationVar(&e.promWindow, "prometheus-window", 6*time.Hour, "how far back to query Prometheus when --since is not given")
	fl.StringVar(&e.mapping, "metrics-mapping", "", "YAML file mapping your own metric names to roles (see docs/metrics.md)")
	fl.StringVar(&e.dsn, "dsn", "", "check this database (postgres://… or mysql://…, read-only) and use its health as evidence")
	fl.BoolVar(&e.dnsCheck, "dns-check", false, "ask resolvers what they answer for the names of dns changes, as evidence")
	fl.StringArrayVar(&e.dns.resolvers, "dns-resolver", nil, "with --dns-check: resolver label=ADDR (repeatable; default: config set, else /etc/resolv.conf)")
	fl.StringArrayVar(&e.dns.authority, "dns-authority", nil, "with --dns-check: authoritative server to compare with (default: the zone's NS)")
	fl.StringVar(&e.incident, "incident", "", "attach the findings, hypotheses and blamed change to this incident's timeline (INC-n)")
	fl.BoolVar(&e.noStore, "no-store", false, "do not read the stored change log (sitrep change record …)")
	fl.StringVar(&e.out, "out", "", "write the report to this file (for -o html: the page; also the positional FILE of -o html FILE)")
	e.dns.timeout = 2 * time.Second
}

// prepare fills the investigate options from the evidence flags. It runs
// before the scan: live metrics, the database check and DNS checks look at
// the system now.
func (e *evidenceFlags) prepare(ctx context.Context, a *App, inv *investigate.Options) error {
	// Read the change files once, here: the DNS checks, the analysis and
	// the HTML page all use the same list.
	chs, err := investigate.LoadChanges(inv.ChangeFiles)
	if err != nil {
		return err
	}
	inv.Changes, inv.ChangeFiles = append(chs, inv.Changes...), nil
	if e.incident != "" {
		id, err := incidentArg(e.incident)
		if err != nil {
			return fmt.Errorf("--incident: %w", err)
		}
		e.incidentID = id
	}
	if e.mapping != "" {
		cat, err := prom.LoadMapping(e.mapping)
		if err != nil {
			return fmt.Errorf("--metrics-mapping: %w", err)
		}
		inv.Catalog = cat
	}
	// The stored change log, when there is a store (the default one only if
	// it exists: triage never creates a database by itself).
	if !e.noStore || e.incidentID != 0 {
		if a.DB != "" || e.incidentID != 0 || defaultStoreExists() {
			svc, err := a.services(ctx)
			if err != nil {
				return err
			}
			e.svc = svc
			if e.incidentID != 0 {
				if _, err := svc.Incidents.Get(ctx, e.incidentID); err != nil {
					return fmt.Errorf("--incident: %w", explain(err))
				}
			}
			if !e.noStore {
				since, until := inv.Since, inv.Until
				if since.IsZero() {
					since = a.Now().Add(-30 * 24 * time.Hour)
				} else {
					since = since.Add(-24 * time.Hour) // a DNS change may precede by its TTL
				}
				chs, err := svc.Changes.List(ctx, since, until)
				if err != nil {
					return err
				}
				inv.Changes = append(inv.Changes, chs...)
			}
		}
	}
	if e.prometheus != "" {
		cl, err := prom.NewClient(prom.Options{URL: e.prometheus, Logger: a.Logger, Catalog: inv.Catalog, OnQuery: func(q prom.Query) {
			if a.Verbose {
				status := fmt.Sprintf("%d series", q.Series)
				if q.Err != nil {
					status = q.Err.Error()
				}
				fmt.Fprintf(a.Stderr, "prometheus: %s [%s, %s] step %s: %s (%s)\n", q.Query, q.Start.Format(time.RFC3339), q.End.Format(time.RFC3339), q.Step, status, q.Took.Round(time.Millisecond))
			}
		}})
		if err != nil {
			return fmt.Errorf("--prometheus: %w", err)
		}
		w := prom.Window{Start: inv.Since, End: inv.Until}
		if w.End.IsZero() {
			w.End = a.Now()
		}
		if w.Start.IsZero() {
			w.Start = w.End.Add(-e.promWindow)
		}
		series, err := cl.Fetch(ctx, w)
		if err != nil {
			return fmt.Errorf("--prometheus %s: %w", e.prometheus, err)
		}
		inv.Metrics = append(inv.Metrics, series...)
	}
	if e.dsn != "" {
		snap, err := dbhealth.Check(ctx, e.dsn, dbhealth.Options{Logger: a.Logger, Now: a.Now})
		if err != nil {
			return fmt.Errorf("--dsn: %w", err)
		}
		inv.DB = dbEvidence(snap)
	}
	if e.dnsCheck {
		rs, err := e.dns.resolve(a)
		if err != nil {
			return fmt.Errorf("--dns-check: %w", err)
		}
		auth, err := e.dns.authorities()
		if err != nil {
			return fmt.Errorf("--dns-authority: %w", err)
		}
		for _, ev := range e.dns.client(a).CheckChanged(ctx, dnsprobe.ChangedOptions{Resolvers: rs, Authority: auth}, inv.Changes) {
			lines := ev.Lines
			if ev.Error != "" {
				lines = append(lines, "dns check of "+ev.Name+" failed: "+ev.Error)
			}
			inv.DNS = append(inv.DNS, hypothesis.DNSCheck{ChangeID: ev.ChangeID, StillOld: ev.StillOld, Fresh: ev.Fresh, Lines: lines})
		}
	}
	return nil
}

// finish attaches the result to the incident, and writes the HTML page.
// It returns true when it wrote the report itself.
func (e *evidenceFlags) finish(ctx context.Context, a *App, res *triage.Result, inv investigate.Options, args []string) (bool, error) {
	if e.svc != nil {
		defer e.svc.Close()
	}
	if e.incidentID != 0 {
		if err := attachTriage(ctx, e.svc, e.incidentID, res); err != nil {
			return false, err
		}
		fmt.Fprintf(a.Stderr, "Attached the triage to %s's timeline (sitrep incident show %s)\n", incidentRef(e.incidentID), incidentRef(e.incidentID))
	}
	if a.Output != "html" {
		return false, nil
	}
	out := e.out
	if out == "" && len(args) == 1 {
		out = args[0]
	}
	w := a.Stdout
	if out != "" && out != "-" {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return true, err
		}
		f, err := os.Create(out)
		if err != nil {
			return true, err
		}
		defer f.Close()
		w = f
	}
	if err := htmlreport.Write(w, res, inv.Changes, htmlreport.Options{Title: "sitrep triage", Now: a.Now()}); err != nil {
		return true, err
	}
	if out != "" && out != "-" {
		fmt.Fprintf(a.Stderr, "Wrote the triage report page to %s\n", out)
	}
	return true, nil
}

func dbEvidence(s *dbhealth.Snapshot) *hypothesis.DBHealth {
	d := &hypothesis.DBHealth{InUse: s.Connections.InUse, Max: s.Connections.Max, Refused: s.Refused != "",
		IdleInTx: s.Connections.ByState["idle in transaction"], LockWaits: len(s.LockWaits), Lines: s.Evidence()}
	for _, q := range s.LongestQueries {
		if q.State == "active" {
			if dur := time.Duration(q.DurationSeconds * float64(time.Second)); dur > d.LongestQuery {
				d.LongestQuery = dur
			}
		}
	}
	return d
}

func defaultStoreExists() bool {
	p, err := app.DefaultDBPath()
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

func incidentRef(id int64) string { return fmt.Sprintf("INC-%d", id) }
