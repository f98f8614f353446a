package report

import (
	"fmt"
	"github.com/dustin/go-humanize"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/sitrep-dev/sitrep/internal/triage"
)

// TextOptions configures the terminal report.
type TextOptions struct {
	// Color uses ANSI colours (only when writing to a terminal).
	Color bool
	// Width is the terminal width (default 100).
	Width int
	// Verbose also lists related findings and every note.
	Verbose bool
}

const (
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiDim   = "\x1b[2m"
	ansiReset = "\x1b[0m"
)

type painter bool

func (p painter) c(code, s string) string {
	if !p {
		return s
	}
	return code + s + ansiReset
}

// Text writes the terminal report: the headline, the impact table (incident
// vs baseline), an error-rate sparkline with the onset marked, the top
// findings with their summaries, and what was read.
func Text(w io.Writer, r *triage.Result, opt TextOptions) error {
	if opt.Width <= 0 {
		opt.Width = 100
	}
	p := painter(opt.Color)
	ew := &errWriter{w: w}
	im := r.Impact

	head := wrap(headline(r), opt.Width, "  ")
	if im.Significant {
		ew.printf("%s\n\n", p.c(ansiBold+ansiRed, head))
	} else {
		ew.printf("%s\n\n", p.c(ansiBold+ansiGreen, head))
	}

	// Impact table.
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	hasBase := r.Window.Baseline.Start != nil
	ew.printf("incident  %s\n", spanText(r.Window.Incident))
	ew.printf("baseline  %s\n\n", spanText(r.Window.Baseline))
	fmt.Fprintf(tw, "%-19s\t%s\t%s\n", "", p.c(ansiBold, "INCIDENT"), p.c(ansiBold, "BASELINE"))
	fmt.Fprintf(tw, "requests\t%s\t%s\n", humanize.Comma(im.Requests), baseStr(hasBase, humanize.Comma(im.BaselineRequests)))
	fmt.Fprintf(tw, "errors\t%s\t%s\n", humanize.Comma(im.Errors), baseStr(hasBase, humanize.Comma(im.BaselineErrors)))
	fmt.Fprintf(tw, "error rate\t%s\t%s\n", pct(im.ErrorRate), baseStr(hasBase, pct(im.BaselineErrorRate)))
	if l := im.Latency; l != nil {
		fmt.Fprintf(tw, "latency p50/p95/p99\t%s / %s / %s\t%s / %s / %s\n",
			dur(l.P50), dur(l.P95), dur(l.P99), durp(l.BaselineP50), durp(l.BaselineP95), durp(l.BaselineP99))
	}
	fmt.Fprintf(tw, "clients affected\t%s of %s\n", humanize.Comma(im.ClientsAffected), humanize.Comma(im.Clients))
	if err := tw.Flush(); err != nil {
		return err
	}
	ew.printf("failing statuses     %s\n", statusText(im.StatusCodes))
	if t := im.Timeout; t != nil {
		ew.printf("timeout              %s\n", t.Summary())
	}
	if len(im.TopPaths) > 0 {
		var ps []string
		for i, tp := range im.TopPaths {
			if i == 3 {
				break
			}
			ps = append(ps, fmt.Sprintf("%s (%s)", tp.Path, humanize.Comma(tp.Errors)))
		}
		ew.printf("top failing paths    %s\n", truncate(strings.Join(ps, ", "), opt.Width-21))
	}

	// Sparkline.
	label := "error rate "
	sw := opt.Width - utf8.RuneCountInString(label) - 12
	if line, oc, max, first, last := sparkline(r, sw); line != "" {
		ew.printf("\n%s%s  max %s\n", label, colourSpark(p, line, oc), pct(max))
		n := utf8.RuneCountInString(line)
		marks := []rune(strings.Repeat(" ", n))
		if oc >= 0 && oc < n {
			marks[oc] = '^'
		}
		axis := fmt.Sprintf("%s%s", strings.Repeat(" ", len(label)), string(marks))
		ew.printf("%s\n", strings.TrimRight(axis, " "))
		left := axisTime(first, first, last)
		right := axisTime(last, first, last)
		mid := ""
		if oc >= 0 && im.Onset != nil {
			mid = "onset " + im.Onset.UTC().Format("15:04:05")
		}
		ew.printf("%s%s\n", strings.Repeat(" ", len(label)), spread(left, mid, oc, right, n))
	}

	// Findings.
	ew.printf("\n")
	if len(r.Findings) == 0 {
		ew.printf("%s\n", p.c(ansiBold, "No finding: no dimension value concentrates the failing requests beyond noise."))
	} else {
		ew.printf("%s\n", p.c(ansiBold, "Findings (what the failing requests share)"))
		if err := textFindings(ew, p, r.Findings, opt, "ERRORS", "FAIL RATE", "same errors"); err != nil {
			return err
		}
	}
	if c := r.ClientErrors; c != nil {
		ew.printf("\n%s\n", p.c(ansiBold, wrap(clientTitle(c), opt.Width, "  ")))
		if len(c.Findings) == 0 {
			ew.printf("No dimension value concentrates them beyond noise (or the logs could not be read again).\n")
		} else if err := textFindings(ew, p, c.Findings, opt, c.Which(), "RATE", "same requests"); err != nil {
			return err
		}
	}
	if s := r.Slow; s != nil {
		ew.printf("\n%s\n", p.c(ansiBold, slowTitle(s)))
		if len(s.Findings) == 0 {
			ew.printf("No dimension value concentrates the slow requests beyond noise.\n")
		} else if err := textFindings(ew, p, s.Findings, opt, "SLOW", "SLOW RATE", "same slow requests"); err != nil {
			return err
		}
	}

	if rows := proxyErrorRows(r); len(rows) > 0 {
		ew.printf("\n%s\n", p.c(ansiBold, proxyErrorsTitle))
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "%s\n", strings.Join(proxyErrorHeader, "\t"))
		for i, row := range rows {
			if i == 4 && !opt.Verbose {
				fmt.Fprintf(tw, "%s\n", p.c(ansiDim, fmt.Sprintf("(+%d more with -v)", len(rows)-4)))
				break
			}
			row[1] = truncate(row[1], 40)
			fmt.Fprintf(tw, "%s\n", strings.Join(row, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	// Hypotheses, when a later stage produced some: the leading one in full
	// (why, what speaks against it, the change it blames, what to check,
	// how to contain it and at what risk), the others in a line.
	if len(r.Hypotheses) > 0 {
		h := r.Hypotheses[0]
		title := "Most likely cause"
		if h.Cause == "unknown" {
			title = "Cause"
		}
		ew.printf("\n%s\n", p.c(ansiBold, title))
		ew.printf("%s\n", wrap(fmt.Sprintf("1. %s (%.0f%%): %s", p.c(ansiBold, h.Cause), h.Confidence*100, h.Summary), opt.Width, "   "))
		list := func(title string, items []string, max int) {
			if len(items) == 0 {
				return
			}
			ew.printf("   %s\n", p.c(ansiBold, title))
			for i, it := range items {
				if i == max && !opt.Verbose {
					ew.printf("     %s\n", p.c(ansiDim, fmt.Sprintf("(+%d more with -v)", len(items)-max)))
					break
				}
				ew.printf("     - %s\n", wrap(it, opt.Width-7, "       "))
			}
		}
		list("evidence", h.Evidence, 6)
		list("against", h.Against, 3)
		if h.ChangeID != nil {
			for _, c := range r.Changes {
				if c.ID == *h.ChangeID {
					list("blamed change", []string{c.ID + ": " + strings.Join(c.Reasons, "; ")}, 1)
				}
			}
		}
		list("check", h.Checks, 4)
		var contain []string
		for _, c := range h.Containment {
			contain = append(contain, c.Action+" — risk: "+c.Risk)
		}
		list("contain", contain, 4)
		if len(r.Hypotheses) > 1 {
			ew.printf("\n%s\n", p.c(ansiBold, "Other hypotheses"))
			for i, h := range r.Hypotheses[1:] {
				if i == 3 && !opt.Verbose {
					ew.printf("%s\n", p.c(ansiDim, fmt.Sprintf("(+%d more with -v or -o json)", len(r.Hypotheses)-4)))
					break
				}
				ew.printf("%s\n", wrap(fmt.Sprintf("%d. %s (%.0f%%): %s", i+2, h.Cause, h.Confidence*100, h.Summary), opt.Width, "   "))
			}
		}
	}

	// Inputs.
	in := r.Inputs
	ew.printf("\n%s\n", p.c(ansiDim, wrap(inputsLine(in), opt.Width, "  ")))
	if in.Malformed > 0 {
		for _, s := range in.MalformedSamples {
			ew.printf("  %s:%d: %s (%s)\n", s.File, s.Line, truncate(s.Text, opt.Width-30), s.Reason)
		}
	}
	if in.FormatWarning != "" {
		ew.printf("%s\n", p.c(ansiBold+ansiRed, "warning: "+in.FormatWarning))
	}
	for _, n := range r.Notes {
		ew.printf("%s\n", p.c(ansiDim, "note: "+wrap(n, opt.Width-6, "      ")))
	}
	return ew.err
}

func inputsLine(in triage.Inputs) string {
	skipped := ""
	if in.Skipped > 0 {
		skipped = ", " + humanize.Comma(in.Skipped) + " of the proxy's own log skipped"
	}
	s := fmt.Sprintf("read %s lines (%s malformed%s) from %s", humanize.Comma(in.Lines), humanize.Comma(in.Malformed), skipped, strings.Join(in.Sources, ", "))
	if len(in.Formats) > 0 {
		seen := map[string]bool{}
		var fs []string
		for _, src := range in.Sources {
			if f := in.FormatOf(src); f != "" && !seen[f] {
				seen[f] = true
				fs = append(fs, f)
			}
		}
		if len(fs) > 0 {
			s += "; format " + strings.Join(fs, ", ")
		}
	}
	if in.Error != "" && in.Error != triage.DefaultErrorExpr {
		s += "; error = " + in.Error
	}
	return s
}

func baseStr(has bool, s string) string {
	if !has {
		return "—"
	}
	return s
}

// colourSpark paints the columns from the onset on in red.
func colourSpark(p painter, line string, oc int) string {
	if !p || oc < 0 {
		return line
	}
	rs := []rune(line)
	if oc > len(rs) {
		return line
	}
	return string(rs[:oc]) + ansiRed + string(rs[oc:]) + ansiReset
}

// spread places left at column 0, mid near column at and right ending at
// column n.
func spread(left, mid string, at int, right string, n int) string {
	buf := []rune(strings.Repeat(" ", n+len(right)))
	put := func(col int, s string) {
		for i, r := range []rune(s) {
			if col+i >= 0 && col+i < len(buf) {
				buf[col+i] = r
			}
		}
	}
	put(0, left)
	rc := n - utf8.RuneCountInString(right)
	if rc < len(left)+1 {
		rc = len(left) + 1
	}
	if mid != "" {
		mc := at
		if mc+utf8.RuneCountInString(mid) >= rc {
			mc = rc - utf8.RuneCountInString(mid) - 1
		}
		if mc <= len(left) {
			mc = len(left) + 1
		}
		put(mc, mid)
		if mc+utf8.RuneCountInString(mid) >= rc {
			rc = mc + utf8.RuneCountInString(mid) + 1
		}
	}
	put(rc, right)
	return strings.TrimRight(string(buf), " ")
}

// wrap wraps s at width, indenting continuation lines.
func wrap(s string, width int, indent string) string {
	if width < 20 {
		width = 20
	}
	var b strings.Builder
	col := 0
	for i, word := range strings.Fields(s) {
		wl := utf8.RuneCountInString(word)
		if i > 0 {
			if col+1+wl > width {
				b.WriteString("\n" + indent)
				col = utf8.RuneCountInString(indent)
			} else {
				b.WriteByte(' ')
				col++
			}
		}
		b.WriteString(word)
		col += wl
	}
	return b.String()
}

func truncate(s string, n int) string {
	if n < 10 {
		n = 10
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

// textFindings prints findings as a table, then their summaries with the
// findings folded under each. share and rate name the columns ("ERRORS",
// "FAIL RATE"); same introduces the folded ones.
func textFindings(ew *errWriter, p painter, fs []triage.Finding, opt TextOptions, share, rate, same string) error {
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "#\tSCOPE\t%s\tTRAFFIC\t%s\tBASELINE\tLIFT\n", share, rate)
	for i, f := range fs {
		est := ""
		if f.Estimated {
			est = "~"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s%s\t%s%s\t%s\t%s\t%s\n", i+1, truncate(scopeText(f.Dimension, f.Value), 48), est, pct(f.ErrorShare), est, pct(f.TrafficShare),
			pct(f.ErrorRate), ratep(f.BaselineErrorRate), lift(f.Lift))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	ew.printf("\n")
	for i, f := range fs {
		ew.printf("%d. %s\n", i+1, wrap(f.Summary, opt.Width-3, "   "))
		if len(f.Related) > 0 {
			n := len(f.Related)
			if !opt.Verbose && n > 3 {
				n = 3
			}
			var rel []string
			for _, x := range f.Related[:n] {
				rel = append(rel, scopeText(x.Dimension, x.Value))
			}
			more := ""
			if n < len(f.Related) {
				more = fmt.Sprintf(" (+%d)", len(f.Related)-n)
			}
			ew.printf("   %s\n", p.c(ansiDim, wrap(same+": "+strings.Join(rel, "; ")+more, opt.Width-3, "   ")))
		}
	}
	return nil
}
