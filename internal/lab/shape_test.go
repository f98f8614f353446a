package lab

import (
	"math"
	"path/filepath"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

type runtimeMem struct{ s []metrics.Sample }

func (m *runtimeMem) heap() uint64 {
	if m.s == nil {
		m.s = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	}
	metrics.Read(m.s)
	return m.s[0].Value.Uint64()
}

// windows of a generated scenario: the baseline (all but the last two
// hours) and the incident (from the onset to the end).
func windows(m *Manifest) (base, inc window) {
	return window{m.Start, m.End.Add(-2 * time.Hour)}, window{m.Truth.Onset, m.End}
}

func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	return v[int(q*float64(len(v)-1))]
}

func durations(recs []rec, w window, keep func(rec) bool) []float64 {
	var d []float64
	for _, r := range recs {
		if w.in(r.t) && (keep == nil || keep(r)) {
			d = append(d, r.dur)
		}
	}
	return d
}

// errShare is the share of the incident window's 5xx that keep selects.
func errShare(recs []rec, w window, keep func(rec) bool) float64 {
	var all, in int
	for _, r := range recs {
		if !w.in(r.t) || r.status < 500 {
			continue
		}
		all++
		if keep(r) {
			in++
		}
	}
	if all == 0 {
		return 0
	}
	return float64(in) / float64(all)
}

func within(t *testing.T, what string, v, lo, hi float64) {
	t.Helper()
	if v < lo || v > hi || math.IsNaN(v) {
		t.Errorf("%s = %.4f, want between %g and %g", what, v, lo, hi)
	}
}

func onlyALB(r rec) bool { return strings.HasPrefix(r.source, "alb-") }

// TestShapes checks each scenario's failure looks like its description,
// for a few seeds: the baseline is healthy and the errors sit where the
// truth says.
func TestShapes(t *testing.T) {
	seeds := []int64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, s := range Scenarios() {
		for _, seed := range seeds {
			t.Run(s.Name+"/"+strconv.FormatInt(seed, 10), func(t *testing.T) {
				t.Parallel()
				m, _ := gen1(t, s.Name, seed, 0.5)
				recs := readLogs(t, m)
				base, inc := windows(m)
				be, _ := errRate(recs, base, nil)
				within(t, "baseline error rate", be, 0.0002, 0.006)
				ie, _ := errRate(recs, inc, nil)
				if ie < 2*be && s.Name != "slow-queries" && s.Name != "auth-rejects" {
					t.Errorf("incident error rate %.4f is not above the baseline's %.4f", ie, be)
				}
				checkShape(t, s.Name, m, recs, base, inc)
			})
		}
	}
}

