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

	"github.com/sitrep-dev/sitrep/internal/triage"
)

// runLog writes text as the log file name and triages it, read once.
func runLog(t *testing.T, name, text string) *triage.Result {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Options{Logs: []string{path}, SinglePass: true})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// onsetNear fails the test unless the result found an onset within five
// minutes of the truth.
func onsetNear(t *testing.T, res *triage.Result, truth time.Time) {
	t.Helper()
	if res.Impact.Onset == nil || res.Impact.Onset.Sub(truth).Abs() > 5*time.Minute {
		t.Fatalf("onset %v, truth %v", res.Impact.Onset, truth)
	}
}

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
	res := runLog(t, "access.log", b.String())
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
	res := runLog(t, "access.log", b.String())
	onsetNear(t, res, failAt)
	if len(res.Findings) == 0 {
		t.Fatal("no finding")
	}
	top := res.Findings[0]
	if top.Scope["ua_product"] != "ShopApp/5.2.0" || top.Scope["path"] != "/api/checkout" || len(top.Scope) != 2 || top.ErrorShare < 0.8 {
		t.Errorf("top finding %v (%.0f%% of errors): want ua_product=ShopApp/5.2.0 on /api/checkout", top.Scope, 100*top.ErrorShare)
	}
}

// TestCloudFrontOrigin: a CloudFront standard log (W3C, tab-separated,
// read from its #Fields) in which the origin stops answering at 10:30:
// cache hits still succeed, every miss fails with OriginConnectError.
// The log is detected, its durations are seconds, and the leading cause is
// the CDN's origin.
func TestCloudFrontOrigin(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 8))
	start := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	failAt := time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC)
	var b strings.Builder
	b.WriteString("#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end\n")
	pops := []string{"FRA56-P1", "LHR61-C2", "IAD89-C1", "NRT57-P2"}
	const n = 30000
	for i := range n {
		ts := start.Add(time.Duration(i) * 4 * time.Hour / n)
		p := []string{"/index.html", "/static/app.js", "/api/cart", fmt.Sprintf("/api/items/%d", rng.IntN(999))}[rng.IntN(4)]
		res, status, taken := "Miss", 200, 0.02+rng.Float64()*0.18
		if (p == "/index.html" || p == "/static/app.js") && rng.Float64() < 0.9 {
			res, taken = "Hit", 0.001+rng.Float64()*0.009
		}
		detail := res
		if res == "Miss" && !ts.Before(failAt) && rng.Float64() < 0.95 {
			res, detail, status, taken = "Error", "OriginConnectError", 502, 0.5+rng.Float64()*0.5
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%d\t192.0.%d.%d\tGET\td111111abcdef8.cloudfront.net\t%s\t%d\t-\tMozilla/5.0%%20(Windows%%20NT%%2010.0)%%20Chrome/120.0\t-\t-\t%s\tid%d\tshop.example.com\thttps\t160\t%.3f\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\t%s\tHTTP/2.0\t-\t-\t%d\t%.3f\t%s\ttext/html\t78\t-\t-\n",
			ts.Format("2006-01-02"), ts.Format("15:04:05"), pops[rng.IntN(4)], 200+rng.IntN(9000), rng.IntN(256), 1+rng.IntN(254),
			p, status, res, i, taken, res, 1024+rng.IntN(60000), taken, detail)
	}
	res := runLog(t, "E2ABCDEF.2026-11-20-10.log", b.String())
	if f := res.Inputs.Formats[res.Inputs.Sources[0]]; f != "w3c" || res.Inputs.Malformed != 0 || res.Inputs.Skipped != 2 {
		t.Fatalf("inputs %+v", res.Inputs)
	}
	onsetNear(t, res, failAt)
	if l := res.Impact.Latency; l == nil || l.BaselineP50 == nil || *l.BaselineP50 < 0.005 || *l.BaselineP50 > 0.2 {
		t.Errorf("latency %+v: time-taken is seconds in CloudFront", l)
	}
	if len(res.Hypotheses) == 0 || res.Hypotheses[0].Cause != "cdn-origin" {
		t.Fatalf("hypotheses %+v: want cdn-origin first", res.Hypotheses)
	}
}

// TestHerokuRouter: Heroku's router log (logfmt, as `heroku logs` prints
// it) where one dyno of six starts failing at 10:30 — H13, the connection
// closed without a response. The log is detected, the dyno is the
// upstream, and it is found: the top finding names it and the leading
// cause is one bad instance.
func TestHerokuRouter(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	start := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	failAt := time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC)
	var b strings.Builder
	const n = 30000
	for i := range n {
		ts := start.Add(time.Duration(i) * 4 * time.Hour / n)
		dyno := fmt.Sprintf("web.%d", 1+rng.IntN(6))
		at, extra, status, service := "info", "", 200, 10+rng.IntN(80)
		if dyno == "web.4" && !ts.Before(failAt) && rng.Float64() < 0.8 {
			at, extra, status, service = "error", `code=H13 desc="Connection closed without response" `, 503, 0
		}
		fmt.Fprintf(&b, `%s heroku[router]: at=%s %smethod=GET path="/api/items/%d" host=shop.herokuapp.com request_id=%08x fwd="198.51.%d.%d" dyno=%s connect=0ms service=%dms status=%d bytes=%d protocol=https`+"\n",
			ts.Format("2006-01-02T15:04:05.000000-07:00"), at, extra, rng.IntN(5000), i, rng.IntN(100), 1+rng.IntN(250), dyno, service, status, 100+rng.IntN(4000))
	}
	res := runLog(t, "router.log", b.String())
	if res.Inputs.Formats["router.log"] != "logfmt" || res.Inputs.Malformed != 0 {
		t.Fatalf("inputs %+v", res.Inputs)
	}
	onsetNear(t, res, failAt)
	if len(res.Findings) == 0 || res.Findings[0].Scope["upstream"] != "web.4" {
		t.Fatalf("findings %+v: want upstream=web.4 first", res.Findings)
	}
	if len(res.Hypotheses) == 0 || res.Hypotheses[0].Cause != "bad-pod" {
		t.Errorf("hypotheses %+v: want bad-pod first", res.Hypotheses)
	}
}
