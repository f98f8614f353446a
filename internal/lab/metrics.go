package lab

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Histogram buckets: ingress-nginx's defaults and the api's own.
var ingressBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, math.Inf(1)}
var appBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, math.Inf(1)}

// accum counts simulated requests per metrics step, for the request
// counters and histograms.
type accum struct {
	g    *gen
	ing  map[ingKey][]float64
	ingH map[[2]int][]float64 // region, app → steps × buckets
	app  map[appKey][]float64
	appH map[int][]float64 // pod → steps × buckets
	dep  map[depKey][]float64
}

type depKey struct {
	pod    int
	dep    *dependency
	result string
}

type ingKey struct {
	region, app, status int
	method              string
}

type appKey struct {
	pod, status int
	method      string
}

func newAccum(g *gen) *accum {
	return &accum{g: g, ing: map[ingKey][]float64{}, ingH: map[[2]int][]float64{}, app: map[appKey][]float64{}, appH: map[int][]float64{}, dep: map[depKey][]float64{}}
}

func (a *accum) stepOf(t int64) int {
	i := int((t-a.g.start)/step) + 1 // a sample at start+i*step counts what happened before it
	if i < 0 {
		i = 0
	}
	if i >= a.g.steps {
		i = a.g.steps - 1
	}
	return i
}

func bucketOf(b []float64, v float64) int {
	for i, le := range b {
		if v <= le {
			return i
		}
	}
	return len(b) - 1
}

func (a *accum) ingress(r *region, app, status int, method string, dur float64, t int64) {
	s := a.stepOf(t)
	k := ingKey{r.idx, app, status, method}
	v := a.ing[k]
	if v == nil {
		v = make([]float64, a.g.steps)
		a.ing[k] = v
	}
	v[s]++
	hk := [2]int{r.idx, app}
	h := a.ingH[hk]
	if h == nil {
		h = make([]float64, a.g.steps*len(ingressBuckets))
		a.ingH[hk] = h
	}
	h[s*len(ingressBuckets)+bucketOf(ingressBuckets, dur)]++
}

func (a *accum) appReq(p *pod, status int, method string, dur float64, t int64) {
	s := a.stepOf(t)
	k := appKey{p.idx, status, method}
	v := a.app[k]
	if v == nil {
		v = make([]float64, a.g.steps)
		a.app[k] = v
	}
	v[s]++
	h := a.appH[p.idx]
	if h == nil {
		h = make([]float64, a.g.steps*len(appBuckets))
		a.appH[p.idx] = h
	}
	h[s*len(appBuckets)+bucketOf(appBuckets, dur)]++
}

func (a *accum) depCall(p *pod, d *dependency, result string, t int64) {
	k := depKey{p.idx, d, result}
	v := a.dep[k]
	if v == nil {
		v = make([]float64, a.g.steps)
		a.dep[k] = v
	}
	v[a.stepOf(t)]++
}

// mseries is one metric series being built: labels as name/value pairs and
// one value per step (NaN where the series has no sample).
type mseries struct {
	labels []string
	key    string
	v      []float64
}

type metricSet struct {
	steps int
	m     map[string][]*mseries
}

func (ms *metricSet) add(name string, kv ...string) *mseries {
	s := &mseries{labels: kv, v: make([]float64, ms.steps)}
	for i := range s.v {
		s.v[i] = math.NaN()
	}
	ms.m[name] = append(ms.m[name], s)
	return s
}

// podState is the resource model of one pod at one step.
type podState struct {
	cpu      float64 // cores
	mem      float64 // working set bytes
	memLimit float64
	restarts float64 // cumulative
	ooms     float64 // cumulative
	lastOOM  bool
	inUse    float64
	idle     float64
	maxOpen  float64
	waits    float64 // connection waits during the step
	waitSecs float64
	up       bool
}

type nodeState struct {
	busy         float64 // share of CPU busy
	iowait       float64
	memAvail     float64
	rxErrs       float64 // errors during the step
	txErrs       float64
	load1        float64
	up           bool
	kubeletReady bool
}

type dbState struct {
	// inUse and poolIdle are the api pools' busy and idle connections
	inUse, poolIdle        float64
	active, idle, idleInTx float64
	maxConn                float64
	maxTxDuration          float64
	locks                  map[string]float64
	// per statement: seconds and calls during the step
	stmtSecs, stmtCalls []float64
	slowQueries         float64 // during the step (mysql)
	threadsRunning      float64
}

