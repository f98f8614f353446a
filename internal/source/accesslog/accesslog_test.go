package accesslog

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/keyindex"
	"github.com/sitrep-dev/sitrep/internal/signal"
)

var update = flag.Bool("update", false, "rewrite golden files")

// record is a copy of a parsed request, for golden files.
type record struct {
	Key      uint64            `json:"-"` // not in the golden files: a hash
	Time     string            `json:"time"`
	Status   int               `json:"status"`
	Duration float64           `json:"duration"`
	Client   string            `json:"client,omitempty"`
	Retries  int               `json:"retries,omitempty"`
	Fields   map[string]string `json:"fields"`
}

type collect struct {
	mu   *sync.Mutex
	recs *[]record
}

func (c collect) Add(r *signal.Request) {
	rec := record{Key: r.Key, Status: r.Status, Duration: r.Duration, Client: string(r.Client), Retries: r.Retries, Fields: map[string]string{}}
	if r.Time != 0 {
		rec.Time = time.Unix(0, r.Time).UTC().Format(time.RFC3339Nano)
	}
	for _, f := range r.Fields {
		if f.Value != nil {
			rec.Fields[f.Name] = string(f.Value)
		}
		if f.Key != 0 && f.Key != keyindex.Of(f.Value) {
			rec.Fields["(bad key) "+f.Name] = fmt.Sprintf("%x", f.Key) // fails the golden comparison
		}
	}
	c.mu.Lock()
	*c.recs = append(*c.recs, rec)
	c.mu.Unlock()
}

func scanAll(t *testing.T, opts Options) ([]record, Stats, error) {
	t.Helper()
	var mu sync.Mutex
	var recs []record
	st, err := Scan(context.Background(), opts, func() signal.RequestSink { return collect{&mu, &recs} })
	sort.SliceStable(recs, func(i, j int) bool {
		if recs[i].Time != recs[j].Time {
			return recs[i].Time < recs[j].Time
		}
		return recs[i].Fields["uri"] < recs[j].Fields["uri"]
	})
	return recs, st, err
}

// goldenFormat is a test case's format: a preset name or a log_format as
// given, or "@file" for one kept in testdata/golden.
func goldenFormat(t *testing.T, spec string) string {
	t.Helper()
	if !strings.HasPrefix(spec, "@") {
		return spec
	}
	b, err := os.ReadFile(filepath.Join("testdata/golden", spec[1:]))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestGolden parses each preset and real-world log_format sample and
// compares every field of every request with testdata/golden/*.golden.
func TestGolden(t *testing.T) {
	cases := []struct{ name, format string }{
		{"combined", "combined"},
		{"common", "common"},
		{"vhost_combined", "vhost_combined"},
		{"ingress-nginx", "ingress-nginx"},
		{"alb", "alb"},
		{"json", "json"},
		{"haproxy", "haproxy"},
		{"w3c-iis", ""},
		{"logfmt-heroku", ""},
		{"logfmt-slog", "logfmt"},
		{"w3c-cloudfront", "w3c"},
		{"custom-ltsv", "@custom-ltsv.format"},
		{"custom-upstreamlog", "@custom-upstreamlog.format"},
		{"custom-json", "@custom-json.format"},
		{"envoy", "envoy"},
		{"istio", "istio"},
		{"traefik", "traefik"},
		{"custom-envoy", "@custom-envoy.format"},
		{"json-caddy", "json"},
		{"json-cloudflare", "json"},
		{"json-ecs", "json"},
		{"json-envoy", "json"},
		{"json-gcp", "json"},
		{"json-kong", "json"},
		{"json-traefik", "json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs, st, err := scanAll(t, Options{Paths: []string{filepath.Join("testdata/golden", tc.name+".log")}, Format: goldenFormat(t, tc.format)})
			if err != nil {
				t.Fatal(err)
			}
			if st.Malformed != 0 {
				t.Errorf("%d malformed lines: %+v", st.Malformed, st.Samples)
			}
			// Only a W3C log's directives (#Fields …) are skipped.
			if len(recs) == 0 || int64(len(recs)) != st.Lines-st.Skipped || (st.Skipped > 0) != strings.HasPrefix(tc.name, "w3c") {
				t.Fatalf("%d requests for %d lines, %d skipped", len(recs), st.Lines, st.Skipped)
			}
			got, _ := json.MarshalIndent(recs, "", "  ")
			got = append(got, '\n')
			path := filepath.Join("testdata/golden", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs; run go test -update and review the diff", path)
			}
		})
	}
}

