package lab

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

var update = flag.Bool("update", false, "rewrite golden files")

var causes = map[string]bool{"bad-deploy": true, "db-pool-exhaustion": true, "slow-queries": true, "memory-leak": true, "dns-stale-cache": true,
	"bad-pod": true, "bad-node": true, "zone-outage": true, "cdn-origin": true, "cert-expired": true, "capacity": true, "dependency": true, "unknown": true}

// noChange lists the scenarios where no change caused the incident.
var noChange = map[string]bool{"bad-pod": true, "dependency": true, "bad-node": true, "zone-outage": true, "capacity": true, "cert-expired": true}

func TestScenarios(t *testing.T) {
	sc := Scenarios()
	if len(sc) < 11 {
		t.Fatalf("%d scenarios, want at least 11", len(sc))
	}
	for i, s := range sc {
		if i > 0 && sc[i-1].Name >= s.Name {
			t.Errorf("not sorted: %s before %s", sc[i-1].Name, s.Name)
		}
		if !causes[s.Cause] {
			t.Errorf("%s: cause %q is not a design.md §4.4 cause", s.Name, s.Cause)
		}
		if s.Summary == "" || s.Symptom == "" {
			t.Errorf("%s: summary and symptom are required", s.Name)
		}
	}
	if _, err := Generate(context.Background(), "no-such-thing", t.TempDir(), GenerateOptions{}); !errors.Is(err, ErrUnknownScenario) {
		t.Errorf("unknown scenario: err = %v, want ErrUnknownScenario", err)
	}
}

func gen1(t *testing.T, name string, seed int64, scale float64) (*Manifest, string) {
	t.Helper()
	dir := t.TempDir()
	m, err := Generate(context.Background(), name, dir, GenerateOptions{Seed: seed, Scale: scale})
	if err != nil {
		t.Fatalf("generate %s: %v", name, err)
	}
	return m, dir
}

// TestEveryScenario generates each scenario small and checks the §4.5
// layout: logs that parse, a change log of valid changes holding the
// culprit, query_range metric files and truth.json.
func TestEveryScenario(t *testing.T) {
	for _, s := range Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			m, dir := gen1(t, s.Name, 3, 0.15)
			recs := readLogs(t, m)
			if len(recs) < 2000 || len(recs) > 12000 {
				t.Errorf("%d requests at scale 0.15, want a few thousand", len(recs))
			}
			checkTruth(t, dir, s)
			changes := checkChanges(t, dir, m.Truth)
			if len(changes) < 6 {
				t.Errorf("%d changes, want the culprit among several decoys", len(changes))
			}
			checkMetrics(t, m)
		})
	}
}

func checkTruth(t *testing.T, dir string, s Scenario) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tr map[string]json.RawMessage
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cause", "change_id", "onset", "scope"} {
		if _, ok := tr[k]; !ok {
			t.Errorf("truth.json lacks %q", k)
		}
	}
	var truth Truth
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	if truth.Cause != s.Cause || truth.Scenario != s.Name || len(truth.Scope) == 0 || truth.Notes == "" {
		t.Errorf("truth = %+v", truth)
	}
	if noChange[s.Name] != (truth.ChangeID == "") {
		t.Errorf("change_id = %q; a change causes %s: %v", truth.ChangeID, s.Name, !noChange[s.Name])
	}
	if truth.Onset.IsZero() || truth.Onset.After(ReferenceTime) || truth.Onset.Before(ReferenceTime.Add(-2*time.Hour)) {
		t.Errorf("onset %s, want within the last two hours of the period", truth.Onset)
	}
}

func checkChanges(t *testing.T, dir string, truth Truth) []signal.Change {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "changes.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []signal.Change
	sc := bufio.NewScanner(f)
	found := truth.ChangeID == ""
	ids := map[string]bool{}
	for sc.Scan() {
		var c signal.Change
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("changes.jsonl line %d: %v", len(out)+1, err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("changes.jsonl line %d: %v", len(out)+1, err)
		}
		if c.ID == "" || ids[c.ID] || c.Summary == "" || len(c.Extra) != 0 {
			t.Errorf("change %+v: want a unique id, a summary and only known fields", c)
		}
		ids[c.ID] = true
		if len(out) > 0 && c.Time.Before(out[len(out)-1].Time) {
			t.Errorf("change %s out of time order", c.ID)
		}
		if c.Time.Second() == 0 && c.ID == truth.ChangeID {
			t.Logf("culprit %s on a round minute", c.ID)
		}
		if c.ID == truth.ChangeID {
			found = true
			if c.Time.After(truth.Onset) {
				t.Errorf("culprit %s at %s is after the onset %s", c.ID, c.Time, truth.Onset)
			}
		}
		out = append(out, c)
	}
	if !found {
		t.Errorf("culprit %s is not in changes.jsonl", truth.ChangeID)
	}
	return out
}

