// Package htmlreport renders a triage result as one self-contained HTML
// page: the impact headline, error-rate and latency charts over time with
// the onset, the windows and every change marked, then the findings, the
// hypotheses, the ranked changes and the inputs. The page has no external
// resources (inline CSS, charts as inline SVG, no JavaScript) and prints.
package htmlreport

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"github.com/dustin/go-humanize"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

// Options controls the page.
type Options struct {
	// Title is the page title ("Triage report" when empty).
	Title string
	// Now is when the report was generated (shown in the footer; omitted
	// when zero, which keeps golden files stable).
	Now time.Time
}

//go:embed report.html.tmpl
var pageSrc string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"f": func(v float64) string {
		if !finite(v) {
			return "0"
		}
		return fmt.Sprintf("%.1f", v)
	},
	"pctw": func(v float64) string { return fmt.Sprintf("%.1f%%", clamp01(v)*100) },
	"add":  func(a, b float64) float64 { return a + b },
	"sub":  func(a, b float64) float64 { return a - b },
	"mid":  func(a, b float64) float64 { return (a + b) / 2 },
}).Parse(pageSrc))

// Write renders res, with the change events it was run against, as one
// self-contained HTML page to w. changes may be nil; changes the result
// ranks but the slice lacks are still listed by id.
func Write(w io.Writer, res *triage.Result, changes []signal.Change, opts Options) error {
	if res == nil {
		return errors.New("html report: no triage result")
	}
	v := build(res, changes, opts)
	var b bytes.Buffer
	if err := page.Execute(&b, v); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	if _, err := w.Write(sanitize(b.Bytes())); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return nil
}

// sanitize replaces invalid UTF-8 and control characters (which only user
// text can bring: log lines, change summaries) with U+FFFD, so that the page
// is valid UTF-8 and its SVG valid XML.
func sanitize(b []byte) []byte {
	clean := true
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if (r == utf8.RuneError && n == 1) || badControl(r) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return b
	}
	out := make([]byte, 0, len(b)+64)
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if (r == utf8.RuneError && n == 1) || badControl(r) {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}

