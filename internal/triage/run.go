// Package triage is sitrep's analysis engine for access logs: it aggregates
// request events (signal.Request) into bounded summaries, scopes the impact
// (onset, baseline, error rate, latency, clients, paths) and correlates the
// failing requests with dimension values and pairs of values, reduced to the
// smallest set of findings that explains the errors.
//
// Run is the entry point; the CLI, the lab and the demo share it. Further
// stages (change ranking, hypotheses) plug in through Options.Stages.
package triage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// ScanFunc reads requests into the sinks newSink returns (one per worker)
// and describes what it read.
type ScanFunc func(ctx context.Context, newSink func() signal.RequestSink) (Inputs, error)

// Stage is an analysis stage run after correlation, such as change ranking
// or hypotheses. It may add to the result (Changes, Hypotheses, Notes).
type Stage struct {
	Name string
	Run  func(ctx context.Context, an *Analysis) error
}

// Analysis is what a Stage sees: the options, the merged aggregate and the
// result so far.
type Analysis struct {
	Options   *Options
	Aggregate *Aggregator
	// ClientAggregate is the client-error pass's aggregate, whose failures
	// are the client errors (nil without that pass); its Values count over
	// that pass's windows.
	ClientAggregate *Aggregator
	Result          *Result
}

// Options configures Run.
type Options struct {
	// Scan reads the requests. Either Scan or Aggregate is required.
	Scan ScanFunc
	// Aggregate is an already-built aggregate (Scan is then not called) and
	// Inputs describes it.
	Aggregate *Aggregator
	Inputs    Inputs

	// Error is the error expression (default "status>=500").
	Error string
	// Since and Until restrict the requests analysed (zero = open).
	Since, Until time.Time
	// Baseline overrides the automatic baseline window [start, end).
	Baseline *[2]time.Time
	// Top is the maximum number of findings (default 5).
	Top int
	// Agg tunes the aggregation limits (zero values are defaults).
	Agg AggOptions

	// Rescannable says Scan may be called again (files, not stdin). With
	// the default error expression, a latency incident then gets a second
	// pass comparing the slow requests with the others (Result.Slow), and
	// a step in client errors one comparing those (Result.ClientErrors).
	Rescannable bool

	// Changes and Metrics are evidence for later stages (hypotheses).
	Changes []signal.Change
	Metrics []signal.Series
	// Stages run after correlation, in order.
	Stages []Stage

	Logger *slog.Logger
	// Now is the clock (for stage timings); default time.Now.
	Now func() time.Time

	// retried is the step in retried requests a first pass found, for the
	// pass that counts them as failures (RetryErrorExpr).
	retried *retryStep
	// proxyErrors is the first pass's error log, for a second pass that
	// replaces its report.
	proxyErrors []signal.ProxyError
}

// ErrNoRequests is returned when the input held no request with a timestamp.
var ErrNoRequests = errors.New("no requests with a timestamp to analyse")

