package triage

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// proxyRequest is one request as a proxy's access log records it.
type proxyRequest struct {
	ts       time.Time
	status   int
	seconds  float64
	upstream string // "10.44.2.31:8080", or "" when none was chosen
	flags    string // Envoy's response flags
	client   string
	path     string
}

// proxyWriters write one request in the default access-log format of a
// proxy, each with its own units (Envoy: milliseconds; Traefik JSON:
// nanoseconds; Google Cloud: "0.012s").
var proxyWriters = map[string]func(w io.Writer, r proxyRequest){
	"istio": func(w io.Writer, r proxyRequest) {
		up := r.upstream
		if up == "" {
			up = "-"
		}
		fmt.Fprintf(w, "[%s] \"GET %s HTTP/1.1\" %d %s via_upstream - \"-\" 0 135 %d - \"-\" \"okhttp/4.12.0\" \"%08x-0000-4000-8000-000000000000\" \"orders:8080\" \"%s\" outbound|8080||orders.shop.svc.cluster.local - 10.0.12.7:8080 %s:46522 - default\n",
			r.ts.Format("2006-01-02T15:04:05.000Z"), r.path, r.status, r.flags, int(r.seconds*1000), r.ts.UnixNano()&0xffffffff, up, r.client)
	},
	"traefik": func(w io.Writer, r proxyRequest) {
		up := "-"
		if r.upstream != "" {
			up = "http://" + r.upstream
		}
		fmt.Fprintf(w, "%s - - [%s] \"GET %s HTTP/1.1\" %d 512 \"-\" \"Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0\" %d \"orders@kubernetescrd\" \"%s\" %dms\n",
			r.client, r.ts.Format("02/Jan/2006:15:04:05 -0700"), r.path, r.status, r.ts.Unix(), up, int(r.seconds*1000))
	},
	"json-envoy": func(w io.Writer, r proxyRequest) {
		fmt.Fprintf(w, `{"start_time":"%s","method":"GET","path":"%s","protocol":"HTTP/1.1","response_code":%d,"response_flags":"%s","bytes_received":0,"bytes_sent":91,"duration":%d,"user_agent":"okhttp/4.12.0","authority":"orders:8080","upstream_host":%s,"upstream_cluster":"outbound|8080||orders.shop.svc.cluster.local","downstream_remote_address":"%s:46522","route_name":"default"}`+"\n",
			r.ts.Format(time.RFC3339Nano), r.path, r.status, r.flags, int(r.seconds*1000), jsonOrNull(r.upstream), r.client)
	},
	"json-traefik": func(w io.Writer, r proxyRequest) {
		fmt.Fprintf(w, `{"ClientHost":"%s","DownstreamStatus":%d,"Duration":%d,"OriginDuration":%d,"RequestHost":"shop.example.com","RequestMethod":"GET","RequestPath":"%s","RouterName":"orders@kubernetescrd","ServiceAddr":%s,"ServiceName":"orders@kubernetescrd","StartUTC":"%s","level":"info"}`+"\n",
			r.client, r.status, int64(r.seconds*1e9), int64(r.seconds*0.9e9), r.path, jsonOrNull(r.upstream), r.ts.Format(time.RFC3339Nano))
	},
	"json-gcp": func(w io.Writer, r proxyRequest) {
		detail, server := "response_sent_by_backend", ""
		if r.upstream != "" {
			server = `,"serverIp":"` + strings.Split(r.upstream, ":")[0] + `"`
		}
		if r.status >= 500 {
			detail = "backend_connection_closed_before_data_sent_to_client"
		}
		fmt.Fprintf(w, `{"jsonPayload":{"statusDetails":"%s"},"httpRequest":{"requestMethod":"GET","requestUrl":"https://shop.example.com%s","status":%d,"userAgent":"curl/8.5.0","remoteIp":"%s"%s,"latency":"%.6fs"},"resource":{"labels":{"backend_service_name":"orders"}},"timestamp":"%s"}`+"\n",
			detail, r.path, r.status, r.client, server, r.seconds, r.ts.Format(time.RFC3339Nano))
	},
}

func jsonOrNull(s string) string {
	if s == "" {
		return "null"
	}
	return `"` + s + `"`
}