type probeState struct {
	success    float64
	status     float64
	certExpiry float64
}

type stmt struct {
	queryid, text string
	calls, mean   float64 // per second at utilisation 0.5; seconds
}

var statements = []stmt{
	{"-4127385103862315123", "SELECT o.* FROM orders o WHERE o.user_id = $1 ORDER BY o.created_at DESC LIMIT $2", 9, 0.0021},
	{"8812370913370871201", "SELECT * FROM users WHERE id = $1", 14, 0.0004},
	{"2390018871165009977", "SELECT p.* FROM products p WHERE p.id = $1", 18, 0.0003},
	{"-611829374017726551", "INSERT INTO orders (user_id, total, currency, status) VALUES ($1, $2, $3, $4) RETURNING id", 1.2, 0.0031},
	{"5520119983740012211", "SELECT * FROM cart_items WHERE cart_id = $1", 6, 0.0006},
	{"-90772310045113876", "SELECT p.* FROM products p WHERE p.search_vector @@ plainto_tsquery($1) LIMIT $2", 3, 0.014},
}

// writeMetrics builds every metric series and writes one query_range body
// per metric name into dir/metrics.
func (g *gen) writeMetrics(dir string) ([]string, int, error) {
	ms := &metricSet{steps: g.steps, m: map[string][]*mseries{}}
	g.requestMetrics(ms)
	g.dependencyMetrics(ms)
	g.podMetrics(ms)
	g.nodeMetrics(ms)
	g.dbMetrics(ms)
	g.probeMetrics(ms)

	var names []string
	for n := range ms.m {
		names = append(names, n)
	}
	sort.Strings(names)
	var files []string
	total := 0
	for _, n := range names {
		if !hasSamples(ms.m[n]) {
			continue // Prometheus knows no such series: no file
		}
		p := filepath.Join(dir, "metrics", n+".json")
		cnt, err := g.writeQueryRange(p, n, ms.m[n])
		if err != nil {
			return nil, 0, err
		}
		total += cnt
		files = append(files, p)
	}
	return files, total, nil
}

func hasSamples(series []*mseries) bool {
	for _, s := range series {
		for _, v := range s.v {
			if !math.IsNaN(v) {
				return true
			}
		}
	}
	return false
}

func (g *gen) writeQueryRange(path, name string, series []*mseries) (int, error) {
	for _, s := range series {
		s.key = strings.Join(s.labels, "\xff")
	}
	sort.Slice(series, func(i, j int) bool { return series[i].key < series[j].key })
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("create metrics file: %w", err)
	}
	w := bufio.NewWriterSize(f, 128<<10)
	b := make([]byte, 0, 4096)
	b = append(b, `{"status":"success","data":{"resultType":"matrix","result":[`...)
	n := 0
	for _, s := range series {
		has := false
		for _, v := range s.v {
			if !math.IsNaN(v) {
				has = true
				break
			}
		}
		if !has {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"metric":{"__name__":"`...)
		b = append(b, name...)
		b = append(b, '"')
		// labels sorted by name
		idx := make([]int, 0, len(s.labels)/2)
		for i := 0; i+1 < len(s.labels); i += 2 {
			idx = append(idx, i)
		}
		sort.Slice(idx, func(a, c int) bool { return s.labels[idx[a]] < s.labels[idx[c]] })
		for _, i := range idx {
			b = append(b, ',')
			b = appendJSONString(b, []byte(s.labels[i]))
			b = append(b, ':')
			b = appendJSONString(b, []byte(s.labels[i+1]))
		}
		b = append(b, `},"values":[`...)
		first := true
		for i, v := range s.v {
			if math.IsNaN(v) {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, '[')
			b = strconv.AppendInt(b, g.start+int64(i*step), 10)
			b = append(b, ",\""...)
			b = appendValue(b, v)
			b = append(b, "\"]"...)
			if len(b) > 64<<10 {
				if _, err := w.Write(b); err != nil {
					f.Close()
					return 0, fmt.Errorf("write %s: %w", path, err)
				}
				b = b[:0]
			}
		}
		b = append(b, "]}"...)
	}
	b = append(b, "]}}\n"...)
	if _, err := w.Write(b); err != nil {
		f.Close()
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("close %s: %w", path, err)
	}
	return n, nil
}

// appendValue writes a sample as Prometheus does, rounded to what an
// exporter would report.
func appendValue(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.AppendInt(b, int64(v), 10)
	case math.Abs(v) >= 1000:
		return strconv.AppendFloat(b, math.Round(v*1000)/1000, 'f', -1, 64)
	default:
		return strconv.AppendFloat(b, v, 'g', 6, 64)
	}
}