// TestKeyFields checks the values that matter most for triage on each
// format, independently of the golden files.
func TestKeyFields(t *testing.T) {
	recs, _, err := scanAll(t, Options{Paths: []string{"testdata/golden/alb.log"}, Format: "alb"})
	if err != nil {
		t.Fatal(err)
	}
	old := recs[1] // the decommissioned load balancer answering 503
	if old.Status != 503 || old.Fields["no_upstream"] != "true" || old.Fields["elb"] != "app/api-eu-old/8d7c6b5a4f3e2d1c" || old.Duration != -1 {
		t.Errorf("ALB 503 without target parsed as %+v", old)
	}
	if got := recs[0].Fields["upstream"]; got != "10.20.1.15:8080 (api-eu)" {
		t.Errorf("ALB upstream = %q, want the target with its target group name", got)
	}
	if got := recs[0].Fields["path"]; got != "/api/v1/users/:id/orders" {
		t.Errorf("ALB path = %q", got)
	}
	if recs[2].Client != "2001:db8:85a3::8a2e:370:7334" || recs[2].Fields["client_net"] != "2001:db8:85a3::/48" {
		t.Errorf("IPv6 client = %q net %q", recs[2].Client, recs[2].Fields["client_net"])
	}
	if d := recs[0].Duration; d < 0.0489 || d > 0.0491 {
		t.Errorf("ALB duration = %v, want the sum of the three processing times (0.049)", d)
	}

	recs, _, err = scanAll(t, Options{Paths: []string{"testdata/golden/ingress-nginx.log"}})
	if err != nil {
		t.Fatal(err)
	}
	var retried, v6 *record
	for i := range recs {
		if strings.Contains(recs[i].Fields["upstream_addr"], ", ") && retried == nil {
			retried = &recs[i]
		}
		if strings.Contains(recs[i].Fields["upstream_addr"], "[2a02:cf40::7]") && v6 == nil {
			v6 = &recs[i]
		}
	}
	if retried == nil || retried.Fields["upstream"] != "172.17.0.7:8080 (default-web2-8080)" || retried.Fields["upstream_status"] != "200, 203" {
		t.Errorf("retry across upstreams parsed as %+v", retried)
	}
	if v6 == nil || v6.Fields["client_net"] != "2a02:cf40::/48" || v6.Fields["upstream"] != "[2a02:cf40::4e36]:5000 (localhost-8080)" {
		t.Errorf("IPv6 client with IPv6 upstreams parsed as %+v", v6)
	}

	recs, _, err = scanAll(t, Options{Paths: []string{"testdata/golden/json.log"}, Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	byStatus := map[int]record{}
	for _, r := range recs {
		byStatus[r.Status] = r
	}
	if r := byStatus[503]; r.Fields["region"] != "eu" || r.Fields["kubernetes.pod"] != "api-7d9f-x2x" || r.Fields["no_upstream"] != "true" || r.Fields["method"] != "GET" {
		t.Errorf("JSON 503 = %+v", r)
	}
	if r := byStatus[200]; r.Duration != 0.037 || r.Fields["ua_family"] != "mobile-app" || r.Fields["note"] != "tab\there \"quoted\" é" || r.Fields["path"] != "/checkout" {
		t.Errorf("JSON 200 = %+v", r)
	}
	if r := byStatus[404]; r.Fields["path"] != "/missing/:uuid" || r.Time != "2026-11-20T12:03:02Z" {
		t.Errorf("JSON 404 = %+v", r)
	}
	if r := byStatus[502]; r.Retries != 1 || r.Fields["failed_upstream"] != "10.20.1.15:8080" || r.Fields["upstream"] != "10.20.1.16:8080" {
		t.Errorf("JSON 502 after a retry = %+v", r)
	}
}

// TestRealLogs: the real public logs in shared/data parse with fewer than
// 0.1% malformed lines.
func TestRealLogs(t *testing.T) {
	files := map[string]string{
		"../../../../shared/data/apache-combined-2015/apache_logs":      "combined",
		"../../../../shared/data/proxy-fixtures/ingress-nginx_test.log": "ingress-nginx",
		"../../../../shared/data/proxy-fixtures/haproxy_httplog.log":    "haproxy",
	}
	for path, want := range files {
		if _, err := os.Stat(path); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s missing: CI runs beside shared/", path)
			}
			t.Skipf("%s not present", path)
		}
		_, st, err := scanAll(t, Options{Paths: []string{path}})
		if err != nil {
			t.Fatal(err)
		}
		src := st.Sources[0]
		if st.Formats[src] != want {
			t.Errorf("%s detected as %s, want %s", path, st.Formats[src], want)
		}
		if st.Lines < 10 || float64(st.Malformed) > 0.001*float64(st.Lines) {
			t.Errorf("%s: %d of %d lines malformed (samples %+v)", path, st.Malformed, st.Lines, st.Samples)
		}
	}
}

func TestDetect(t *testing.T) {
	read := func(name string) [][]byte {
		b, err := os.ReadFile(filepath.Join("testdata/golden", name))
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	}
	for file, want := range map[string]string{
		"combined.log": "combined", "common.log": "common", "vhost_combined.log": "vhost_combined", "ingress-nginx.log": "ingress-nginx",
		"alb.log": "alb", "json.log": "json", "haproxy.log": "haproxy", "custom-json.log": "json",
		"envoy.log": "envoy", "istio.log": "istio", "traefik.log": "traefik", "json-envoy.log": "json",
		"json-caddy.log": "json", "json-gcp.log": "json", "json-traefik.log": "json",
	} {
		d, err := Detect(read(file))
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if d.Name != want || d.ParsedShare != 1 {
			t.Errorf("%s detected as %s (%.2f), want %s", file, d.Name, d.ParsedShare, want)
		}
	}
	// A combined line with extra fields appended is combined, and they are
	// read (TestExtend); one whose extra text does not split into fields
	// is combined, flagged.
	ext := []byte(`1.2.3.4 - - [20/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8" 0.004 10.0.0.1:80 200 "eu"`)
	d, err := Detect([][]byte{ext})
	if err != nil || d.Name != "combined" || d.Extra || len(d.Extended) != 4 || d.Ambiguous {
		t.Errorf("extended combined detected as %+v, %v", d, err)
	}
	odd := []byte(`1.2.3.4 - - [20/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8" "eu`)
	if d, err := Detect([][]byte{odd}); err != nil || d.Name != "combined" || !d.Extra || d.Ambiguous {
		t.Errorf("combined with unreadable extra text detected as %+v, %v", d, err)
	}
	// Lines of a custom format that no preset knows are an error that says what to do.
	if _, err := Detect(read("custom-ltsv.log")); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("LTSV detection error = %v", err)
	}
	// A status-only line parses as both combined and common equally: ambiguous.
	amb := [][]byte{[]byte(`1.2.3.4 - - [20/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 5`)}
	if d, _ := Detect(amb); d.Name != "common" || len(d.Candidates) < 1 {
		t.Errorf("common line detected as %+v", d)
	}
}

