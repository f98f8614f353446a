// Package promtest starts a real Prometheus for tests: it backfills the
// given series with promtool tsdb create-blocks-from openmetrics and serves
// them on a free loopback port. A missing binary skips the test, or fails
// it when CI=true.
package promtest

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// Start backfills om (OpenMetrics text) into a new TSDB, starts
// Prometheus over it and returns its base URL. It stops at cleanup.
func Start(t testing.TB, om string) string {
	t.Helper()
	prom, err1 := exec.LookPath("prometheus")
	promtool, err2 := exec.LookPath("promtool")
	if err1 != nil || err2 != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("prometheus/promtool not installed (scripts/install-deps.sh installs them): %v %v", err1, err2)
		}
		t.Skip("prometheus/promtool not installed")
	}
	dir := t.TempDir()
	omFile := filepath.Join(dir, "series.om")
	data := filepath.Join(dir, "data")
	if err := os.WriteFile(omFile, []byte(om), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", omFile, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 15s\nscrape_configs: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prom, "--config.file="+cfg, "--storage.tsdb.path="+data,
		"--storage.tsdb.retention.time=100y", "--web.listen-address="+addr)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logf.Close()
	})
	url := "http://" + addr
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := hc.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("prometheus exited: %v\n%s", err, log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("prometheus not ready after 90s\n%s", log)
		}
	}
}

// OpenMetrics writes series as OpenMetrics text (seconds timestamps),
// grouped by metric family as the format requires.
func OpenMetrics(series []signal.Series) string {
	sort.SliceStable(series, func(i, j int) bool { return series[i].Name < series[j].Name })
	var b strings.Builder
	w := bufio.NewWriter(&b)
	for _, s := range series {
		keys := make([]string, 0, len(s.Labels))
		for k := range s.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var ls []string
		for _, k := range keys {
			ls = append(ls, fmt.Sprintf("%s=%q", k, s.Labels[k]))
		}
		for _, p := range s.Points {
			fmt.Fprintf(w, "%s{%s} %g %d\n", s.Name, strings.Join(ls, ","), p.V, p.T/1000)
		}
	}
	fmt.Fprintln(w, "# EOF")
	w.Flush()
	return b.String()
}