func leString(le float64) string {
	if math.IsInf(le, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(le, 'f', -1, 64)
}

var appNames = [2]string{"api", "web"}

// cumulate turns per-step increments into a counter that started at base,
// keeping only the steps in [from, until).
func (g *gen) cumulate(dst *mseries, inc []float64, base float64, from, until int64) {
	c := base
	for i := range dst.v {
		t := g.start + int64(i*step)
		c += inc[i]
		if t < from || (until != 0 && t >= until) {
			continue
		}
		dst.v[i] = c
	}
}

func (g *gen) requestMetrics(ms *metricSet) {
	ext := func(r *region, kv ...string) []string {
		return append([]string{"cluster", r.cluster, "region", r.name}, kv...)
	}
	// ingress-nginx
	var keys []ingKey
	for k := range g.acc.ing {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.region != b.region {
			return a.region < b.region
		}
		if a.app != b.app {
			return a.app < b.app
		}
		if a.status != b.status {
			return a.status < b.status
		}
		return a.method < b.method
	})
	for _, k := range keys {
		r := g.regions[k.region]
		app := appNames[k.app]
		host := hostWWW
		s := ms.add("nginx_ingress_controller_requests", ext(r, "controller_class", "k8s.io/ingress-nginx", "controller_namespace", "ingress-nginx",
			"host", host, "ingress", app, "namespace", "prod", "service", app, "status", strconv.Itoa(k.status), "method", k.method, "path", "/")...)
		g.cumulate(s, g.acc.ing[k], 0, g.start, 0)
	}
	for ri, r := range g.regions {
		for app := 0; app < 2; app++ {
			h := g.acc.ingH[[2]int{ri, app}]
			if h == nil {
				continue
			}
			nb := len(ingressBuckets)
			for bi, le := range ingressBuckets {
				inc := make([]float64, g.steps)
				for st := 0; st < g.steps; st++ {
					for j := 0; j <= bi; j++ {
						inc[st] += h[st*nb+j]
					}
				}
				s := ms.add("nginx_ingress_controller_request_duration_seconds_bucket", ext(r, "controller_class", "k8s.io/ingress-nginx", "controller_namespace", "ingress-nginx",
					"host", hostWWW, "ingress", appNames[app], "namespace", "prod", "service", appNames[app], "le", leString(le))...)
				g.cumulate(s, inc, 0, g.start, 0)
			}
		}
	}
	// client_golang in the api and web pods
	var akeys []appKey
	for k := range g.acc.app {
		akeys = append(akeys, k)
	}
	sort.Slice(akeys, func(i, j int) bool {
		a, b := akeys[i], akeys[j]
		if a.pod != b.pod {
			return a.pod < b.pod
		}
		if a.status != b.status {
			return a.status < b.status
		}
		return a.method < b.method
	})
	for _, k := range akeys {
		p := g.pods[k.pod]
		s := ms.add("http_requests_total", ext(p.region, "job", p.app, "namespace", "prod", "pod", p.name, "instance", p.ip+":"+metricsPort(p),
			"code", strconv.Itoa(k.status), "method", k.method, "handler", p.app)...)
		g.cumulate(s, g.acc.app[k], 0, p.from, p.until)
	}
	for _, p := range g.pods {
		h := g.acc.appH[p.idx]
		if h == nil {
			continue
		}
		nb := len(appBuckets)
		for bi, le := range appBuckets {
			inc := make([]float64, g.steps)
			for st := 0; st < g.steps; st++ {
				for j := 0; j <= bi; j++ {
					inc[st] += h[st*nb+j]
				}
			}
			s := ms.add("http_request_duration_seconds_bucket", ext(p.region, "job", p.app, "namespace", "prod", "pod", p.name, "instance", p.ip+":"+metricsPort(p),
				"handler", p.app, "le", leString(le))...)
			g.cumulate(s, inc, 0, p.from, p.until)
		}
	}
}

