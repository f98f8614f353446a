package hypothesis

import (
	"math"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/source/prom"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

// Layers a dimension can describe. Detectors reason about layers, not about
// particular field names, so that any log whose fields say where a request
// went can be read.
const (
	layerPod     = "pod"     // one instance: upstream address, pod, target, server
	layerNode    = "node"    // a machine several instances share
	layerZone    = "zone"    // a zone, region, cluster or CDN point of presence
	layerLB      = "lb"      // a load balancer or proxy, or the log file (source) of one
	layerVersion = "version" // a release, image or build
	layerPath    = "path"    // an endpoint
	layerClient  = "client"  // who is calling: networks, user agents
	layerNoUp    = "no-upstream"
	layerStatus  = "status" // tautological with the error itself
	layerOther   = "other"
)

var layers = map[string]string{
	"upstream": layerPod, "upstream_addr": layerPod, "target": layerPod, "pod": layerPod, "pod_name": layerPod,
	"kubernetes.pod": layerPod, "kubernetes.pod_name": layerPod, "instance": layerPod, "server": layerPod,
	"container": layerPod, "pod_ip": layerPod, "backend_server": layerPod,
	"node": layerNode, "kubernetes.node": layerNode, "node_name": layerNode, "host_ip": layerNode, "nodename": layerNode,
	"region": layerZone, "zone": layerZone, "az": layerZone, "availability_zone": layerZone, "datacenter": layerZone,
	"dc": layerZone, "cluster": layerZone, "pop": layerZone, "edge_location": layerZone, "x_edge_location": layerZone, "edge": layerZone, "location": layerZone,
	"elb": layerLB, "source": layerLB, "lb": layerLB, "load_balancer": layerLB, "frontend": layerLB, "backend": layerLB,
	"upstream_name": layerLB, "target_group_arn": layerLB, "ingress": layerLB, "chosen_cert_arn": layerLB,
	"ssl_cipher": layerClient, "ssl_protocol": layerClient, "protocol": layerClient,
	"version": layerVersion, "app_version": layerVersion, "image": layerVersion, "release": layerVersion,
	"build": layerVersion, "canary": layerVersion, "track": layerVersion, "revision": layerVersion,
	"path": layerPath, "uri": layerPath, "method": layerPath, "host": layerPath, "domain_name": layerPath,
	"client_net": layerClient, "client_net16": layerClient, "client": layerClient, "ua_family": layerClient, "ua_product": layerClient,
	"user_agent": layerClient, "referer": layerClient,
	"no_upstream": layerNoUp,
	"status":      layerStatus, "status_class": layerStatus, "upstream_status": layerStatus, "target_status_code": layerStatus,
	"elb_status_code": layerStatus, "origin_status": layerStatus, "target_status_code_list": layerStatus,
	// error_reason, classification, termination_state: triage.Outcome.
}

func layerOf(dim string) string {
	if l, ok := layers[dim]; ok {
		return l
	}
	if triage.Outcome(dim) { // response_flags, jsonPayload.statusDetails: how, not where
		return layerStatus
	}
	if strings.HasSuffix(dim, ".pod") || strings.HasSuffix(dim, "_pod") {
		return layerPod
	}
	if strings.HasSuffix(dim, ".node") || strings.HasSuffix(dim, "_node") {
		return layerNode
	}
	if strings.HasSuffix(dim, "zone") || strings.HasSuffix(dim, "region") {
		return layerZone
	}
	if strings.HasSuffix(dim, "status") || strings.HasSuffix(dim, "status_code") {
		return layerStatus
	}
	return layerOther
}

// features is the evidence, measured once for every detector.
type features struct {
	res         *triage.Result
	ev          Evidence
	significant bool
	onset       time.Time
	onsetLo     time.Time // the earliest the onset may be (likelihood interval)
	onsetHi     time.Time // the latest it may be
	hasOnset    bool
	end         time.Time // end of the incident window (or of the data)
	bucket      time.Duration

	errRate, baseRate float64
	hasBaseline       bool // the baseline window holds requests
	p99, baseP99      float64
	hasLatency        bool
	latRatio          float64 // incident p99 / baseline p99
	trafficRatio      float64 // incident requests/s / baseline requests/s (0 unknown)

	// top holds the findings that say where the failures are (status-like
	// dimensions dropped), best first.
	top []triage.Finding
	// onSlow is set when top holds the slow-request findings of a latency
	// incident (there were no error findings); say then speaks of slow
	// requests instead of errors.
	onSlow bool
	// onClient is set when nothing but client errors (4xx) stepped up:
	// top then holds their findings, the onset is theirs, and say speaks
	// of them.
	onClient bool
	say      words
	// client is the step in client errors (4xx) when nothing else moved.
	client *triage.ClientErrorAnalysis
	// errShape is the error rate's shape over the incident: "step", "ramp",
	// "decay" or "flat"; decay is the last third's rate over the first's.
	errShape string
	decay    float64
	// concentrated: the best finding holds most errors in a minority of
	// the traffic (a partial failure).
	concentrated bool

	m        *prom.Metrics
	podNode  map[string]string // pod IP or pod name → node
	ipPod    map[string]string // pod IP → pod name
	ipOwner  map[string]podOwner
	nodeZone map[string]string // node → zone (from metric labels)
	statuses map[string]int64

	// Failures rolled up from instances to nodes and zones (rollup).
	pods, nodes, zones []group
	// turns counts the instances failing one after another (rollup's
	// inTurn), 0 when they do not.
	turns int
	// svcWords are the words naming the failing traffic's service (from
	// upstream and service names), with the share of errors they cover.
	svcWords map[string]float64

	agg    *triage.Aggregator
	values map[string][]triage.ValueStat // agg.Values by dimension, computed once
	// failures counts the incident's failing requests in agg: the errors,
	// or the client errors when onClient.
	failures int64
}

// valuesOf returns the per-value counts of a dimension, computing them
// once (rollup and serviceWords both read the upstream dimension).
func (f *features) valuesOf(dim string) []triage.ValueStat {
	if f.agg == nil {
		return nil
	}
	if v, ok := f.values[dim]; ok {
		return v
	}
	if f.values == nil {
		f.values = map[string][]triage.ValueStat{}
	}
	v := f.agg.Values(dim, f.res)
	f.values[dim] = v
	return v
}

// group counts the incident's requests of instances sharing a node or zone.
type group struct {
	name              string
	req, err          int64
	members, failing  int // instances, and those failing at >= 20%
	errShare, errRate float64
	// ports are the ports an instance is reached on (instances only): two
	// instances on disjoint ports serve different things.
	ports map[string]bool
}

func extract(res *triage.Result, ev Evidence) *features {
	cat := ev.Catalog
	if cat == nil {
		cat = prom.DefaultCatalog()
	}
	f := &features{res: res, ev: ev, statuses: res.Impact.StatusCodes, say: errorWords}
	if len(ev.Metrics) > 0 {
		f.m = prom.Derive(ev.Metrics, cat)
	}
	f.podNode, f.ipPod, f.ipOwner = podNodes(ev.Metrics, cat)
	f.nodeZone = nodeZones(ev.Metrics)
	// A latency incident (errors barely move, requests get slow) is as real
	// as an error one.
	latencyOnset := res.Onset != nil && res.Onset.Method == "latency"
	f.significant = (res.Impact.Significant || latencyOnset) && res.Impact.Onset != nil
	if res.Onset != nil && res.Onset.Method == "retries" {
		f.say = retryWords
	}
	if res.Impact.Onset != nil {
		f.onset, f.hasOnset = res.Impact.Onset.UTC(), true
		f.onsetLo, f.onsetHi = f.onset, f.onset
		if o := res.Onset; o != nil && o.Time.Equal(f.onset) {
			if o.Earliest != nil && o.Earliest.Before(f.onset) {
				f.onsetLo = o.Earliest.UTC()
			}
			if o.Latest != nil && o.Latest.After(f.onset) {
				f.onsetHi = o.Latest.UTC()
			}
		}
	}
	f.bucket = time.Duration(res.Series.BucketSeconds * float64(time.Second))
	if f.bucket <= 0 {
		f.bucket = time.Minute
	}
	if res.Window.Incident.End != nil {
		f.end = res.Window.Incident.End.UTC()
	} else if n := len(res.Series.Points); n > 0 {
		f.end = res.Series.Points[n-1].Time.Add(f.bucket)
	}
	f.errRate, f.baseRate = res.Impact.ErrorRate, res.Impact.BaselineErrorRate
	f.hasBaseline = res.Impact.BaselineRequests > 0
	if l := res.Impact.Latency; l != nil {
		f.p99, f.hasLatency = l.P99, true
		if l.BaselineP99 != nil && *l.BaselineP99 > 0 {
			f.baseP99 = *l.BaselineP99
			f.latRatio = l.P99 / *l.BaselineP99
		}
	}
	f.trafficRatio = trafficRatio(res)
	f.top = placeFindings(res.Findings)
	f.client = res.ClientErrors
	if res.Slow != nil {
		if len(f.top) == 0 {
			// A latency incident: where the slow requests are is where the
			// failure is (one slow pod is a bad pod). The detectors read
			// them as they read error findings, in their own words.
			f.top = placeFindings(res.Slow.Findings)
			if f.onSlow = len(f.top) > 0; f.onSlow {
				f.say = slowWords
			}
		}
	}
	if c := f.client; c != nil && !f.significant && len(f.top) == 0 {
		// Only client errors stepped up (a rotated key, a WAF rule, a
		// validation change, a rate limit): weigh the causes against
		// them, in their own words.
		f.top = placeFindings(c.Findings)
		if f.onClient = len(f.top) > 0; f.onClient {
			f.significant = true
			f.onset, f.onsetLo, f.onsetHi, f.hasOnset = c.Onset.UTC(), c.Onset.UTC(), c.Onset.UTC(), true
			f.errRate, f.baseRate = c.Share, c.BaselineShare
			w := c.Which()
			f.say = words{errs: w + " responses", rate: w + " rate", fails: "answers " + w, fail: "answer " + w}
		}
	}
	if len(f.top) > 0 {
		t := f.top[0]
		f.concentrated = t.ErrorShare >= 0.6 && t.TrafficShare <= 0.5
	}
	f.errShape, f.decay = shape(res, f)
	return f
}

// placeFindings keeps the findings that say where the failures are: those
// with a dimension other than a status (which only restates the failure).
func placeFindings(fds []triage.Finding) []triage.Finding {
	var out []triage.Finding
	for _, fd := range fds {
		for d := range fd.Scope {
			if layerOf(d) != layerStatus {
				out = append(out, fd)
				break
			}
		}
	}
	return out
}

// trafficRatio compares requests per second in the incident window with
// the baseline's.
func trafficRatio(res *triage.Result) float64 {
	w := res.Window
	if w.Baseline.Start == nil || w.Baseline.End == nil || w.Incident.Start == nil || w.Incident.End == nil {
		return 0
	}
	bd := w.Baseline.End.Sub(*w.Baseline.Start).Seconds()
	id := w.Incident.End.Sub(*w.Incident.Start).Seconds()
	if bd <= 0 || id <= 0 || res.Impact.BaselineRequests == 0 {
		return 0
	}
	return (float64(res.Impact.Requests) / id) / (float64(res.Impact.BaselineRequests) / bd)
}

// shape classifies the error rate over the incident window.
func shape(res *triage.Result, f *features) (string, float64) {
	if !f.hasOnset {
		return "flat", 1
	}
	var rates []float64
	for _, p := range res.Series.Points {
		if p.Time.Before(f.onset) || (!f.end.IsZero() && !p.Time.Before(f.end)) || p.Requests == 0 {
			continue
		}
		rates = append(rates, float64(p.Errors)/float64(p.Requests))
	}
	if len(rates) < 3 {
		return "step", 1
	}
	third := len(rates) / 3
	if third == 0 {
		third = 1
	}
	first, last := mean(rates[:third]), mean(rates[len(rates)-third:])
	peak := 0.0
	for _, r := range rates {
		peak = math.Max(peak, r)
	}
	decay := 1.0
	if first > 0 {
		decay = last / first
	}
	head := mean(rates[:min(2, len(rates))])
	switch {
	case first > 0 && decay <= 0.6 && head >= 0.5*peak:
		return "decay", decay
	case last > 0 && first <= 0.5*last && head < 0.5*peak:
		return "ramp", decay
	case head >= 0.5*peak:
		return "step", decay
	}
	return "flat", decay
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// podNodes maps pod IPs and names to their node, and pod IPs to pod
// names, from kube_pod_info.
func podNodes(raw []signal.Series, cat *prom.Catalog) (map[string]string, map[string]string, map[string]podOwner) {
	out, pods, owners := map[string]string{}, map[string]string{}, map[string]podOwner{}
	for _, s := range raw {
		if r, ok := cat.Lookup(s); !ok || r.Role != prom.RolePodInfo {
			continue
		}
		ip, pod := s.Labels["pod_ip"], s.Labels["pod"]
		if ip != "" && pod != "" {
			pods[ip] = pod
			owners[ip] = podOwner{namespace: s.Labels["namespace"], deployment: deploymentOf(s.Labels["created_by_kind"], s.Labels["created_by_name"])}
		}
		node := s.Labels["node"]
		if node == "" {
			continue
		}
		if ip != "" {
			out[ip] = node
		}
		if pod != "" {
			out[pod] = node
		}
	}
	return out, pods, owners
}

// podOwner is where kube_pod_info places a pod: its namespace and the
// deployment that owns it (when a ReplicaSet created it).
type podOwner struct{ namespace, deployment string }

// deploymentOf names the deployment behind a pod's owner: a ReplicaSet
// <deployment>-<pod-template-hash> belongs to <deployment>.
func deploymentOf(kind, name string) string {
	if kind != "ReplicaSet" {
		return ""
	}
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		return name[:i]
	}
	return ""
}

// hostOf strips the port and any "(name)" from an upstream value.
func hostOf(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, ' '); i >= 0 {
		v = v[:i]
	}
	if h, _, err := net.SplitHostPort(v); err == nil {
		return strings.Trim(h, "[]")
	}
	return strings.Trim(v, "[]")
}

