package prom

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

func TestDefaultCatalogRoles(t *testing.T) {
	cat := DefaultCatalog()
	tests := []struct {
		name   string
		labels map[string]string
		role   Role
		ok     bool
	}{
		{"nginx_ingress_controller_requests", map[string]string{"status": "503"}, RoleRequests, true},
		{"http_request_duration_seconds_bucket", map[string]string{"le": "0.1"}, RoleLatency, true},
		{"container_memory_working_set_bytes", map[string]string{"pod": "api-1", "container": "api"}, RoleMemory, true},
		{"container_memory_working_set_bytes", map[string]string{"pod": "api-1", "container": "POD"}, "", false},
		{"kube_pod_container_resource_limits", map[string]string{"resource": "memory"}, RoleMemoryLimit, true},
		{"kube_pod_container_resource_limits", map[string]string{"resource": "cpu"}, RoleCPULimit, true},
		{"kube_pod_container_status_last_terminated_reason", map[string]string{"reason": "OOMKilled"}, RoleOOMKills, true},
		{"kube_pod_container_status_last_terminated_reason", map[string]string{"reason": "Error"}, "", false},
		{"node_cpu_seconds_total", map[string]string{"mode": "user"}, RoleCPU, true},
		{"node_cpu_seconds_total", map[string]string{"mode": "idle"}, "", false},
		{"pg_settings_max_connections", nil, RoleDBMaxConnections, true},
		{"mysql_global_status_slow_queries", nil, RoleSlowQueries, true},
		{"probe_ssl_earliest_cert_expiry", nil, RoleCertExpiry, true},
		{"some_app_metric", nil, "", false},
	}
	for _, tc := range tests {
		r, ok := cat.Lookup(signal.Series{Name: tc.name, Labels: tc.labels})
		if ok != tc.ok || r.Role != tc.role {
			t.Errorf("Lookup(%s%v) = %q %v, want %q %v", tc.name, tc.labels, r.Role, ok, tc.role, tc.ok)
		}
	}
	if r, _ := cat.Lookup(signal.Series{Name: "mysql_global_status_slow_queries"}); r.Type != Counter {
		t.Errorf("mysql slow queries type = %s, want counter (it has no _total suffix)", r.Type)
	}
	if r, _ := cat.Lookup(signal.Series{Name: "kube_pod_container_status_restarts_total"}); !r.Delta {
		t.Error("restarts should be reported as increases, not rates")
	}
	known := map[string]bool{}
	for _, m := range cat.Metrics() {
		known[m] = true
	}
	for _, m := range strings.Fields(`nginx_ingress_controller_requests nginx_ingress_controller_request_duration_seconds_bucket
		http_requests_total http_request_duration_seconds_bucket container_cpu_usage_seconds_total
		container_memory_working_set_bytes container_spec_memory_limit_bytes container_oom_events_total
		kube_pod_container_status_restarts_total kube_pod_container_status_last_terminated_reason kube_pod_info
		kube_deployment_status_replicas_available kube_pod_container_resource_limits node_cpu_seconds_total
		node_memory_MemAvailable_bytes node_network_receive_errs_total node_network_transmit_errs_total node_load1
		process_cpu_seconds_total process_resident_memory_bytes go_sql_open_connections go_sql_in_use_connections
		go_sql_max_open_connections go_sql_wait_count_total go_sql_wait_duration_seconds_total pg_stat_activity_count
		pg_settings_max_connections pg_stat_activity_max_tx_duration pg_locks_count pg_stat_statements_seconds_total
		pg_stat_statements_calls_total mysql_global_status_threads_connected mysql_global_variables_max_connections
		mysql_global_status_slow_queries mysql_global_status_threads_running probe_success
		probe_ssl_earliest_cert_expiry probe_http_status_code up`) {
		if !known[m] {
			t.Errorf("default catalog does not know %s", m)
		}
	}
}