// TestProxyLogs: the default logs of Istio (Envoy), Traefik and Google
// Cloud's load balancers, read without --log-format, where one backend of
// twelve fails from 10:30: triage finds the onset and names the backend,
// and reads each log's durations in its own unit.
func TestProxyLogs(t *testing.T) {
	dir := t.TempDir()
	const bad = "10.44.2.31"
	for name, write := range proxyWriters {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 11))
			start := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
			failAt := time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC)
			const n = 30000
			path := filepath.Join(dir, name+".log")
			writeLines(t, path, func(w io.Writer) {
				for i := 0; i < n; i++ {
					r := proxyRequest{
						ts:       start.Add(time.Duration(i) * 4 * time.Hour / n),
						status:   200,
						seconds:  0.02 + rng.Float64()*0.06,
						upstream: fmt.Sprintf("10.44.%d.%d:8080", 1+rng.IntN(3), 30+rng.IntN(4)),
						flags:    "-",
						client:   fmt.Sprintf("203.0.%d.%d", rng.IntN(200), 1+rng.IntN(250)),
						path:     fmt.Sprintf("/api/orders/%d", rng.IntN(100000)),
					}
					switch {
					case rng.Float64() < 0.002:
						r.status = 503
					case !r.ts.Before(failAt) && strings.HasPrefix(r.upstream, bad+":") && rng.Float64() < 0.7:
						r.status, r.flags, r.seconds = 503, "UF", 0.001+rng.Float64()*0.002
					}
					write(w, r)
				}
			})
			res, err := Run(context.Background(), Options{Scan: formatScan(path, "")})
			if err != nil {
				t.Fatal(err)
			}
			if res.Inputs.Lines != n || res.Inputs.Malformed != 0 {
				t.Fatalf("inputs %+v: want %d lines, none malformed", res.Inputs, n)
			}
			if res.Impact.Onset == nil || res.Impact.Onset.Sub(failAt).Abs() > 10*time.Minute {
				t.Fatalf("onset %v, truth %v", res.Impact.Onset, failAt)
			}
			if len(res.Findings) == 0 {
				t.Fatal("no finding")
			}
			top := res.Findings[0]
			if !strings.HasPrefix(top.Scope["upstream"], bad+":8080") && !strings.HasPrefix(top.Scope["upstream"], bad+" ") {
				t.Errorf("top finding %s=%s %v, want the backend %s", top.Dimension, top.Value, top.Scope, bad)
			}
			for _, f := range res.Findings {
				if measurement(f.Dimension) {
					t.Errorf("finding on a measurement: %s=%s", f.Dimension, f.Value)
				}
			}
			// Healthy requests take 20–80 ms in every log, whatever its unit.
			if l := res.Impact.Latency; l == nil || l.BaselineP50 == nil || *l.BaselineP50 < 0.02 || *l.BaselineP50 > 0.08 {
				t.Errorf("latency %+v: want a baseline p50 of 20–80 ms", l)
			}
		})
	}
}

// TestMeasurementAndOutcomeNames: which fields are measurements (never
// dimensions) and which say how a request failed (a finding only when no
// place explains the errors).
func TestMeasurementAndOutcomeNames(t *testing.T) {
	for _, name := range []string{"OriginDuration", "latencies.proxy", "EdgeTimeToFirstByteMs", "bytes_read",
		"receiveTimestamp", "upstream_service_time", "request.size", "Overhead", "bytes_received"} {
		if !measurement(name) {
			t.Errorf("%s is a measurement", name)
		}
	}
	for _, name := range []string{"region", "account", "response_flags", "upstream", "RouterName", "platforms", "items", "entryPointName"} {
		if measurement(name) {
			t.Errorf("%s is not a measurement", name)
		}
	}
	for _, name := range []string{"response_flags", "response_code_details", "jsonPayload.statusDetails", "error_reason", "termination_state"} {
		if !Outcome(name) {
			t.Errorf("%s is an outcome", name)
		}
	}
	for _, name := range []string{"upstream", "status_class", "region", "route_name"} {
		if Outcome(name) {
			t.Errorf("%s is not an outcome", name)
		}
	}
}

// TestOutcomeWithoutAPlace: when every backend fails alike (a dependency
// behind them all hangs: Envoy's upstream timeout, UT, on a third of all
// requests), no place explains the errors and the proxy's reason is the
// finding.
func TestOutcomeWithoutAPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	start := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	failAt := time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC)
	const n = 30000
	path := filepath.Join(t.TempDir(), "istio.log")
	writeLines(t, path, func(w io.Writer) {
		for i := 0; i < n; i++ {
			r := proxyRequest{
				ts: start.Add(time.Duration(i) * 4 * time.Hour / n), status: 200, seconds: 0.02 + rng.Float64()*0.06,
				upstream: fmt.Sprintf("10.44.%d.%d:8080", 1+rng.IntN(3), 30+rng.IntN(4)), flags: "-",
				client: fmt.Sprintf("203.0.%d.%d", rng.IntN(200), 1+rng.IntN(250)), path: "/api/orders/1",
			}
			if rng.Float64() < 0.002 || !r.ts.Before(failAt) && rng.Float64() < 0.3 {
				r.status = 503
				if !r.ts.Before(failAt) {
					r.status, r.flags, r.seconds = 504, "UT", 15
				}
			}
			proxyWriters["istio"](w, r)
		}
	})
	res, err := Run(context.Background(), Options{Scan: formatScan(path, "")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) == 0 {
		t.Fatal("no finding")
	}
	if f := res.Findings[0]; f.Dimension != "response_flags" || f.Value != "UT" {
		t.Errorf("top finding %s=%s, want response_flags=UT", f.Dimension, f.Value)
	}
}