type queryRange struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

func readMetric(t *testing.T, path string) queryRange {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var q queryRange
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return q
}

// the metric names each deployment shape has, whatever the scenario
var wantMetrics = []string{"nginx_ingress_controller_requests", "nginx_ingress_controller_request_duration_seconds_bucket", "http_requests_total",
	"http_request_duration_seconds_bucket", "container_cpu_usage_seconds_total", "container_memory_working_set_bytes", "container_spec_memory_limit_bytes",
	"container_oom_events_total", "kube_pod_container_status_restarts_total", "kube_pod_info", "kube_deployment_status_replicas_available",
	"kube_pod_container_resource_limits", "node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_network_receive_errs_total",
	"node_network_transmit_errs_total", "node_load1", "process_cpu_seconds_total", "process_resident_memory_bytes", "go_sql_open_connections",
	"go_sql_in_use_connections", "go_sql_max_open_connections", "go_sql_wait_count_total", "go_sql_wait_duration_seconds_total",
	"probe_success", "probe_ssl_earliest_cert_expiry", "probe_http_status_code", "up"}

func checkMetrics(t *testing.T, m *Manifest) {
	t.Helper()
	have := map[string]bool{}
	for _, p := range m.Metrics {
		q := readMetric(t, p)
		if q.Status != "success" || q.Data.ResultType != "matrix" || len(q.Data.Result) == 0 {
			t.Fatalf("%s: not a query_range matrix body", p)
		}
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		have[name] = true
		for _, s := range q.Data.Result {
			if s.Metric["__name__"] != name {
				t.Fatalf("%s: series %v", p, s.Metric)
			}
			var last float64 = math.Inf(-1)
			for _, v := range s.Values {
				ts, ok1 := v[0].(float64)
				str, ok2 := v[1].(string)
				if !ok1 || !ok2 || ts <= last {
					t.Fatalf("%s: bad sample %v in %v", p, v, s.Metric)
				}
				last = ts
				var f float64
				if _, err := fmt.Sscan(str, &f); err != nil && str != "+Inf" {
					t.Fatalf("%s: value %q", p, str)
				}
			}
		}
	}
	for _, n := range wantMetrics {
		if !have[n] {
			t.Errorf("no %s metrics", n)
		}
	}
	pg, my := have["pg_stat_activity_count"], have["mysql_global_status_threads_connected"]
	if pg == my {
		t.Errorf("want exactly one database exporter: postgres %v, mysql %v", pg, my)
	}
}

func hashDir(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	for _, name := range []string{"dns-ttl-migration", "memory-leak", "cdn-origin"} {
		t.Run(name, func(t *testing.T) {
			_, a := gen1(t, name, 11, 0.1)
			_, b := gen1(t, name, 11, 0.1)
			ha, hb := hashDir(t, a), hashDir(t, b)
			if len(ha) != len(hb) {
				t.Fatalf("%d files vs %d", len(ha), len(hb))
			}
			for k, v := range ha {
				if hb[k] != v {
					t.Errorf("%s differs between two runs with the same seed", k)
				}
			}
		})
	}
}

func TestSeedsDiffer(t *testing.T) {
	for _, name := range []string{"dns-ttl-migration", "bad-deploy", "bad-pod", "capacity"} {
		seen := map[string]bool{}
		for seed := int64(1); seed <= 4; seed++ {
			g := newGen(mustDef(t, name), GenerateOptions{Seed: seed, Scale: 0.01, Now: ReferenceTime})
			g.def.setup(g)
			b, _ := json.Marshal(struct {
				P map[string]any
				S map[string]string
				O int64
			}{g.params, g.truth.Scope, g.onset})
			seen[string(b)] = true
		}
		if len(seen) != 4 {
			t.Errorf("%s: 4 seeds gave %d distinct parameter sets", name, len(seen))
		}
	}
}

func mustDef(t *testing.T, name string) *scenarioDef {
	d, ok := lookupDef(name)
	if !ok {
		t.Fatalf("no scenario %s", name)
	}
	return d
}

