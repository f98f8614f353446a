package triage

import (
	"fmt"
	"sort"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// ProxyErrorSummary is one kind of failure the proxy's error log reports
// towards one upstream, in the incident window against the baseline.
type ProxyErrorSummary struct {
	// Kind is what went wrong ("connection refused", "upstream timed out").
	Kind string `json:"kind"`
	// Upstream is the upstream's host:port; "" when the lines name none
	// or when the row sums several upstreams ("other" past the first
	// thousand pairs).
	Upstream string `json:"upstream"`
	// Upstreams is the number of upstreams the row sums: 1 for a named
	// one; more when the kind is spread thin over many, none holding
	// enough of it to be told apart.
	Upstreams int `json:"upstreams"`
	// Incident and Baseline count the lines in each window.
	Incident int64 `json:"incident"`
	Baseline int64 `json:"baseline"`
	// IncidentPerMinute and BaselinePerMinute are the same per minute of
	// each window (BaselinePerMinute is 0 with no baseline).
	IncidentPerMinute float64 `json:"incident_per_minute"`
	BaselinePerMinute float64 `json:"baseline_per_minute"`
	// First is the first minute of the incident window with such a line.
	First time.Time `json:"first"`
}

// Where names the row's upstream for a report: its host:port, "9
// upstreams" for a kind spread thin, "—" when the lines name none.
func (e ProxyErrorSummary) Where() string {
	switch {
	case e.Upstream != "":
		return e.Upstream
	case e.Upstreams > 1:
		return fmt.Sprintf("%d upstreams", e.Upstreams)
	}
	return "—"
}

// maxProxyErrors is how many kinds × upstreams the result keeps;
// minOwnRow is how many lines an upstream needs for a row of its own.
const (
	maxProxyErrors = 8
	minOwnRow      = 5
)

// summariseProxyErrors counts the error log's lines in the windows, the
// most frequent in the incident first.
func summariseProxyErrors(log []signal.ProxyError, win Window) []ProxyErrorSummary {
	inc := win.Incident
	if len(log) == 0 || inc.Start == nil || inc.End == nil {
		return nil
	}
	in := func(s Span, minute int64) bool {
		return s.Start != nil && s.End != nil && minute >= s.Start.Unix()-s.Start.Unix()%60 && minute < s.End.Unix()
	}
	type pair struct{ kind, upstream string }
	rows := map[pair]*ProxyErrorSummary{}
	for _, e := range log {
		i, b := in(inc, e.Minute), in(win.Baseline, e.Minute)
		if !i && !b {
			continue
		}
		k := pair{e.Kind, e.Upstream}
		r := rows[k]
		if r == nil {
			r = &ProxyErrorSummary{Kind: e.Kind, Upstream: e.Upstream}
			rows[k] = r
		}
		if i {
			if r.Incident == 0 || e.Minute < r.First.Unix() {
				r.First = time.Unix(e.Minute, 0).UTC()
			}
			r.Incident += e.Count
		} else {
			r.Baseline += e.Count
		}
	}
	minutes := func(s Span) float64 {
		if s.Start == nil || s.End == nil {
			return 0
		}
		return max(s.End.Sub(*s.Start).Minutes(), 1)
	}
	im, bm := minutes(inc), minutes(win.Baseline)
	// Per kind, the upstreams that hold a share of it worth telling apart
	// keep a row of their own; the others are summed in one.
	byKind := map[string][]*ProxyErrorSummary{}
	for _, r := range rows {
		if r.Incident > 0 {
			byKind[r.Kind] = append(byKind[r.Kind], r)
		}
	}
	var out []ProxyErrorSummary
	for kind, rs := range byKind {
		var total int64
		for _, r := range rs {
			total += r.Incident
		}
		rest, folded := &ProxyErrorSummary{Kind: kind}, []*ProxyErrorSummary{}
		for _, r := range rs {
			if r.Upstream != "" {
				r.Upstreams = 1
			}
			if r.Incident >= minOwnRow && r.Incident*10 >= total {
				out = append(out, *r)
				continue
			}
			folded = append(folded, r)
			rest.Incident += r.Incident
			rest.Baseline += r.Baseline
			rest.Upstreams += r.Upstreams
			if len(folded) == 1 || r.First.Before(rest.First) {
				rest.First = r.First
			}
		}
		switch len(folded) {
		case 0:
		case 1:
			out = append(out, *folded[0]) // one upstream alone: its own row after all
		default:
			out = append(out, *rest)
		}
	}
	for i := range out {
		out[i].IncidentPerMinute = float64(out[i].Incident) / im
		if bm > 0 {
			out[i].BaselinePerMinute = float64(out[i].Baseline) / bm
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Incident != b.Incident {
			return a.Incident > b.Incident
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Upstream < b.Upstream
	})
	if len(out) > maxProxyErrors {
		out = out[:maxProxyErrors]
	}
	return out
}
