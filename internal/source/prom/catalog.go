package prom

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// Role is what a metric means to an analyst, independent of the exporter
// that wrote it.
type Role string

// Roles of raw metrics. Derive also produces the derived roles below.
const (
	RoleRequests          Role = "requests"            // request counter; status/code label splits errors
	RoleLatency           Role = "latency"             // request duration histogram buckets
	RoleCPU               Role = "cpu"                 // CPU seconds counter (cores used once rated)
	RoleMemory            Role = "memory"              // bytes in use
	RoleMemoryLimit       Role = "memory_limit"        // bytes allowed
	RoleMemoryAvailable   Role = "memory_available"    // node memory still available, bytes
	RoleCPULimit          Role = "cpu_limit"           // cores allowed
	RoleLoad              Role = "load"                // node load average
	RoleRestarts          Role = "restarts"            // container restart counter
	RoleOOMKills          Role = "oom_kills"           // OOM kill counter, or last-terminated-reason=OOMKilled gauge
	RoleDBConnections     Role = "db_connections"      // database connections in use
	RoleDBOpen            Role = "db_open_connections" // client pool connections open (in use + idle)
	RoleDBMaxConnections  Role = "db_max_connections"  // connection limit (server max_connections or pool max open)
	RoleDBActive          Role = "db_active"           // connections running a query right now
	RoleDBWait            Role = "db_wait"             // pool waits for a free connection (count or seconds counter)
	RoleQueryLatency      Role = "query_latency"       // statement time / calls counters
	RoleMaxTxDuration     Role = "max_tx_duration"     // longest open transaction, seconds
	RoleSlowQueries       Role = "slow_queries"        // slow query counter
	RoleLocks             Role = "locks"               // locks held or awaited
	RoleCertExpiry        Role = "cert_expiry"         // certificate expiry, Unix seconds
	RoleProbeSuccess      Role = "probe_success"       // 1 when a probe succeeded
	RoleProbeStatus       Role = "probe_status"        // HTTP status a probe got
	RoleNodeNetErrors     Role = "node_net_errors"     // network interface error counters
	RoleReplicasAvailable Role = "replicas_available"  // deployment replicas available
	RoleUp                Role = "up"                  // 1 when the scrape target answered
	RolePodInfo           Role = "pod_info"            // kube_pod_info: joins pods to nodes
	RoleDependency        Role = "dependency_requests" // outbound calls to another service; status and target labels
)

// Derived roles, produced by Derive from the raw ones.
const (
	RoleErrors        Role = "errors"         // 5xx requests per second
	RoleErrorRatio    Role = "error_ratio"    // errors / requests, 0..1
	RoleDBConnUsage   Role = "db_conn_usage"  // db_connections / db_max_connections, 0..1
	RoleMemoryUsage   Role = "memory_usage"   // memory / memory_limit, 0..1
	RoleCertRemaining Role = "cert_remaining" // seconds until the certificate expires
	// RoleDependencyErrorRatio is the failing share of the calls to one
	// dependency (label dependency), 0..1; RoleDependency's derived series
	// are the calls per second, per dependency.
	RoleDependencyErrorRatio Role = "dependency_error_ratio"
)

var knownRoles = map[Role]bool{}

func init() {
	for _, r := range []Role{RoleRequests, RoleLatency, RoleCPU, RoleMemory, RoleMemoryLimit,
		RoleMemoryAvailable, RoleCPULimit, RoleLoad, RoleRestarts, RoleOOMKills, RoleDBConnections,
		RoleDBOpen, RoleDBMaxConnections, RoleDBActive, RoleDBWait, RoleQueryLatency,
		RoleMaxTxDuration, RoleSlowQueries, RoleLocks, RoleCertExpiry, RoleProbeSuccess,
		RoleProbeStatus, RoleNodeNetErrors, RoleReplicasAvailable, RoleUp, RolePodInfo, RoleDependency} {
		knownRoles[r] = true
	}
}

