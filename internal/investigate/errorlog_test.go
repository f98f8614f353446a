package investigate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProxyErrorLog: kubectl logs of an ingress-nginx controller as a node
// keeps them (CRI lines), where one pod refuses connections from 10:30 and
// nginx's error log, on standard error, says so for every failed request;
// a few timeouts on other pods are background noise all day. The report
// counts what the error log says per kind and upstream in the incident
// against the baseline, and the leading hypothesis quotes it.
func TestProxyErrorLog(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	start := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	failAt := time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC)
	const bad = "10.44.2.31:8080"
	var b strings.Builder
	line := func(ts time.Time, stream, text string) {
		fmt.Fprintf(&b, "%s %s F %s\n", ts.Format(time.RFC3339Nano), stream, text)
	}
	refused := 0
	const n = 40000
	for i := 0; i < n; i++ {
		ts := start.Add(time.Duration(i) * 4 * time.Hour / n)
		up := fmt.Sprintf("10.44.%d.%d:8080", 1+rng.IntN(3), 30+rng.IntN(4))
		status, rt := 200, 0.02+rng.Float64()*0.05
		errLine := ""
		switch {
		case up == bad && !ts.Before(failAt) && rng.Float64() < 0.8:
			status, rt = 502, 0.001
			errLine = fmt.Sprintf(`%s [error] 31#31: *%d connect() failed (111: Connection refused) while connecting to upstream, client: 203.0.113.9, server: shop.example.com, request: "GET /api/orders HTTP/1.1", upstream: "http://%s/api/orders", host: "shop.example.com"`, ts.Format("2006/01/02 15:04:05"), i, up)
			refused++
		case rng.Float64() < 0.001:
			status, rt = 504, 5
			errLine = fmt.Sprintf(`%s [error] 31#31: *%d upstream timed out (110: Operation timed out) while reading response header from upstream, client: 203.0.113.9, server: shop.example.com, request: "GET /api/orders HTTP/1.1", upstream: "http://%s/api/orders", host: "shop.example.com"`, ts.Format("2006/01/02 15:04:05"), i, up)
		}
		line(ts, "stdout", fmt.Sprintf(`203.0.%d.%d - - [%s] "GET /api/orders/%d HTTP/1.1" %d 512 "-" "okhttp/4.12.0" 300 %.3f [shop-orders-8080] [] %s 512 %.3f %d %032x`,
			rng.IntN(200), 1+rng.IntN(250), ts.Format("02/Jan/2006:15:04:05 -0700"), rng.IntN(1000), status, rt, up, rt, status, i))
		if errLine != "" {
			line(ts, "stderr", errLine)
		}
	}
	dir := filepath.Join(t.TempDir(), "ingress-nginx_ingress-nginx-controller-7d9f-x2k4p_0b6c1e2a", "controller")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "0.log"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Options{Logs: []string{filepath.Join(dir, "*.log")}})
	if err != nil {
		t.Fatal(err)
	}
	in := res.Inputs
	if in.Sources[0] != "ingress-nginx-controller-7d9f-x2k4p/controller" || in.Formats[in.Sources[0]] != "ingress-nginx" || in.Containers[in.Sources[0]] != "cri" || in.Malformed != 0 {
		t.Fatalf("inputs %+v: want the pod's controller, ingress-nginx in CRI lines, nothing malformed", in)
	}
	if res.Impact.Onset == nil || res.Impact.Onset.Sub(failAt).Abs() > 5*time.Minute {
		t.Fatalf("onset %v, truth %v", res.Impact.Onset, failAt)
	}
	if len(res.ProxyErrors) == 0 {
		t.Fatal("no proxy error summary")
	}
	top := res.ProxyErrors[0]
	if top.Kind != "connection refused" || top.Upstream != bad || top.Baseline != 0 || top.First.Sub(failAt).Abs() > 5*time.Minute {
		t.Errorf("top proxy error %+v: want connection refused from %s, from ~10:30, none in the baseline", top, bad)
	}
	if int(top.Incident) < refused*9/10 || int(top.Incident) > refused {
		t.Errorf("%d refused connections counted in the incident, %d written", top.Incident, refused)
	}
	for _, e := range res.ProxyErrors[1:] {
		if e.Kind == "connection refused" {
			t.Errorf("refused connections elsewhere: %+v", e)
		}
	}
	if len(res.Hypotheses) == 0 {
		t.Fatal("no hypothesis")
	}
	h := res.Hypotheses[0]
	quoted := false
	for _, ev := range h.Evidence {
		quoted = quoted || strings.Contains(ev, "connection refused from "+bad)
	}
	if h.Cause != "bad-pod" || !quoted {
		t.Errorf("leading hypothesis %s, evidence %q: want bad-pod quoting the refused connections", h.Cause, h.Evidence)
	}
	for _, h := range res.Hypotheses {
		if h.Cause == "slow-queries" || h.Cause == "db-pool-exhaustion" {
			against := strings.Join(h.Against, "\n")
			if !strings.Contains(against, "connection refused") {
				t.Errorf("%s: against %q should cite the refused connections", h.Cause, h.Against)
			}
		}
	}
}
