// Package hypothesis is the triage stage that turns scoped findings,
// change events, metrics and database/DNS checks into ranked hypotheses:
// candidate causes with the evidence for and against each, the change they
// blame, the checks that would confirm them and containment options with
// their risks.
//
// Each cause has one small detector (detectors.go) that states what evidence
// it needs and scores how well the evidence fits. Changes are linked to the
// incident by time, scope and shape (changes.go). Nothing here is keyed to a
// particular scenario: the detectors read dimensions by their role (a pod, a
// node, a zone, a load balancer, a version) and metrics by the role the
// exporter catalogue gives them.
package hypothesis

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/source/prom"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

// Evidence is what the stage reads besides the access-log result.
type Evidence struct {
	Changes []signal.Change
	// Metrics are raw metric series (Prometheus query_range results).
	Metrics []signal.Series
	// Catalog maps metric names to roles (nil: prom.DefaultCatalog).
	Catalog *prom.Catalog
	// DB is a database health snapshot; nil without --dsn.
	DB *DBHealth
	// DNS holds what resolvers answered for the names of dns changes.
	DNS []DNSCheck
}

// DBHealth is the part of a database health check the detectors use.
type DBHealth struct {
	InUse, Max   int
	IdleInTx     int
	LockWaits    int
	LongestQuery time.Duration
	Refused      bool // the server refused the check's own connection: every slot taken
	Lines        []string
}

// DNSCheck is what resolvers answered for the name of one dns change.
type DNSCheck struct {
	ChangeID        string
	StillOld, Fresh int
	Lines           []string
}

// Stage returns the hypotheses stage for triage.Options.Stages.
func Stage(ev Evidence) triage.Stage {
	return triage.Stage{Name: "hypotheses", Run: func(ctx context.Context, an *triage.Analysis) error {
		applyWith(an.Result, an.Aggregate, an.ClientAggregate, ev)
		return nil
	}}
}

// clientCauses can answer requests with client errors (4xx) instead of
// failing them: a deploy or config change (a rotated key, a validation or
// WAF rule), one instance with a stale secret, a rate limit under a surge,
// clients sent to an old endpoint or a CDN that refuses them. The others
// fail requests (timeouts, resets, 5xx) and are not weighed against 4xx.
var clientCauses = map[string]bool{"bad-deploy": true, "bad-pod": true, "capacity": true, "dns-stale-cache": true, "cdn-origin": true}

// Minimum confidence for a hypothesis to be shown as an explanation; below
// it the answer is "unknown" with what to check.
const minConfidence = 0.35

// Apply ranks the changes and the hypotheses into res.
func Apply(res *triage.Result, ev Evidence) { applyWith(res, nil, nil, ev) }

// applyWith is Apply with the aggregates Run built: the first pass's, and
// the client-error pass's (nil without one), which counts the failures
// when the client errors are what the hypotheses are weighed against.
func applyWith(res *triage.Result, agg, clientAgg *triage.Aggregator, ev Evidence) {
	f := extract(res, ev)
	if f.onClient {
		agg = clientAgg
	}
	f.rollup(agg)
	res.Changes = rankChanges(f)
	var hs []scored
	for _, d := range detectors {
		if f.onClient && !clientCauses[d.cause] {
			continue
		}
		h := d.run(f)
		if h == nil || h.score <= 0 {
			continue
		}
		h.cause = d.cause
		hs = append(hs, *h)
	}
	sort.SliceStable(hs, func(i, j int) bool { return hs[i].score > hs[j].score })
	rising := risingErrors(res)
	for i := range hs {
		withErrorLog(&hs[i], rising)
	}
	out := []triage.Hypothesis{}
	if !f.significant || len(hs) == 0 || hs[0].score < minConfidence {
		u := unknown(f, hs)
		if f.significant {
			for i, e := range rising {
				if i < 3 {
					u.Evidence = append(u.Evidence, errorLine(e))
				}
			}
		}
		out = append(out, u)
	}
	for _, h := range hs {
		if len(out) >= 5 || !f.significant {
			break // without an incident, no cause is worth listing
		}
		out = append(out, h.render(f))
	}
	res.Hypotheses = out
}

// scored is a detector's verdict before rendering.
type scored struct {
	cause    string
	score    float64
	change   *signal.Change
	summary  string
	evidence []string
	against  []string
	scope    map[string]string
}

