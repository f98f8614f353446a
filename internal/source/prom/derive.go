package prom

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// Series is one derived series: a role, what it was computed from, its unit,
// the labels that say where it was measured, and its points in time order.
type Series struct {
	Role Role `json:"role"`
	// Name is the source metric name, or for a series computed from several
	// metrics a name saying what it is (pg_stat_statements_mean_seconds).
	Name string `json:"name"`
	// Unit is one of per_second, count, ratio, seconds, bytes, cores,
	// unix_seconds or "" (a plain number: 1/0 flags, connections, replicas).
	Unit   string            `json:"unit,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	Points []signal.Point    `json:"points"`
}

// Metrics is the analyst's view of a set of raw series (see Derive).
type Metrics struct {
	// Series holds every derived series, sorted by role, name and labels
	// (a series without labels, the overall one, before the per-place ones).
	Series []Series `json:"series"`
	// Unknown lists the metric names the catalog has no rule for, sorted.
	Unknown []string `json:"unknown,omitempty"`
}

// Role returns the series of one role.
func (m *Metrics) Role(r Role) []Series {
	if m == nil {
		return nil
	}
	var out []Series
	for _, s := range m.Series {
		if s.Role == r {
			out = append(out, s)
		}
	}
	return out
}

// Where returns the series of one role whose labels include every pair of
// match (a nil match returns them all).
func (m *Metrics) Where(r Role, match map[string]string) []Series {
	var out []Series
	for _, s := range m.Role(r) {
		ok := true
		for k, v := range match {
			if s.Labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// Sum adds series point by point, at the timestamps any of them has (a
// series missing a timestamp contributes nothing there).
func Sum(series ...Series) []signal.Point {
	acc := map[int64]float64{}
	for _, s := range series {
		for _, p := range s.Points {
			if !math.IsNaN(p.V) {
				acc[p.T] += p.V
			}
		}
	}
	return fromMap(acc)
}

func fromMap(acc map[int64]float64) []signal.Point {
	out := make([]signal.Point, 0, len(acc))
	for t, v := range acc {
		out = append(out, signal.Point{T: t, V: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out
}

// Quantiles Derive computes from latency histograms.
var Quantiles = []float64{0.5, 0.95, 0.99}

// whatLabels say what was measured rather than where: Derive sums them away
// when it aggregates requests, errors and latency.
var whatLabels = map[string]bool{"le": true, "status": true, "code": true, "method": true, "path": true, "quantile": true}

// weakJoinLabels may differ between a metric and its limit when they come
// from different exporters (cAdvisor vs kube-state-metrics).
var weakJoinLabels = map[string]bool{"job": true, "instance": true, "uid": true, "resource": true,
	"unit": true, "id": true, "image": true, "name": true, "endpoint": true, "service": true,
	"metrics_path": true, "prometheus": true}

var roleUnit = map[Role]string{
	RoleRequests: "per_second", RoleErrors: "per_second", RoleErrorRatio: "ratio",
	RoleLatency: "seconds", RoleCPU: "cores", RoleCPULimit: "cores", RoleMemory: "bytes",
	RoleMemoryLimit: "bytes", RoleMemoryAvailable: "bytes", RoleMemoryUsage: "ratio",
	RoleRestarts: "count", RoleOOMKills: "count", RoleDBWait: "per_second",
	RoleQueryLatency: "seconds", RoleMaxTxDuration: "seconds", RoleSlowQueries: "per_second",
	RoleCertExpiry: "unix_seconds", RoleCertRemaining: "seconds", RoleNodeNetErrors: "per_second",
	RoleDBConnUsage: "ratio", RoleDependency: "per_second", RoleDependencyErrorRatio: "ratio",
}

type ruled struct {
	signal.Series
	rule Rule
}

// Derive turns raw series (from Decode or Client.Fetch) into the per-role
// series an analyst reads, using cat (nil means DefaultCatalog):
//
//   - counters become per-second rates between consecutive samples; a drop
//     in value is a counter reset and the new value counts as the increase.
//     Restarts and OOM-kill counters become increases per sample interval.
//   - requests are summed per place (labels without status, code, method,
//     path); errors are the 5xx part of them; error_ratio is errors/requests
//     per place, and once per metric over everything (no labels).
//   - latency histogram buckets become p50/p95/p99 series (label quantile),
//     per place and once per metric over everything, interpolated within a
//     bucket as PromQL's histogram_quantile does.
//   - pg_stat_statements seconds and calls become the mean query time
//     (query_latency, name pg_stat_statements_mean_seconds) per database.
//   - pg_stat_activity_count is summed over states per database server
//     (db_connections) and its state="active" part is db_active.
//   - db_conn_usage is db_connections over the matching db_max_connections
//     (same exporter family and labels), memory_usage is memory over the
//     matching memory_limit; a limit of 0 (unlimited) gives no fraction.
//   - cert_remaining is probe_ssl_earliest_cert_expiry minus the sample time.
//   - gauges are kept as they are. Series with a pod label gain the node
//     label from kube_pod_info when it is present.
//
// Labels that say where (pod, node, instance, namespace, region, zone …) are
// kept. Points with NaN values are dropped; ratios are not emitted where the
// denominator is zero.
func Derive(series []signal.Series, cat *Catalog) *Metrics {
	if cat == nil {
		cat = DefaultCatalog()
	}
	m := &Metrics{}
	unknown := map[string]bool{}
	byRole := map[Role][]ruled{}
	for _, s := range series {
		r, ok := cat.Lookup(s)
		if !ok {
			if s.Name != "" && len(cat.rules[s.Name]) == 0 {
				unknown[s.Name] = true // filtered-out series of a known metric are not unknown
			}
			continue
		}
		s.Points = dropNaN(s.Points)
		byRole[r.Role] = append(byRole[r.Role], ruled{s, r})
	}
	for n := range unknown {
		m.Unknown = append(m.Unknown, n)
	}
	sort.Strings(m.Unknown)

	podNode := podNodes(byRole[RolePodInfo])
	var out []Series
	add := func(s Series) {
		if s.Unit == "" {
			s.Unit = roleUnit[s.Role]
		}
		if pod := s.Labels["pod"]; pod != "" && s.Labels["node"] == "" && podNode[pod] != "" {
			s.Labels = cloneLabels(s.Labels)
			s.Labels["node"] = podNode[pod]
		}
		if len(s.Points) > 0 {
			out = append(out, s)
		}
	}

	for role, rs := range byRole {
		switch role {
		case RoleRequests:
			deriveRequests(rs, add)
		case RoleLatency:
			deriveLatency(rs, add)
		case RoleQueryLatency:
			deriveQueryLatency(rs, add)
		case RoleDependency:
			deriveDependencies(rs, add)
		case RolePodInfo:
		default:
			for _, r := range sumWithout(dropPodTotals(rs)) {
				if r.Name == "pg_stat_activity_count" {
					continue // summed below
				}
				s := Series{Role: role, Name: r.Name, Labels: r.Labels, Points: r.Points}
				switch {
				case r.rule.Delta:
					s.Unit = "count"
				case role == RoleOOMKills && r.rule.Type == Gauge:
					s.Unit = "flag" // last terminated reason was OOMKilled: 1/0
				}
				add(s)
				if role == RoleCertExpiry {
					rem := make([]signal.Point, len(r.Points))
					for i, p := range r.Points {
						rem[i] = signal.Point{T: p.T, V: p.V - float64(p.T)/1000}
					}
					add(Series{Role: RoleCertRemaining, Name: r.Name, Labels: r.Labels, Points: rem})
				}
			}
		}
	}
	derivePGActivity(byRole[RoleDBConnections], add)

	// Fractions of limits, from the series derived so far.
	var conns, maxes, mem, memLimits []Series
	for _, s := range out {
		switch s.Role {
		case RoleDBConnections:
			conns = append(conns, s)
		case RoleDBMaxConnections:
			maxes = append(maxes, s)
		case RoleMemory:
			mem = append(mem, s)
		case RoleMemoryLimit:
			memLimits = append(memLimits, s)
		}
	}
	for _, c := range conns {
		if lim, ok := pairLimit(c, maxes, true); ok {
			add(Series{Role: RoleDBConnUsage, Name: c.Name, Labels: c.Labels, Points: ratio(c.Points, lim.Points)})
		}
	}
	for _, c := range mem {
		if lim, ok := pairLimit(c, memLimits, false); ok {
			add(Series{Role: RoleMemoryUsage, Name: c.Name, Labels: c.Labels, Points: ratio(c.Points, lim.Points)})
		}
	}

	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Role != b.Role {
			return a.Role < b.Role
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if len(a.Labels) != len(b.Labels) {
			return len(a.Labels) < len(b.Labels) // the overall series first
		}
		return seriesKey("", a.Labels) < seriesKey("", b.Labels)
	})
	m.Series = out
	return m
}

func dropNaN(pts []signal.Point) []signal.Point {
	for _, p := range pts {
		if math.IsNaN(p.V) {
			out := make([]signal.Point, 0, len(pts))
			for _, p := range pts {
				if !math.IsNaN(p.V) {
					out = append(out, p)
				}
			}
			return out
		}
	}
	return pts
}

// transform applies the rule's type: rate or delta for counters, nothing
// for gauges.
func transform(r ruled) []signal.Point {
	if r.rule.Type != Counter {
		return r.Points
	}
	if r.rule.Delta {
		return Increase(r.Points)
	}
	return Rate(r.Points)
}

// Rate turns a counter's samples into per-second rates between consecutive
// samples, at the later sample's time. A decrease is a counter reset: the
// new value is taken as the increase since the reset. Infinite values and
// non-increasing timestamps are skipped.
func Rate(pts []signal.Point) []signal.Point {
	return counterDiff(pts, true)
}

// Increase is Rate without the division by time: the counter's increase per
// sample interval, resets handled the same way.
func Increase(pts []signal.Point) []signal.Point {
	return counterDiff(pts, false)
}

func counterDiff(pts []signal.Point, perSecond bool) []signal.Point {
	if len(pts) < 2 {
		return nil
	}
	out := make([]signal.Point, 0, len(pts)-1)
	prev := -1
	for i, p := range pts {
		if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
			continue
		}
		if prev < 0 {
			prev = i
			continue
		}
		q := pts[prev]
		dt := float64(p.T-q.T) / 1000
		if dt <= 0 {
			continue
		}
		inc := p.V - q.V
		if p.V < q.V {
			inc = p.V
		}
		if perSecond {
			inc /= dt
		}
		out = append(out, signal.Point{T: p.T, V: inc})
		prev = i
	}
	return out
}

// ratio divides a by b at the timestamps both have, where b is non-zero and
// finite.
func ratio(a, b []signal.Point) []signal.Point {
	bv := make(map[int64]float64, len(b))
	for _, p := range b {
		bv[p.T] = p.V
	}
	// A limit is often scraped less often or only once: fall back to the
	// nearest earlier limit sample.
	out := make([]signal.Point, 0, len(a))
	j := 0
	for _, p := range a {
		d, ok := bv[p.T]
		if !ok {
			for j+1 < len(b) && b[j+1].T <= p.T {
				j++
			}
			if len(b) == 0 || b[j].T > p.T {
				continue
			}
			d = b[j].V
		}
		if d == 0 || math.IsInf(d, 0) || math.IsNaN(d) {
			continue
		}
		out = append(out, signal.Point{T: p.T, V: p.V / d})
	}
	return out
}

// dropPodTotals removes cAdvisor's pod-level cgroup series (container="")
// when per-container series of the same metric and pod exist, so that sums
// do not count a pod twice.
func dropPodTotals(rs []ruled) []ruled {
	hasContainer := map[string]bool{}
	for _, r := range rs {
		if c, ok := r.Labels["container"]; ok && c != "" {
			hasContainer[r.Name+"\xff"+r.Labels["namespace"]+"\xff"+r.Labels["pod"]] = true
		}
	}
	if len(hasContainer) == 0 {
		return rs
	}
	out := rs[:0:0]
	for _, r := range rs {
		if c, ok := r.Labels["container"]; ok && c == "" && hasContainer[r.Name+"\xff"+r.Labels["namespace"]+"\xff"+r.Labels["pod"]] {
			continue
		}
		out = append(out, r)
	}
	return out
}

func podNodes(rs []ruled) map[string]string {
	m := map[string]string{}
	for _, r := range rs {
		if pod, node := r.Labels["pod"], r.Labels["node"]; pod != "" && node != "" {
			m[pod] = node
		}
	}
	return m
}

// without returns labels minus the given names.
func without(labels map[string]string, drop func(string) bool) map[string]string {
	var out map[string]string
	for k, v := range labels {
		if drop(k) {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}

type group struct {
	name    string
	labels  map[string]string
	members []ruled
}

// groupBy groups series by name and their labels minus the dropped ones, in
// a deterministic order.
func groupBy(rs []ruled, drop func(string) bool) []*group {
	idx := map[string]*group{}
	var out []*group
	for _, r := range rs {
		l := without(r.Labels, drop)
		k := seriesKey(r.Name, l)
		g, ok := idx[k]
		if !ok {
			g = &group{name: r.Name, labels: l}
			idx[k] = g
			out = append(out, g)
		}
		g.members = append(g.members, r)
	}
	sort.Slice(out, func(i, j int) bool {
		return seriesKey(out[i].name, out[i].labels) < seriesKey(out[j].name, out[j].labels)
	})
	return out
}

func isWhat(k string) bool { return whatLabels[k] }

// isServerError reports whether a status label value is a 5xx.
func isServerError(v string) bool {
	return len(v) == 3 && v[0] == '5' && (v[1] >= '0' && v[1] <= '9' || v[1] == 'x' || v[1] == 'X')
}

func statusOf(r ruled) string {
	if r.rule.StatusLabel != "" {
		return r.Labels[r.rule.StatusLabel]
	}
	if v, ok := r.Labels["status"]; ok {
		return v
	}
	return r.Labels["code"]
}

func deriveRequests(rs []ruled, add func(Series)) {
	type totals struct{ req, errs map[int64]float64 }
	overall := map[string]*totals{}
	var names []string
	for _, g := range groupBy(rs, func(k string) bool { return isWhat(k) }) {
		req, errs := map[int64]float64{}, map[int64]float64{}
		for _, r := range g.members {
			addCounted(req, errs, transform(r), isServerError(statusOf(r)))
		}
		t, ok := overall[g.name]
		if !ok {
			t = &totals{map[int64]float64{}, map[int64]float64{}}
			overall[g.name] = t
			names = append(names, g.name)
		}
		for k, v := range req {
			t.req[k] += v
		}
		for k, v := range errs {
			t.errs[k] += v
		}
		rp, ep := fromMap(req), fromMap(errs)
		add(Series{Role: RoleRequests, Name: g.name, Labels: g.labels, Points: rp})
		add(Series{Role: RoleErrors, Name: g.name, Labels: g.labels, Points: ep})
		add(Series{Role: RoleErrorRatio, Name: g.name, Labels: g.labels, Points: ratio(ep, rp)})
	}
	for _, n := range names {
		t := overall[n]
		add(Series{Role: RoleErrorRatio, Name: n, Points: ratio(fromMap(t.errs), fromMap(t.req))})
	}
}

// addCounted adds a series of rates to all, and to errs when it counts
// failures; errs gets a 0 at every time all has, so that the error ratio
// is 0 there rather than missing.
func addCounted(all, errs map[int64]float64, pts []signal.Point, failed bool) {
	for _, p := range pts {
		all[p.T] += p.V
		if failed {
			errs[p.T] += p.V
		} else if _, ok := errs[p.T]; !ok {
			errs[p.T] = 0
		}
	}
}

// targetLabels name the called service in outbound request metrics, in the
// order tried when a rule names none.
var targetLabels = []string{"server_address", "peer_service", "client_name", "destination_service_name", "grpc_service", "target"}

func targetOf(r ruled) string {
	if r.rule.TargetLabel != "" {
		return r.Labels[r.rule.TargetLabel]
	}
	for _, l := range targetLabels {
		if v := r.Labels[l]; v != "" {
			return v
		}
	}
	return ""
}

// isCallError reports whether an outbound call series counts failed calls:
// a 5xx or 429 answer, a gRPC code that says the server failed or was not
// reached, a client that got no response (Micrometer's IO_ERROR or
// CLIENT_ERROR status, outcome SERVER_ERROR), or any OpenTelemetry
// error_type.
func isCallError(r ruled) bool {
	st := statusOf(r)
	switch {
	case isServerError(st), st == "429":
		return true
	case r.Labels["error_type"] != "", r.Labels["outcome"] == "SERVER_ERROR":
		return true
	}
	switch strings.ToLower(st) {
	case "unavailable", "deadlineexceeded", "deadline_exceeded", "internal", "unknown", "dataloss", "data_loss",
		"resourceexhausted", "resource_exhausted", "io_error", "client_error":
		return true
	}
	return false
}

// deriveDependencies sums outbound calls per called service (label
// dependency): calls per second and the failing share of them.
func deriveDependencies(rs []ruled, add func(Series)) {
	type totals struct {
		name        string // the first metric that counts them
		calls, errs map[int64]float64
	}
	byTarget := map[string]*totals{}
	var targets []string
	for _, r := range rs {
		tg := targetOf(r)
		if tg == "" {
			continue
		}
		t, ok := byTarget[tg]
		if !ok {
			t = &totals{r.Name, map[int64]float64{}, map[int64]float64{}}
			byTarget[tg] = t
			targets = append(targets, tg)
		}
		addCounted(t.calls, t.errs, transform(r), isCallError(r))
	}
	sort.Strings(targets)
	for _, tg := range targets {
		t := byTarget[tg]
		l := map[string]string{"dependency": tg}
		calls := fromMap(t.calls)
		add(Series{Role: RoleDependency, Name: t.name, Labels: l, Points: calls})
		add(Series{Role: RoleDependencyErrorRatio, Name: t.name, Labels: cloneLabels(l), Points: ratio(fromMap(t.errs), calls)})
	}
}

func deriveLatency(rs []ruled, add func(Series)) {
	// Rates per bucket, grouped per place and per metric overall.
	type hist map[float64]map[int64]float64 // le -> t -> rate
	addTo := func(h hist, r ruled) {
		le, err := parseValue(r.Labels["le"])
		if err != nil {
			return
		}
		if h[le] == nil {
			h[le] = map[int64]float64{}
		}
		for _, p := range Rate(r.Points) {
			h[le][p.T] += p.V
		}
	}
	emit := func(name string, labels map[string]string, h hist) {
		for _, q := range Quantiles {
			pts := histogramQuantile(q, h)
			l := cloneLabels(labels)
			if l == nil {
				l = map[string]string{}
			}
			l["quantile"] = strconv.FormatFloat(q, 'f', -1, 64)
			add(Series{Role: RoleLatency, Name: strings.TrimSuffix(name, "_bucket"), Labels: l, Points: pts})
		}
	}
	overall := map[string]hist{}
	var names []string
	for _, g := range groupBy(rs, isWhat) {
		h := hist{}
		if overall[g.name] == nil {
			overall[g.name] = hist{}
			names = append(names, g.name)
		}
		for _, r := range g.members {
			addTo(h, r)
			addTo(overall[g.name], r)
		}
		emit(g.name, g.labels, h)
	}
	for _, n := range names {
		emit(n, nil, overall[n])
	}
}

// histogramQuantile computes quantile q at every timestamp of the bucket
// rates h (le -> time -> rate), as PromQL's histogram_quantile: linear
// interpolation inside the bucket holding the rank, the lower bound of the
// first bucket taken as 0, and the +Inf bucket answered with the highest
// finite bound.
func histogramQuantile(q float64, h map[float64]map[int64]float64) []signal.Point {
	les := make([]float64, 0, len(h))
	times := map[int64]bool{}
	for le, ts := range h {
		les = append(les, le)
		for t := range ts {
			times[t] = true
		}
	}
	sort.Float64s(les)
	if len(les) < 2 || !math.IsInf(les[len(les)-1], 1) {
		return nil
	}
	var out []signal.Point
	counts := make([]float64, len(les))
	for t := range times {
		for i, le := range les {
			counts[i] = h[le][t]
			if i > 0 && counts[i] < counts[i-1] {
				counts[i] = counts[i-1] // keep the buckets cumulative
			}
		}
		total := counts[len(counts)-1]
		if total <= 0 {
			continue
		}
		rank := q * total
		i := sort.SearchFloat64s(counts, rank)
		if i >= len(les)-1 {
			out = append(out, signal.Point{T: t, V: les[len(les)-2]})
			continue
		}
		lower, below := 0.0, 0.0
		if i > 0 {
			lower, below = les[i-1], counts[i-1]
		} else if les[0] <= 0 {
			out = append(out, signal.Point{T: t, V: les[0]})
			continue
		}
		in := counts[i] - below
		v := les[i]
		if in > 0 {
			v = lower + (les[i]-lower)*(rank-below)/in
		}
		out = append(out, signal.Point{T: t, V: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out
}

func deriveQueryLatency(rs []ruled, add func(Series)) {
	drop := func(k string) bool { return k == "queryid" || k == "user" || k == "query" || isWhat(k) }
	type pair struct {
		labels         map[string]string
		seconds, calls map[int64]float64
	}
	idx := map[string]*pair{}
	var keys []string
	for _, r := range rs {
		var dst *map[int64]float64
		l := without(r.Labels, drop)
		k := seriesKey("", l)
		p, ok := idx[k]
		if !ok {
			p = &pair{labels: l, seconds: map[int64]float64{}, calls: map[int64]float64{}}
			idx[k] = p
			keys = append(keys, k)
		}
		switch r.Name {
		case "pg_stat_statements_seconds_total":
			dst = &p.seconds
		case "pg_stat_statements_calls_total":
			dst = &p.calls
		default:
			add(Series{Role: RoleQueryLatency, Name: r.Name, Labels: r.Labels, Points: transform(r)})
			continue
		}
		for _, pt := range Rate(r.Points) {
			(*dst)[pt.T] += pt.V
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := idx[k]
		if len(p.seconds) == 0 || len(p.calls) == 0 {
			continue
		}
		add(Series{Role: RoleQueryLatency, Name: "pg_stat_statements_mean_seconds", Unit: "seconds",
			Labels: p.labels, Points: ratio(fromMap(p.seconds), fromMap(p.calls))})
	}
}

// derivePGActivity sums pg_stat_activity_count over states and databases
// per server (db_connections), and its state="active" part (db_active).
func derivePGActivity(rs []ruled, add func(Series)) {
	var pg []ruled
	for _, r := range rs {
		if r.Name == "pg_stat_activity_count" {
			pg = append(pg, r)
		}
	}
	drop := func(k string) bool {
		return k == "state" || k == "datname" || k == "usename" || k == "application_name" || k == "wait_event_type"
	}
	for _, g := range groupBy(pg, drop) {
		all, active := map[int64]float64{}, map[int64]float64{}
		for _, r := range g.members {
			isActive := r.Labels["state"] == "active"
			for _, p := range r.Points {
				all[p.T] += p.V
				if isActive {
					active[p.T] += p.V
				}
			}
		}
		add(Series{Role: RoleDBConnections, Name: g.name, Labels: g.labels, Points: fromMap(all)})
		add(Series{Role: RoleDBActive, Name: g.name, Labels: g.labels, Points: fromMap(active)})
	}
}

// family is the exporter a metric comes from, by name prefix (go_sql, pg,
// mysql, container, kube …).
func family(name string) string {
	if strings.HasPrefix(name, "go_sql_") {
		return "go_sql"
	}
	if i := strings.IndexByte(name, '_'); i > 0 {
		return name[:i]
	}
	return name
}

// pairLimit finds the limit series for s: for database connections one of
// the same exporter family; a limit conflicts when a label both carry
// differs (for memory, labels that differ between exporters, such as
// instance and job, are ignored). The candidate sharing the most label
// values wins; when s has no conflict-free candidate there is no pair.
func pairLimit(s Series, limits []Series, sameFamily bool) (Series, bool) {
	best, bestScore := -1, -1
	for i, l := range limits {
		if sameFamily && family(l.Name) != family(s.Name) {
			continue
		}
		score, conflict := 0, false
		for k, v := range l.Labels {
			sv, ok := s.Labels[k]
			if !ok {
				continue
			}
			if sv == v {
				score++
			} else if sameFamily || !weakJoinLabels[k] {
				conflict = true
				break
			}
		}
		if !conflict && score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return Series{}, false
	}
	return limits[best], true
}

// sumWithout applies each rule's transform (rate, increase or none) and,
// for rules with Without labels, sums the results over those labels. The
// returned series hold transformed points.
func sumWithout(rs []ruled) []ruled {
	var out []ruled
	var grouped []ruled
	for _, r := range rs {
		if len(r.rule.Without) == 0 {
			r.Points = transform(r)
			out = append(out, r)
			continue
		}
		grouped = append(grouped, r)
	}
	if len(grouped) == 0 {
		return out
	}
	base := len(out) // out[base+i] sums into sums[i]
	idx := map[string]int{}
	var sums []map[int64]float64
	for _, r := range grouped {
		drop := map[string]bool{}
		for _, l := range r.rule.Without {
			drop[l] = true
		}
		l := without(r.Labels, func(k string) bool { return drop[k] })
		k := seriesKey(r.Name, l)
		i, ok := idx[k]
		if !ok {
			i = len(sums)
			idx[k] = i
			out = append(out, ruled{signal.Series{Name: r.Name, Labels: l}, r.rule})
			sums = append(sums, map[int64]float64{})
		}
		for _, p := range transform(r) {
			sums[i][p.T] += p.V
		}
	}
	for i, acc := range sums {
		out[base+i].Points = fromMap(acc)
	}
	return out
}