// findingsIn returns the top findings with a dimension of the layer.
func (f *features) findingsIn(layer string) []triage.Finding {
	var out []triage.Finding
	for _, fd := range f.top {
		for d := range fd.Scope {
			if layerOf(d) == layer {
				out = append(out, fd)
				break
			}
		}
	}
	return out
}

// scopeValue returns the value of the finding's dimension of the layer.
func scopeValue(fd triage.Finding, layer string) (string, string) {
	keys := make([]string, 0, len(fd.Scope))
	for d := range fd.Scope {
		keys = append(keys, d)
	}
	sort.Strings(keys)
	for _, d := range keys {
		if layerOf(d) == layer {
			return d, fd.Scope[d]
		}
	}
	return "", ""
}

// neverReached reports whether the failing requests never reached an
// upstream (the best finding, or a combination in it, says no_upstream=true).
func (f *features) neverReached() (bool, float64) {
	for _, fd := range f.top {
		if v, ok := fd.Scope["no_upstream"]; ok && v == "true" {
			return true, fd.ErrorShare
		}
		for _, r := range fd.Related {
			if v, ok := r.Scope["no_upstream"]; ok && v == "true" && r.Overlap >= 0.8 {
				return true, fd.ErrorShare * r.Overlap
			}
		}
	}
	return false, 0
}