// Roles returns every role a mapping file may name, sorted.
func Roles() []Role {
	out := make([]Role, 0, len(knownRoles))
	for r := range knownRoles {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Type says how Derive treats a metric's samples.
type Type string

// Metric types.
const (
	Counter   Type = "counter"   // monotonic; Derive turns it into a per-second rate
	Gauge     Type = "gauge"     // a level; kept as is
	Histogram Type = "histogram" // cumulative _bucket counters with an le label
)

// Rule maps one metric name, optionally restricted by labels, to a role.
type Rule struct {
	// Metric is the metric name (__name__).
	Metric string `yaml:"metric"`
	// Role is the semantic role.
	Role Role `yaml:"role"`
	// Type is counter, gauge or histogram. When empty it is inferred: names
	// ending in _bucket are histograms, in _total counters, others gauges.
	Type Type `yaml:"type"`
	// Labels restricts the rule to series whose labels match: a value is an
	// exact match, "!v" matches anything but v, "~re" matches the regular
	// expression re (anchored).
	Labels map[string]string `yaml:"labels"`
	// StatusLabel names the label holding the HTTP status of a requests
	// metric (default: status, then code).
	StatusLabel string `yaml:"status_label"`
	// TargetLabel names the label holding the called service of a
	// dependency_requests metric (default: the first present of
	// server_address, peer_service, client_name, destination_service_name,
	// grpc_service, target).
	TargetLabel string `yaml:"target_label"`
	// Delta, for a counter, makes Derive report the increase per sample
	// interval instead of a per-second rate (used for restarts and OOM kills,
	// where "3 restarts" reads better than "0.01/s").
	Delta bool `yaml:"delta"`
	// Without lists labels Derive sums away (after rating a counter), e.g.
	// cpu and mode for node_cpu_seconds_total: one busy-cores series per
	// node instead of one per CPU and mode.
	Without []string `yaml:"without"`

	matchers []labelMatcher
}

type labelMatcher struct {
	name, value string
	neg         bool
	re          *regexp.Regexp
}

func (m labelMatcher) match(labels map[string]string) bool {
	v := labels[m.name]
	switch {
	case m.re != nil:
		return m.re.MatchString(v)
	case m.neg:
		return v != m.value
	default:
		return v == m.value
	}
}

// compile validates the rule, infers its type and builds its matchers.
func (r *Rule) compile() error {
	if r.Metric == "" {
		return errors.New("metric is required")
	}
	if !metricNameRE.MatchString(r.Metric) {
		return fmt.Errorf("metric %q is not a valid Prometheus metric name", r.Metric)
	}
	if r.Role == "" {
		return fmt.Errorf("metric %s: role is required (one of %v)", r.Metric, Roles())
	}
	if !knownRoles[r.Role] {
		return fmt.Errorf("metric %s: role %q is unknown (want one of %v)", r.Metric, r.Role, Roles())
	}
	switch r.Type {
	case "":
		r.Type = inferType(r.Metric)
	case Counter, Gauge, Histogram:
	default:
		return fmt.Errorf("metric %s: type %q is unknown (want counter, gauge or histogram)", r.Metric, r.Type)
	}
	if r.TargetLabel != "" && r.Role != RoleDependency {
		return fmt.Errorf("metric %s: target_label applies to role %s only", r.Metric, RoleDependency)
	}
	if r.TargetLabel != "" && !labelNameRE.MatchString(r.TargetLabel) {
		return fmt.Errorf("metric %s: target_label %q is not a valid label name", r.Metric, r.TargetLabel)
	}
	if r.Delta && r.Type != Counter {
		return fmt.Errorf("metric %s: delta applies to counters only, type is %s", r.Metric, r.Type)
	}
	for _, l := range r.Without {
		if !labelNameRE.MatchString(l) {
			return fmt.Errorf("metric %s: without: %q is not a valid label name", r.Metric, l)
		}
	}
	r.matchers = r.matchers[:0]
	names := make([]string, 0, len(r.Labels))
	for k := range r.Labels {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !labelNameRE.MatchString(k) {
			return fmt.Errorf("metric %s: label %q is not a valid label name", r.Metric, k)
		}
		v := r.Labels[k]
		m := labelMatcher{name: k, value: v}
		switch {
		case strings.HasPrefix(v, "!"):
			m.neg, m.value = true, v[1:]
		case strings.HasPrefix(v, "~"):
			re, err := regexp.Compile("^(?:" + v[1:] + ")$")
			if err != nil {
				return fmt.Errorf("metric %s: label %s: bad regular expression: %w", r.Metric, k, err)
			}
			m.re = re
		}
		r.matchers = append(r.matchers, m)
	}
	return nil
}

// Matches reports whether the rule applies to the series.
func (r *Rule) Matches(s signal.Series) bool {
	if s.Name != r.Metric {
		return false
	}
	for _, m := range r.matchers {
		if !m.match(s.Labels) {
			return false
		}
	}
	return true
}

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

func inferType(name string) Type {
	switch {
	case strings.HasSuffix(name, "_bucket"):
		return Histogram
	case strings.HasSuffix(name, "_total"):
		return Counter
	}
	return Gauge
}

// Catalog maps metric names to roles. The zero value knows nothing; use
// DefaultCatalog for the common exporters. A Catalog is read-only once built
// and safe for concurrent use.
type Catalog struct {
	rules map[string][]Rule // by metric name, first match wins
	names []string          // metric names in insertion order
}

// Add appends rules; for one metric the rules added first are tried first.
func (c *Catalog) Add(rules ...Rule) error {
	if c.rules == nil {
		c.rules = map[string][]Rule{}
	}
	for i := range rules {
		r := rules[i]
		r.Labels = cloneLabels(r.Labels)
		r.Without = append([]string(nil), r.Without...)
		r.matchers = nil
		if err := r.compile(); err != nil {
			return err
		}
		if _, ok := c.rules[r.Metric]; !ok {
			c.names = append(c.names, r.Metric)
		}
		c.rules[r.Metric] = append(c.rules[r.Metric], r)
	}
	return nil
}

// Lookup returns the rule for a series, and whether there is one.
func (c *Catalog) Lookup(s signal.Series) (Rule, bool) {
	if c == nil {
		return Rule{}, false
	}
	for _, r := range c.rules[s.Name] {
		if r.Matches(s) {
			return r, true
		}
	}
	return Rule{}, false
}

// Metrics returns every metric name the catalog knows, in the order added.
func (c *Catalog) Metrics() []string {
	if c == nil {
		return nil
	}
	return append([]string(nil), c.names...)
}

// Rules returns the rules for a metric name.
func (c *Catalog) Rules(metric string) []Rule {
	if c == nil {
		return nil
	}
	return append([]Rule(nil), c.rules[metric]...)
}

func cloneLabels(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// defaultRules are the real exporters' metric names.
var defaultRules = []Rule{
	// ingress-nginx
	{Metric: "nginx_ingress_controller_requests", Role: RoleRequests, Type: Counter, StatusLabel: "status"},
	{Metric: "nginx_ingress_controller_request_duration_seconds_bucket", Role: RoleLatency},
	// client_golang promhttp
	{Metric: "http_requests_total", Role: RoleRequests, StatusLabel: "code"},
	{Metric: "http_request_duration_seconds_bucket", Role: RoleLatency},
	// cAdvisor; container="POD" is the pause container, "" the pod cgroup total
	{Metric: "container_cpu_usage_seconds_total", Role: RoleCPU, Labels: map[string]string{"container": "!POD"}},
	{Metric: "container_memory_working_set_bytes", Role: RoleMemory, Labels: map[string]string{"container": "!POD"}},
	{Metric: "container_spec_memory_limit_bytes", Role: RoleMemoryLimit, Labels: map[string]string{"container": "!POD"}},
	{Metric: "container_oom_events_total", Role: RoleOOMKills, Delta: true},
	// kube-state-metrics
	{Metric: "kube_pod_container_status_restarts_total", Role: RoleRestarts, Delta: true},
	{Metric: "kube_pod_container_status_last_terminated_reason", Role: RoleOOMKills, Labels: map[string]string{"reason": "OOMKilled"}},
	{Metric: "kube_pod_info", Role: RolePodInfo},
	{Metric: "kube_deployment_status_replicas_available", Role: RoleReplicasAvailable},
	{Metric: "kube_pod_container_resource_limits", Role: RoleMemoryLimit, Labels: map[string]string{"resource": "memory"}},
	{Metric: "kube_pod_container_resource_limits", Role: RoleCPULimit, Labels: map[string]string{"resource": "cpu"}},
	// node_exporter
	{Metric: "node_cpu_seconds_total", Role: RoleCPU, Labels: map[string]string{"mode": "!idle"}, Without: []string{"cpu", "mode"}},
	{Metric: "node_memory_MemAvailable_bytes", Role: RoleMemoryAvailable},
	{Metric: "node_network_receive_errs_total", Role: RoleNodeNetErrors, Without: []string{"device"}},
	{Metric: "node_network_transmit_errs_total", Role: RoleNodeNetErrors, Without: []string{"device"}},
	{Metric: "node_load1", Role: RoleLoad},
	// client_golang process and database/sql collectors
	{Metric: "process_cpu_seconds_total", Role: RoleCPU},
	{Metric: "process_resident_memory_bytes", Role: RoleMemory},
	{Metric: "go_sql_in_use_connections", Role: RoleDBConnections},
	{Metric: "go_sql_open_connections", Role: RoleDBOpen},
	{Metric: "go_sql_max_open_connections", Role: RoleDBMaxConnections},
	{Metric: "go_sql_wait_count_total", Role: RoleDBWait},
	{Metric: "go_sql_wait_duration_seconds_total", Role: RoleDBWait},
	// postgres_exporter
	{Metric: "pg_stat_activity_count", Role: RoleDBConnections},
	{Metric: "pg_settings_max_connections", Role: RoleDBMaxConnections},
	{Metric: "pg_stat_activity_max_tx_duration", Role: RoleMaxTxDuration},
	{Metric: "pg_locks_count", Role: RoleLocks},
	{Metric: "pg_stat_statements_seconds_total", Role: RoleQueryLatency},
	{Metric: "pg_stat_statements_calls_total", Role: RoleQueryLatency},
	// mysqld_exporter
	{Metric: "mysql_global_status_threads_connected", Role: RoleDBConnections},
	{Metric: "mysql_global_variables_max_connections", Role: RoleDBMaxConnections},
	{Metric: "mysql_global_status_slow_queries", Role: RoleSlowQueries, Type: Counter},
	{Metric: "mysql_global_status_threads_running", Role: RoleDBActive},
	// outbound calls: OpenTelemetry HTTP client (current and older semantic
	// conventions, as the Prometheus exporter names them), Micrometer's
	// HTTP clients, go-grpc-prometheus clients, Istio sidecars of the caller
	{Metric: "http_client_request_duration_seconds_count", Role: RoleDependency, Type: Counter,
		StatusLabel: "http_response_status_code", TargetLabel: "server_address"},
	{Metric: "http_client_duration_milliseconds_count", Role: RoleDependency, Type: Counter,
		StatusLabel: "http_status_code", TargetLabel: "net_peer_name"},
	{Metric: "http_client_requests_seconds_count", Role: RoleDependency, Type: Counter, StatusLabel: "status", TargetLabel: "client_name"},
	{Metric: "grpc_client_handled_total", Role: RoleDependency, StatusLabel: "grpc_code", TargetLabel: "grpc_service"},
	{Metric: "istio_requests_total", Role: RoleDependency, Labels: map[string]string{"reporter": "source"},
		StatusLabel: "response_code", TargetLabel: "destination_service_name"},
	// blackbox_exporter
	{Metric: "probe_success", Role: RoleProbeSuccess},
	{Metric: "probe_ssl_earliest_cert_expiry", Role: RoleCertExpiry},
	{Metric: "probe_http_status_code", Role: RoleProbeStatus},
	// every scrape
	{Metric: "up", Role: RoleUp},
}

// DefaultCatalog returns a catalog of the common exporters' metric names:
// ingress-nginx, client_golang (HTTP, process, database/sql), cAdvisor,
// kube-state-metrics, node_exporter, postgres_exporter, mysqld_exporter,
// outbound calls (OpenTelemetry and Micrometer HTTP clients, gRPC clients,
// Istio), blackbox_exporter and up.
func DefaultCatalog() *Catalog {
	c := &Catalog{}
	if err := c.Add(defaultRules...); err != nil {
		panic("prom: default catalog: " + err.Error()) // a programming error, caught by tests
	}
	return c
}

// mappingFile is the YAML mapping file format.
type mappingFile struct {
	Version  int    `yaml:"version"`
	Defaults *bool  `yaml:"defaults"`
	Metrics  []Rule `yaml:"metrics"`
}

// ParseMapping parses a mapping file's contents (see LoadMapping); name is
// used in error messages.
func ParseMapping(data []byte, name string) (*Catalog, error) {
	var mf mappingFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&mf); err != nil {
		if errors.Is(err, errEOF) {
			return nil, fmt.Errorf("mapping %s: file is empty: want version: 1 and a metrics: list", name)
		}
		return nil, fmt.Errorf("mapping %s: %w", name, err)
	}
	if mf.Version != 1 {
		return nil, fmt.Errorf("mapping %s: version %d is not supported (want version: 1)", name, mf.Version)
	}
	c := &Catalog{}
	for i, r := range mf.Metrics {
		if err := c.Add(r); err != nil {
			return nil, fmt.Errorf("mapping %s: metrics[%d]: %w", name, i, err)
		}
	}
	if mf.Defaults == nil || *mf.Defaults {
		for _, r := range defaultRules {
			if err := c.Add(r); err != nil {
				return nil, fmt.Errorf("mapping %s: default rule %s: %w", name, r.Metric, err)
			}
		}
	}
	return c, nil
}

// LoadMapping reads a YAML mapping file that teaches sitrep other metric
// names, and returns a catalog holding its rules followed by the defaults
// (so a file rule for a known name takes precedence). Example:
//
//	version: 1
//	defaults: true          # also know the common exporters (default true)
//	metrics:
//	  - metric: shop_checkout_requests_total
//	    role: requests
//	    status_label: http_status
//	  - metric: shop_checkout_seconds_bucket
//	    role: latency
//	  - metric: worker_rss_bytes
//	    role: memory
//	    labels: {app: worker, env: "!staging"}
//	  - metric: worker_cpu_seconds_total
//	    role: cpu
//	    without: [cpu]
func LoadMapping(path string) (*Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	return ParseMapping(data, path)
}

var errEOF = io.EOF