func badControl(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' && r != '\r' }

// view is everything the template shows, already formatted.
type view struct {
	Title     string
	Generated string
	Headline  string
	Verdict   string // "incident", "latency", "none": colours the header
	Windows   []kv
	Stats     []stat
	Codes     []kv
	Leading   *leading

	Chart   *chart
	NoChart string

	TopPaths      []pathRow
	ProxyErrors   []proxyErrorRow
	Findings      []findingRow
	FindingsTable findingTable
	Passes        []passView
	Hypotheses    []hypothesisRow
	Ranked        []changeRow
	Others        []changeRow
	Kinds         []kindLegend
	Inputs        []kv
	Sources       []sourceRow
	Warning       string
	Malformed     []malformedRow
	Notes         []string
}

type kv struct {
	K, V string
}

type stat struct {
	Label, Value, Sub string
	Class             string
}

type leading struct {
	Cause, Code, Confidence string
	Summary                 Text
	ChangeID                string
}

type proxyErrorRow struct {
	Kind, Upstream                             Text
	Incident, PerMinute, BaselinePerMin, First string
}

type pathRow struct {
	Path                   Text
	Requests, Errors, Rate string
	Bar                    float64
}

type findingRow struct {
	Dimension, Value              Text
	ErrorShare, TrafficShare      string
	ErrorRate, BaselineRate, Lift string
	ErrorBar, TrafficBar          float64
	Summary                       string
	Estimated                     bool
}

type hypothesisRow struct {
	Rank        int
	Cause, Code string
	Confidence  float64
	ConfText    string
	Summary     string
	ChangeID    string
	ChangeKnown bool
	Evidence    []string
	Against     []string
	Checks      []string
	Containment []containmentRow
	Top         bool
}

type containmentRow struct{ Action, Risk string }

type changeRow struct {
	Rank     int
	ID       Text
	Time     string
	Kind     string
	Class    string
	Score    string
	ScoreBar float64
	Summary  Text
	Service  string
	Reasons  []string
	Blamed   bool
	Missing  bool
}

type kindLegend struct{ Kind, Class string }

type sourceRow struct{ Name, Format Text }

type malformedRow struct {
	Where  string
	Reason string
	Text   Text
}

func build(res *triage.Result, changes []signal.Change, opts Options) *view {
	v := &view{Title: opts.Title}
	if v.Title == "" {
		v.Title = "Triage report"
	}
	if !opts.Now.IsZero() {
		v.Generated = clock(opts.Now)
	}
	im := res.Impact
	v.Headline, v.Verdict = headline(res)

	v.Windows = []kv{
		{"Baseline", spanText(res.Window.Baseline.Start, res.Window.Baseline.End)},
		{"Incident", spanText(res.Window.Incident.Start, res.Window.Incident.End)},
	}

	rateSub := "baseline " + pct(im.BaselineErrorRate)
	if finite(im.BaselineErrorRate) && im.BaselineErrorRate > 0 && finite(im.ErrorRate) {
		rateSub += " · " + times(im.ErrorRate/im.BaselineErrorRate)
	}
	rateClass := ""
	if im.Significant {
		rateClass = "bad"
	}
	v.Stats = append(v.Stats,
		stat{Label: "Error rate", Value: pct(im.ErrorRate), Sub: rateSub, Class: rateClass},
		stat{Label: "Requests", Value: humanize.Comma(im.Requests), Sub: humanize.Comma(im.Errors) + " failed · baseline " + humanize.Comma(im.BaselineRequests)},
	)
	clients := stat{Label: "Clients affected", Value: humanize.Comma(im.ClientsAffected)}
	if im.Clients > 0 {
		clients.Sub = "of " + humanize.Comma(im.Clients) + " clients (" + pct(float64(im.ClientsAffected)/float64(im.Clients)) + ")"
	} else {
		clients.Sub = "clients seen in the incident window"
	}
	v.Stats = append(v.Stats, clients)
	on := stat{Label: "Onset", Value: "—", Sub: "no onset found"}
	if im.Onset != nil {
		on.Value = hms(*im.Onset) + " UTC"
		on.Sub = im.Onset.UTC().Format("2006-01-02")
		if res.Onset != nil && res.Onset.Method != "" {
			on.Sub += " · " + res.Onset.Method + " step"
			if len(res.Onset.Scope) > 0 {
				on.Sub += " of " + signal.JoinScope(res.Onset.Scope, ", ")
			}
		}
	}
	v.Stats = append(v.Stats, on)
	if l := im.Latency; l != nil {
		sub := "baseline " + durp(l.BaselineP99)
		if l.BaselineP99 == nil {
			sub = "no baseline"
		}
		v.Stats = append(v.Stats, stat{Label: "Latency p99", Value: dur(l.P99), Sub: sub + " · p50 " + dur(l.P50)})
	}
	if t := im.Timeout; t != nil {
		v.Stats = append(v.Stats, stat{Label: "Timeout", Value: t.About(), Sub: fmt.Sprintf("%s of failing requests ended there", pct(t.Share))})
	}
	codes := make([]string, 0, len(im.StatusCodes))
	for k := range im.StatusCodes {
		codes = append(codes, k)
	}
	sort.Strings(codes)
	for _, k := range codes {
		v.Codes = append(v.Codes, kv{trunc(k, 24).Short, humanize.Comma(im.StatusCodes[k])})
	}

	byID := make(map[string]*signal.Change, len(changes))
	for i := range changes {
		if _, dup := byID[changes[i].ID]; !dup {
			byID[changes[i].ID] = &changes[i]
		}
	}

	blamed := ""
	if len(res.Hypotheses) > 0 {
		h := res.Hypotheses[0]
		if h.ChangeID != nil {
			blamed = *h.ChangeID
		}
		v.Leading = &leading{
			Cause: causeTitle(h.Cause), Code: h.Cause, Confidence: pct(clamp01(h.Confidence)),
			Summary: trunc(h.Summary, 240), ChangeID: blamed,
		}
	}

	if c, ok := buildChart(res, changes, blamed); ok {
		if c.Merged > 1 {
			c.MergedWidth = bucketText(float64(c.Merged) * bucketWidth(res.Series).Seconds())
		}
		v.Chart = c
	} else {
		v.NoChart = "No time series or timed events in the input: nothing to draw over time."
	}
	seenKind := map[string]bool{}
	for _, ch := range changes {
		cl := kindClass(ch.Kind)
		if !seenKind[cl] {
			seenKind[cl] = true
			v.Kinds = append(v.Kinds, kindLegend{Kind: strings.TrimPrefix(cl, "k-"), Class: cl})
		}
	}
	sort.Slice(v.Kinds, func(i, j int) bool { return v.Kinds[i].Kind < v.Kinds[j].Kind })

	for _, p := range im.TopPaths {
		v.TopPaths = append(v.TopPaths, pathRow{
			Path: trunc(p.Path, 80), Requests: humanize.Comma(p.Requests), Errors: humanize.Comma(p.Errors),
			Rate: pct(p.ErrorRate), Bar: clamp01(p.ErrorRate),
		})
	}

	for _, e := range res.ProxyErrors {
		base := "—"
		if res.Window.Baseline.Start != nil {
			base = fmt.Sprintf("%.1f", e.BaselinePerMinute)
		}
		v.ProxyErrors = append(v.ProxyErrors, proxyErrorRow{Kind: trunc(e.Kind, 60), Upstream: trunc(e.Where(), 60),
			Incident: humanize.Comma(e.Incident), PerMinute: fmt.Sprintf("%.1f", e.IncidentPerMinute), BaselinePerMin: base,
			First: e.First.UTC().Format("15:04")})
	}
	v.Findings = findingRows(res.Findings)
	v.FindingsTable = findingTable{Noun: "Error", Rows: v.Findings}
	if c := res.ClientErrors; c != nil {
		codes := c.Which()
		intro := fmt.Sprintf("The error rate and latency did not move, but client errors did: from %s UTC, %s of the requests got a 4xx (%s before). A second pass compared the requests answered %s with the others; shares and rates below are of those.",
			hms(c.Onset), pct(c.Share), pct(c.BaselineShare), codes)
		v.Passes = append(v.Passes, passView{ID: "client-errors", Title: "Client errors (" + codes + ")", Intro: intro,
			Empty: "No dimension concentrates them (or the logs could not be read again).", Table: findingTable{Noun: codes, Rows: findingRows(c.Findings)}})
	}
	if s := res.Slow; s != nil {
		intro := fmt.Sprintf("Latency moved but the error rate did not: a second pass compared the requests slower than %s (%s of the incident's requests", dur(s.ThresholdSeconds), pct(s.SlowRate))
		if s.BaselineSlowRate != nil {
			intro += ", " + pct(*s.BaselineSlowRate) + " before the onset"
		}
		intro += ") with the others. Shares and rates below are of slow requests."
		v.Passes = append(v.Passes, passView{ID: "slow", Title: "Slow requests", Intro: intro,
			Empty: "No dimension concentrates the slow requests.", Table: findingTable{Noun: "Slow", Rows: findingRows(s.Findings)}})
	}

	for i, h := range res.Hypotheses {
		row := hypothesisRow{
			Rank: i + 1, Cause: causeTitle(h.Cause), Code: h.Cause,
			Confidence: clamp01(h.Confidence), ConfText: pct(clamp01(h.Confidence)),
			Summary: h.Summary, Evidence: h.Evidence, Against: h.Against, Checks: h.Checks,
			Top: i == 0,
		}
		if h.ChangeID != nil {
			row.ChangeID = *h.ChangeID
			_, row.ChangeKnown = byID[row.ChangeID]
		}
		for _, c := range h.Containment {
			row.Containment = append(row.Containment, containmentRow{c.Action, c.Risk})
		}
		v.Hypotheses = append(v.Hypotheses, row)
	}

	ranked := map[string]bool{}
	for i, rc := range res.Changes {
		ranked[rc.ID] = true
		row := changeRow{
			Rank: i + 1, ID: trunc(rc.ID, 40), Score: score(rc.Score), ScoreBar: clamp01(rc.Score),
			Reasons: rc.Reasons, Blamed: blamed != "" && rc.ID == blamed, Class: "k-other",
		}
		if ch, ok := byID[rc.ID]; ok {
			fillChange(&row, ch)
		} else {
			row.Missing = true
		}
		v.Ranked = append(v.Ranked, row)
	}
	var others []*signal.Change
	for i := range changes {
		if !ranked[changes[i].ID] {
			others = append(others, &changes[i])
		}
	}
	sort.SliceStable(others, func(i, j int) bool { return others[i].Time.Before(others[j].Time) })
	for _, ch := range others {
		row := changeRow{ID: trunc(ch.ID, 40), Blamed: blamed != "" && ch.ID == blamed}
		fillChange(&row, ch)
		v.Others = append(v.Others, row)
	}

	in := res.Inputs
	v.Inputs = []kv{
		{"Lines read", humanize.Comma(in.Lines)},
		{"Malformed lines", humanize.Comma(in.Malformed) + malformedShare(in)},
		{"Requests analysed", humanize.Comma(in.Requests)},
	}
	if in.Skipped > 0 {
		v.Inputs = append(v.Inputs, kv{"Lines of the proxy's own log (skipped)", humanize.Comma(in.Skipped)})
	}
	if in.Untimed > 0 {
		v.Inputs = append(v.Inputs, kv{"Without timestamp", humanize.Comma(in.Untimed)})
	}
	if in.Filtered > 0 {
		v.Inputs = append(v.Inputs, kv{"Outside --since/--until", humanize.Comma(in.Filtered)})
	}
	if in.Bytes > 0 {
		v.Inputs = append(v.Inputs, kv{"Bytes read", humanize.Comma(in.Bytes)})
	}
	if in.Error != "" {
		v.Inputs = append(v.Inputs, kv{"Error predicate", in.Error})
	}
	if w := res.Series.BucketSeconds; finite(w) && w > 0 {
		v.Inputs = append(v.Inputs, kv{"Bucket width", bucketText(w)})
	}
	for _, s := range in.Sources {
		v.Sources = append(v.Sources, sourceRow{Name: trunc(s, 80), Format: trunc(in.FormatOf(s), 60)})
	}
	v.Warning = in.FormatWarning
	for _, m := range in.MalformedSamples {
		v.Malformed = append(v.Malformed, malformedRow{
			Where: fmt.Sprintf("%s:%d", m.File, m.Line), Reason: m.Reason, Text: trunc(m.Text, 120),
		})
	}
	v.Notes = res.Notes
	return v
}

func fillChange(row *changeRow, ch *signal.Change) {
	row.Time = clock(ch.Time)
	row.Kind = ch.Kind
	if row.Kind == "" {
		row.Kind = "other"
	}
	row.Kind = trunc(row.Kind, 16).Short
	row.Class = kindClass(ch.Kind)
	row.Summary = trunc(ch.Summary, 160)
	row.Service = trunc(ch.Service, 32).Short
}

func malformedShare(in triage.Inputs) string {
	if in.Lines <= 0 || in.Malformed <= 0 {
		return ""
	}
	return " (" + pct(float64(in.Malformed)/float64(in.Lines)) + ")"
}

// quantileName is "p99" for 0.99, or "latency" when the quantile is unknown.
func quantileName(q float64) string {
	if q <= 0 || q >= 1 {
		return "latency"
	}
	return fmt.Sprintf("p%g", math.Round(q*1000)/10)
}

// findingRows lays out findings for the template.
func findingRows(fs []triage.Finding) []findingRow {
	var rows []findingRow
	for _, f := range fs {
		rows = append(rows, findingRow{
			Dimension:    trunc(f.Dimension, 32),
			Value:        trunc(f.Value, 48),
			ErrorShare:   pct(f.ErrorShare),
			TrafficShare: pct(f.TrafficShare),
			ErrorBar:     clamp01(f.ErrorShare),
			TrafficBar:   clamp01(f.TrafficShare),
			ErrorRate:    pct(f.ErrorRate),
			BaselineRate: pctp(f.BaselineErrorRate),
			Lift:         timesp(f.Lift),
			Summary:      f.Summary,
			Estimated:    f.Estimated,
		})
	}
	return rows
}

// passView is a second pass over the logs (slow requests, client errors).
type passView struct {
	ID, Title, Intro, Empty string
	Table                   findingTable
}

// findingTable is one table of findings; Noun names its share and rate
// columns ("Error", "Slow").
type findingTable struct {
	Noun string
	Rows []findingRow
}

// headline is the one-sentence answer and the verdict class for the header.
func headline(r *triage.Result) (string, string) {
	im := r.Impact
	var b strings.Builder
	verdict := "incident"
	switch {
	case r.Onset != nil && r.Onset.Method == "latency" && im.Onset != nil:
		fmt.Fprintf(&b, "Latency up since %s UTC: %s %s → %s", hms(*im.Onset), quantileName(r.Onset.Quantile), dur(r.Onset.Before), dur(r.Onset.After))
		if o := r.Onset; o.ThresholdSeconds > 0 {
			fmt.Fprintf(&b, " (%s of requests over %s, from %s)", pct(o.SlowAfter), dur(o.ThresholdSeconds), pct(o.SlowBefore))
		}
		verdict = "latency"
	case r.Onset != nil && r.Onset.Method == "retries" && im.Onset != nil:
		fmt.Fprintf(&b, "Upstream failures hidden by retries since %s UTC: %s of requests failed at least once (baseline %s)", hms(*im.Onset), pct(im.ErrorRate), pct(im.BaselineErrorRate))
	case im.Onset != nil && im.Significant:
		fmt.Fprintf(&b, "Errors up since %s UTC: %s of requests fail (baseline %s)", hms(*im.Onset), pct(im.ErrorRate), pct(im.BaselineErrorRate))
	case im.Onset == nil && r.Onset != nil && im.Significant:
		fmt.Fprintf(&b, "Incident under way when the log starts: %s of requests fail (%s after recovery)", pct(im.ErrorRate), pct(im.BaselineErrorRate))
	case r.ClientErrors != nil:
		c := r.ClientErrors
		fmt.Fprintf(&b, "Client errors up since %s UTC: %s of requests get a 4xx (baseline %s); the error rate (%s) did not move", hms(c.Onset), pct(c.Share), pct(c.BaselineShare), pct(im.ErrorRate))
		verdict = "latency"
	default:
		fmt.Fprintf(&b, "No incident found: error rate %s, no significant change", pct(im.ErrorRate))
		verdict = "none"
	}
	switch f, of, spread := r.Lead(); {
	case f != nil && spread:
		fmt.Fprintf(&b, "; %s are spread: the largest group, %s, holds %s", of, trunc(scopeText(f.Dimension, f.Value), 80).Short, pct(f.ErrorShare))
	case f != nil:
		fmt.Fprintf(&b, "; %s holds %s of %s", trunc(scopeText(f.Dimension, f.Value), 80).Short, pct(f.ErrorShare), of)
	case spread && verdict == "incident":
		b.WriteString("; errors are spread, no dimension concentrates them")
	}
	return b.String(), verdict
}

// bucketText is a bucket width in words: "1 min", "10 s", "2 h".
func bucketText(sec float64) string {
	switch {
	case sec >= 3600 && math.Mod(sec, 3600) == 0:
		return fmt.Sprintf("%.0f h", sec/3600)
	case sec >= 60 && math.Mod(sec, 60) == 0:
		return fmt.Sprintf("%.0f min", sec/60)
	default:
		return fmt.Sprintf("%g s", sec)
	}
}