// window helpers for metrics.
func (f *features) incident() prom.Window {
	end := f.end
	if end.IsZero() {
		end = f.onset.Add(time.Hour)
	}
	return prom.Window{Start: f.onset, End: end}
}

func (f *features) before(d time.Duration) prom.Window {
	return prom.Window{Start: f.onset.Add(-d), End: f.onset}
}

// maxOver is the largest value of any of the series inside w.
func maxOver(series []prom.Series, w prom.Window) (float64, *prom.Series) {
	best, at := math.Inf(-1), (*prom.Series)(nil)
	for i := range series {
		for _, p := range prom.In(series[i].Points, w) {
			if p.V > best && !math.IsNaN(p.V) {
				best, at = p.V, &series[i]
			}
		}
	}
	if at == nil {
		return 0, nil
	}
	return best, at
}

// meanOf is the mean of every point of the series inside w.
func meanOf(series []prom.Series, w prom.Window) (float64, int) {
	sum, n := 0.0, 0
	for _, s := range series {
		for _, p := range prom.In(s.Points, w) {
			if !math.IsNaN(p.V) && !math.IsInf(p.V, 0) {
				sum += p.V
				n++
			}
		}
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// increaseIn sums the increase of counter-like series (restarts, OOM kills:
// Derive gives rates for counters, so integrate them over w).
func increaseIn(series []prom.Series, w prom.Window) float64 {
	total := 0.0
	for _, s := range series {
		pts := prom.In(s.Points, w)
		if s.Unit == "per_second" {
			for i := 1; i < len(pts); i++ {
				dt := float64(pts[i].T-pts[i-1].T) / 1000
				if v := pts[i].V; v > 0 && !math.IsNaN(v) {
					total += v * dt
				}
			}
			continue
		}
		switch s.Unit {
		case "count": // per-interval increases
			for _, p := range pts {
				if p.V > 0 && !math.IsNaN(p.V) {
					total += p.V
				}
			}
		case "flag": // 1 while the last termination was an OOM kill: count rises
			for i := 1; i < len(pts); i++ {
				if pts[i].V > 0 && pts[i-1].V <= 0 {
					total++
				}
			}
		default:
			if len(pts) >= 2 && pts[len(pts)-1].V > pts[0].V {
				total += pts[len(pts)-1].V - pts[0].V
			}
		}
	}
	return total
}

// nodeZones maps nodes to zones from the labels of any series that carry
// both (node_exporter with topology labels, kube_node_labels …).
func nodeZones(raw []signal.Series) map[string]string {
	out := map[string]string{}
	for _, s := range raw {
		node := s.Labels["node"]
		if node == "" {
			continue
		}
		for _, k := range []string{"zone", "topology_kubernetes_io_zone", "label_topology_kubernetes_io_zone", "failure_domain_beta_kubernetes_io_zone", "label_failure_domain_beta_kubernetes_io_zone", "availability_zone"} {
			if z := s.Labels[k]; z != "" {
				out[node] = z
				break
			}
		}
	}
	return out
}

// rollup counts the incident's requests per instance (the upstream
// dimension), then per node and per zone the instances run on, so that a
// node or zone failing across many instances is seen even when no single
// instance stands out; and whether the instances fail in turn (f.turns).
func (f *features) rollup(agg *triage.Aggregator) {
	if agg == nil {
		return
	}
	f.failures = f.res.Impact.Errors
	if f.onClient {
		f.failures = agg.PassFailures()
	}
	if f.failures == 0 {
		return
	}
	f.agg = agg
	f.serviceWords()
	var stats []triage.ValueStat
	var dim string
	for _, dim = range []string{"upstream", "target", "upstream_addr", "pod"} {
		if stats = f.valuesOf(dim); len(stats) > 0 {
			break
		}
	}
	if len(stats) == 0 {
		return
	}
	if !f.onSlow && !f.onClient {
		f.turns = f.inTurn(dim)
	}
	E := float64(f.failures)
	byHost := map[string]*group{}
	for _, st := range stats {
		h := hostOf(st.Value)
		if h == "" || h == "-" {
			continue
		}
		g := byHost[h]
		if g == nil {
			g = &group{name: h, ports: map[string]bool{}}
			byHost[h] = g
		}
		g.req += st.Requests
		g.err += st.Errors
		addr, _, _ := strings.Cut(strings.TrimSpace(st.Value), " ")
		if _, port, err := net.SplitHostPort(addr); err == nil {
			g.ports[port] = true
		}
	}
	nodes, zones := map[string]*group{}, map[string]*group{}
	for h, g := range byHost {
		g.errShare, g.members = float64(g.err)/E, 1
		if g.req > 0 {
			g.errRate = float64(g.err) / float64(g.req)
		}
		if g.errRate >= 0.2 && g.err >= 3 {
			g.failing = 1
		}
		f.pods = append(f.pods, *g)
		n := f.podNode[h]
		if n == "" {
			continue
		}
		add := func(m map[string]*group, key string) {
			x := m[key]
			if x == nil {
				x = &group{name: key}
				m[key] = x
			}
			x.req += g.req
			x.err += g.err
			x.members++
			x.failing += g.failing
		}
		add(nodes, n)
		if z := f.nodeZone[n]; z != "" {
			add(zones, z)
		}
	}
	finish := func(m map[string]*group) []group {
		var out []group
		for _, g := range m {
			g.errShare = float64(g.err) / E
			if g.req > 0 {
				g.errRate = float64(g.err) / float64(g.req)
			}
			out = append(out, *g)
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].err != out[j].err {
				return out[i].err > out[j].err
			}
			return out[i].name < out[j].name
		})
		return out
	}
	f.nodes, f.zones = finish(nodes), finish(zones)
	sort.Slice(f.pods, func(i, j int) bool {
		if f.pods[i].err != f.pods[j].err {
			return f.pods[i].err > f.pods[j].err
		}
		return f.pods[i].name < f.pods[j].name
	})
}