// TestScaleSmallAndLarge checks a small run is small and a large one
// streams: the heap stays far below the size of what it writes.
func TestScaleSmallAndLarge(t *testing.T) {
	m, _ := gen1(t, "bad-node", 5, 0.1)
	var n int64
	for _, l := range m.Logs {
		n += l.Lines
	}
	if n < 1500 || n > 6000 {
		t.Errorf("scale 0.1 wrote %d lines, want a few thousand", n)
	}
	if testing.Short() {
		t.Skip("large run skipped in -short mode")
	}
	dir := t.TempDir()
	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var max uint64
		var ms runtimeMem
		for {
			select {
			case <-stop:
				peak <- max
				return
			case <-time.After(20 * time.Millisecond):
				if h := ms.heap(); h > max {
					max = h
				}
			}
		}
	}()
	m, err := Generate(context.Background(), "bad-node", dir, GenerateOptions{Seed: 5, Scale: 10})
	close(stop)
	max := <-peak
	if err != nil {
		t.Fatal(err)
	}
	var lines, bytes int64
	for _, l := range m.Logs {
		lines += l.Lines
		bytes += l.Bytes
	}
	t.Logf("scale 10: %d lines, %d MiB of logs, peak heap %d MiB", lines, bytes>>20, max>>20)
	if lines < 200000 {
		t.Errorf("scale 10 wrote %d lines, want ~320k", lines)
	}
	if max > uint64(bytes)/2 {
		t.Errorf("peak heap %d MiB for %d MiB of logs: not streaming", max>>20, bytes>>20)
	}
}

// TestListGolden pins the scenario list `sitrep lab list` prints.
func TestListGolden(t *testing.T) {
	var buf bytes.Buffer
	for _, s := range Scenarios() {
		fmt.Fprintf(&buf, "%s\t%s\t%s\t%s\n", s.Name, s.Cause, s.Summary, s.Symptom)
	}
	golden := filepath.Join("testdata", "scenarios.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		t.Errorf("scenario list changed; if intended, run go test ./internal/lab -run TestListGolden -update\n got:\n%s", buf.String())
	}
}

func TestReadTruth(t *testing.T) {
	m, dir := gen1(t, "capacity", 2, 0.02)
	tr, err := ReadTruth(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Cause != "capacity" || !tr.Onset.Equal(m.Truth.Onset) || tr.Scope["region"] == "" {
		t.Errorf("ReadTruth = %+v", tr)
	}
	if _, err := ReadTruth(filepath.Join(dir, "changes.jsonl")); err == nil {
		t.Error("ReadTruth of a change log: no error")
	}
}

// TestRegenerateInPlace: a second run in the same directory leaves only its
// own files, and a directory holding someone else's logs is refused.
func TestRegenerateInPlace(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if _, err := Generate(ctx, "dns-ttl-migration", dir, GenerateOptions{Seed: 1, Scale: 0.02}); err != nil {
		t.Fatal(err)
	}
	m, err := Generate(ctx, "cdn-origin", dir, GenerateOptions{Seed: 1, Scale: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "logs"))
	if len(entries) != len(m.Logs) {
		t.Errorf("logs/ holds %d files, the run wrote %d", len(entries), len(m.Logs))
	}
	other := t.TempDir()
	os.MkdirAll(filepath.Join(other, "logs"), 0o755)
	os.WriteFile(filepath.Join(other, "logs", "access.log"), []byte("x\n"), 0o644)
	if _, err := Generate(ctx, "bad-pod", other, GenerateOptions{Seed: 1, Scale: 0.02}); err == nil || !strings.Contains(err.Error(), "empty directory") {
		t.Errorf("generate over someone's logs: err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "logs", "access.log")); err != nil {
		t.Errorf("their log is gone: %v", err)
	}
}

// TestManySeeds generates every scenario for many seeds, tiny, to catch
// parameter combinations that break.
func TestManySeeds(t *testing.T) {
	n := int64(10)
	if testing.Short() {
		n = 3
	}
	for _, s := range Scenarios() {
		for seed := int64(0); seed < n; seed++ {
			m, err := Generate(context.Background(), s.Name, t.TempDir(), GenerateOptions{Seed: seed * 7919, Scale: 0.005})
			if err != nil {
				t.Fatalf("%s seed %d: %v", s.Name, seed*7919, err)
			}
			if m.Truth.Onset.IsZero() || len(m.Truth.Scope) == 0 {
				t.Errorf("%s seed %d: truth %+v", s.Name, seed*7919, m.Truth)
			}
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Generate(ctx, "bad-pod", t.TempDir(), GenerateOptions{Scale: 0.05}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
	for _, o := range []GenerateOptions{{Scale: -1}, {Scale: 1e9}} {
		if _, err := Generate(context.Background(), "bad-pod", t.TempDir(), o); err == nil || !strings.Contains(err.Error(), "scale") {
			t.Errorf("scale %g: err = %v", o.Scale, err)
		}
	}
	if _, err := Generate(context.Background(), "bad-pod", "", GenerateOptions{}); err == nil {
		t.Error("empty directory: no error")
	}
}