// TestMalformedLineNumbers: malformed lines are counted and reported with
// the right file and line even when the file is cut into many chunks
// parsed by several workers.
func TestMalformedLineNumbers(t *testing.T) {
	old := chunkSize
	chunkSize = 4096
	defer func() { chunkSize = old }()
	dir := t.TempDir()
	var b bytes.Buffer
	bad := map[int64]bool{}
	for i := 1; i <= 5000; i++ {
		if i%997 == 0 {
			fmt.Fprintf(&b, "garbage line %d\n", i)
			bad[int64(i)] = true
			continue
		}
		fmt.Fprintf(&b, "10.0.%d.%d - - [20/Nov/2026:12:%02d:00 +0000] \"GET /x/%d HTTP/1.1\" %d 12 \"-\" \"curl/8\"\n", i%250, i%200, i%60, i, 200+(i%2)*300)
	}
	path := filepath.Join(dir, "access.log")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, st, err := scanAll(t, Options{Paths: []string{path}, Format: "combined", Workers: 3, MaxSamples: 10})
	if err != nil {
		t.Fatal(err)
	}
	if st.Lines != 5000 || st.Malformed != int64(len(bad)) || len(recs) != 5000-len(bad) {
		t.Fatalf("lines %d malformed %d requests %d", st.Lines, st.Malformed, len(recs))
	}
	if len(st.Samples) != len(bad) {
		t.Fatalf("%d samples, want %d", len(st.Samples), len(bad))
	}
	prev := int64(0)
	for _, s := range st.Samples {
		if !bad[s.Line] || s.File != path || !strings.HasPrefix(s.Text, "garbage line ") || s.Text != fmt.Sprintf("garbage line %d", s.Line) {
			t.Errorf("sample %+v does not point at a garbage line", s)
		}
		if s.Line <= prev {
			t.Errorf("samples out of order: %d after %d", s.Line, prev)
		}
		prev = s.Line
	}
	if st.FormatSuspect {
		t.Error("0.1% malformed flagged as a wrong format")
	}
}