// instance returns the rolled-up requests of the instance at host, across
// the logs that name it, or nil. Only failing requests are rolled up: not
// for slow-request findings.
func (f *features) instance(host string) *group {
	if f.onSlow {
		return nil
	}
	for i := range f.pods {
		if f.pods[i].name == host {
			return &f.pods[i]
		}
	}
	return nil
}

// cohort is the instances failing together when neither the logs nor the
// metrics say where they run. It returns the failing instances (nil when
// any of them has a known node — the node's own reasoning judges then —
// or is a host name rather than an address), how many instances served
// traffic, and how many different things the failing ones serve (groups
// of them on disjoint ports).
func (f *features) cohort() (failing []group, active, services int) {
	for _, g := range f.pods {
		if g.req >= 5 {
			active++
		}
		if g.failing == 0 {
			continue
		}
		if f.podNode[g.name] != "" {
			return nil, 0, 0
		}
		if net.ParseIP(g.name) == nil {
			// A host name (a CDN's origin, an external API) is an
			// endpoint, not an instance on a machine.
			return nil, 0, 0
		}
		failing = append(failing, g)
	}
	// Count services greedily: an instance sharing a port with one
	// already counted serves the same thing.
	var seen []map[string]bool
	for _, g := range failing {
		same := false
		for _, ps := range seen {
			for p := range g.ports {
				same = same || ps[p]
			}
		}
		if !same {
			seen = append(seen, g.ports)
		}
	}
	return failing, active, len(seen)
}

