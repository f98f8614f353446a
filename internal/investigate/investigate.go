// Package investigate wires the sources to the triage engine: it reads the
// access logs, the change log and the metrics a user points at, runs the
// scope/correlate engine and the hypotheses stage, and returns the result.
// The CLI's triage command, the lab's evaluation and the demo share it, so
// that all three run exactly the same analysis.
package investigate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/source/accesslog"
	"github.com/sitrep-dev/sitrep/internal/source/changes"
	"github.com/sitrep-dev/sitrep/internal/source/prom"
	"github.com/sitrep-dev/sitrep/internal/triage"
	"github.com/sitrep-dev/sitrep/internal/triage/hypothesis"
)

// Options says what to read and how to analyse it.
type Options struct {
	// Logs are access-log paths, globs or "-" (read from Stdin).
	Logs      []string
	LogFormat string
	Stdin     io.Reader
	// Progress reports bytes read (see accesslog.Options.Progress).
	Progress func(done, total int64)
	// SinglePass reads the logs once, even for a latency incident or a
	// step in client errors (see triage.Options.Rescannable).
	SinglePass bool

	// Error, Since, Until, Baseline and Top are triage.Options'.
	Error        string
	Since, Until time.Time
	Baseline     *[2]time.Time
	Top          int

	// ChangeFiles are JSON-lines change logs (globs allowed); Changes are
	// more changes (from the store, importers).
	ChangeFiles []string
	Changes     []signal.Change
	// MetricFiles are Prometheus query_range JSON files (globs allowed);
	// Metrics are more series (from a live Prometheus).
	MetricFiles []string
	Metrics     []signal.Series
	Catalog     *prom.Catalog

	// DB and DNS are the optional database and DNS checks' evidence.
	DB  *hypothesis.DBHealth
	DNS []hypothesis.DNSCheck

	Logger *slog.Logger
	Now    func() time.Time
}

// Run reads everything and analyses it.
func Run(ctx context.Context, o Options) (*triage.Result, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	chs, err := LoadChanges(o.ChangeFiles)
	if err != nil {
		return nil, err
	}
	chs = dedupe(append(chs, o.Changes...))
	series := append([]signal.Series{}, o.Metrics...)
	if len(o.MetricFiles) > 0 {
		s, err := prom.ReadFiles(o.MetricFiles)
		if err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
		series = append(series, s...)
	}
	var notes []string
	opt := triage.Options{Error: o.Error, Since: o.Since, Until: o.Until, Baseline: o.Baseline, Top: o.Top,
		Changes: chs, Metrics: series, Logger: o.Logger, Now: o.Now}
	// Files can be read twice (the slow-request and client-error passes);
	// standard input cannot.
	opt.Rescannable = !o.SinglePass && !slices.Contains(o.Logs, "-")
	scans := 0
	opt.Scan = func(ctx context.Context, newSink func() signal.RequestSink) (triage.Inputs, error) {
		scans++
		st, err := accesslog.Scan(ctx, accesslog.Options{Paths: o.Logs, Format: o.LogFormat, Stdin: o.Stdin, Progress: o.Progress}, newSink)
		if scans > 1 {
			return triage.Inputs{}, err // a second pass: the inputs and their notes are the first pass's
		}
		in := triage.Inputs{Lines: st.Lines, Malformed: st.Malformed, Skipped: st.Skipped, Sources: st.Sources, Formats: st.Formats,
			Containers: st.Containers, ProxyErrorLog: st.ProxyErrors, Bytes: st.Bytes}
		for _, m := range st.Samples {
			in.MalformedSamples = append(in.MalformedSamples, triage.MalformedLine{File: m.File, Line: m.Line, Text: m.Text, Reason: m.Reason})
		}
		if st.FormatSuspect {
			in.FormatWarning = fmt.Sprintf("%d of %d lines did not parse: the log format is probably wrong", st.Malformed, st.Lines)
			if st.Suggestion != "" {
				in.FormatWarning += fmt.Sprintf("; try --log-format %q", st.Suggestion)
			} else {
				in.FormatWarning += "; give it with --log-format"
			}
		}
		srcs := append([]string(nil), st.Sources...)
		sort.Strings(srcs)
		for _, src := range srcs {
			d, ok := st.Detections[src]
			if !ok {
				continue
			}
			switch {
			case len(d.Extended) > 0:
				notes = append(notes, fmt.Sprintf("%s: format %s with %d more fields, named from their values: %s; if a name is wrong, give the format with yours: --log-format %s",
					src, d.Name, len(d.Extended), strings.Join(d.Extended, ", "), "'"+strings.ReplaceAll(d.Format.Spec, "'", `'\''`)+"'"))
			case d.Ambiguous:
				var others []string
				for _, c := range d.Candidates {
					if c != d.Name {
						others = append(others, c)
					}
				}
				notes = append(notes, fmt.Sprintf("%s: format detected as %s, but %s parse it as well; give --log-format to choose", src, d.Name, strings.Join(others, ", ")))
			case d.Extra:
				notes = append(notes, fmt.Sprintf("%s: lines carry fields after the %s format; give your log_format with --log-format to analyse them", src, d.Name))
			}
		}
		return in, err
	}
	opt.Stages = []triage.Stage{hypothesis.Stage(hypothesis.Evidence{Changes: chs, Metrics: series, Catalog: o.Catalog, DB: o.DB, DNS: o.DNS})}
	res, err := triage.Run(ctx, opt)
	if res != nil {
		res.Notes = append(notes, res.Notes...)
	}
	return res, err
}

// LoadChanges reads JSON-lines change logs; a malformed line is an error
// naming the file and line (a change log is small and hand-edited: better
// to fix it than to analyse without the change).
func LoadChanges(patterns []string) ([]signal.Change, error) {
	var out []signal.Change
	for _, p := range patterns {
		paths := []string{p}
		if strings.ContainsAny(p, "*?[") {
			m, err := filepath.Glob(p)
			if err != nil || len(m) == 0 {
				return nil, fmt.Errorf("changes: pattern %q matches no file", p)
			}
			paths = m
		}
		for _, path := range paths {
			f, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("changes: %w", err)
			}
			chs, bad, err := changes.ReadJSONL(f, path)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("changes: %w", err)
			}
			if len(bad) > 0 {
				msg := (&bad[0]).Error()
				if len(bad) > 1 {
					msg += fmt.Sprintf(" (and %d more bad lines)", len(bad)-1)
				}
				return nil, fmt.Errorf("changes: %s", msg)
			}
			out = append(out, chs...)
		}
	}
	return out, nil
}

// dedupe keeps one change per id (the last one read wins), in time order.
func dedupe(chs []signal.Change) []signal.Change {
	byID := map[string]int{}
	var out []signal.Change
	for _, c := range chs {
		if i, ok := byID[c.ID]; ok && c.ID != "" {
			out[i] = c
			continue
		}
		byID[c.ID] = len(out)
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}