func (h scored) render(f *features) triage.Hypothesis {
	var id *string
	if h.change != nil {
		s := h.change.ID
		id = &s
	}
	conf := h.score
	if conf > 0.97 {
		conf = 0.97 // never certain from logs and metrics alone
	}
	pb := playbook(h.cause, f, h)
	ev := h.evidence
	if ev == nil {
		ev = []string{}
	}
	ag := h.against
	if ag == nil {
		ag = []string{}
	}
	return triage.Hypothesis{Cause: h.cause, Confidence: round2(conf), Summary: h.summary, ChangeID: id,
		Evidence: ev, Against: ag, Checks: pb.checks, Containment: pb.containment}
}

func unknown(f *features, hs []scored) triage.Hypothesis {
	h := triage.Hypothesis{Cause: "unknown", Evidence: []string{}, Against: []string{}, Checks: []string{}, Containment: []triage.Containment{}}
	switch {
	case f.client != nil && (f.onClient || !f.significant):
		// No 5xx and no latency incident, but a step in client errors
		// that no cause explains well: point at where they are.
		c := f.client
		h.Confidence = 0.3
		why := "None of the causes fits them well enough"
		if f.onClient && len(hs) > 0 {
			why = fmt.Sprintf("The closest fit, %s, is weak (%.2f)", hs[0].cause, hs[0].score)
		}
		h.Summary = fmt.Sprintf("The error rate and latency did not move, but client errors did: %s of the requests got a %s after %s (%s before). %s.",
			pct(c.Share), c.Which(), c.Onset.UTC().Format("15:04"), pct(c.BaselineShare), why)
		for _, fd := range c.Findings {
			h.Evidence = append(h.Evidence, fd.Summary)
		}
		if len(c.Findings) > 0 {
			h.Checks = append(h.Checks, fmt.Sprintf("Start with %s: it holds %s of them.", signal.JoinScope(c.Findings[0].Scope, ", "), pct(c.Findings[0].ErrorShare)))
		}
		// Changes close before the step are leads, not culprits: none
		// names where the client errors are. (Without the step's onset
		// there is no ranking, and no lead.)
		for _, rc := range f.res.Changes {
			if rc.Score < 0.4 {
				break
			}
			for i := range f.ev.Changes {
				ch := &f.ev.Changes[i]
				if ch.ID != rc.ID || ch.Time.After(f.onset) {
					continue
				}
				if _, _, other := f.linkScope(ch); !other {
					h.Checks = append(h.Checks, fmt.Sprintf("Look at %s %s, %s before the step: %s", ch.Kind, ch.ID, round(f.lag(ch)), ch.Summary))
				}
			}
		}
		h.Checks = append(h.Checks,
			"What changed at the onset for authentication, authorisation, rate limits or request validation (keys, tokens, WAF rules, API gateway config)?",
			fmt.Sprintf("If users see these as failures, run again with --error '%s' to rank changes and causes against them.", c.Expression))
	case !f.significant:
		h.Confidence = 0.2
		if f.hasBaseline {
			h.Summary = "No incident stands out: the error rate and latency are within the baseline's noise, so there is no cause to name."
			h.Evidence = append(h.Evidence, fmt.Sprintf("error rate %s vs %s in the baseline", pct(f.errRate), pct(f.baseRate)))
		} else {
			// No onset, so no baseline window: there is nothing to say
			// "vs" about, and a 0% baseline would be invented.
			h.Summary = "No incident stands out: neither the error rate nor latency changes significantly over the window, so there is no cause to name."
			h.Evidence = append(h.Evidence, fmt.Sprintf("error rate %s over the whole window, with no change point and no baseline to compare with", pct(f.errRate)))
		}
		h.Checks = append(h.Checks, "Check the time range (--since/--until) covers the reported problem, and that --error matches what users see (e.g. --error 'status>=500 || request_time>2').")
	default:
		h.Confidence = 0.3
		h.Summary = "The evidence does not single out a cause; the findings narrow where to look."
		if len(hs) > 0 {
			h.Summary = fmt.Sprintf("The evidence does not single out a cause; the closest fit, %s, is weak (%.2f).", hs[0].cause, hs[0].score)
		}
		for _, fd := range f.top {
			h.Evidence = append(h.Evidence, fd.Summary)
		}
		if f.onSlow {
			// A latency incident: the top findings are the slow requests'.
			h.Checks = append(h.Checks, fmt.Sprintf("Start with %s: it holds %s of the slow requests.", signal.JoinScope(f.top[0].Scope, ", "), pct(f.top[0].ErrorShare)))
		}
		if len(f.top) > 0 && f.top[0].ErrorShare >= 0.5 && !f.onSlow {
			if d, v := scopeValue(f.top[0], layerClient); d != "" && clientScope(&h, f.top[0], d, v) {
				return h
			}
		}
		h.Checks = append(h.Checks,
			"Compare the failing scope's configuration and recent changes with a healthy one (same service, other region/pod).",
			"Add the change log (--changes or `sitrep change record`) and metrics (--metrics/--prometheus) and rerun: most causes need them to be told apart.")
		h.Containment = append(h.Containment, triage.Containment{Action: "Shift traffic away from the failing scope if there is one (drain the pod/node/zone) while investigating.",
			Risk: "Only safe if the remaining capacity can take the load; watch saturation after the shift."})
	}
	return h
}