// failingNodesIn counts the nodes of a zone whose error rate is at least r.
func (f *features) failingNodesIn(zone string, r float64) (failing, total int) {
	for _, n := range f.nodes {
		if f.nodeZone[n.name] != zone {
			continue
		}
		total++
		if n.errRate >= r && n.err >= 3 {
			failing++
		}
	}
	return failing, total
}

// failingInstancesIn counts the instances of a zone that served at least
// five requests in the incident, and those of them failing (at least 20%
// of their requests, three or more).
func (f *features) failingInstancesIn(zone string) (failing, active int) {
	for _, g := range f.pods {
		if g.req < 5 || f.nodeZone[f.podNode[g.name]] != zone {
			continue
		}
		active++
		failing += g.failing
	}
	return failing, active
}

// riseStart finds when a series began its climb to the level it reaches
// near the onset: from the first point at 90% of the peak, walk back to the
// last point still near the low of the three hours before (zero when the
// series does not climb).
func riseStart(series []prom.Series, from, to time.Time) time.Time {
	var starts []time.Time
	for _, s := range series {
		pts := prom.In(s.Points, prom.Window{Start: from, End: to})
		if len(pts) < 6 {
			continue
		}
		peak := math.Inf(-1)
		for _, p := range pts {
			peak = math.Max(peak, p.V)
		}
		top := -1
		for i, p := range pts {
			if p.V >= 0.9*peak {
				top = i
				break
			}
		}
		if top <= 0 {
			continue
		}
		low := math.Inf(1)
		lo := time.UnixMilli(pts[top].T).Add(-3 * time.Hour).UnixMilli()
		for _, p := range pts[:top] {
			if p.T >= lo {
				low = math.Min(low, p.V)
			}
		}
		if math.IsInf(low, 1) || peak-low <= 0.2*math.Abs(peak) {
			continue
		}
		th := low + 0.15*(peak-low)
		start := 0
		for i := top; i >= 0; i-- {
			if pts[i].V <= th {
				start = i
				break
			}
		}
		starts = append(starts, time.UnixMilli(pts[start].T).UTC())
	}
	if len(starts) == 0 {
		return time.Time{}
	}
	// Instances climb at about the same time after a rollout; the median
	// ignores the odd series that started late or was noisy.
	sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
	return starts[len(starts)/2]
}