// TestLongLines: a line longer than a chunk is read whole into a larger
// one, in the first chunk of a file and in the middle of it, plain and
// gzipped; a line longer than maxLine is one malformed line, reported at
// its own line number, and the lines after it are read as usual.
func TestLongLines(t *testing.T) {
	oldChunk, oldMax := chunkSize, maxLine
	chunkSize, maxLine = 4096, 64<<10
	defer func() { chunkSize, maxLine = oldChunk, oldMax }()
	line := func(i int, path string) string {
		return fmt.Sprintf("10.0.0.%d - - [20/Nov/2026:12:00:%02d +0000] \"GET %s HTTP/1.1\" 200 12 \"-\" \"curl/8\"\n", i%250, i%60, path)
	}
	var b bytes.Buffer
	want := map[string]bool{}
	long := func(n int) string { return "/long/" + strings.Repeat("a", n) }
	tooLong := 0
	for i := 1; i <= 400; i++ {
		p := fmt.Sprintf("/x/%d", i)
		switch {
		case i == 1:
			p = long(10_000) // the first line, longer than the first chunk
		case i%97 == 0:
			p = long(5_000 + 100*i) // longer than a chunk, up to ~44 KiB
		case i == 250:
			tooLong = i
			b.WriteString(line(i, long(70_000)))
			continue
		}
		want[p] = true
		b.WriteString(line(i, p))
	}
	dir := t.TempDir()
	plain := filepath.Join(dir, "access.log")
	zipped := filepath.Join(dir, "access.log.gz")
	if err := os.WriteFile(plain, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b.Bytes())
	zw.Close()
	if err := os.WriteFile(zipped, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{plain, zipped} {
		recs, st, err := scanAll(t, Options{Paths: []string{path}, Format: "combined", Workers: 2, MaxSamples: 10})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, r := range recs {
			got[r.Fields["uri"]] = true
		}
		if st.Lines != 400 || st.Malformed != 1 || len(recs) != 399 || len(got) != len(want) {
			t.Fatalf("%s: lines %d malformed %d requests %d (%d distinct paths, want %d)", path, st.Lines, st.Malformed, len(recs), len(got), len(want))
		}
		for p := range want {
			if !got[p] {
				t.Fatalf("%s: the request for a path of %d bytes is missing", path, len(p))
			}
		}
		if len(st.Samples) != 1 || st.Samples[0].Line != int64(tooLong) || !strings.Contains(st.Samples[0].Reason, "longer than") {
			t.Errorf("%s: samples %+v, want line %d reported as too long", path, st.Samples, tooLong)
		}
	}
}

func TestWrongFormatIsSuspected(t *testing.T) {
	_, st, err := scanAll(t, Options{Paths: []string{"testdata/golden/alb.log"}, Format: "combined"})
	if err != nil {
		t.Fatal(err)
	}
	if !st.FormatSuspect || st.Suggestion != "alb" || st.Malformed != st.Lines {
		t.Errorf("ALB read as combined: suspect=%v suggestion=%q malformed %d/%d", st.FormatSuspect, st.Suggestion, st.Malformed, st.Lines)
	}
}

func TestInputs(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/golden/combined.log")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(src)
	zw.Close()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("a.log", src)
	write("b.log.gz", gz.Bytes())

	// globs and .gz, with the base name as source
	recs, st, err := scanAll(t, Options{Paths: []string{filepath.Join(dir, "*.log*")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 60 || strings.Join(st.Sources, ",") != "a.log,b.log" {
		t.Errorf("glob+gz: %d requests from %v", len(recs), st.Sources)
	}
	// stdin
	recs, st, err = scanAll(t, Options{Paths: []string{"-"}, Stdin: bytes.NewReader(src)})
	if err != nil || len(recs) != 30 || st.Sources[0] != "stdin" {
		t.Errorf("stdin: %d requests, %v, %v", len(recs), st.Sources, err)
	}

	errCases := map[string]struct {
		paths []string
		want  string
	}{
		"missing":   {[]string{filepath.Join(dir, "nope.log")}, "nope.log"},
		"no match":  {[]string{filepath.Join(dir, "*.txt")}, "matches no file"},
		"truncated": {[]string{write("t.log.gz", gz.Bytes()[:gz.Len()/2])}, "t.log.gz: truncated or corrupt gzip"},
		"binary":    {[]string{write("bin.log", bytes.Repeat([]byte{0, 1, 2, 3}, 4096))}, "bin.log looks binary"},
		"directory": {[]string{dir}, "is a directory"},
	}
	for name, tc := range errCases {
		_, _, err := scanAll(t, Options{Paths: tc.paths, Format: "combined"})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, tc.want)
		}
	}
}

func TestNormalizePath(t *testing.T) {
	for in, want := range map[string]string{
		"/users/123/orders/9f8e7d6c5b4a39281706f5e4d3c2b1a0": "/users/:id/orders/:hash",
		"/a/9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0?x=1":        "/a/:uuid",
		"/static/app.9f8e7d6c5b4a3928.js":                    "/static/app.9f8e7d6c5b4a3928.js",
		"/items/42.json":                                     "/items/:id.json",
		"/presentations/logstash-monitorama-2013/":           "/presentations/logstash-monitorama-2013/",
		"https://api.example.com:443/v1/x/77":                "/v1/x/:id",
		"/session/aB3dE5fG7hJ9kL1mN3pQ":                      "/session/:hash",
		"":                                                   "/",
	} {
		if got := NormalizePath(in); got != want {
			t.Errorf("NormalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRetries reads nginx's upstream lists: which attempts failed before
// the last, and where the first failure was.
func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		addr, status string
		n            int
		first        string
	}{
		{"10.0.0.1:8080", "200", 0, ""},
		{"-", "-", 0, ""},
		{"10.0.0.1:8080, 10.0.0.2:8080", "504, 200", 1, "10.0.0.1:8080"},
		{"10.0.0.1:8080, 10.0.0.2:8080, 10.0.0.3:8080", "502, 504, 502", 2, "10.0.0.1:8080"},
		// no upstream status in the log: an attempt followed by a comma failed
		{"10.0.0.1:8080, 10.0.0.2:8080", "", 1, "10.0.0.1:8080"},
		// an attempt that answered (as some logs show) is no failure; 429 is
		{"10.0.0.1:8080, 10.0.0.2:8080", "200, 203", 0, ""},
		{"10.0.0.1:8080, 10.0.0.2:8080", "429, 200", 1, "10.0.0.1:8080"},
		// groups: " : " is an internal redirect, not a retry
		{"10.0.0.1:8080 : 10.0.0.9:80", "404 : 200", 0, ""},
		{"10.0.0.1:8080 : 10.0.0.9:80, 10.0.0.8:80", "404 : 502, 200", 1, "10.0.0.9:80"},
		{"[2a02:cf40::7]:5000, [2a02:cf40::4e36]:5000", "502, 502", 1, "[2a02:cf40::7]:5000"},
		{"unix:/run/app.sock, unix:/run/app2.sock", "-, 200", 1, "unix:/run/app.sock"},
		{", 10.0.0.2:8080", "", 0, ""}, // no address: no attempt
	} {
		n, first := retries([]byte(tc.addr), []byte(tc.status))
		if n != tc.n || string(first) != tc.first {
			t.Errorf("retries(%q, %q) = %d, %q; want %d, %q", tc.addr, tc.status, n, first, tc.n, tc.first)
		}
	}
}

func TestUAFamily(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)": "bot",
		"curl/8.4.0":                    "curl",
		"okhttp/4.12.0":                 "library",
		"MyShop/5.2 (iPhone; iOS 17.1)": "mobile-app",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148": "mobile-browser",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0":                                    "browser",
		"kube-probe/1.29": "monitoring",
		"-":               "none",
	} {
		if got := string(UAFamily(ua)); got != want {
			t.Errorf("UAFamily(%q) = %s, want %s", ua, got, want)
		}
	}
}

// TestUAProduct: the client software and its version, so that one failing
// release of an app (or one browser version) is one dimension value.
func TestUAProduct(t *testing.T) {
	for ua, want := range map[string]string{
		"ShopApp/5.2.0 (Android 14; Pixel 8)":          "ShopApp/5.2.0",
		"ShopApp/5.2.0 (iPhone; iOS 17.1; Scale/3.00)": "ShopApp/5.2.0",
		"ShopApp/512 CFNetwork/1410.0.3 Darwin/22.6.0": "ShopApp/512",
		"okhttp/4.12.0":          "okhttp/4.12.0",
		"curl/8.4.0":             "curl/8.4.0",
		"python-requests/2.31.0": "python-requests/2.31.0",
		"Dalvik/2.1.0 (Linux; U; Android 14; SM-S918B Build/UP1A)":                                                                                "Dalvik/2.1.0",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)":                                                                "Googlebot/2.1",
		"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)":                                                                 "bingbot/2.0",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36":                    "Chrome/120",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210":          "Edge/120",
		"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0":                                                                  "Firefox/121",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1": "Safari/17",
		"Mozilla/5.0 (Linux; Android 10; K; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.43 Mobile Safari/537.36":     "Chrome/120",
		"Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)":                                                                         "MSIE/8",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148":                                               "Mobile/15E148",
		"Mozilla/5.0":                      "other",
		"ShopApp/5.2.0+(iPhone;+iOS+17.1)": "ShopApp/5.2.0",
		"Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20Chrome/120.0": "Chrome/120",
		"-": "-",
		"":  "-",
	} {
		if got := UAProduct(ua); got != want {
			t.Errorf("UAProduct(%q) = %s, want %s", ua, got, want)
		}
	}
	if got := UAProduct(strings.Repeat("x", 200)); len(got) != 64 {
		t.Errorf("a 200-byte token gives %d bytes", len(got))
	}
}

func TestParseFormatErrors(t *testing.T) {
	for spec, want := range map[string]string{
		"":                    "empty log format",
		"apache":              "neither a preset",
		"$remote_addr$status": "nothing between them",
		"${remote_addr":       "unclosed",
	} {
		if _, err := ParseFormat(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFormat(%q) = %v, want %q", spec, err, want)
		}
	}
}

// TestUnwantedDerivedSkipped: a derived dimension the sink marked unwanted
// is left nil, the others are still computed, and raw fields are untouched.
func TestUnwantedDerivedSkipped(t *testing.T) {
	f, err := ParseFormat("combined")
	if err != nil {
		t.Fatal(err)
	}
	p := newParser(f, "access.log")
	line := []byte(`203.0.113.9 - - [20/Nov/2026:10:00:00 +0000] "GET /users/42?x=1 HTTP/1.1" 503 12 "-" "curl/8.4.0"`)
	if why := p.parse(line); why != "" {
		t.Fatal(why)
	}
	get := func(name string) string {
		v, _ := p.req.Lookup(name)
		return string(v)
	}
	if get("client_net") != "203.0.113.0/24" || get("path") != "/users/:id" {
		t.Fatalf("wanted values: client_net %q path %q", get("client_net"), get("path"))
	}
	for i := range p.req.Fields {
		switch p.req.Fields[i].Name {
		case "client_net", "client_net16", "path":
			p.req.Fields[i].Unwanted = true
		}
	}
	if why := p.parse(line); why != "" {
		t.Fatal(why)
	}
	for _, name := range []string{"client_net", "client_net16", "path"} {
		if v := get(name); v != "" {
			t.Errorf("%s = %q, want nil once unwanted", name, v)
		}
	}
	if get("ua_family") != "curl" || get("uri") != "/users/42?x=1" || get("status_class") != "5xx" {
		t.Errorf("wanted fields changed: ua_family %q uri %q status_class %q", get("ua_family"), get("uri"), get("status_class"))
	}
}

// TestDurationsAndAddresses: durations in the units proxies write them,
// and client addresses with their port dropped.
func TestDurationsAndAddresses(t *testing.T) {
	for _, tc := range []struct {
		v    string
		unit float64
		want float64
	}{
		{"0.012", 1, 0.012},
		{"12", 1e3, 0.012},              // Envoy's %DURATION%, Kong's latencies
		{"12345678", 1e9, 0.012345678},  // Traefik's Duration
		{"9.29675e-05", 1, 9.29675e-05}, // Go's encoding/json (Caddy)
		{"0.004912s", 1, 0.004912},      // Google Cloud's httpRequest.latency
		{"12ms", 1, 0.012},
		{"1.5 s", 1e3, 1.5}, // a written unit beats the key's
		{"-", 1, -1}, {"", 1, -1}, {"fast", 1, -1}, {"12parsecs", 1, -1},
	} {
		if got := jsonDuration([]byte(tc.v), tc.unit); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("jsonDuration(%q, %g) = %g, want %g", tc.v, tc.unit, got, tc.want)
		}
	}
	for in, want := range map[string]string{
		"10.0.0.1:51234": "10.0.0.1", "[2001:db8::1]:443": "2001:db8::1", "2001:db8::1": "2001:db8::1",
		"::ffff:10.0.0.1": "::ffff:10.0.0.1", "10.0.0.1": "10.0.0.1", "web-1:80": "web-1:80", "-": "-",
	} {
		if got := string(hostOnly([]byte(in))); got != want {
			t.Errorf("hostOnly(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"203.0.113.9, 10.0.0.2": "203.0.113.9", "-": "", "  198.51.100.4 ": "198.51.100.4",
	} {
		if got := string(firstForwarded([]byte(in))); got != want {
			t.Errorf("firstForwarded(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEnvoyFormatStrings: an Envoy format string, as written in the
// proxy's config, is a log format: operators become fields, headers are
// named as nginx names them, a length limit and a trailing \n are ignored.
func TestEnvoyFormatStrings(t *testing.T) {
	f, err := ParseFormat(`[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %REQ(X-REGION):8% %RESP(GRPC-STATUS)% %UPSTREAM_CLUSTER% %ROUTE_NAME%\n`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"status", "region", "sent_http_grpc_status", "upstream_name", "route_name", "method", "uri", "protocol"}
	if got := f.Fields(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("fields %v, want %v", got, want)
	}
	if _, err := ParseFormat("no operators here"); err == nil || !strings.Contains(err.Error(), "Envoy") {
		t.Errorf("a string with neither $variables nor %%OPERATORS%%: error %v", err)
	}
}

// TestControllerOwnLog: the output of kubectl logs on an ingress-nginx
// controller opens with its banner and start-up messages (klog) and
// interleaves nginx's error log with the access log — one error line per
// timed-out request during an incident. The format is still detected, the
// controller's own lines are skipped, not malformed, and the format is not
// called wrong.
func TestControllerOwnLog(t *testing.T) {
	access, err := os.ReadFile("testdata/golden/ingress-nginx.log")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("-------------------------------------------------------------------------------\nNGINX Ingress controller\n  Release:       v1.9.4\n  Build:         846d251814a09d8a5d8d28e2e604f7f5aa1b9f17\n-------------------------------------------------------------------------------\n\n")
	for i := 0; i < 80; i++ { // more start-up lines than detection samples
		fmt.Fprintf(&b, "I1120 11:48:%02d.%06d       7 controller.go:%d] \"Configuration changes detected, backend reload required\"\n", i%60, i, 100+i)
	}
	lines := bytes.Split(bytes.TrimSpace(access), []byte("\n"))
	for i, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
		if i%2 == 0 {
			fmt.Fprintf(&b, "2020/02/07 11:49:%02d [error] 31#31: *%d upstream timed out (110: Operation timed out) while reading response header from upstream, client: 192.168.64.1, server: _, request: \"GET /products HTTP/1.1\", upstream: \"http://172.17.0.5:8080/products\", host: \"web\"\n", i, 4500+i)
		}
		if i%5 == 0 {
			fmt.Fprintf(&b, "W1120 11:49:%02d.000001       7 controller.go:1112] Service \"default/web\" does not have any active Endpoint.\n", i)
		}
	}
	path := filepath.Join(t.TempDir(), "controller.log")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, st, err := scanAll(t, Options{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Formats["controller.log"] != "ingress-nginx" || len(recs) != len(lines) {
		t.Fatalf("format %q, %d requests: want ingress-nginx and the %d access lines", st.Formats["controller.log"], len(recs), len(lines))
	}
	wantSkipped := int64(5 + 80 + (len(lines)+1)/2 + (len(lines)+4)/5)
	if st.Skipped != wantSkipped || st.Malformed != 0 || st.FormatSuspect {
		t.Errorf("skipped %d (want %d), malformed %d, format suspect %v", st.Skipped, wantSkipped, st.Malformed, st.FormatSuspect)
	}
}

// TestContainerLogs reads access logs as a node or kubectl gives them:
// every line inside the container runtime's wrapper (CRI, Docker's
// json-file, kubectl logs --timestamps), with the proxy's error log on
// standard error between them. The requests must be the ones the bare log
// gives, the wrapper named, and the error log skipped, not malformed.
func TestContainerLogs(t *testing.T) {
	wrap := map[string]func(i int, stream, line string) string{
		"cri": func(i int, stream, line string) string {
			return fmt.Sprintf("2026-11-20T12:00:%02d.123456789Z %s F %s", i%60, stream, line)
		},
		"docker": func(i int, stream, line string) string {
			b, err := json.Marshal(struct {
				Log    string `json:"log"`
				Stream string `json:"stream"`
				Time   string `json:"time"`
			}{line + "\n", stream, fmt.Sprintf("2026-11-20T12:00:%02d.123456789Z", i%60)})
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		},
		"timestamps": func(i int, stream, line string) string {
			return fmt.Sprintf("2026-11-20T12:00:%02d.123456789+01:00 %s", i%60, line)
		},
	}
	errLine := `2026/11/20 12:00:01 [error] 31#31: *4501 upstream timed out (110: Operation timed out) while reading response header from upstream, client: 10.0.0.1, upstream: "http://10.1.2.3:8080/api", host: "shop"`
	for _, base := range []string{"ingress-nginx.log", "combined.log", "json-envoy.log", "istio.log"} {
		plainPath := filepath.Join("testdata/golden", base)
		want, wantSt, err := scanAll(t, Options{Paths: []string{plainPath}})
		if err != nil || len(want) == 0 {
			t.Fatalf("%s: %d requests, %v", base, len(want), err)
		}
		src, _ := os.ReadFile(plainPath)
		lines := strings.Split(strings.TrimSpace(string(src)), "\n")
		for kind, w := range wrap {
			var b strings.Builder
			stderr := int64(0)
			for i, l := range lines {
				b.WriteString(w(i, "stdout", l) + "\n")
				if kind != "timestamps" && i%3 == 0 {
					b.WriteString(w(i, "stderr", errLine) + "\n")
					stderr++
				}
			}
			dir := filepath.Join(t.TempDir(), kind)
			os.Mkdir(dir, 0o755)
			path := filepath.Join(dir, base)
			if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, format := range []string{"", wantSt.Formats[base]} {
				got, st, err := scanAll(t, Options{Paths: []string{path}, Format: format})
				if err != nil {
					t.Fatalf("%s in %s (format %q): %v", base, kind, format, err)
				}
				if st.Formats[base] != wantSt.Formats[base] || st.Containers[base] != kind {
					t.Errorf("%s in %s (format %q): read as %q in %q, want %q in %q", base, kind, format,
						st.Formats[base], st.Containers[base], wantSt.Formats[base], kind)
				}
				if st.Malformed != 0 || st.Skipped != stderr || len(got) != len(want) {
					t.Errorf("%s in %s (format %q): %d requests, %d malformed, %d skipped; want %d, 0, %d", base, kind, format,
						len(got), st.Malformed, st.Skipped, len(want), stderr)
					continue
				}
				for i := range want {
					gj, _ := json.Marshal(got[i])
					wj, _ := json.Marshal(want[i])
					if !bytes.Equal(gj, wj) {
						t.Errorf("%s in %s (format %q), request %d:\n got %s\nwant %s", base, kind, format, i, gj, wj)
						break
					}
				}
			}
		}
	}
}

// writeFile writes text to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestContainerEdges: a log_format that opens with the time is not a
// kubectl --timestamps wrapper; a line with no time of its own takes the
// runtime's; a piece of a line the runtime split is malformed and says why.
func TestContainerEdges(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string { return writeFile(t, dir, name, text) }
	const isoFirst = `$time_iso8601 $remote_addr "$request" $status $body_bytes_sent $request_time`
	var own, wrapped strings.Builder
	for i := 0; i < 10; i++ {
		l := fmt.Sprintf(`2026-11-20T12:00:%02d+00:00 10.0.0.%d "GET /a HTTP/1.1" 200 5 0.010`, i, i)
		own.WriteString(l + "\n")
		fmt.Fprintf(&wrapped, "2026-11-20T13:00:%02d.5Z %s\n", i, l)
	}
	recs, st, err := scanAll(t, Options{Paths: []string{write("iso.log", own.String())}, Format: isoFirst})
	if err != nil || len(recs) != 10 || st.Containers != nil || recs[0].Time != "2026-11-20T12:00:00Z" {
		t.Errorf("time-first format: %d requests, containers %v, first at %v, err %v; want 10 unwrapped from 12:00:00", len(recs), st.Containers, recs, err)
	}
	recs, st, err = scanAll(t, Options{Paths: []string{write("iso-ts.log", wrapped.String())}, Format: isoFirst})
	if err != nil || len(recs) != 10 || st.Containers["iso-ts.log"] != "timestamps" || recs[0].Time != "2026-11-20T12:00:00Z" {
		t.Errorf("time-first format under --timestamps: %d requests, containers %v, err %v", len(recs), st.Containers, err)
	}

	cri := "2026-11-20T12:00:00.5Z stdout F {\"status\":503,\"uri\":\"/pay\"}\n" +
		"2026-11-20T12:00:01.5Z stdout P {\"status\":200,\"uri\":\"/" + strings.Repeat("x", 100) + "\n" +
		"2026-11-20T12:00:01.5Z stdout F \"}\n" +
		"2026-11-20T12:00:02.5Z stdout F\n"
	recs, st, err = scanAll(t, Options{Paths: []string{write("untimed.log", cri)}, Format: "json"})
	if err != nil || len(recs) != 1 || recs[0].Time != "2026-11-20T12:00:00.5Z" || recs[0].Status != 503 {
		t.Fatalf("untimed JSON in CRI lines: %+v, %v; want one 503 at the runtime's time", recs, err)
	}
	if st.Malformed != 2 || st.Skipped != 1 || len(st.Samples) == 0 || !strings.Contains(st.Samples[0].Reason, "container runtime split") || st.Samples[0].Line != 2 {
		t.Errorf("split line: malformed %d, skipped %d, samples %+v; want 2 malformed (line 2 says the runtime split it), 1 empty skipped", st.Malformed, st.Skipped, st.Samples)
	}
}

// TestDockerLinesWrittenAgain: a json-file line a shipper wrote again,
// with spaces and its keys in another order, is still unwrapped.
func TestDockerLinesWrittenAgain(t *testing.T) {
	line := `{ "time": "2026-11-20T12:00:00Z", "attrs": {"tag": "x"}, "n": 1, "stream": "stderr", "log": "10.0.0.1 - - [20/Nov/2026:12:00:00 +0000] \"GET /a HTTP/1.1\" 503 0 \"-\" \"curl/8\"\n" }`
	var scratch []byte
	u, ok := containerDocker.unwrap([]byte(line), &scratch)
	if !ok || !u.stderr || u.partial || string(u.stamp) != "2026-11-20T12:00:00Z" ||
		string(u.line) != `10.0.0.1 - - [20/Nov/2026:12:00:00 +0000] "GET /a HTTP/1.1" 503 0 "-" "curl/8"` {
		t.Errorf("got %+v (%q), %v", u, u.line, ok)
	}
	for _, notDocker := range []string{`{"log":"x"}`, `{"status":200,"time":"2026-11-20T12:00:00Z"}`, `{"log":1,"time":"t"}`, `{"log":"x","time":"t"`} {
		if _, ok := containerDocker.unwrap([]byte(notDocker), &scratch); ok {
			t.Errorf("%s read as a json-file line", notDocker)
		}
	}
}

func TestContainerSource(t *testing.T) {
	for path, want := range map[string]string{
		"/var/log/pods/ingress-nginx_ingress-nginx-controller-7d9f-x2k4p_0b6c1e2a-1111-2222-3333-444455556666/controller/0.log":                    "ingress-nginx-controller-7d9f-x2k4p/controller",
		"/var/log/pods/ingress-nginx_ingress-nginx-controller-7d9f-x2k4p_0b6c1e2a-1111-2222-3333-444455556666/controller/0.log.20261120-120000.gz": "ingress-nginx-controller-7d9f-x2k4p/controller",
		"/var/log/containers/web-1_shop_nginx-0123.log": "web-1_shop_nginx-0123.log",
		"/tmp/0.log":                   "0.log",
		"/var/log/nginx/access.log.gz": "access.log",
	} {
		if got := containerSource(path); got != want {
			t.Errorf("containerSource(%s) = %q, want %q", path, got, want)
		}
	}
}

// TestErrorLogLines: what nginx's error log says about an upstream is
// counted by kind, upstream and minute; its local times take the access
// log's zone, or the container runtime's time when there is one.
func TestErrorLogLines(t *testing.T) {
	const pre = `2026/11/20 12:03:27 [error] 31#31: *4501 `
	const post = `, client: 10.0.0.1, server: _, request: "GET /api HTTP/1.1", upstream: "http://10.1.2.3:8080/api", host: "shop"`
	at := time.Date(2026, 11, 20, 12, 3, 0, 0, time.UTC).Unix()
	for _, tc := range []struct {
		line, stamp string
		offset      int
		kind, up    string
		minute      int64
	}{
		{pre + "upstream timed out (110: Operation timed out) while reading response header from upstream" + post, "", 0, "upstream timed out", "10.1.2.3:8080", at},
		{pre + "connect() failed (111: Connection refused) while connecting to upstream" + post, "", 3600, "connection refused", "10.1.2.3:8080", at - 3600},
		{pre + "connect() failed (113: No route to host) while connecting to upstream" + post, "2026-11-20T11:59:59.9Z", 0, "no route to host", "10.1.2.3:8080", at - 240},
		{pre + "recv() failed (104: Connection reset by peer) while reading response header from upstream" + post, "", 0, "connection reset", "10.1.2.3:8080", at},
		{pre + "upstream prematurely closed connection while reading response header from upstream" + post, "", 0, "upstream closed the connection", "10.1.2.3:8080", at},
		{`2026/11/20 12:03:27 [error] 31#31: *1 no live upstreams while connecting to upstream, client: 10.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "http://default-web-8080/", host: "web"`, "", 0, "no live upstreams", "default-web-8080", at},
		{pre + "upstream SSL certificate verify error: (10:certificate has expired) while SSL handshaking to upstream" + post, "", 0, "upstream certificate expired", "10.1.2.3:8080", at},
		{`2026/11/20 12:03:27 [warn] 31#31: *9 upstream server temporarily disabled while connecting to upstream` + post, "", 0, "upstream marked down (max_fails)", "10.1.2.3:8080", at},
		{`2026/11/20 12:03:27 [error] 31#31: *9 open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or directory), client: 10.0.0.1, server: _, request: "GET /favicon.ico HTTP/1.1"`, "", 0, "open()", "", at},
	} {
		e := newErrorLog()
		if !e.add([]byte(tc.line), []byte(tc.stamp), tc.offset) {
			t.Errorf("%s: not read as an error-log line", tc.line)
			continue
		}
		got := e.list()
		if len(got) != 1 || got[0].Kind != tc.kind || got[0].Upstream != tc.up || got[0].Minute != tc.minute || got[0].Count != 1 {
			t.Errorf("%s:\n got %+v\nwant %s from %q at minute %d", tc.line, got, tc.kind, tc.up, tc.minute)
		}
	}
	e := newErrorLog()
	for _, l := range []string{
		`2026/11/20 12:03:27 [warn] 31#31: *9 a client request body is buffered to a temporary file /tmp/1, client: 10.0.0.1`,
		`2026/11/20 12:03:27 [notice] 1#1: signal process started`,
	} {
		if !e.add([]byte(l), nil, 0) {
			t.Errorf("%s: not read as an error-log line", l)
		}
	}
	for _, l := range []string{`I1120 12:00:00.000000 7 controller.go:1] x`, `10.0.0.1 - - [20/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 5`} {
		if e.add([]byte(l), nil, 0) {
			t.Errorf("%s read as nginx's error log", l)
		}
	}
	if got := e.list(); len(got) != 0 {
		t.Errorf("notices and buffering warnings counted: %+v", got)
	}
}

// TestLongStartUp: a controller whose start-up lines fill more than the
// first 64 KiB — here 1 MiB, more than a chunk — (on standard error, in
// CRI lines) is still detected from the access lines after them.
func TestLongStartUp(t *testing.T) {
	access, err := os.ReadFile("testdata/golden/ingress-nginx.log")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 0; b.Len() < 1<<20; i++ { // past a 256 KiB chunk: the first one is read at 2 MiB
		fmt.Fprintf(&b, "2026-11-20T11:48:00.%09dZ stderr F I1120 11:48:00.%06d       7 store.go:%d] \"Found valid IngressClass\" ingress=\"shop/web-%d\"\n", i, i, 400+i, i)
	}
	lines := strings.Split(strings.TrimSpace(string(access)), "\n")
	for _, l := range lines {
		fmt.Fprintf(&b, "2026-11-20T11:49:00.000000001Z stdout F %s\n", l)
	}
	path := filepath.Join(t.TempDir(), "controller.log")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, st, err := scanAll(t, Options{Paths: []string{path}})
	if err != nil || st.Formats["controller.log"] != "ingress-nginx" || st.Containers["controller.log"] != "cri" || len(recs) != len(lines) || st.Malformed != 0 {
		t.Errorf("read as %q in %q: %d requests, %d malformed, %v; want ingress-nginx in cri, %d requests", st.Formats["controller.log"], st.Containers["controller.log"], len(recs), st.Malformed, err, len(lines))
	}
}
