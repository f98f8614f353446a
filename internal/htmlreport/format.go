package htmlreport

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// finite reports whether v is a usable number (not NaN, not ±Inf).
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// pct formats a ratio as a percentage with precision that suits its size.
func pct(v float64) string {
	p := v * 100
	if !finite(p) {
		return "—"
	}
	switch {
	case p == 0:
		return "0%"
	case math.Abs(p) < 0.01:
		return "<0.01%"
	case math.Abs(p) < 10:
		return fmt.Sprintf("%.2f%%", p)
	case math.Abs(p) < 99.95:
		return fmt.Sprintf("%.1f%%", p)
	default:
		return fmt.Sprintf("%.0f%%", p)
	}
}

func pctp(v *float64) string {
	if v == nil {
		return "—"
	}
	return pct(*v)
}

// dur formats seconds as µs, ms or s.
func dur(s float64) string {
	switch {
	case !finite(s):
		return "—"
	case s < 0.001:
		return fmt.Sprintf("%.0f µs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.0f ms", s*1e3)
	case s < 100:
		return fmt.Sprintf("%.2f s", s)
	case s < 1e6:
		return fmt.Sprintf("%.0f s", s)
	default:
		return fmt.Sprintf("%.3g s", s)
	}
}

func durp(s *float64) string {
	if s == nil {
		return "—"
	}
	return dur(*s)
}

// times formats a ratio such as a lift: "12.3×".
func times(v float64) string {
	switch {
	case !finite(v):
		return "—"
	case v >= 100:
		return fmt.Sprintf("%.0f×", v)
	default:
		return fmt.Sprintf("%.1f×", v)
	}
}

func timesp(v *float64) string {
	if v == nil {
		return "—"
	}
	return times(*v)
}

// score formats a 0..1 score with two decimals.
func score(v float64) string {
	if !finite(v) {
		return "—"
	}
	return fmt.Sprintf("%.2f", v)
}

func clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") + " UTC" }

func hms(t time.Time) string { return t.UTC().Format("15:04:05") }

// spanText is "2006-01-02 15:04:05 – 15:04:05 UTC" (the second date only
// when it differs), or "none".
func spanText(start, end *time.Time) string {
	if start == nil {
		return "none"
	}
	a := start.UTC()
	out := a.Format("2006-01-02 15:04:05") + " – "
	if end == nil {
		return out + "… UTC"
	}
	b := end.UTC()
	if b.Format("2006-01-02") != a.Format("2006-01-02") {
		return out + b.Format("2006-01-02 15:04:05") + " UTC"
	}
	return out + b.Format("15:04:05") + " UTC"
}

// Text is a possibly shortened string: Short is shown, Full goes in a
// title attribute when the two differ.
type Text struct {
	Short string
	Full  string
}

// Cut reports whether the text was shortened.
func (t Text) Cut() bool { return t.Short != t.Full }

// trunc shortens s to at most n runes, ending with an ellipsis.
func trunc(s string, n int) Text {
	if utf8.RuneCountInString(s) <= n {
		return Text{Short: s, Full: s}
	}
	r := []rune(s)
	return Text{Short: string(r[:n-1]) + "…", Full: s}
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

// causeTitles are the human names of the causes of design.md §4.4.
var causeTitles = map[string]string{
	"bad-deploy":         "Bad deploy",
	"db-pool-exhaustion": "Database pool exhaustion",
	"slow-queries":       "Slow queries",
	"memory-leak":        "Memory leak",
	"dns-stale-cache":    "Stale DNS cache",
	"bad-pod":            "Bad pod",
	"bad-node":           "Bad node",
	"zone-outage":        "Zone outage",
	"cdn-origin":         "CDN / origin failure",
	"cert-expired":       "Certificate expired",
	"capacity":           "Capacity",
	"dependency":         "Failing dependency",
	"unknown":            "Unknown",
}

func causeTitle(c string) string {
	if t, ok := causeTitles[c]; ok {
		return t
	}
	if c == "" {
		return "Unnamed cause"
	}
	return c
}

// kindClass maps a change kind to its CSS class; unknown kinds are "other"
// so that no user text reaches a class attribute.
func kindClass(kind string) string {
	switch kind {
	case "deploy", "rollback", "config", "feature-flag", "dns", "cdn", "infra", "db-migration", "cert", "scale":
		return "k-" + kind
	}
	return "k-other"
}

// clamp01 bounds v to [0, 1]; NaN is 0.
func clamp01(v float64) float64 {
	if !finite(v) || v < 0 {
		if v > 0 { // +Inf
			return 1
		}
		return 0
	}
	return math.Min(v, 1)
}