// serviceWords collects the words of the names that say which service the
// failing requests belong to (ingress upstream names such as
// prod-api-80, target groups, service/app fields), weighted by the share
// of the incident's errors they cover. A change to another service is then
// known not to be about the failing one.
func (f *features) serviceWords() {
	E := float64(f.failures)
	words := map[string]float64{}
	for _, dim := range []string{"upstream_name", "target_group_arn", "service", "app", "kubernetes.labels.app", "upstream"} {
		stats := f.valuesOf(dim)
		if len(stats) == 0 {
			continue
		}
		seen := map[string]float64{}
		for _, st := range stats {
			v := st.Value
			if dim == "upstream" {
				i := strings.Index(v, "(")
				if i < 0 {
					continue
				}
				v = v[i+1:]
			}
			if dim == "target_group_arn" {
				if i := strings.Index(v, "targetgroup/"); i >= 0 {
					v = v[i+len("targetgroup/"):]
				}
			}
			for _, w := range strings.FieldsFunc(strings.ToLower(v), func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
			}) {
				if len(w) >= 2 && !isDigits(w) {
					seen[w] += float64(st.Errors)
				}
			}
		}
		for w, e := range seen {
			if sh := e / E; sh > words[w] {
				words[w] = sh
			}
		}
	}
	f.svcWords = words
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// serviceFit says whether a change's service is the failing traffic's
// (1), another one (-1), or unknown (0).
func (f *features) serviceFit(c *signal.Change) int {
	svc := strings.ToLower(c.Service)
	if svc == "" {
		svc = strings.ToLower(c.Scope["service"])
	}
	if svc == "" || len(f.svcWords) == 0 {
		return 0
	}
	parts := strings.FieldsFunc(svc, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') })
	all := len(parts) > 0
	for _, p := range parts {
		if f.svcWords[p] < 0.3 {
			all = false
		}
	}
	if all {
		return 1
	}
	return -1
}

// words are how the detectors speak of what the top findings hold.
type words struct {
	errs  string // "errors": what a scope holds a share of
	rate  string // "error rate"
	fails string // "fails": a scope's verb
	fail  string // "fail": the plural verb
}

var (
	errorWords = words{errs: "errors", rate: "error rate", fails: "fails", fail: "fail"}
	slowWords  = words{errs: "slow requests", rate: "slow rate", fails: "is slow", fail: "are slow"}
	// retryWords: the failures include attempts a proxy retried (the
	// client got an answer after the retry): not "errors" clients saw.
	retryWords = words{errs: "failures", rate: "failure rate", fails: "fails", fail: "fail"}
)

// depStep is a called service whose calls started failing at the onset.
type depStep struct {
	name, metric  string
	before, after float64 // failing share of its calls: the hour before the onset, the incident
	calls         float64 // its calls per second in the incident over the hour before (0 unknown)
	// stopped: its calls collapsed while the traffic did not, and too few
	// failed to say it fails: the callers stopped calling (an open
	// circuit breaker, a client failing fast).
	stopped bool
}

// failingDependencies returns the dependencies of the outbound request
// metrics whose calls started failing at the onset — at least five failed
// calls and 5% of them, three times the hour before's share and 5 points
// above it, by a G-test (twice triage.SplitLLR) of at least 15, so that one
// failed call among a few is not a failing dependency — the largest rise
// first; then those whose calls stopped: their rate fell to at most 60% of
// the hour before's, relative to the service's other calls, by a
// likelihood-ratio test of at least 15 against the calls to the other
// dependencies (or, with none, the two call rates against the logs'
// traffic), from at least 30 calls in the hour before.
func (f *features) failingDependencies() []depStep {
	if f.m == nil || !f.hasOnset {
		return nil
	}
	type counted struct {
		d              depStep
		eb, nb, ea, na float64
	}
	var all []counted
	tb, ta := time.Hour.Seconds(), f.incident().End.Sub(f.onset).Seconds()
	for _, s := range f.m.Role(prom.RoleDependencyErrorRatio) {
		calls := f.m.Where(prom.RoleDependency, s.Labels)
		if len(calls) != 1 || ta <= 0 {
			continue
		}
		c := counted{d: depStep{name: s.Labels["dependency"], metric: s.Name}}
		c.eb, c.nb = callCounts(calls[0], s, f.before(time.Hour))
		c.ea, c.na = callCounts(calls[0], s, f.incident())
		if c.nb == 0 {
			continue
		}
		all = append(all, c)
	}
	var allB, allA float64
	for _, c := range all {
		allB, allA = allB+c.nb, allA+c.na
	}
	var out []depStep
	for _, c := range all {
		d := c.d
		d.before, d.calls = c.eb/c.nb, (c.na/ta)/(c.nb/tb)
		if c.na > 0 {
			d.after = c.ea / c.na
		}
		failing := c.ea >= 5 && d.after >= 0.05 && d.after >= 3*d.before && d.after >= d.before+0.05 && 2*triage.SplitLLR(c.eb, c.nb, c.ea, c.na) >= 15
		// Stopped: its share of the service's outbound calls fell (the
		// other dependencies are the reference: the same requests make
		// them), or, with no other, its rate against the logs' traffic.
		refB, refA := allB-c.nb, allA-c.na
		stopped := false
		if refB >= 30 && refA > 0 {
			rel := (c.na / refA) / (c.nb / refB)
			stopped = rel <= 0.6 && 2*triage.SplitLLR(c.nb, c.nb+refB, c.na, c.na+refA) >= 15
		} else {
			traffic := f.requestRatio(f.before(time.Hour), f.incident())
			stopped = d.calls <= 0.6*traffic && 2*rateLLR(c.nb, tb, c.na, ta*traffic) >= 15
		}
		d.stopped = !failing && c.nb >= 30 && stopped
		if failing || d.stopped {
			out = append(out, d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].stopped != out[j].stopped {
			return !out[i].stopped
		}
		if out[i].stopped {
			return out[i].calls < out[j].calls
		}
		return out[i].after-out[i].before > out[j].after-out[j].before
	})
	return out
}

// requestRatio is the service's requests per second in window b over
// those in a, from the logs' time series (1 when either is empty): the
// traffic the calls a request makes should follow.
func (f *features) requestRatio(a, b prom.Window) float64 {
	var na, nb int64
	for _, p := range f.res.Series.Points {
		switch {
		case !p.Time.Before(a.Start) && p.Time.Before(a.End):
			na += p.Requests
		case !p.Time.Before(b.Start) && p.Time.Before(b.End):
			nb += p.Requests
		}
	}
	da, db := a.End.Sub(a.Start).Seconds(), b.End.Sub(b.Start).Seconds()
	if na == 0 || nb == 0 || da <= 0 || db <= 0 {
		return 1
	}
	return (float64(nb) / db) / (float64(na) / da)
}

// rateLLR is the log-likelihood ratio of n1 events in t1 and n2 in t2
// coming from two Poisson rates rather than one.
func rateLLR(n1, t1, n2, t2 float64) float64 {
	r := (n1 + n2) / (t1 + t2)
	ll := func(n, t float64) float64 {
		if n <= 0 {
			return 0
		}
		return n * math.Log(n/(t*r))
	}
	return ll(n1, t1) + ll(n2, t2)
}

// callCounts integrates a calls-per-second series and its failing share
// over w: the failed calls and all calls.
func callCounts(calls, ratio prom.Series, w prom.Window) (float64, float64) {
	share := map[int64]float64{}
	for _, p := range ratio.Points {
		share[p.T] = p.V
	}
	var errs, n float64
	prev := int64(0)
	from, to := w.Start.UnixMilli(), w.End.UnixMilli()
	for _, p := range calls.Points {
		dt := float64(p.T-prev) / 1000
		prev = p.T
		if dt <= 0 || dt > 3600 || math.IsNaN(p.V) || p.T < from || p.T >= to {
			continue
		}
		c := p.V * dt
		n += c
		if r, ok := share[p.T]; ok && !math.IsNaN(r) {
			errs += r * c
		}
	}
	return errs, n
}

// isEndpointDim reports whether a dimension names an endpoint: what a
// request asked for, not where it was sent (a host can be a DNS name or a
// site).
func isEndpointDim(d string) bool {
	return layerOf(d) == layerPath && d != "host" && d != "domain_name"
}

// endpointFindings returns the top findings about endpoints alone (every
// dimension of their scope names an endpoint) and the share of the
// failures they hold together: those of the best finding's dimension,
// whose values do not overlap.
func (f *features) endpointFindings() ([]triage.Finding, float64) {
	var out []triage.Finding
	share := 0.0
	for _, fd := range f.top {
		ok := len(fd.Scope) > 0
		for d := range fd.Scope {
			ok = ok && isEndpointDim(d)
		}
		if !ok || (len(out) > 0 && fd.Dimension != out[0].Dimension) {
			continue
		}
		out = append(out, fd)
		share += fd.ErrorShare
	}
	return out, math.Min(share, 1)
}

// spreadOverInstances reports whether the failures are spread over the
// instances alike: at least three instances failed requests, and none
// failed more than chance allows given its share of their traffic (more
// than twice its expected count and three standard deviations above it).
// Instances without a failure are left out: they may not serve the
// failing requests at all (another app behind the same proxy). It returns
// the number of instances with failures.
func (f *features) spreadOverInstances() (int, bool) {
	var req, errs int64
	n := 0
	for _, g := range f.pods {
		if g.err > 0 {
			req += g.req
			errs += g.err
			n++
		}
	}
	if n < 3 || req == 0 {
		return n, false
	}
	for _, g := range f.pods {
		if g.err == 0 {
			continue
		}
		exp := float64(errs) * float64(g.req) / float64(req)
		if float64(g.err) > 2*exp+3*math.Sqrt(exp)+2 {
			return n, false
		}
	}
	return n, true
}

// failingTraffic is the share of the instances' incident traffic served
// by instances failing at a third of the incident's error rate or more:
// near 1 when every instance fails (a limit they share), small when a few
// do among many healthy ones (whose background errors do not count).
func (f *features) failingTraffic() float64 {
	var all, failing int64
	for _, g := range f.pods {
		all += g.req
		if g.err > 0 && g.errRate >= f.errRate/3 {
			failing += g.req
		}
	}
	if all == 0 {
		return 0
	}
	return float64(failing) / float64(all)
}

// reachedShare is the share of the incident's failing requests that
// reached an upstream (no_upstream=false), and whether the logs say.
func (f *features) reachedShare() (float64, bool) {
	var reached, all int64
	for _, v := range f.valuesOf("no_upstream") {
		all += v.Errors
		if v.Value == "false" {
			reached += v.Errors
		}
	}
	if all == 0 {
		return 0, false
	}
	return float64(reached) / float64(all), true
}

// Limits of instances failing in turn.
const (
	turnMinSlots = 6   // an incident shorter than this many slots cannot show turns
	turnMinErrs  = 3   // an instance takes a turn with at least this many failures
	turnSpan     = 0.4 // of the incident, the median instance's failures span at most
	turnCover    = 0.5 // of the incident, the instances' turns cover at least
	turnHold     = 0.5 // of the failures, the instances taking turns hold at least
)

// inTurn tells instances failing one after another from instances failing
// together: three or more instances whose failures each fill a short
// part of the incident (the median instance's first to last failure spans
// at most turnSpan of it) while their turns together cover most of it,
// and hold most of the failures. Instances crash-looping or killed for
// memory one at a time and restarted fail like this; a limit they all hit
// (a pool, a database) or a node or zone under them fails them together,
// each for the whole incident. It returns the number of instances taking
// turns, 0 when they do not; dim is the instances' dimension.
func (f *features) inTurn(dim string) int {
	byHost := map[string][]uint32{}
	for v, errs := range f.agg.IncidentErrors(dim, f.res) {
		h := hostOf(v)
		if h == "" || h == "-" {
			continue
		}
		sum := byHost[h]
		if sum == nil {
			sum = make([]uint32, len(errs))
			byHost[h] = sum
		}
		for i, e := range errs {
			sum[i] += e
		}
	}
	var spans []float64
	var held int64
	var cover []bool // the incident's slots in some instance's turn
	for _, errs := range byHost {
		S := len(errs) // every value has the incident's slots
		if S < turnMinSlots {
			return 0
		}
		if cover == nil {
			cover = make([]bool, S)
		}
		first, last, n := -1, -1, int64(0)
		for i, e := range errs {
			if e > 0 {
				if first < 0 {
					first = i
				}
				last = i
				n += int64(e)
			}
		}
		if n < turnMinErrs {
			continue
		}
		held += n
		spans = append(spans, float64(last-first+1)/float64(S))
		for i := first; i <= last; i++ {
			cover[i] = true
		}
	}
	if len(spans) < 3 || float64(held) < turnHold*float64(f.failures) {
		return 0
	}
	covered := 0
	for _, c := range cover {
		if c {
			covered++
		}
	}
	sort.Float64s(spans)
	if spans[len(spans)/2] > turnSpan || float64(covered) < turnCover*float64(len(cover)) {
		return 0
	}
	return len(spans)
}
