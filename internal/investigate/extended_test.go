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

// TestExtendedCombined: nginx's combined format with the request time and
// the upstream appended, as many teams log, read without --log-format.
// One upstream of nine fails from 10:30: the top finding names it, which
// it can only if the appended fields are read, and the report says how
// they were named and which log_format to give to name them otherwise.
func TestExtendedCombined(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 11))
	start := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	failAt := time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC)
	const bad = "10.8.1.12:8080"
	var b strings.Builder
	const n = 30000
	for i := range n {
		ts := start.Add(time.Duration(i) * 4 * time.Hour / n)
		up := fmt.Sprintf("10.8.%d.%d:8080", rng.IntN(3), 11+rng.IntN(3))
		status, rt := 200, 0.02+rng.Float64()*0.05
		if up == bad && !ts.Before(failAt) && rng.Float64() < 0.7 {
			status, rt = 502, 0.002
		}
		fmt.Fprintf(&b, `198.51.%d.%d - - [%s] "GET /api/cart/%d HTTP/1.1" %d 512 "-" "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0" %.3f %s %d`+"\n",
			rng.IntN(100), 1+rng.IntN(250), ts.Format("02/Jan/2006:15:04:05 -0700"), rng.IntN(5000), status, rt, up, status)
	}
	path := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Options{Logs: []string{path}, SinglePass: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Inputs.Formats["access.log"] != "combined" || res.Inputs.Malformed != 0 {
		t.Fatalf("inputs %+v", res.Inputs)
	}
	note := ""
	for _, n := range res.Notes {
		if strings.Contains(n, "more fields") {
			note = n
		}
	}
	if !strings.Contains(note, "combined with 3 more fields, named from their values: request_time, upstream_addr, upstream_status") ||
		!strings.Contains(note, `--log-format '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_addr $upstream_status'`) {
		t.Errorf("note %q", note)
	}
	if len(res.Findings) == 0 || res.Findings[0].Scope["upstream"] != bad {
		t.Fatalf("findings %+v: want upstream=%s first", res.Findings, bad)
	}
	if res.Impact.Latency == nil || res.Impact.Latency.BaselineP50 == nil || *res.Impact.Latency.BaselineP50 < 0.02 {
		t.Errorf("latency %+v: the request time was not read", res.Impact.Latency)
	}
}

// TestClientRelease: a mobile app's new release (on two platforms, many
// devices) fails on one endpoint while the previous release and the
// browsers do not. The top finding names the release and the endpoint —
// not the app's whole family, nor one platform's user agent.
func TestClientRelease(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 1))
	start := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	failAt := time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC)
	uas := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36",
		"ShopApp/5.1.0 (Android 14; Pixel 8)", "ShopApp/5.1.0 (iPhone; iOS 17.1)",
		"ShopApp/5.2.0 (Android 14; Pixel 8)", "ShopApp/5.2.0 (Android 13; SM-S918B)", "ShopApp/5.2.0 (iPhone; iOS 17.1)",
	}
	paths := []string{"/api/checkout", "/api/cart", "/api/items/%d", "/api/search"}
	var b strings.Builder
	const n = 40000
	for i := range n {
		ts := start.Add(time.Duration(i) * 4 * time.Hour / n)
		ua := uas[rng.IntN(len(uas))]
		p := paths[rng.IntN(len(paths))]
		if strings.Contains(p, "%d") {
			p = fmt.Sprintf(p, rng.IntN(9000))
		}
		status := 200
		if rng.Float64() < 0.003 {
			status = 503
		}
		if p == "/api/checkout" && strings.HasPrefix(ua, "ShopApp/5.2.0") && !ts.Before(failAt) && rng.Float64() < 0.9 {
			status = 500
		}
		fmt.Fprintf(&b, `198.51.%d.%d - - [%s] "POST %s HTTP/1.1" %d 512 "-" "%s" 0.%03d 10.8.0.%d:8080 %d`+"\n",
			rng.IntN(100), 1+rng.IntN(250), ts.Format("02/Jan/2006:15:04:05 -0700"), p, status, ua, 10+rng.IntN(90), 10+rng.IntN(6), status)
	}
	path := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Options{Logs: []string{path}, SinglePass: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Impact.Onset == nil || res.Impact.Onset.Sub(failAt).Abs() > 5*time.Minute {
		t.Fatalf("onset %v, truth %v", res.Impact.Onset, failAt)
	}
	if len(res.Findings) == 0 {
		t.Fatal("no finding")
	}
	top := res.Findings[0]
	if top.Scope["ua_product"] != "ShopApp/5.2.0" || top.Scope["path"] != "/api/checkout" || len(top.Scope) != 2 || top.ErrorShare < 0.8 {
		t.Errorf("top finding %v (%.0f%% of errors): want ua_product=ShopApp/5.2.0 on /api/checkout", top.Scope, 100*top.ErrorShare)
	}
}