// dependencyMetrics writes the api pods' outbound calls as the
// OpenTelemetry Prometheus exporter names them: the count of the
// http.client.request.duration histogram, by server.address, method,
// response status and error.type.
func (g *gen) dependencyMetrics(ms *metricSet) {
	if !g.depMetrics {
		return
	}
	var keys []depKey
	for k := range g.acc.dep {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.pod != b.pod {
			return a.pod < b.pod
		}
		if a.dep.name != b.dep.name {
			return a.dep.name < b.dep.name
		}
		return a.result < b.result
	})
	for _, k := range keys {
		p, d := g.pods[k.pod], k.dep
		kv := []string{"cluster", p.region.cluster, "region", p.region.name, "job", p.app, "namespace", "prod", "pod", p.name,
			"instance", p.ip + ":" + metricsPort(p), "server_address", d.host, "server_port", "443", "http_request_method", d.method}
		if k.result != "timeout" {
			kv = append(kv, "http_response_status_code", k.result)
		}
		if k.result != "200" {
			kv = append(kv, "error_type", k.result)
		}
		s := ms.add("http_client_request_duration_seconds_count", kv...)
		g.cumulate(s, g.acc.dep[k], 0, p.from, p.until)
	}
}

func metricsPort(p *pod) string {
	if p.app == "web" {
		return "3000"
	}
	return "8080"
}

// stepTime is the time of sample i.
func (g *gen) stepTime(i int) int64 { return g.start + int64(i*step) }

func (g *gen) podMetrics(ms *metricSet) {
	rng := g.mrng
	for _, p := range g.pods {
		r := p.region
		ext := []string{"cluster", r.cluster, "region", r.name, "namespace", "prod", "pod", p.name}
		withC := func(kv ...string) []string {
			return append(append(append([]string{}, ext...), "container", p.app), kv...)
		}
		cpu := ms.add("container_cpu_usage_seconds_total", withC("node", p.node.name, "cpu", "total")...)
		wset := ms.add("container_memory_working_set_bytes", withC("node", p.node.name)...)
		lim := ms.add("container_spec_memory_limit_bytes", withC("node", p.node.name)...)
		oom := ms.add("container_oom_events_total", withC("node", p.node.name)...)
		rst := ms.add("kube_pod_container_status_restarts_total", withC()...)
		term := ms.add("kube_pod_container_status_last_terminated_reason", withC("reason", "OOMKilled")...)
		info := ms.add("kube_pod_info", append(append([]string{}, ext...), "node", p.node.name, "host_ip", p.node.ip, "pod_ip", p.ip,
			"created_by_kind", "ReplicaSet", "created_by_name", p.app+"-"+p.rs)...)
		limMem := ms.add("kube_pod_container_resource_limits", withC("resource", "memory", "unit", "byte", "node", p.node.name)...)
		limCPU := ms.add("kube_pod_container_resource_limits", withC("resource", "cpu", "unit", "core", "node", p.node.name)...)
		jobExt := append(append([]string{}, ext...), "job", p.app, "instance", p.ip+":"+metricsPort(p))
		pcpu := ms.add("process_cpu_seconds_total", jobExt...)
		prss := ms.add("process_resident_memory_bytes", jobExt...)
		up := ms.add("up", jobExt...)
		var dbOpen, dbInUse, dbMax, dbWait, dbWaitDur *mseries
		if p.app == "api" {
			dbx := append(append([]string{}, jobExt...), "db_name", "orders")
			dbOpen = ms.add("go_sql_open_connections", dbx...)
			dbInUse = ms.add("go_sql_in_use_connections", dbx...)
			dbMax = ms.add("go_sql_max_open_connections", dbx...)
			dbWait = ms.add("go_sql_wait_count_total", dbx...)
			dbWaitDur = ms.add("go_sql_wait_duration_seconds_total", dbx...)
		}
		var cpuC, pcpuC, waitC, waitDurC float64
		noise := 0.0
		memBase := 300e6 + 120e6*rng.Float64()
		if p.app == "web" {
			memBase = 180e6 + 60e6*rng.Float64()
		}
		for i := 0; i < g.steps; i++ {
			t := g.stepTime(i)
			if !p.alive(t) {
				continue
			}
			noise = 0.7*noise + 0.3*rng.NormFloat64()
			u := g.util(r, t)
			s := podState{up: true, memLimit: 1 << 30, maxOpen: 25}
			s.cpu = math.Max(0.01, 0.05+0.75*u*(1+0.08*noise))
			s.mem = memBase * (1 + 0.02*noise + 0.04*u)
			if p.app == "api" {
				s.inUse = math.Max(0, math.Round(1+10*u*(1+0.15*noise)))
				s.idle = math.Max(0, math.Round(3+2*rng.Float64()))
				if rng.Float64() < 0.02 {
					s.waits = float64(1 + rng.IntN(3))
					s.waitSecs = s.waits * 0.002
				}
			} else {
				s.cpu *= 0.5
			}
			if g.h.podState != nil {
				g.h.podState(g, p, t, &s)
			}
			cpuC += s.cpu * step
			pcpuC += s.cpu * step * 0.97
			cpu.v[i] = cpuC
			pcpu.v[i] = pcpuC
			wset.v[i] = math.Round(s.mem)
			prss.v[i] = math.Round(s.mem * 1.06)
			lim.v[i] = s.memLimit
			limMem.v[i] = s.memLimit
			limCPU.v[i] = 1
			oom.v[i] = s.ooms
			rst.v[i] = s.restarts
			if s.lastOOM {
				term.v[i] = 1
			}
			info.v[i] = 1
			if s.up {
				up.v[i] = 1
			} else {
				up.v[i] = 0
			}
			if dbOpen != nil {
				waitC += s.waits
				waitDurC += s.waitSecs
				dbOpen.v[i] = math.Min(s.maxOpen, s.inUse+s.idle)
				dbInUse.v[i] = math.Min(s.maxOpen, s.inUse)
				dbMax.v[i] = s.maxOpen
				dbWait.v[i] = waitC
				dbWaitDur.v[i] = waitDurC
			}
		}
	}
	// replicas available per deployment and region
	for _, r := range g.regions {
		for _, set := range [][]*pod{r.api, r.web} {
			if len(set) == 0 {
				continue
			}
			s := ms.add("kube_deployment_status_replicas_available", "cluster", r.cluster, "region", r.name, "namespace", "prod", "deployment", set[0].app)
			for i := 0; i < g.steps; i++ {
				t := g.stepTime(i)
				n := 0
				for _, p := range set {
					if p.alive(t) && !p.canary {
						n++
					}
				}
				if g.h.podState != nil && set[0].app == "api" {
					// pods that are down are not available
					for _, p := range set {
						if !p.alive(t) || p.canary {
							continue
						}
						st := podState{up: true}
						g.h.podState(g, p, t, &st)
						if !st.up {
							n--
						}
					}
				}
				s.v[i] = float64(n)
			}
		}
	}
}

