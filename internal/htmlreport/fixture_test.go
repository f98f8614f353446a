package htmlreport

import (
	"fmt"
	"math"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

func tp(t time.Time) *time.Time { return &t }
func fp(v float64) *float64     { return &v }
func sp(s string) *string       { return &s }

var t0 = time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)

func at(min float64) time.Time { return t0.Add(time.Duration(min * float64(time.Minute))) }

// sampleResult is a hand-built result of the dns-ttl-migration story: the
// eu record of api.example.com moved to a new load balancer at 11:38; from
// 11:40 eu clients on cached answers reach the old, decommissioned one.
func sampleResult() (*triage.Result, []signal.Change) {
	res := &triage.Result{
		Window: triage.Window{
			Baseline: triage.Span{Start: tp(at(0)), End: tp(at(40))},
			Incident: triage.Span{Start: tp(at(40)), End: tp(at(60))},
		},
		Impact: triage.Impact{
			Requests: 40000, Errors: 3980, ErrorRate: 0.0995, BaselineErrorRate: 0.0028,
			Onset:           tp(at(40)),
			StatusCodes:     map[string]int64{"502": 1210, "503": 2770},
			ClientsAffected: 1079, Clients: 9894,
			BaselineRequests: 80000, BaselineErrors: 226,
			Latency: &triage.Latency{P50: 0.061, P95: 0.72, P99: 1.21, BaselineP50: fp(0.054), BaselineP95: fp(0.17), BaselineP99: fp(0.254)},
			TopPaths: []triage.PathImpact{
				{Path: "/api/checkout", Requests: 5045, Errors: 560, ErrorRate: 0.111},
				{Path: "/api/users/:id", Requests: 5059, Errors: 501, ErrorRate: 0.099},
				{Path: "/static/" + longString("very-long-asset-name-", 8) + ".js", Requests: 4979, Errors: 439, ErrorRate: 0.088},
			},
			Significant: true,
		},
		Findings: []triage.Finding{
			{Dimension: "region", Value: "eu", Scope: map[string]string{"region": "eu"}, ErrorShare: 0.99, TrafficShare: 0.11,
				ErrorRate: 0.896, BaselineErrorRate: fp(0.0031), Lift: fp(9.0), Summary: "region=eu holds 99% of errors and 11% of traffic"},
			{Dimension: "region,upstream", Value: "eu,203.0.113.10:443", Scope: map[string]string{"region": "eu", "upstream": "203.0.113.10:443"},
				ErrorShare: 0.97, TrafficShare: 0.08, ErrorRate: 0.95, Lift: fp(12.1), Estimated: true,
				Summary: "all in region=eu; the old load balancer address answers none of them <script>alert(1)</script>"},
			{Dimension: "user_agent", Value: longString("Mozilla/5.0 (X11; Linux x86_64) ", 6), ErrorShare: 0.31, TrafficShare: 0.22,
				ErrorRate: 0.14, BaselineErrorRate: fp(0.003), Lift: fp(1.4), Summary: "a common browser, slightly over-represented"},
		},
		Changes: []triage.Change{
			{ID: "chg-2041", Score: 0.91, Reasons: []string{"2m before the onset", "scope region=eu matches the top finding", "old TTL 86400s: cached answers outlive the change"}},
			{ID: "chg-2039", Score: 0.32, Reasons: []string{"20m before the onset", "service api"}},
			{ID: "chg-9999", Score: 0.05, Reasons: []string{"named by an alert, not in the change log"}},
		},
		Hypotheses: []triage.Hypothesis{
			{Cause: "dns-stale-cache", Confidence: 0.82, ChangeID: sp("chg-2041"),
				Summary:  "After chg-2041 moved api.example.com (eu) to a new load balancer, clients still on the cached answer (TTL 86400s) reach the old one, which no longer serves.",
				Evidence: []string{"errors start 2m after the DNS change", "99% of errors in region=eu, the change's scope", "failing requests go to 203.0.113.10, the old address"},
				Against:  []string{"the error rate decays slowly, but the old TTL is a day long"},
				Checks:   []string{"dig @1.1.1.1 api.example.com A +noall +answer", "curl -sv --resolve api.example.com:443:203.0.113.10 https://api.example.com/healthz"},
				Containment: []triage.Containment{
					{Action: "keep the old load balancer 203.0.113.10 serving until the old TTL (24h) has passed", Risk: "costs the old LB for a day; none to users"},
					{Action: "roll back the DNS record", Risk: "does not help clients that already cached the new answer; flaps again"},
				}},
			{Cause: "bad-deploy", Confidence: 0.12, ChangeID: sp("chg-2039"),
				Summary:  "The api config change could have broken eu.",
				Evidence: []string{"a config change of the failing service 20m before the onset"},
				Against:  []string{"its scope is all regions, the errors are only in eu", "20m between the change and the onset"},
				Checks:   []string{"kubectl rollout history deploy/api -n prod"}},
		},
		Inputs: triage.Inputs{
			Lines: 120412, Malformed: 12, Sources: []string{"eu-edge.log", "us-edge.log"},
			Requests: 120000, Error: "status >= 500", Bytes: 28_311_004,
			Formats:          map[string]string{"eu-edge.log": "combined", "us-edge.log": "combined"},
			MalformedSamples: []triage.MalformedLine{{File: "eu-edge.log", Line: 88, Text: "GET / HTTP/1.1\" 200 -", Reason: "no timestamp"}},
		},
		ProxyErrors: []triage.ProxyErrorSummary{
			{Kind: "connection refused", Upstream: "203.0.113.10:443", Upstreams: 1, Incident: 2381, IncidentPerMinute: 119.05, First: at(40)},
			{Kind: "upstream timed out", Upstreams: 6, Incident: 41, IncidentPerMinute: 2.05, BaselinePerMinute: 0.4, First: at(41)},
		},
		Onset:  &triage.OnsetEvidence{Method: "error-rate", Time: at(40), Before: 0.0028, After: 0.0995, LogLikelihoodRatio: 812, BucketSeconds: 60},
		Series: triage.Series{BucketSeconds: 60},
		Notes:  []string{"12 malformed lines were skipped"},
	}
	for i := 0; i < 60; i++ {
		req := int64(2000 + 150*math.Sin(float64(i)/5))
		rate := 0.0028
		p50, p99 := 0.052+0.004*math.Sin(float64(i)), 0.24+0.03*math.Cos(float64(i)/3)
		if i >= 40 {
			rate = 0.13 * math.Exp(-float64(i-40)/40)
			p99 = 1.3 - 0.01*float64(i-40)
			p50 = 0.06
		}
		b := triage.Bucket{Time: at(float64(i)), Requests: req, Errors: int64(float64(req) * rate), P50: fp(p50), P99: fp(p99)}
		if i == 23 { // a gap: no requests at all in one bucket
			b = triage.Bucket{Time: at(float64(i))}
		}
		res.Series.Points = append(res.Series.Points, b)
	}
	changes := []signal.Change{
		{ID: "chg-2030", Time: at(-4), Kind: "deploy", Service: "web", Summary: "web v1.8.2 rolled out"},
		{ID: "chg-2039", Time: at(20), Kind: "config", Service: "api", Summary: "api: raise upstream keepalive to 64"},
		{ID: "chg-2041", Time: at(38), Kind: "dns", Service: "api", Summary: "api.example.com eu record moved to new load balancer", Scope: map[string]string{"region": "eu"}},
		{ID: "chg-2042", Time: at(39), Kind: "infra", Summary: "decommission lb-eu-old (203.0.113.10)"},
		{ID: "chg-2043", Time: at(46), Kind: "feature-flag", Service: "web", Summary: "enable new-checkout for 10%"},
		{ID: "chg-2044", Time: at(52), Kind: "scale", Service: "api", Summary: "api replicas 12 → 16 <b>bold?</b>"},
		{ID: "chg-1990", Time: at(-3 * 24 * 60), Kind: "cert", Summary: "renew *.example.com certificate"},
	}
	return res, changes
}

func longString(unit string, n int) string {
	s := ""
	for i := 0; i < n; i++ {
		s += fmt.Sprint(unit, i)
	}
	return s
}
