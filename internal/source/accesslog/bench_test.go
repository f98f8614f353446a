package accesslog

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// The extended combined format of the triage benchmark (issue 3).
const extendedCombined = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_addr $upstream_status "$http_x_region"`

var benchUAs = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
	"okhttp/4.12.0", "curl/8.4.0", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
}

// benchLines writes n synthetic requests in the given style and returns the
// file's path and size.
func benchLines(b *testing.B, style string, n int) (string, int64) {
	b.Helper()
	path := filepath.Join(b.TempDir(), style+".log")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	regions := []string{"eu", "us", "ap"}
	buf := make([]byte, 0, 1<<20)
	for i := 0; i < n; i++ {
		ip := fmt.Sprintf("10.%d.%d.%d", r.IntN(200), r.IntN(250), r.IntN(250))
		sec := i / 500
		ts := fmt.Sprintf("20/Nov/2026:%02d:%02d:%02d +0000", 10+sec/3600%12, sec/60%60, sec%60)
		path := "/api/v1/users/" + strconv.Itoa(r.IntN(100000)) + "/orders"
		status := 200
		if r.IntN(100) == 0 {
			status = 503
		}
		up := fmt.Sprintf("10.1.%d.%d:8080", r.IntN(4), r.IntN(30))
		ua := benchUAs[r.IntN(len(benchUAs))]
		rt := fmt.Sprintf("0.%03d", r.IntN(1000))
		reg := regions[r.IntN(3)]
		switch style {
		case "combined":
			buf = fmt.Appendf(buf, "%s - - [%s] \"GET %s HTTP/1.1\" %d %d \"-\" \"%s\" %s %s %d \"%s\"\n", ip, ts, path, status, 1000+r.IntN(9000), ua, rt, up, status, reg)
		case "json":
			buf = fmt.Appendf(buf, `{"time_local":"%s","remote_addr":"%s","request":"GET %s HTTP/1.1","status":%d,"body_bytes_sent":%d,"http_referer":"-","http_user_agent":"%s","request_time":%s,"upstream_addr":"%s","upstream_status":"%d","region":"%s"}`+"\n", ts, ip, path, status, 1000+r.IntN(9000), ua, rt, up, status, reg)
		}
		if len(buf) > 1<<19 {
			f.Write(buf)
			buf = buf[:0]
		}
	}
	f.Write(buf)
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(path)
	return path, st.Size()
}

type countSink struct{ n, errs int }

func (c *countSink) Add(r *signal.Request) {
	c.n++
	if r.Status >= 500 {
		c.errs++
	}
}

func benchScan(b *testing.B, style, format string) {
	path, size := benchLines(b, style, 200_000)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := Scan(context.Background(), Options{Paths: []string{path}, Format: format}, func() signal.RequestSink { return &countSink{} })
		if err != nil || st.Malformed != 0 {
			b.Fatalf("%v, %d malformed %+v", err, st.Malformed, st.Samples)
		}
	}
	b.ReportMetric(float64(200_000*b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkScanCombined parses the extended combined format on every core.
func BenchmarkScanCombined(b *testing.B) { benchScan(b, "combined", extendedCombined) }

// BenchmarkScanJSON parses the same requests as JSON lines.
func BenchmarkScanJSON(b *testing.B) { benchScan(b, "json", "json") }

// BenchmarkScanCombinedOneWorker measures the per-core cost.
func BenchmarkScanCombinedOneWorker(b *testing.B) {
	path, size := benchLines(b, "combined", 200_000)
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Scan(context.Background(), Options{Paths: []string{path}, Format: extendedCombined, Workers: 1}, func() signal.RequestSink { return &countSink{} }); err != nil {
			b.Fatal(err)
		}
	}
}