var cpuModes = []struct {
	mode  string
	share float64
}{{"user", 0.68}, {"system", 0.22}, {"iowait", 0.03}, {"softirq", 0.07}}

func (g *gen) nodeMetrics(ms *metricSet) {
	rng := g.mrng
	for _, n := range g.nodes {
		r := n.region
		ext := []string{"cluster", r.cluster, "region", r.name, "job", "node-exporter", "instance", n.ip + ":9100", "node", n.name, "zone", n.zone}
		const cpus = 4
		var modes [cpus][5]*mseries
		for c := 0; c < cpus; c++ {
			modes[c][0] = ms.add("node_cpu_seconds_total", append(append([]string{}, ext...), "cpu", strconv.Itoa(c), "mode", "idle")...)
			for mi, m := range cpuModes {
				modes[c][mi+1] = ms.add("node_cpu_seconds_total", append(append([]string{}, ext...), "cpu", strconv.Itoa(c), "mode", m.mode)...)
			}
		}
		avail := ms.add("node_memory_MemAvailable_bytes", ext...)
		rx := ms.add("node_network_receive_errs_total", append(append([]string{}, ext...), "device", "eth0")...)
		tx := ms.add("node_network_transmit_errs_total", append(append([]string{}, ext...), "device", "eth0")...)
		load := ms.add("node_load1", ext...)
		up := ms.add("up", ext...)
		var ctr [cpus][5]float64
		for c := range ctr {
			ctr[c][0] = 2.1e6 + 1e5*rng.Float64() // seconds since boot, roughly a month
		}
		var rxC, txC float64
		rxC = float64(rng.IntN(3))
		noise := 0.0
		for i := 0; i < g.steps; i++ {
			t := g.stepTime(i)
			noise = 0.7*noise + 0.3*rng.NormFloat64()
			u := g.util(r, t)
			s := nodeState{busy: math.Min(0.97, 0.08+0.55*u*(1+0.1*noise)), memAvail: 9e9 + 1.5e9*noise, up: true, kubeletReady: true}
			s.load1 = s.busy*4*(1+0.2*rng.Float64()) + 0.1
			if rng.Float64() < 0.002 {
				s.rxErrs = 1
			}
			if g.h.nodeState != nil {
				g.h.nodeState(g, n, t, &s)
			}
			rxC += s.rxErrs
			txC += s.txErrs
			if !s.up {
				up.v[i] = 0
				continue
			}
			for c := 0; c < cpus; c++ {
				busy := math.Max(0, math.Min(1, s.busy*(1+0.05*rng.NormFloat64())))
				ctr[c][0] += (1 - busy - s.iowait) * step
				for mi, m := range cpuModes {
					sh := m.share * busy
					if m.mode == "iowait" {
						sh += s.iowait
					}
					ctr[c][mi+1] += sh * step
				}
				for k := 0; k < 5; k++ {
					modes[c][k].v[i] = ctr[c][k]
				}
			}
			avail.v[i] = math.Round(s.memAvail)
			rx.v[i] = rxC
			tx.v[i] = txC
			load.v[i] = math.Round(s.load1*100) / 100
			up.v[i] = 1
		}
	}
}

