package prom

import (
	"math"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

const t0 = int64(1732100000000) // ms
const stepMS = 15000

// counter returns n samples of a counter rising by rate per second.
func counter(start, rate float64, n int) []signal.Point {
	pts := make([]signal.Point, n)
	for i := range pts {
		pts[i] = signal.Point{T: t0 + int64(i)*stepMS, V: start + rate*float64(i)*stepMS/1000}
	}
	return pts
}

func gauge(vals ...float64) []signal.Point {
	pts := make([]signal.Point, len(vals))
	for i, v := range vals {
		pts[i] = signal.Point{T: t0 + int64(i)*stepMS, V: v}
	}
	return pts
}

func ser(name string, pts []signal.Point, kv ...string) signal.Series {
	l := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	return signal.Series{Name: name, Labels: l, Points: pts}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

func one(t *testing.T, m *Metrics, r Role, match map[string]string) Series {
	t.Helper()
	got := m.Where(r, match)
	if len(got) != 1 {
		t.Fatalf("%s where %v: %d series, want 1 (all of role: %+v)", r, match, len(got), m.Role(r))
	}
	return got[0]
}

func values(pts []signal.Point) []float64 {
	out := make([]float64, len(pts))
	for i, p := range pts {
		out[i] = p.V
	}
	return out
}

func wantValues(t *testing.T, what string, got []signal.Point, want ...float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s = %v, want %v", what, values(got), want)
	}
	for i := range want {
		if !near(got[i].V, want[i]) {
			t.Fatalf("%s = %v, want %v", what, values(got), want)
		}
	}
}

func TestRateHandlesResets(t *testing.T) {
	pts := gauge(1000, 1150, 30, 180, math.NaN(), 330)
	wantValues(t, "rate", Rate(pts), 10, 2, 10, 5) // NaN skipped: 150 over 30s
	wantValues(t, "increase", Increase(pts), 150, 30, 150, 150)
	if Rate(gauge(1)) != nil {
		t.Error("rate of one sample should be empty")
	}
}

func TestDeriveRequestsAndErrors(t *testing.T) {
	raw := []signal.Series{
		ser("http_requests_total", counter(100, 10, 5), "code", "200", "method", "GET", "pod", "api-a"),
		ser("http_requests_total", counter(0, 1, 5), "code", "503", "method", "GET", "pod", "api-a"),
		ser("http_requests_total", gauge(1000, 1150, 30, 180, 330), "code", "200", "method", "GET", "pod", "api-b"),
		ser("nginx_ingress_controller_requests", counter(0, 9, 3), "status", "200", "ingress", "api"),
		ser("nginx_ingress_controller_requests", counter(0, 1, 3), "status", "502", "ingress", "api"),
		ser("kube_pod_info", gauge(1, 1, 1, 1, 1), "pod", "api-a", "node", "node-1"),
		ser("my_own_metric", gauge(1)),
	}
	m := Derive(raw, nil)
	a := map[string]string{"pod": "api-a"}
	wantValues(t, "requests{pod=api-a}", one(t, m, RoleRequests, a).Points, 11, 11, 11, 11)
	wantValues(t, "errors{pod=api-a}", one(t, m, RoleErrors, a).Points, 1, 1, 1, 1)
	wantValues(t, "error_ratio{pod=api-a}", one(t, m, RoleErrorRatio, a).Points, 1.0/11, 1.0/11, 1.0/11, 1.0/11)
	b := map[string]string{"pod": "api-b"}
	wantValues(t, "requests{pod=api-b} across a reset", one(t, m, RoleRequests, b).Points, 10, 2, 10, 10)
	wantValues(t, "errors{pod=api-b}", one(t, m, RoleErrors, b).Points, 0, 0, 0, 0)
	if got := one(t, m, RoleRequests, a).Labels; got["node"] != "node-1" || got["code"] != "" || got["method"] != "" {
		t.Errorf("labels = %v, want pod and node from kube_pod_info, no code/method", got)
	}
	var overall Series
	for _, s := range m.Role(RoleErrorRatio) {
		if s.Name == "http_requests_total" && len(s.Labels) == 0 {
			overall = s
		}
	}
	wantValues(t, "overall error_ratio", overall.Points, 1.0/21, 1.0/13, 1.0/21, 1.0/21)
	wantValues(t, "ingress error_ratio", one(t, m, RoleErrorRatio, map[string]string{"ingress": "api"}).Points, 0.1, 0.1)
	if len(m.Unknown) != 1 || m.Unknown[0] != "my_own_metric" {
		t.Errorf("unknown = %v, want [my_own_metric]", m.Unknown)
	}
	if u := one(t, m, RoleErrorRatio, a).Unit; u != "ratio" {
		t.Errorf("unit = %q", u)
	}
}

// TestDeriveDependencies: outbound calls in the forms the common clients
// export them are summed per called service, and their failing share
// counts each exporter's way of saying a call failed.
func TestDeriveDependencies(t *testing.T) {
	raw := []signal.Series{
		// OpenTelemetry: a timeout has an error_type and no status code
		ser("http_client_request_duration_seconds_count", counter(0, 8, 4), "server_address", "api.pay.example", "http_response_status_code", "200", "pod", "api-a"),
		ser("http_client_request_duration_seconds_count", counter(0, 1, 4), "server_address", "api.pay.example", "error_type", "timeout", "pod", "api-a"),
		ser("http_client_request_duration_seconds_count", counter(0, 1, 4), "server_address", "api.pay.example", "http_response_status_code", "503", "error_type", "503", "pod", "api-b"),
		// Micrometer: IO_ERROR when no response came back
		ser("http_client_requests_seconds_count", counter(0, 3, 4), "client_name", "search", "status", "200", "outcome", "SUCCESS"),
		ser("http_client_requests_seconds_count", counter(0, 1, 4), "client_name", "search", "status", "IO_ERROR", "outcome", "UNKNOWN"),
		// gRPC: NotFound is the caller's business, Unavailable the server's
		ser("grpc_client_handled_total", counter(0, 2, 4), "grpc_service", "inventory.v1.Stock", "grpc_code", "OK"),
		ser("grpc_client_handled_total", counter(0, 1, 4), "grpc_service", "inventory.v1.Stock", "grpc_code", "NotFound"),
		ser("grpc_client_handled_total", counter(0, 1, 4), "grpc_service", "inventory.v1.Stock", "grpc_code", "Unavailable"),
		// Istio: only what the caller's sidecar reports is an outbound call
		ser("istio_requests_total", counter(0, 4, 4), "reporter", "source", "destination_service_name", "ledger", "response_code", "429"),
		ser("istio_requests_total", counter(0, 4, 4), "reporter", "destination", "destination_service_name", "ledger", "response_code", "500"),
	}
	m := Derive(raw, nil)
	for _, c := range []struct {
		dep          string
		calls, ratio float64
	}{
		{"api.pay.example", 10, 0.2},
		{"search", 4, 0.25},
		{"inventory.v1.Stock", 4, 0.25},
		{"ledger", 4, 1},
	} {
		l := map[string]string{"dependency": c.dep}
		wantValues(t, c.dep+" calls", one(t, m, RoleDependency, l).Points, c.calls, c.calls, c.calls)
		wantValues(t, c.dep+" error ratio", one(t, m, RoleDependencyErrorRatio, l).Points, c.ratio, c.ratio, c.ratio)
	}
	if n := len(m.Role(RoleDependency)); n != 4 {
		t.Errorf("%d dependencies, want 4", n)
	}
	if len(m.Unknown) != 0 {
		t.Errorf("unknown = %v: the destination-reported istio series belong to a known metric", m.Unknown)
	}
}

func TestDeriveLatencyQuantiles(t *testing.T) {
	var raw []signal.Series
	for _, pod := range []string{"a", "b"} {
		for le, rate := range map[string]float64{"0.1": 50, "0.5": 90, "1": 99, "+Inf": 100} {
			raw = append(raw, ser("http_request_duration_seconds_bucket", counter(0, rate, 3), "le", le, "pod", pod))
		}
	}
	m := Derive(raw, nil)
	for q, want := range map[string]float64{"0.5": 0.1, "0.95": 0.5 + 0.5*5/9, "0.99": 1} {
		s := one(t, m, RoleLatency, map[string]string{"pod": "a", "quantile": q})
		wantValues(t, "p"+q, s.Points, want, want)
		if s.Name != "http_request_duration_seconds" || s.Unit != "seconds" {
			t.Errorf("name/unit = %s/%s", s.Name, s.Unit)
		}
	}
	// Over both pods: same distribution, same quantiles, no pod label.
	var overall []Series
	for _, s := range m.Role(RoleLatency) {
		if s.Labels["pod"] == "" {
			overall = append(overall, s)
		}
	}
	if len(overall) != 3 {
		t.Fatalf("overall latency series = %d, want 3", len(overall))
	}
}

func TestHistogramQuantileEdges(t *testing.T) {
	h := map[float64]map[int64]float64{0.1: {1: 0}, 1: {1: 0}, math.Inf(1): {1: 10}}
	if got := histogramQuantile(0.99, h); len(got) != 1 || got[0].V != 1 {
		t.Errorf("rank in +Inf bucket = %v, want the highest finite bound 1", got)
	}
	h = map[float64]map[int64]float64{0.1: {1: 0}, math.Inf(1): {1: 0}}
	if got := histogramQuantile(0.5, h); len(got) != 0 {
		t.Errorf("no requests: %v, want no point", got)
	}
	h = map[float64]map[int64]float64{0.1: {1: 5}}
	if got := histogramQuantile(0.5, h); got != nil {
		t.Errorf("no +Inf bucket: %v, want nothing", got)
	}
}

func TestDeriveDBConnections(t *testing.T) {
	raw := []signal.Series{
		ser("pg_stat_activity_count", gauge(10, 40, 95), "state", "active", "datname", "shop", "instance", "pg:9187"),
		ser("pg_stat_activity_count", gauge(5, 5, 4), "state", "idle", "datname", "shop", "instance", "pg:9187"),
		ser("pg_stat_activity_count", gauge(0, 0, 0), "state", "idle in transaction", "datname", "postgres", "instance", "pg:9187"),
		ser("pg_settings_max_connections", gauge(100, 100, 100), "instance", "pg:9187", "server", "pg:5432"),
		ser("pg_settings_max_connections", gauge(500), "instance", "other:9187"),
		ser("go_sql_in_use_connections", gauge(5, 20, 20), "db_name", "shop", "pod", "api-a"),
		ser("go_sql_max_open_connections", gauge(20, 20, 20), "db_name", "shop", "pod", "api-a"),
		ser("go_sql_wait_count_total", counter(0, 3, 3), "db_name", "shop", "pod", "api-a"),
		ser("pg_stat_statements_seconds_total", counter(0, 2, 3), "datname", "shop", "queryid", "1", "instance", "pg:9187"),
		ser("pg_stat_statements_seconds_total", counter(0, 2, 3), "datname", "shop", "queryid", "2", "instance", "pg:9187"),
		ser("pg_stat_statements_calls_total", counter(0, 100, 3), "datname", "shop", "queryid", "1", "instance", "pg:9187"),
		ser("pg_stat_statements_calls_total", counter(0, 100, 3), "datname", "shop", "queryid", "2", "instance", "pg:9187"),
	}
	m := Derive(raw, nil)
	pg := map[string]string{"instance": "pg:9187"}
	wantValues(t, "pg connections", one(t, m, RoleDBConnections, pg).Points, 15, 45, 99)
	wantValues(t, "pg active", one(t, m, RoleDBActive, pg).Points, 10, 40, 95)
	wantValues(t, "pg usage", one(t, m, RoleDBConnUsage, pg).Points, 0.15, 0.45, 0.99)
	app := map[string]string{"pod": "api-a"}
	wantValues(t, "pool usage", one(t, m, RoleDBConnUsage, app).Points, 0.25, 1, 1)
	wantValues(t, "pool waits/s", one(t, m, RoleDBWait, app).Points, 3, 3)
	q := one(t, m, RoleQueryLatency, map[string]string{"datname": "shop"})
	if q.Name != "pg_stat_statements_mean_seconds" || q.Labels["queryid"] != "" {
		t.Errorf("query latency = %+v", q)
	}
	wantValues(t, "mean query seconds", q.Points, 0.02, 0.02)
}

func TestDeriveMemoryRestartsCert(t *testing.T) {
	gi := float64(1 << 30)
	raw := []signal.Series{
		ser("container_memory_working_set_bytes", gauge(0.5*gi, 0.7*gi, 0.95*gi), "pod", "api-a", "container", "api", "namespace", "shop", "instance", "kubelet-1"),
		ser("container_memory_working_set_bytes", gauge(0.6*gi, 0.8*gi, 1*gi), "pod", "api-a", "container", "", "namespace", "shop", "instance", "kubelet-1"),
		ser("container_memory_working_set_bytes", gauge(1, 1, 1), "pod", "api-a", "container", "POD", "namespace", "shop", "instance", "kubelet-1"),
		ser("kube_pod_container_resource_limits", gauge(gi, gi, gi), "pod", "api-a", "container", "api", "namespace", "shop", "resource", "memory", "unit", "byte", "instance", "ksm:8080", "node", "node-1"),
		ser("kube_pod_container_status_restarts_total", gauge(0, 0, 1, 1, 3), "pod", "api-a", "container", "api"),
		ser("container_spec_memory_limit_bytes", gauge(0, 0, 0), "pod", "api-b", "container", "api"),
		ser("container_memory_working_set_bytes", gauge(5, 6, 7), "pod", "api-b", "container", "api"),
		ser("probe_ssl_earliest_cert_expiry", gauge(float64(t0/1000+3600), float64(t0/1000+3600)), "instance", "https://api.example.com"),
	}
	m := Derive(raw, nil)
	mem := m.Where(RoleMemory, map[string]string{"pod": "api-a"})
	if len(mem) != 1 || mem[0].Labels["container"] != "api" {
		t.Fatalf("memory series for api-a = %+v, want only container=api (no pod total, no pause container)", mem)
	}
	wantValues(t, "memory usage", one(t, m, RoleMemoryUsage, map[string]string{"pod": "api-a"}).Points, 0.5, 0.7, 0.95)
	if got := m.Where(RoleMemoryUsage, map[string]string{"pod": "api-b"}); len(got) != 0 {
		t.Errorf("limit 0 means unlimited, got usage %+v", got)
	}
	r := one(t, m, RoleRestarts, map[string]string{"pod": "api-a"})
	wantValues(t, "restarts", r.Points, 0, 1, 0, 2)
	if r.Unit != "count" {
		t.Errorf("restarts unit = %q, want count", r.Unit)
	}
	wantValues(t, "cert remaining", one(t, m, RoleCertRemaining, nil).Points, 3600, 3585)
}

func TestShapes(t *testing.T) {
	at := time.UnixMilli(t0 + 5*stepMS)
	pts := gauge(1, 1, 1, 1, 1, 9, 9, 9, 9, 9)
	s := Step(pts, at, 5*stepMS*time.Millisecond)
	if s.Before != 1 || s.After != 9 || s.Ratio != 9 || s.NBefore != 5 || s.NAfter != 5 {
		t.Errorf("step = %+v", s)
	}
	if s := Step(gauge(0, 0, 5), time.UnixMilli(t0+2*stepMS), time.Minute); !math.IsInf(s.Ratio, 1) {
		t.Errorf("step from zero ratio = %v, want +Inf", s.Ratio)
	}

	leak := gauge(100, 115, 130, 145, 160, 175)
	r := Ramp(leak, Window{})
	if !near(r.Slope, 1) || !near(r.R2, 1) || r.Rising != 1 || r.First != 100 || r.Last != 175 || r.N != 6 {
		t.Errorf("ramp = %+v, want slope 1/s, R2 1", r)
	}
	if r := Ramp(pts, Window{Start: time.UnixMilli(t0 + 6*stepMS)}); r.Slope != 0 || r.N != 4 {
		t.Errorf("flat tail ramp = %+v", r)
	}

	if ts, ok := FirstCrossing(pts, 5, time.Time{}); !ok || !ts.Equal(at) {
		t.Errorf("first crossing = %v %v, want %v", ts, ok, at)
	}
	if _, ok := FirstCrossing(pts, 10, time.Time{}); ok {
		t.Error("crossing of a threshold never reached")
	}

	conns := gauge(50, 98, 99, 60, 100, 100, 100)
	total, longest, first := PinnedNear(conns, 100, 0.95, Window{})
	if total != 5*15*time.Second || longest != 3*15*time.Second || !first.Equal(time.UnixMilli(t0+stepMS)) {
		t.Errorf("pinned = %v longest %v first %v", total, longest, first)
	}
	if got := In(pts, Window{time.UnixMilli(t0 + stepMS), time.UnixMilli(t0 + 3*stepMS)}); len(got) != 2 {
		t.Errorf("In = %v, want 2 points (half-open window)", got)
	}
}

func TestDeriveSumsNodeCPU(t *testing.T) {
	var raw []signal.Series
	for _, cpu := range []string{"0", "1"} {
		raw = append(raw,
			ser("node_cpu_seconds_total", counter(0, 0.5, 3), "cpu", cpu, "mode", "user", "instance", "node-1"),
			ser("node_cpu_seconds_total", counter(0, 0.25, 3), "cpu", cpu, "mode", "system", "instance", "node-1"),
			ser("node_cpu_seconds_total", counter(0, 0.25, 3), "cpu", cpu, "mode", "idle", "instance", "node-1"))
	}
	raw = append(raw, ser("kube_pod_container_status_last_terminated_reason", gauge(0, 1), "pod", "api-a", "reason", "OOMKilled"))
	m := Derive(raw, nil)
	cpu := one(t, m, RoleCPU, map[string]string{"instance": "node-1"})
	if cpu.Labels["cpu"] != "" || cpu.Labels["mode"] != "" || cpu.Unit != "cores" {
		t.Errorf("node cpu = %+v, want summed over cpu and mode", cpu)
	}
	wantValues(t, "busy cores", cpu.Points, 1.5, 1.5)
	if u := one(t, m, RoleOOMKills, nil).Unit; u != "flag" {
		t.Errorf("last terminated reason unit = %q, want flag", u)
	}
}

func TestIn(t *testing.T) {
	pts := gauge(0, 1, 2, 3, 4)
	at := func(i int) time.Time { return time.UnixMilli(t0 + int64(i)*stepMS) }
	tests := []struct {
		w    Window
		want int
	}{
		{Window{}, 5},
		{Window{Start: at(2)}, 3},
		{Window{End: at(2)}, 2},
		{Window{at(1), at(3)}, 2},
		{Window{at(3), at(1)}, 0},
		{Window{at(9), time.Time{}}, 0},
		{Window{time.Time{}, at(-1)}, 0},
	}
	for _, tc := range tests {
		if got := In(pts, tc.w); len(got) != tc.want {
			t.Errorf("In(%v) = %v, want %d points", tc.w, got, tc.want)
		}
	}
}
