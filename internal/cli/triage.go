package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sitrep-dev/sitrep/internal/investigate"
	"github.com/sitrep-dev/sitrep/internal/report"
	"github.com/sitrep-dev/sitrep/internal/source/accesslog"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

type triageFlags struct {
	logs      []string
	format    string
	errorExpr string
	since     string
	until     string
	baseline  string
	top       int
	progress  bool
	onePass   bool
	changes   []string
	metrics   []string
	ev        evidenceFlags
}

func newTriageCmd(a *App) *cobra.Command {
	var f triageFlags
	cmd := &cobra.Command{
		Use:   "triage --log PATH...",
		Short: "Triage an incident from access logs: impact, onset, what the failing requests share",
		Long: `Triage reads access logs (nginx log_format strings, combined and what a
team appended to it, ingress-nginx, Apache vhost_combined, Envoy/Istio,
Traefik, alb, json, logfmt — Heroku's router —, haproxy and W3C — IIS,
CloudFront; plain or .gz; - for stdin) and answers the first questions of
an incident:

  - scope: requests, errors and error rate in the incident vs the baseline,
    since when (onset, found by change-point detection on the error rate, or
    on latency when errors do not move), failing status codes, latency
    p50/p95/p99, clients affected, top failing paths;
  - correlate: which dimension values, or pairs of values, the failing
    requests share (region, upstream, node, path, user agent, client network,
    log source …), with their error share, traffic share, error rate vs the
    baseline, lift and significance, reduced to the smallest set of findings
    that explains the errors.

When the error rate does not move but latency does, the logs are read a
second time to find what the slow requests share; when neither moves but
client errors (401, 403, 429 …) step up, a second pass finds what those
requests share. An --error expression other than the default, stdin, or
--single-pass skips these passes.

Malformed lines are counted and the first ones shown; when many lines fail
to parse, the report says the format is probably wrong and what to try.`,
		Example: `  # Triage an nginx access log (format detected)
  sitrep triage --log /var/log/nginx/access.log

  # Several files, a glob and a gzip, with latency counting as failure
  sitrep triage --log 'lb-*.log' --log old.log.gz --error 'status>=500 || request_time>2'

  # Your own nginx log_format, pasted verbatim
  sitrep triage --log access.log --log-format '$remote_addr - [$time_local] "$request" $status $request_time $upstream_addr'

  # Fix the windows yourself, Markdown for the ticket
  sitrep triage --log access.log --since 2026-11-20T11:00:00Z \
      --baseline 2026-11-20T11:00:00Z/2026-11-20T11:30:00Z -o markdown

  # With the change log and metrics: ranked changes and hypotheses too
  sitrep triage --log 'logs/*' --changes changes.jsonl --metrics 'metrics/*.json'

  # Live metrics, the database's health and resolvers' answers as evidence;
  # the result on the incident's timeline; the page for the ticket
  sitrep triage --log 'logs/*' --prometheus http://127.0.0.1:9090 --dsn postgres://ro@db/app \
      --dns-check --incident INC-4 -o html triage.html

  # A big log, read once: no second pass even if only latency or 4xx moved
  sitrep triage --log 'archive/*.log.gz' --single-pass

  # Machine-readable result (stable JSON)
  kubectl logs -n ingress-nginx deploy/ingress-nginx-controller | sitrep triage --log - -o json

  # On a node: the controller pods' container logs (CRI lines, unwrapped)
  sitrep triage --log '/var/log/pods/ingress-nginx_*/controller/*.log*'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && !(a.Output == "html" && len(args) == 1) {
				return fmt.Errorf("unexpected argument %q: logs are given with --log (only -o html takes a FILE)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTriage(cmd.Context(), a, &f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.logs, "log", nil, "access log to read: a path, a glob, or - for stdin (repeatable; .gz is decompressed)")
	fl.StringVar(&f.format, "log-format", "", "log format: a preset ("+strings.Join(accesslog.PresetNames, ", ")+"), an nginx log_format string or an Envoy format string; default: detect")
	fl.StringVar(&f.errorExpr, "error", triage.DefaultErrorExpr, "which requests failed: comparisons on status, request_time, retries (failed upstream attempts) or any numeric field, with &&, ||, ! and parentheses")
	fl.StringVar(&f.since, "since", "", "analyse only requests at or after this time (RFC 3339, '2006-01-02 15:04', or a duration such as 2h meaning that long ago)")
	fl.StringVar(&f.until, "until", "", "analyse only requests before this time (same forms as --since)")
	fl.StringVar(&f.baseline, "baseline", "", "baseline window START/END (times as for --since); default: everything before the onset")
	fl.IntVar(&f.top, "top", 5, "maximum number of findings")
	fl.StringArrayVar(&f.changes, "changes", nil, "change log to line up with the incident: JSON lines of change events (repeatable, globs)")
	fl.StringArrayVar(&f.metrics, "metrics", nil, "metrics: Prometheus query_range JSON files (repeatable, globs)")
	fl.BoolVar(&f.progress, "progress", true, "show a progress bar on stderr for big inputs when stderr is a terminal")
	fl.BoolVar(&f.onePass, "single-pass", false, "read the logs once: no second pass for a latency incident's slow requests or a step in client errors")
	f.ev.register(cmd)
	_ = cmd.MarkFlagRequired("log")
	return cmd
}

func runTriage(ctx context.Context, a *App, f *triageFlags, args []string) error {
	if err := a.checkOutput("text", "json", "markdown", "html"); err != nil {
		return err
	}
	if f.top <= 0 {
		return fmt.Errorf("--top %d: want a positive number of findings", f.top)
	}
	if f.errorExpr != triage.DefaultErrorExpr {
		if _, err := triage.ParseErrorExpr(f.errorExpr); err != nil {
			return fmt.Errorf("--error: %w", err)
		}
	}
	now := a.Now()
	opt := triage.Options{Error: f.errorExpr, Top: f.top}
	var err error
	if opt.Since, err = parseWhen(f.since, now); err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	if opt.Until, err = parseWhen(f.until, now); err != nil {
		return fmt.Errorf("--until: %w", err)
	}
	if !opt.Since.IsZero() && !opt.Until.IsZero() && !opt.Since.Before(opt.Until) {
		return fmt.Errorf("--since %s is not before --until %s", f.since, f.until)
	}
	if f.baseline != "" {
		s, e, ok := strings.Cut(f.baseline, "/")
		if !ok {
			return fmt.Errorf("--baseline %q: want START/END, e.g. 2026-11-20T11:00:00Z/2026-11-20T11:30:00Z", f.baseline)
		}
		var b [2]time.Time
		if b[0], err = parseWhen(s, now); err != nil || b[0].IsZero() {
			return fmt.Errorf("--baseline start %q: %w", s, orEmpty(err))
		}
		if b[1], err = parseWhen(e, now); err != nil || b[1].IsZero() {
			return fmt.Errorf("--baseline end %q: %w", e, orEmpty(err))
		}
		if !b[0].Before(b[1]) {
			return fmt.Errorf("--baseline %q: the start must be before the end", f.baseline)
		}
		opt.Baseline = &b
	}

	var bar *progressBar
	if f.progress && isTTY(a.Stderr) {
		bar = &progressBar{w: a.Stderr, now: a.Now, start: now}
	}
	inv := investigate.Options{
		Logs: f.logs, LogFormat: f.format, Stdin: a.Stdin,
		Error: opt.Error, Since: opt.Since, Until: opt.Until, Baseline: opt.Baseline, Top: opt.Top,
		ChangeFiles: f.changes, MetricFiles: f.metrics, Logger: a.Logger, Now: a.Now,
		SinglePass: f.onePass,
	}
	if bar != nil {
		inv.Progress = bar.update
	}
	if err := f.ev.prepare(ctx, a, &inv); err != nil {
		return err
	}
	res, err := investigate.Run(ctx, inv)
	if bar != nil {
		bar.clear()
	}
	if err != nil {
		if errors.Is(err, triage.ErrNoRequests) && res != nil && res.Inputs.Lines > 0 {
			printInputs(a.Stderr, res.Inputs)
		}
		return err
	}
	if done, err := f.ev.finish(ctx, a, res, inv, args); done || err != nil {
		return err
	}
	switch a.Output {
	case "json":
		return report.JSON(a.Stdout, res)
	case "markdown":
		return report.Markdown(a.Stdout, res)
	default:
		color := isTTY(a.Stdout) && a.Getenv("NO_COLOR") == ""
		return report.Text(a.Stdout, res, report.TextOptions{Color: color, Width: termWidth(a), Verbose: a.Verbose})
	}
}

func orEmpty(err error) error {
	if err == nil {
		return errors.New("a time is required")
	}
	return err
}

// printInputs explains what was read when nothing could be analysed.
func printInputs(w io.Writer, in triage.Inputs) {
	fmt.Fprintf(w, "read %d lines, %d malformed\n", in.Lines, in.Malformed)
	for _, m := range in.MalformedSamples {
		fmt.Fprintf(w, "  %s:%d: %s (%s)\n", m.File, m.Line, m.Text, m.Reason)
	}
	if in.FormatWarning != "" {
		fmt.Fprintf(w, "warning: %s\n", in.FormatWarning)
	}
}

// parseWhen parses a point in time: RFC 3339, a few common layouts (UTC),
// or a Go duration meaning that long before now. "" is the zero time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "-")); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-11-20T11:00:00Z), '2026-11-20 11:00' (UTC) or a duration such as 2h", s)
}

// progressBar draws the scan's progress on a terminal, at most 5 times a
// second and only once the scan has run for a second (small inputs never
// see it).
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	now   func() time.Time
	start time.Time
	last  time.Time
	width int // the longest line drawn (0: nothing drawn)
	// done is the last count seen; a smaller one starts a new pass over
	// the logs (a latency incident's slow requests), timed from then.
	done int64
	pass int
}

func (p *progressBar) update(done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.now()
	if done < p.done {
		p.pass++
		p.start = t
	}
	p.done = done
	if t.Sub(p.start) < time.Second || t.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = t
	var line strings.Builder
	if p.pass > 0 {
		fmt.Fprintf(&line, "pass %d ", p.pass+1)
	}
	rate := float64(done) / t.Sub(p.start).Seconds()
	if total > 0 {
		const width = 30
		frac := float64(done) / float64(total)
		if frac > 1 {
			frac = 1
		}
		n := int(frac * width)
		eta := ""
		if rate > 0 {
			eta = fmt.Sprintf(" eta %s", time.Duration(float64(total-done)/rate*float64(time.Second)).Round(time.Second))
		}
		fmt.Fprintf(&line, "[%s%s] %3.0f%% %s/%s %s/s%s ", strings.Repeat("#", n), strings.Repeat(" ", width-n), frac*100,
			humanBytes(done), humanBytes(total), humanBytes(int64(rate)), eta)
	} else {
		fmt.Fprintf(&line, "read %s (%s/s) ", humanBytes(done), humanBytes(int64(rate)))
	}
	// Pad to the longest line drawn so far: \r alone leaves the tail of a
	// longer one.
	l := line.String()
	p.width = max(p.width, len(l))
	fmt.Fprintf(p.w, "\r%-*s", p.width, l)
}

func (p *progressBar) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.width > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