func checkShape(t *testing.T, name string, m *Manifest, recs []rec, base, inc window) {
	tr := m.Truth
	scope := tr.Scope
	ie, _ := errRate(recs, inc, nil)
	switch name {
	case "dns-ttl-migration":
		oldSrc := scope["source"]
		within(t, "incident error rate", ie, 0.025, 0.09)
		within(t, "share of errors on the old ALB", errShare(recs, inc, func(r rec) bool { return r.source == oldSrc && r.status == 503 && r.upstream == "-" }), 0.9, 1)
		// new LB healthy
		ne, n := errRate(recs, inc, func(r rec) bool { return r.source == "alb-"+tr.Params["new_lb"].(string)+".log" })
		if n == 0 || ne > 0.01 {
			t.Errorf("new load balancer: %d requests, error rate %.4f; want healthy traffic", n, ne)
		}
		// the failing share decays
		mid := inc.from.Add(inc.to.Sub(inc.from) / 2)
		first, _ := errRate(recs, window{inc.from, mid}, nil)
		second, _ := errRate(recs, window{mid, inc.to}, nil)
		if second >= first {
			t.Errorf("failing share does not decay: %.4f then %.4f", first, second)
		}
	case "db-pool-exhaustion":
		within(t, "incident error rate", ie, 0.3, 0.6)
		p99b := quantile(durations(recs, base, onlyALB), 0.99)
		p99i := quantile(durations(recs, inc, onlyALB), 0.99)
		within(t, "baseline p99 (ALB)", p99b, 0, 0.5)
		within(t, "incident p99 (ALB)", p99i, 12, 20)
	case "bad-deploy":
		if v := tr.Params["variant"]; v == "canary" {
			// all errors on the canary's pods
			ips := canaryIPs(t, m)
			within(t, "errors on canary pods", errShare(recs, inc, func(r rec) bool { return ips[strings.Split(r.upstream, ",")[0]] }), 0.85, 1)
		} else if r := scope["region"]; r != "" {
			within(t, "errors in "+r, errShare(recs, inc, func(x rec) bool { return strings.Contains(x.source, r) }), 0.85, 1)
		}
	case "bad-pod":
		up := scope["upstream"]
		within(t, "errors from the bad pod", errShare(recs, inc, func(r rec) bool { return strings.Contains(r.upstream, up) }), 0.75, 1)
		within(t, "incident error rate", ie, 0.004, 0.15)
	case "bad-node", "zone-outage":
		r := scope["region"]
		within(t, "errors in "+r, errShare(recs, inc, func(x rec) bool { return strings.Contains(x.source, r) }), 0.7, 1)
	case "memory-leak":
		q := readMetric(t, filepath.Join(m.Dir, "metrics", "kube_pod_container_status_restarts_total.json"))
		restarts := 0.0
		for _, s := range q.Data.Result {
			v := s.Values[len(s.Values)-1][1].(string)
			f, _ := strconv.ParseFloat(v, 64)
			restarts += f
		}
		if restarts < 3 {
			t.Errorf("%g restarts in total, want OOM kills and restarts", restarts)
		}
	case "slow-queries":
		ep := "/orders"
		p50 := quantile(durations(recs, inc, func(r rec) bool {
			return strings.HasPrefix(r.path, "/api/v1/users/") && strings.HasSuffix(r.path, ep) && strings.Contains(r.source, scope["region"])
		}), 0.5)
		within(t, "incident median of the slow endpoint", p50, 2, 11)
	case "cdn-origin":
		within(t, "share of errors at the CDN edge", errShare(recs, inc, func(r rec) bool { return r.source == "cdn.jsonl" && r.result != "Miss" }), 0.9, 1)
		within(t, "incident error rate", ie, 0.1, 0.6)
	case "cert-expired":
		within(t, "share of errors that are origin TLS failures", errShare(recs, inc, func(r rec) bool { return r.result == "OriginSslError" && strings.Contains(r.upstream, scope["region"]) }), 0.9, 1)
		q := readMetric(t, filepath.Join(m.Dir, "metrics", "probe_ssl_earliest_cert_expiry.json"))
		expired := false
		for _, s := range q.Data.Result {
			v, _ := strconv.ParseFloat(s.Values[len(s.Values)-1][1].(string), 64)
			if s.Metric["instance"] == "https://"+scope["host"]+"/healthz" && v <= float64(m.End.Unix()) {
				expired = true
			}
		}
		if !expired {
			t.Errorf("probe_ssl_earliest_cert_expiry does not show %s expired", scope["host"])
		}
	case "dependency":
		var eps []string
		for _, e := range strings.Split(scope["endpoint"], ", ") {
			_, tmpl, _ := strings.Cut(e, " ")
			tmpl, _, _ = strings.Cut(tmpl, "?")
			eps = append(eps, tmpl)
		}
		calls := func(r rec) bool {
			for _, e := range eps {
				if r.path == e || strings.HasPrefix(r.path, e+"?") {
					return true
				}
			}
			return false
		}
		within(t, "share of errors on the endpoints that call "+scope["dependency"], errShare(recs, inc, calls), 0.85, 1)
		within(t, "share of errors the api answered itself", errShare(recs, inc, func(r rec) bool { return r.upstream != "-" && r.upstream != "" }), 0.9, 1)
		for _, reg := range m.Truth.Params["regions"].([]string) {
			if errShare(recs, inc, func(r rec) bool { return calls(r) && strings.Contains(r.source, reg) }) < 0.05 {
				t.Errorf("region %s has almost none of the failures: a dependency fails for every region", reg)
			}
		}
		if m.Truth.Params["outbound_metrics"] == true {
			q := readMetric(t, filepath.Join(m.Dir, "metrics", "http_client_request_duration_seconds_count.json"))
			failing := false
			for _, s := range q.Data.Result {
				if s.Metric["server_address"] == scope["dependency"] && s.Metric["error_type"] != "" {
					failing = true
				}
			}
			if !failing {
				t.Errorf("the outbound call metrics show no failing call to %s", scope["dependency"])
			}
		}
	case "auth-rejects":
		code := m.Truth.Params["status"].(int)
		share := func(w window) float64 {
			var n, c int
			for _, r := range recs {
				if w.in(r.t) && strings.HasPrefix(r.path, "/api/") {
					n++
					if r.status == code {
						c++
					}
				}
			}
			return float64(c) / float64(max(n, 1))
		}
		if b, i := share(base), share(inc); i < 3*b || i < 0.002 {
			t.Errorf("%d share of api requests %.4f in the incident, %.4f before: want a step", code, i, b)
		}
		be, _ := errRate(recs, base, nil)
		within(t, "incident 5xx rate (no 5xx step)", ie, 0, math.Max(3*be, 0.006))
	case "capacity":
		r := scope["region"]
		within(t, "errors in "+r, errShare(recs, inc, func(x rec) bool { return strings.Contains(x.source, r) }), 0.85, 1)
	}
}

func canaryIPs(t *testing.T, m *Manifest) map[string]bool {
	q := readMetric(t, filepath.Join(m.Dir, "metrics", "kube_pod_info.json"))
	out := map[string]bool{}
	for _, s := range q.Data.Result {
		if s.Metric["pod"] == m.Truth.Scope["pod"] || strings.HasPrefix(s.Metric["created_by_name"], "api-") && containsVersionRS(m, s.Metric["pod"]) {
			out[s.Metric["pod_ip"]+":8080"] = true
		}
	}
	return out
}

// containsVersionRS reports whether pod belongs to the canary's ReplicaSet.
func containsVersionRS(m *Manifest, pod string) bool {
	p := m.Truth.Scope["pod"]
	if p == "" {
		return false
	}
	rs := p[:strings.LastIndexByte(p, '-')]
	return strings.HasPrefix(pod, rs+"-")
}