func (g *gen) dbMetrics(ms *metricSet) {
	rng := g.mrng
	for _, r := range g.regions {
		host := strings.SplitN(r.dbInstance, ".", 2)[0]
		ext := []string{"cluster", r.cluster, "region", r.name, "server", host}
		var job string
		if g.db == "postgres" {
			job = "postgres-exporter"
		} else {
			job = "mysqld-exporter"
		}
		ext = append(ext, "job", job, "instance", host+":"+map[bool]string{true: "9187", false: "9104"}[g.db == "postgres"])
		with := func(kv ...string) []string { return append(append([]string{}, ext...), kv...) }
		up := ms.add("up", ext...)
		var (
			act, idl, iit, maxc, maxtx *mseries
			locks                      = map[string]*mseries{}
			stSecs, stCalls            []*mseries
			thrConn, thrRun, maxConn   *mseries
			slow                       *mseries
		)
		lockModes := []string{"accesssharelock", "rowsharelock", "rowexclusivelock", "sharelock", "exclusivelock", "accessexclusivelock"}
		if g.db == "postgres" {
			act = ms.add("pg_stat_activity_count", with("datname", "orders", "state", "active")...)
			idl = ms.add("pg_stat_activity_count", with("datname", "orders", "state", "idle")...)
			iit = ms.add("pg_stat_activity_count", with("datname", "orders", "state", "idle in transaction")...)
			maxc = ms.add("pg_settings_max_connections", ext...)
			maxtx = ms.add("pg_stat_activity_max_tx_duration", with("datname", "orders", "state", "active")...)
			for _, m := range lockModes {
				locks[m] = ms.add("pg_locks_count", with("datname", "orders", "mode", m)...)
			}
			for _, st := range statements {
				stSecs = append(stSecs, ms.add("pg_stat_statements_seconds_total", with("datname", "orders", "user", "api", "queryid", st.queryid)...))
				stCalls = append(stCalls, ms.add("pg_stat_statements_calls_total", with("datname", "orders", "user", "api", "queryid", st.queryid)...))
			}
		} else {
			thrConn = ms.add("mysql_global_status_threads_connected", ext...)
			thrRun = ms.add("mysql_global_status_threads_running", ext...)
			maxConn = ms.add("mysql_global_variables_max_connections", ext...)
			slow = ms.add("mysql_global_status_slow_queries", ext...)
		}
		secC := make([]float64, len(statements))
		callC := make([]float64, len(statements))
		for i := range secC {
			callC[i] = 1e7 * (1 + rng.Float64())
			secC[i] = callC[i] * statements[i].mean
		}
		slowC := float64(1000 + rng.IntN(5000))
		initial := 0
		for _, p := range r.api {
			if p.alive(g.start) {
				initial++
			}
		}
		maxConnections := math.Ceil(float64(initial)*25/0.95/10) * 10
		for i := 0; i < g.steps; i++ {
			t := g.stepTime(i)
			u := g.util(r, t)
			// every api pod holds its pool's idle and busy connections
			var inUse, idle float64
			for _, p := range r.api {
				if !p.alive(t) {
					continue
				}
				ps := podState{maxOpen: 25, up: true}
				ps.inUse = math.Round(1 + 10*u)
				ps.idle = 4
				if g.h.podState != nil {
					g.h.podState(g, p, t, &ps)
				}
				inUse += math.Min(ps.maxOpen, ps.inUse)
				idle += ps.idle
			}
			s := dbState{inUse: inUse, poolIdle: idle, active: math.Round(inUse*0.35 + 2 + rng.Float64()*2), idle: idle + inUse*0.65, idleInTx: float64(rng.IntN(3)), maxConn: maxConnections,
				maxTxDuration: 0.02 + 0.2*rng.Float64(), locks: map[string]float64{}, threadsRunning: math.Round(2 + 6*u + rng.Float64()*2)}
			if rng.Float64() < 0.01 {
				s.maxTxDuration = 2 + 10*rng.Float64()
			}
			for _, m := range lockModes {
				s.locks[m] = 0
			}
			s.locks["accesssharelock"] = math.Round(inUse*0.3*3 + rng.Float64()*4)
			s.locks["rowexclusivelock"] = math.Round(inUse*0.1 + rng.Float64()*2)
			s.stmtSecs = make([]float64, len(statements))
			s.stmtCalls = make([]float64, len(statements))
			for si, st := range statements {
				calls := st.calls * u * 2 * step * float64(len(r.api)) / 10
				s.stmtCalls[si] = calls
				s.stmtSecs[si] = calls * st.mean * (1 + 0.1*rng.NormFloat64())
			}
			if rng.Float64() < 0.05 {
				s.slowQueries = 1
			}
			if g.h.dbState != nil {
				g.h.dbState(g, r, t, &s)
			}
			up.v[i] = 1
			if g.db == "postgres" {
				act.v[i] = math.Round(s.active)
				idl.v[i] = math.Round(s.idle)
				iit.v[i] = math.Round(s.idleInTx)
				maxc.v[i] = s.maxConn
				maxtx.v[i] = math.Round(s.maxTxDuration*1000) / 1000
				for m, v := range s.locks {
					locks[m].v[i] = math.Round(v)
				}
				for si := range statements {
					secC[si] += s.stmtSecs[si]
					callC[si] += s.stmtCalls[si]
					stSecs[si].v[i] = math.Round(secC[si]*1000) / 1000
					stCalls[si].v[i] = math.Round(callC[si])
				}
			} else {
				slowC += s.slowQueries
				thrConn.v[i] = math.Round(s.active + s.idle + s.idleInTx)
				thrRun.v[i] = math.Round(s.threadsRunning)
				maxConn.v[i] = s.maxConn
				slow.v[i] = slowC
			}
		}
	}
}

// probeTargets are the endpoints blackbox_exporter checks.
func (g *gen) probeTargets() []string {
	t := []string{"https://api.example.com/api/healthz", "https://www.example.com/", "https://status.example.com/"}
	if g.cdn != nil {
		for _, r := range g.regions {
			t = append(t, "https://origin-"+r.name+".example.com/healthz")
		}
	}
	return t
}

func (g *gen) probeMetrics(ms *metricSet) {
	rng := g.mrng
	for ti, target := range g.probeTargets() {
		ext := []string{"job", "blackbox", "instance", target, "module", "http_2xx"}
		succ := ms.add("probe_success", ext...)
		code := ms.add("probe_http_status_code", ext...)
		exp := ms.add("probe_ssl_earliest_cert_expiry", ext...)
		expiry := float64(g.end + int64(86400*(25+rng.IntN(60))) + int64(ti*3607))
		for i := 0; i < g.steps; i++ {
			t := g.stepTime(i)
			s := probeState{success: 1, status: 200, certExpiry: expiry}
			if g.h.probe != nil {
				g.h.probe(g, target, t, &s)
			}
			succ.v[i] = s.success
			code.v[i] = s.status
			exp.v[i] = s.certExpiry
		}
	}
}
