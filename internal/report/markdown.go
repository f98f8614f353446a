package report

import (
	"github.com/dustin/go-humanize"
	"io"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

// Markdown writes the report as GitHub-flavoured Markdown, for a ticket,
// a chat message or the incident timeline.
func Markdown(w io.Writer, r *triage.Result) error {
	ew := &errWriter{w: w}
	im := r.Impact
	ew.printf("## Triage: %s\n\n", mdEscape(headline(r)))
	ew.printf("| | Incident | Baseline |\n|---|---:|---:|\n")
	hasBase := r.Window.Baseline.Start != nil
	ew.printf("| Window | %s | %s |\n", spanText(r.Window.Incident), spanText(r.Window.Baseline))
	ew.printf("| Requests | %s | %s |\n", humanize.Comma(im.Requests), baseStr(hasBase, humanize.Comma(im.BaselineRequests)))
	ew.printf("| Errors | %s | %s |\n", humanize.Comma(im.Errors), baseStr(hasBase, humanize.Comma(im.BaselineErrors)))
	ew.printf("| Error rate | %s | %s |\n", pct(im.ErrorRate), baseStr(hasBase, pct(im.BaselineErrorRate)))
	if l := im.Latency; l != nil {
		ew.printf("| Latency p50 / p95 / p99 | %s / %s / %s | %s / %s / %s |\n",
			dur(l.P50), dur(l.P95), dur(l.P99), durp(l.BaselineP50), durp(l.BaselineP95), durp(l.BaselineP99))
	}
	ew.printf("| Clients affected | %s of %s | |\n", humanize.Comma(im.ClientsAffected), humanize.Comma(im.Clients))
	ew.printf("| Failing statuses | %s | |\n", mdEscape(statusText(im.StatusCodes)))
	if t := im.Timeout; t != nil {
		ew.printf("| Timeout | %s | |\n", t.Summary())
	}
	if im.Onset != nil {
		ew.printf("\n**Onset:** %s", clock(*im.Onset))
		if r.Onset != nil {
			if r.Onset.Method == "latency" {
				ew.printf(" (p%.0f latency %s → %s", r.Onset.Quantile*100, dur(r.Onset.Before), dur(r.Onset.After))
				if o := r.Onset; o.ThresholdSeconds > 0 {
					ew.printf("; %s of requests over %s, from %s", pct(o.SlowAfter), dur(o.ThresholdSeconds), pct(o.SlowBefore))
				}
				ew.printf(")")
			} else {
				of := ""
				if len(r.Onset.Scope) > 0 {
					of = " of " + signal.JoinScope(r.Onset.Scope, ", ")
				}
				what := "error rate"
				if r.Onset.Method == "retries" {
					what = "requests retried after a failed upstream attempt"
				}
				ew.printf(" (%s%s %s → %s)", what, of, pct(r.Onset.Before), pct(r.Onset.After))
			}
		}
		ew.printf("\n")
	}
	if line, _, max, first, last := sparkline(r, 60); line != "" {
		ew.printf("\nError rate %s–%s (max %s): `%s`\n", axisTime(first, first, last), axisTime(last, first, last), pct(max), line)
	}
	ew.printf("\n### Findings\n\n")
	if len(r.Findings) == 0 {
		ew.printf("No dimension value concentrates the failing requests beyond noise.\n")
	} else {
		mdFindings(ew, r.Findings, "Errors", "Fail rate", "Same errors")
	}
	if c := r.ClientErrors; c != nil {
		ew.printf("\n### %s\n\n", mdEscape(clientTitle(c)))
		if len(c.Findings) == 0 {
			ew.printf("No dimension value concentrates them beyond noise (or the logs could not be read again).\n")
		} else {
			mdFindings(ew, c.Findings, c.Which(), "Rate", "Same requests")
		}
	}
	if s := r.Slow; s != nil {
		ew.printf("\n### %s\n\n", mdEscape(slowTitle(s)))
		if len(s.Findings) == 0 {
			ew.printf("No dimension value concentrates the slow requests beyond noise.\n")
		} else {
			mdFindings(ew, s.Findings, "Slow", "Slow rate", "Same slow requests")
		}
	}
	if rows := proxyErrorRows(r); len(rows) > 0 {
		ew.printf("\n### %s\n\n", mdEscape(proxyErrorsTitle))
		ew.printf("| %s |\n|%s\n", strings.Join(proxyErrorHeader, " | "), strings.Repeat("---|", len(proxyErrorHeader)))
		for _, row := range rows {
			for i := range row {
				row[i] = mdEscape(row[i])
			}
			ew.printf("| %s |\n", strings.Join(row, " | "))
		}
	}
	if len(r.Hypotheses) > 0 {
		ew.printf("\n### Hypotheses\n\n")
		for i, h := range r.Hypotheses {
			ew.printf("%d. **%s** (%.0f%%): %s\n", i+1, h.Cause, h.Confidence*100, mdEscape(h.Summary))
			for _, e := range h.Evidence {
				ew.printf("   - for: %s\n", mdEscape(e))
			}
			for _, e := range h.Against {
				ew.printf("   - against: %s\n", mdEscape(e))
			}
			for _, c := range h.Checks {
				ew.printf("   - check: `%s`\n", strings.ReplaceAll(c, "`", "'"))
			}
			for _, c := range h.Containment {
				ew.printf("   - contain: %s (risk: %s)\n", mdEscape(c.Action), mdEscape(c.Risk))
			}
		}
	}
	ew.printf("\n_%s_\n", mdEscape(inputsLine(r.Inputs)))
	if r.Inputs.FormatWarning != "" {
		ew.printf("\n> **Warning:** %s\n", mdEscape(r.Inputs.FormatWarning))
	}
	for _, n := range r.Notes {
		ew.printf("\n> %s\n", mdEscape(n))
	}
	return ew.err
}

// mdEscape escapes the characters that would break a table cell or start
// formatting.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`, "`", "'", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

// codeEscape makes s safe inside a code span in a table cell.
func codeEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "`", "'").Replace(s)
}

// mdFindings writes findings as a table and a numbered list of summaries.
func mdFindings(ew *errWriter, fs []triage.Finding, share, rate, same string) {
	ew.printf("| # | Scope | %s | Traffic | %s | Baseline | Lift |\n|---:|---|---:|---:|---:|---:|---:|\n", share, rate)
	for i, f := range fs {
		ew.printf("| %d | `%s` | %s | %s | %s | %s | %s |\n", i+1, codeEscape(scopeText(f.Dimension, f.Value)), pct(f.ErrorShare), pct(f.TrafficShare),
			pct(f.ErrorRate), ratep(f.BaselineErrorRate), lift(f.Lift))
	}
	ew.printf("\n")
	for i, f := range fs {
		ew.printf("%d. %s\n", i+1, mdEscape(f.Summary))
		if len(f.Related) > 0 {
			var rel []string
			for _, x := range f.Related {
				rel = append(rel, "`"+codeEscape(scopeText(x.Dimension, x.Value))+"`")
			}
			ew.printf("   %s: %s.\n", same, strings.Join(rel, ", "))
		}
	}
}