// Run aggregates the requests (or takes Options.Aggregate), scopes the
// impact, correlates the failures and runs the extra stages.
func Run(ctx context.Context, opt Options) (*Result, error) {
	if opt.Top <= 0 {
		opt.Top = 5
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Error == "" {
		opt.Error = DefaultErrorExpr
	}
	if opt.Baseline != nil && !opt.Baseline[0].Before(opt.Baseline[1]) {
		return nil, fmt.Errorf("baseline %s/%s: the start must be before the end", opt.Baseline[0].Format(time.RFC3339), opt.Baseline[1].Format(time.RFC3339))
	}
	res := &Result{Findings: []Finding{}, Changes: []Change{}, Hypotheses: []Hypothesis{}, Notes: []string{}}
	stage := func(name string, f func() error) error {
		t0 := opt.Now()
		err := f()
		res.Stages = append(res.Stages, StageTiming{Name: name, Seconds: opt.Now().Sub(t0).Seconds()})
		return err
	}

	agg := opt.Aggregate
	inputs := opt.Inputs
	if agg == nil {
		if opt.Scan == nil {
			return nil, errors.New("triage: neither a scan function nor an aggregate was given")
		}
		ao := opt.Agg
		if opt.Error != DefaultErrorExpr {
			p, err := ParseErrorExpr(opt.Error)
			if err != nil {
				return nil, err
			}
			ao.Error = p
		}
		ao.Since, ao.Until = opt.timeRange()
		c := NewCollector(ao)
		err := stage("aggregate", func() error {
			var err error
			inputs, err = opt.Scan(ctx, c.NewSink)
			if err != nil {
				return err
			}
			agg = c.Merge()
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	agg.normalize()
	inputs.Requests = int64(agg.Requests)
	inputs.Untimed = int64(agg.Untimed)
	inputs.Filtered = int64(agg.Filtered)
	inputs.Error = opt.Error
	if inputs.Sources == nil {
		inputs.Sources = []string{}
	}
	res.Inputs = inputs
	if agg.Untimed > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d requests had no timestamp and were not analysed", agg.Untimed))
	}
	if agg.Requests == 0 {
		if agg.Filtered > 0 {
			return res, fmt.Errorf("all %d requests fall outside --since/--until: %w", agg.Filtered, ErrNoRequests)
		}
		return res, ErrNoRequests
	}

	var w windows
	var s series
	// findings holds the correlation over w when it is already done.
	var findings []Finding
	_ = stage("scope", func() error {
		w, s = agg.scope(&opt, res)
		if rs := opt.retried; rs != nil {
			// The retries' step is the incident, whatever the combined
			// rate shows: a few errors of every hour can blur it, and the
			// report must say the failures were hidden.
			w, s = agg.rescopeRetries(&opt, res, rs)
		} else if res.Onset == nil && opt.Baseline == nil {
			// No onset in the whole log: the failing requests may still
			// share a scope whose own error rate stepped up.
			findings = agg.correlate(w, opt.Top)
			if len(findings) > 0 {
				if t, sp, ok := agg.scopedOnset(findings[0]); ok {
					w, s = agg.rescopeAt(&opt, res, findings[0], t, sp)
					findings = nil // other windows: correlate again
				}
			}
		}
		return nil
	})
	// A second pass reads the inputs again: only files can be, and only the
	// default error expression leaves something for it to find.
	rescan := opt.Error == DefaultErrorExpr && opt.Scan != nil && opt.Aggregate == nil && opt.Rescannable
	if opt.Error == DefaultErrorExpr && opt.Baseline == nil {
		// The proxy may have hidden the failures by retrying them.
		quiet := res.Onset == nil || res.Onset.Method == "latency"
		if rs := findRetryStep(s); rs != nil && rs.hides(quiet) {
			if !rescan {
				res.Notes = append(res.Notes, fmt.Sprintf("%s; to count them as failures, where they first failed, run again with --error '%s'", rs.note(quiet), RetryErrorExpr))
			} else {
				again := opt
				again.Error, again.retried, again.proxyErrors = RetryErrorExpr, rs, res.Inputs.ProxyErrorLog
				r2, err := Run(ctx, again)
				if r2 != nil {
					r2.Notes = append([]string{fmt.Sprintf("%s; this report counts them as failures, at the upstream that failed them (--error '%s')", rs.note(quiet), RetryErrorExpr)}, r2.Notes...)
					for i := range res.Stages {
						res.Stages[i].Name += " (first pass)"
					}
					r2.Stages = append(res.Stages, r2.Stages...)
					// The files are the same: the scan's own account of
					// them is the first pass's.
					in := res.Inputs
					in.Error = r2.Inputs.Error
					r2.Inputs = in
				}
				return r2, err
			}
		}
	}
	if o := res.Onset; o != nil && o.Method == "latency" {
		// Every latency onset has latency up 1.5× (After > 0), the
		// slow-share one included.
		thr := round(math.Sqrt(math.Max(o.Before, 1e-3)*o.After), 2)
		expr := "request_time>" + strconv.FormatFloat(thr, 'f', -1, 64)
		switch {
		case rescan:
			err := stage("slow", func() error {
				var err error
				res.Slow, err = slowPass(ctx, &opt, w, expr, thr)
				return err
			})
			if err != nil {
				return res, fmt.Errorf("slow-request pass: %w", err)
			}
			res.Notes = append(res.Notes, fmt.Sprintf("the error rate did not change but p%.0f latency did; a second pass compared the slow requests (%s) with the others; --error '%s' makes them the errors of the whole report", o.Quantile*100, expr, expr))
		case opt.Error == DefaultErrorExpr:
			res.Notes = append(res.Notes, fmt.Sprintf("the error rate did not change but p%.0f latency did; to find what the slow requests share, run again with --error '%s'", o.Quantile*100, expr))
		}
	}
	var clientAgg *Aggregator
	if res.Impact.Onset == nil && opt.Baseline == nil {
		res.Notes = append(res.Notes, "no onset found: neither the error rate nor latency changed significantly; findings compare the failing requests with the healthy ones over the whole window")
		if opt.Error == DefaultErrorExpr && res.Onset == nil {
			if cs := clientErrorShift(s); cs != nil {
				res.ClientErrors = cs.result()
				what := fmt.Sprintf("client errors (4xx) rose from %s to %s of the requests at %s",
					pct(cs.before), pct(cs.after), cs.w.onset.Format("15:04:05"))
				if rescan {
					err := stage("client-errors", func() error {
						fs, _, _, _, _, cagg, err := secondPass(ctx, &opt, cs.w, cs.expr, passClient, res.ClientErrors.Which())
						res.ClientErrors.Findings, clientAgg = fs, cagg
						return err
					})
					if err != nil {
						return res, fmt.Errorf("client-error pass: %w", err)
					}
					res.Notes = append(res.Notes, fmt.Sprintf("%s; a second pass compared them with the other requests; if they are failures users see, --error '%s' makes them the errors of the whole report", what, cs.expr))
				} else {
					res.Notes = append(res.Notes, fmt.Sprintf("%s; if they are failures users see, run again with --error '%s'", what, cs.expr))
				}
			}
		}
	}
	_ = stage("correlate", func() error {
		res.Findings = findings
		if res.Findings == nil {
			res.Findings = agg.correlate(w, opt.Top)
		}
		if res.Findings == nil {
			res.Findings = []Finding{}
		}
		return nil
	})
	res.Impact.TopPaths = agg.topPaths(w, 5)
	errLog := res.Inputs.ProxyErrorLog
	if errLog == nil {
		errLog = opt.proxyErrors
	}
	res.ProxyErrors = summariseProxyErrors(errLog, res.Window)
	for _, st := range opt.Stages {
		an := &Analysis{Options: &opt, Aggregate: agg, ClientAggregate: clientAgg, Result: res}
		if err := stage(st.Name, func() error { return st.Run(ctx, an) }); err != nil {
			return res, fmt.Errorf("stage %s: %w", st.Name, err)
		}
	}
	return res, nil
}

// topPaths returns the paths with the most failing requests in the incident.
func (a *Aggregator) topPaths(w windows, n int) []PathImpact {
	out := []PathImpact{}
	d := a.liveDimension("path")
	if d == nil {
		return out
	}
	win := a.slotWindows(w)
	for id := 1; id < len(d.vals); id++ {
		if uint32(id) == d.overflow {
			continue
		}
		var e, r int64
		for p, k := range win {
			if k == 1 {
				ok, failed := d.count(id, p)
				r += int64(ok + failed)
				e += int64(failed)
			}
		}
		if e > 0 {
			out = append(out, PathImpact{Path: d.vals[id], Requests: r, Errors: e, ErrorRate: round(float64(e)/float64(r), 4)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Errors != out[j].Errors {
			return out[i].Errors > out[j].Errors
		}
		return out[i].Path < out[j].Path
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// Dimensions lists the dimensions the aggregate kept (not dropped for
// cardinality), in first-seen order.
func (a *Aggregator) Dimensions() []string {
	var out []string
	for _, d := range a.dims {
		if !d.dropped {
			out = append(out, d.name)
		}
	}
	return out
}

// timeRange is --since/--until in Unix ns, 0 for an open end.
func (o *Options) timeRange() (since, until int64) {
	if !o.Since.IsZero() {
		since = o.Since.UnixNano()
	}
	if !o.Until.IsZero() {
		until = o.Until.UnixNano()
	}
	return since, until
}

// pass names a second reading of the inputs with other requests as the
// failures.
type pass int

const (
	passNone   pass = iota
	passSlow        // latency incident: the slow requests
	passClient      // client-error step: the 4xx requests that rose
)

// secondPass reads the inputs again with expr deciding the failures and
// correlates them over the windows w: what the slow requests (or the
// client errors) share. The windows are absolute times, so the two
// aggregates need not share a layout. It returns the requests and the
// failures in the incident (n, e) and the baseline (nb, eb) windows. code
// names the client errors the failures stand for ("401", "4xx"; "" for
// slow requests), as the findings' summaries say it, and the pass's
// aggregate, whose Values count over w.
func secondPass(ctx context.Context, opt *Options, w windows, expr string, kind pass, code string) (fs []Finding, n, e, nb, eb float64, agg *Aggregator, err error) {
	p, err := ParseErrorExpr(expr)
	if err != nil {
		return nil, 0, 0, 0, 0, nil, err // cannot happen: the expressions are built here
	}
	ao := opt.Agg
	ao.Error = p
	ao.CountsOnly = true // the first pass gave the scope: latency and clients are not needed again
	ao.Since, ao.Until = opt.timeRange()
	c := NewCollector(ao)
	if _, err := opt.Scan(ctx, c.NewSink); err != nil {
		return nil, 0, 0, 0, 0, nil, err
	}
	agg = c.Merge()
	agg.normalize()
	agg.passWindows = &w
	n, e, nb, eb = agg.windowTotals(w)
	fs = []Finding{}
	for _, f := range agg.correlate(w, opt.Top) {
		f.pass, f.code = kind, code
		f.Summary = summarize(&f)
		fs = append(fs, f)
	}
	return fs, n, e, nb, eb, agg, nil
}

// slowPass is the second pass of a latency incident.
func slowPass(ctx context.Context, opt *Options, w windows, expr string, thr float64) (*SlowAnalysis, error) {
	fs, n, e, nb, eb, _, err := secondPass(ctx, opt, w, expr, passSlow, "")
	if err != nil {
		return nil, err
	}
	s := &SlowAnalysis{Expression: expr, ThresholdSeconds: thr, Requests: int64(n), SlowRequests: int64(e), Findings: fs}
	if n > 0 {
		s.SlowRate = round(e/n, 4)
	}
	if w.hasBase && nb > 0 {
		s.BaselineSlowRate = ptr(round(eb/nb, 4))
	}
	return s, nil
}
