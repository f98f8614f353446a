// Package report renders triage results: a terminal report that fits one
// screen, Markdown for tickets and chat, and the stable JSON.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/sitrep-dev/sitrep/internal/triage"
)

// JSON writes the result as indented JSON (design.md §4.4).
func JSON(w io.Writer, r *triage.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// headline is the one-line answer: is there an incident, since when, where.
func headline(r *triage.Result) string {
	im := r.Impact
	var b strings.Builder
	switch {
	case r.Onset != nil && r.Onset.Method == "latency":
		fmt.Fprintf(&b, "Latency up since %s: p%.0f %s → %s", short(im.Onset), r.Onset.Quantile*100, dur(r.Onset.Before), dur(r.Onset.After))
		if o := r.Onset; o.ThresholdSeconds > 0 {
			fmt.Fprintf(&b, " (%s of requests over %s, from %s)", pct(o.SlowAfter), dur(o.ThresholdSeconds), pct(o.SlowBefore))
		}
	case r.Onset != nil && r.Onset.Method == "retries" && im.Onset != nil:
		fmt.Fprintf(&b, "Upstream failures hidden by retries since %s: %s of requests failed at least once (baseline %s)", short(im.Onset), pct(im.ErrorRate), pct(im.BaselineErrorRate))
	case im.Onset != nil && im.Significant:
		fmt.Fprintf(&b, "Errors up since %s: %s fail (baseline %s)", short(im.Onset), pct(im.ErrorRate), pct(im.BaselineErrorRate))
	case im.Onset == nil && r.Onset != nil && im.Significant:
		fmt.Fprintf(&b, "Incident under way when the log starts: %s of requests fail (%s after recovery)", pct(im.ErrorRate), pct(im.BaselineErrorRate))
	case r.ClientErrors != nil:
		c := r.ClientErrors
		fmt.Fprintf(&b, "Client errors up since %s: %s of requests get a 4xx (baseline %s); the error rate (%s) did not move",
			c.Onset.UTC().Format("15:04:05"), pct(c.Share), pct(c.BaselineShare), pct(im.ErrorRate))
	default:
		fmt.Fprintf(&b, "No incident found: error rate %s, no significant change", pct(im.ErrorRate))
	}
	switch f, of, spread := r.Lead(); {
	case f != nil && spread:
		fmt.Fprintf(&b, "; %s are spread: the largest group, %s, holds %s", of, scopeText(f.Dimension, f.Value), pct(f.ErrorShare))
	case f != nil:
		fmt.Fprintf(&b, "; %s holds %s of %s", scopeText(f.Dimension, f.Value), pct(f.ErrorShare), of)
	case spread:
		b.WriteString("; errors are spread, no dimension concentrates them")
	}
	return b.String()
}

// slowTitle heads the slow-request pass: what "slow" means and how many.
func slowTitle(s *triage.SlowAnalysis) string {
	t := fmt.Sprintf("Slow requests (request_time > %s): %s of the incident's requests", dur(s.ThresholdSeconds), pct(s.SlowRate))
	if s.BaselineSlowRate != nil {
		t += fmt.Sprintf(", %s before the onset", pct(*s.BaselineSlowRate))
	}
	return t
}

// clientTitle heads the client-error step: since when, how many, which codes.
func clientTitle(c *triage.ClientErrorAnalysis) string {
	t := fmt.Sprintf("Client errors (%s) since %s: %s of the requests, %s before", c.Which(),
		c.Onset.UTC().Format("15:04:05"), pct(c.Share), pct(c.BaselineShare))
	if c.End != nil {
		t += fmt.Sprintf(", back to normal at %s", c.End.UTC().Format("15:04:05"))
	}
	return t + " — " + statusText(c.Codes)
}

// scopeText is "dim=value" or "dim1=v1, dim2=v2" in the finding's order.
func scopeText(dim, val string) string {
	dims := strings.Split(dim, ",")
	vals := strings.Split(val, ",")
	if len(dims) != len(vals) {
		return dim + "=" + val
	}
	parts := make([]string, len(dims))
	for i := range dims {
		parts[i] = dims[i] + "=" + vals[i]
	}
	return strings.Join(parts, ", ")
}

func clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

func short(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return t.UTC().Format("15:04:05")
}

// spanText is "2006-01-02 15:04:05–15:04:05 UTC", with the second date
// only when it differs.
func spanText(s triage.Span) string {
	if s.Start == nil {
		return "none"
	}
	a := s.Start.UTC()
	out := a.Format("2006-01-02 15:04:05") + "–"
	if s.End == nil {
		return out + "…"
	}
	b := s.End.UTC()
	if b.Format("2006-01-02") != a.Format("2006-01-02") {
		return out + b.Format("2006-01-02 15:04:05") + " UTC"
	}
	return out + b.Format("15:04:05") + " UTC"
}

func pct(v float64) string {
	p := v * 100
	switch {
	case p == 0:
		return "0%"
	case p < 0.1:
		return fmt.Sprintf("%.3f%%", p)
	case p < 10:
		return fmt.Sprintf("%.2f%%", p)
	default:
		return fmt.Sprintf("%.1f%%", p)
	}
}

func dur(s float64) string {
	switch {
	case s < 0.001:
		return fmt.Sprintf("%.0fµs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.0fms", s*1e3)
	default:
		return fmt.Sprintf("%.2fs", s)
	}
}

func durp(s *float64) string {
	if s == nil {
		return "—"
	}
	return dur(*s)
}

func ratep(v *float64) string {
	if v == nil {
		return "—"
	}
	return pct(*v)
}

func lift(v *float64) string {
	if v == nil {
		return "—"
	}
	if *v >= 10 {
		return fmt.Sprintf("%.0f×", *v)
	}
	return fmt.Sprintf("%.1f×", *v)
}

// statusText lists failing status codes, most frequent first.
func statusText(m map[string]int64) string {
	type kv struct {
		k string
		v int64
	}
	var s []kv
	for k, v := range m {
		s = append(s, kv{k, v})
	}
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && (s[j].v > s[j-1].v || (s[j].v == s[j-1].v && s[j].k < s[j-1].k)); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	var parts []string
	for i, e := range s {
		if i == 5 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%s ×%s", e.k, humanize.Comma(e.v)))
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, ", ")
}

var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// sparkline resamples the series' error rate into at most width columns and
// returns the line, the column of the onset (-1 when none) and the maximum
// rate shown.
func sparkline(r *triage.Result, width int) (line string, onsetCol int, max float64, first, last time.Time) {
	pts := r.Series.Points
	onsetCol = -1
	if len(pts) == 0 || width <= 0 {
		return "", -1, 0, first, last
	}
	per := int(math.Ceil(float64(len(pts)) / float64(width)))
	if per < 1 {
		per = 1
	}
	var rates []float64
	var has []bool
	for i := 0; i < len(pts); i += per {
		var n, e int64
		end := min(i+per, len(pts))
		for _, p := range pts[i:end] {
			n += p.Requests
			e += p.Errors
		}
		if r.Impact.Onset != nil && onsetCol < 0 && !pts[end-1].Time.Before(*r.Impact.Onset) {
			onsetCol = len(rates)
		}
		rate := 0.0
		if n > 0 {
			rate = float64(e) / float64(n)
		}
		rates = append(rates, rate)
		has = append(has, n > 0)
		if rate > max {
			max = rate
		}
	}
	var b strings.Builder
	for i, v := range rates {
		if !has[i] {
			b.WriteRune(' ')
			continue
		}
		k := 0
		if max > 0 {
			k = int(math.Round(v / max * float64(len(sparkRunes)-1)))
		}
		b.WriteRune(sparkRunes[k])
	}
	step := time.Duration(r.Series.BucketSeconds * float64(time.Second))
	return b.String(), onsetCol, max, pts[0].Time, pts[len(pts)-1].Time.Add(step)
}

// axisTime formats a sparkline axis label: the time of day, with the date
// when the series spans more than a day.
func axisTime(t, first, last time.Time) string {
	if last.Sub(first) > 24*time.Hour {
		return t.UTC().Format("01-02 15:04")
	}
	return t.UTC().Format("15:04")
}

// proxyErrorsTitle heads the proxy error log's table.
const proxyErrorsTitle = "Proxy error log (what the proxy said about its upstreams)"

// proxyErrorRows are the proxy error log's kinds and upstreams as table
// cells: kind, upstream, lines in the incident, per minute there and in
// the baseline, the first minute in the incident.
func proxyErrorRows(r *triage.Result) [][]string {
	hasBase := r.Window.Baseline.Start != nil
	var rows [][]string
	for _, e := range r.ProxyErrors {
		base := "—"
		if hasBase {
			base = perMinute(e.BaselinePerMinute)
		}
		rows = append(rows, []string{e.Kind, e.Where(), humanize.Comma(e.Incident), perMinute(e.IncidentPerMinute), base, e.First.UTC().Format("15:04")})
	}
	return rows
}

var proxyErrorHeader = []string{"KIND", "UPSTREAM", "INCIDENT", "PER MIN", "BASELINE PER MIN", "FIRST"}

func perMinute(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 0.1:
		return "<0.1"
	case v < 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}