func TestLoadMappingGood(t *testing.T) {
	cat, err := LoadMapping("testdata/mapping/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, ok := cat.Lookup(signal.Series{Name: "shop_checkout_requests_total"})
	if !ok || r.Role != RoleRequests || r.Type != Counter || r.StatusLabel != "http_status" {
		t.Errorf("shop requests rule = %+v %v", r, ok)
	}
	if r, _ := cat.Lookup(signal.Series{Name: "shop_checkout_seconds_bucket"}); r.Type != Histogram {
		t.Errorf("bucket type inferred as %q, want histogram", r.Type)
	}
	if _, ok := cat.Lookup(signal.Series{Name: "worker_rss_bytes", Labels: map[string]string{"app": "worker", "env": "prod"}}); !ok {
		t.Error("worker_rss_bytes{env=prod} should match")
	}
	if _, ok := cat.Lookup(signal.Series{Name: "worker_rss_bytes", Labels: map[string]string{"app": "worker", "env": "staging"}}); ok {
		t.Error("worker_rss_bytes{env=staging} should not match (!staging)")
	}
	// The file's rule for a known name comes first; the default still applies
	// to the series the file's filter leaves out.
	r, _ = cat.Lookup(signal.Series{Name: "http_requests_total", Labels: map[string]string{"handler": "/internal/health"}})
	if len(cat.Rules("http_requests_total")) != 2 || r.Role != RoleRequests {
		t.Errorf("http_requests_total rules = %v", cat.Rules("http_requests_total"))
	}
	if r, _ := cat.Lookup(signal.Series{Name: "worker_cpu_seconds_total"}); len(r.Without) != 2 {
		t.Errorf("without = %v, want [cpu mode]", r.Without)
	}
	if _, ok := cat.Lookup(signal.Series{Name: "pg_settings_max_connections"}); !ok {
		t.Error("defaults should be included unless defaults: false")
	}
	nd, err := LoadMapping("testdata/mapping/nodefaults.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := nd.Metrics(); len(got) != 1 || got[0] != "app_up" {
		t.Errorf("defaults: false catalog = %v, want only app_up", got)
	}
}

func TestLoadMappingBad(t *testing.T) {
	tests := map[string]string{
		"bad_role.yaml":    `metrics[0]: metric shop_requests_total: role "throughput" is unknown`,
		"bad_version.yaml": "version 0 is not supported (want version: 1)",
		"bad_field.yaml":   "field stauts_label not found",
		"bad_regex.yaml":   "label path: bad regular expression",
		"bad_name.yaml":    `metric "shop-requests" is not a valid Prometheus metric name`,
		"bad_delta.yaml":   "delta applies to counters only",
		"bad_without.yaml": `without: "cpu-id" is not a valid label name`,
		"bad_target.yaml":  "target_label applies to role dependency_requests only",
	}
	for file, want := range tests {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join("testdata/mapping", file)
			_, err := LoadMapping(path)
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want the file name and %q", err, want)
			}
		})
	}
	if _, err := LoadMapping("testdata/mapping/missing.yaml"); err == nil {
		t.Error("missing file: no error")
	}
	if _, err := ParseMapping(nil, "empty.yaml"); err == nil || !strings.Contains(err.Error(), "file is empty") {
		t.Errorf("empty: err = %v", err)
	}
}

func FuzzLoadMapping(f *testing.F) {
	files, _ := filepath.Glob("testdata/mapping/*.yaml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cat, err := ParseMapping(b, "fuzz.yaml")
		if err != nil {
			return
		}
		for _, m := range cat.Metrics() {
			for _, r := range cat.Rules(m) {
				if !knownRoles[r.Role] || (r.Type != Counter && r.Type != Gauge && r.Type != Histogram) {
					t.Fatalf("accepted rule %+v", r)
				}
				cat.Lookup(signal.Series{Name: m, Labels: map[string]string{"a": "b"}})
			}
		}
	})
}