// clientScope words an unknown cause whose failures follow a population of
// clients — a release of an app or library, a network — rather than
// anything that serves them: the checks compare those clients' requests
// with the others', and the containment acts on the clients' side or on
// what the servers accept; draining servers would not help. It reports
// false for client dimensions it has no words for (a user-agent family).
func clientScope(h *triage.Hypothesis, fd triage.Finding, d, v string) bool {
	release := d == "ua_product" || d == "user_agent"
	network := d == "client" || strings.HasPrefix(d, "client_net")
	if !release && !network {
		return false
	}
	who := d + "=" + v
	h.Summary = fmt.Sprintf("The failures follow the clients, not the servers: %s holds %s of them. None of the causes fits; look at what these clients send and what changed for them.",
		signal.JoinScope(fd.Scope, ", "), pct(fd.ErrorShare))
	if fd.BaselineRequests == 0 && fd.Requests > 0 {
		h.Evidence = append(h.Evidence, fmt.Sprintf("%s sent no request before the onset: clients new at the onset", who))
	}
	h.Checks = append(h.Checks,
		fmt.Sprintf("Compare a failing request from %s with a healthy one from another client to the same endpoint: payload, headers, authentication, API version.", who),
		"The application's logs for the failing requests: what does it reject or fail on?")
	dontDrain := triage.Containment{Action: "Do not drain or restart servers for it",
		Risk: "The servers fail these clients alike; draining them moves the failures and removes capacity."}
	if network {
		h.Checks = append(h.Checks, fmt.Sprintf("Who is behind %s (a partner, an office, a carrier, a crawler or an attack), and did their traffic change at the onset?", v))
		h.Containment = append(h.Containment,
			triage.Containment{Action: fmt.Sprintf("If the traffic from %s is unwanted, rate-limit or block it at the edge (WAF, load balancer).", v),
				Risk: "Blocks every user behind it (NAT, carrier networks); confirm who they are first."},
			dontDrain)
		return true
	}
	h.Checks = append(h.Checks, fmt.Sprintf("What changed for these clients at the onset: a release of %s (app, SDK, library), a partner's integration; and whether the server last changed what it accepts.", v))
	h.Containment = append(h.Containment,
		triage.Containment{Action: fmt.Sprintf("If %s is a release rolling out, pause its staged rollout (App Store phased release, Play staged rollout, the SDK's or partner's deploy).", v),
			Risk: "Clients that already updated keep failing; a server-side fix may reach them sooner."},
		triage.Containment{Action: fmt.Sprintf("Make the servers accept what %s sends (a compatibility fix, or roll back the server change that stopped accepting it).", v),
			Risk: "A compatibility shim outlives the incident unless tracked as an action item; rolling back the server undoes what other clients may already rely on."},
		dontDrain)
	return true
}

func round2(x float64) float64 { return float64(int(x*100+0.5)) / 100 }

func pct(x float64) string {
	switch {
	case x >= 0.1:
		return fmt.Sprintf("%.0f%%", x*100)
	case x >= 0.01:
		return fmt.Sprintf("%.1f%%", x*100)
	default:
		return fmt.Sprintf("%.2f%%", x*100)
	}
}

func clamp01(x float64) float64 {
	switch {
	case x < 0:
		return 0
	case x > 1:
		return 1
	}
	return x
}
