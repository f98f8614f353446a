package accesslog

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sitrep-dev/sitrep/internal/keyindex"
	"github.com/sitrep-dev/sitrep/internal/signal"
)

func seedLines(f *testing.F, files ...string) {
	for _, name := range files {
		b, err := os.ReadFile(filepath.Join("testdata/golden", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range bytes.Split(b, []byte("\n")) {
			if len(l) > 0 {
				f.Add(string(l))
			}
		}
	}
}

// FuzzParseFormat: any log_format string either compiles or is rejected
// with an error; a compiled one parses any line without panicking.
func FuzzParseFormat(f *testing.F) {
	for _, p := range Presets {
		if p != "" {
			f.Add(p, `1.2.3.4 - - [20/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8"`)
		}
	}
	for _, n := range []string{"custom-ltsv.format", "custom-upstreamlog.format", "custom-json.format", "custom-envoy.format"} {
		b, _ := os.ReadFile(filepath.Join("testdata/golden", n))
		f.Add(string(b), "x")
	}
	f.Add("${a}-${b}", "1-2")
	f.Add("%START_TIME(%s.%3f)% %REQ(X-A):4% 100% %RESP(B)%", "1795176000.1 eu 100% x")
	f.Fuzz(func(t *testing.T, spec, line string) {
		fm, err := ParseFormat(spec)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		p := newParser(fm, "fuzz")
		if p.parse([]byte(line)) == "" {
			checkRequest(t, p)
		}
	})
}

func checkRequest(t *testing.T, p *parser) {
	t.Helper()
	if p.req.Status < 0 {
		t.Fatalf("negative status %d", p.req.Status)
	}
	if len(p.req.Fields) < nDerived {
		t.Fatalf("%d fields", len(p.req.Fields))
	}
	for _, fl := range p.req.Fields {
		if fl.Name == "" {
			t.Fatal("field without a name")
		}
		if fl.Key != 0 && fl.Key != keyindex.Of(fl.Value) {
			t.Fatalf("field %s = %q has key %x, not its keyindex.Of", fl.Name, fl.Value, fl.Key)
		}
	}
	// A retried request says where it first failed; no other does.
	if failed := p.req.Fields[dFailedUpstream].Value; p.req.Retries < 0 || (p.req.Retries > 0) != (failed != nil) {
		t.Fatalf("%d retries, failed upstream %q", p.req.Retries, failed)
	}
}

func fuzzPreset(f *testing.F, preset string, seeds ...string) {
	seedLines(f, seeds...)
	fm, err := ParseFormat(preset)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string) {
		p := newParser(fm, "fuzz")
		why := p.parse([]byte(line))
		if why != "" {
			if !utf8.ValidString(why) && utf8.ValidString(line) {
				t.Fatalf("reason is not valid UTF-8: %q", why)
			}
			return
		}
		checkRequest(t, p)
		// Parsing again gives the same result: no state leaks between lines.
		first := snapshot(p)
		p.parse([]byte("garbage"))
		p.parse([]byte(line))
		if second := snapshot(p); first != second {
			t.Fatalf("reparse differs:\n%s\n%s", first, second)
		}
	})
}

func snapshot(p *parser) string {
	var b strings.Builder
	b.WriteString(string(rune(p.req.Status)) + string(rune(p.req.Retries)))
	for _, f := range p.req.Fields {
		b.WriteString(f.Name + "=" + string(f.Value) + "\x00")
	}
	return b.String()
}

func FuzzCombined(f *testing.F) { fuzzPreset(f, "combined", "combined.log", "common.log") }
func FuzzVhostCombined(f *testing.F) {
	fuzzPreset(f, "vhost_combined", "vhost_combined.log", "combined.log")
}
func FuzzIngressNginx(f *testing.F) {
	fuzzPreset(f, "ingress-nginx", "ingress-nginx.log")
}
func FuzzALB(f *testing.F) { fuzzPreset(f, "alb", "alb.log") }
func FuzzJSON(f *testing.F) {
	fuzzPreset(f, "json", "json.log", "custom-json.log", "json-caddy.log", "json-cloudflare.log", "json-ecs.log",
		"json-envoy.log", "json-gcp.log", "json-kong.log", "json-traefik.log")
}
func FuzzIstio(f *testing.F)   { fuzzPreset(f, "istio", "istio.log", "envoy.log") }
func FuzzEnvoy(f *testing.F)   { fuzzPreset(f, "envoy", "envoy.log", "istio.log") }
func FuzzTraefik(f *testing.F) { fuzzPreset(f, "traefik", "traefik.log", "combined.log") }
func FuzzHAProxy(f *testing.F) { fuzzPreset(f, "haproxy", "haproxy.log") }
func FuzzLogfmt(f *testing.F) {
	fuzzPreset(f, "logfmt", "logfmt-heroku.log", "logfmt-slog.log", "combined.log")
}

// FuzzDetect: detection never panics and names a candidate it chose.
func FuzzDetect(f *testing.F) {
	seedLines(f, "combined.log", "alb.log", "json.log", "haproxy.log", "istio.log", "traefik.log", "json-envoy.log")
	f.Fuzz(func(t *testing.T, text string) {
		d, err := Detect(bytes.Split([]byte(text), []byte("\n")))
		if err != nil {
			return
		}
		if d.Format == nil || d.ParsedShare <= 0 || len(d.Candidates) == 0 || d.Candidates[0] != d.Name {
			t.Fatalf("detection %+v", d)
		}
		if len(d.Extended) > 0 {
			// The log_format the report quotes reads the lines whole.
			f, err := ParseFormat(d.Format.Spec)
			if err != nil {
				t.Fatalf("extended spec %q: %v", d.Format.Spec, err)
			}
			var lines [][]byte
			for _, l := range bytes.Split([]byte(text), []byte("\n")) {
				if len(l) > 0 {
					lines = append(lines, l)
				}
			}
			if n, exact := parseCounts(f, lines); float64(n) != d.ParsedShare*float64(len(lines)) || exact != n {
				t.Fatalf("extended spec %q parses %d lines, %d whole, of %d (share %.2f)", d.Format.Spec, n, exact, len(lines), d.ParsedShare)
			}
		}
	})
}

// FuzzSplitExtra: the columns split from any text put it back together
// exactly, and never hold a separator of their own.
func FuzzSplitExtra(f *testing.F) {
	f.Add(` 0.001 10.0.0.1:80, 10.0.0.2:80 : 10.0.1.1:80 "a b" [x] k="v" rt=0.1`)
	f.Add(` "a \"q\" b"`)
	f.Add(`  x=`)
	f.Fuzz(func(t *testing.T, text string) {
		cols, vals, ok := splitExtra([]byte(text))
		if !ok {
			return
		}
		var b strings.Builder
		for i, c := range cols {
			b.WriteString(c.sep)
			if strings.Trim(c.sep, " ") != "" && strings.Trim(c.sep, " ") != c.key+"=" {
				t.Fatalf("separator %q of key %q", c.sep, c.key)
			}
			switch c.quote {
			case '"':
				b.WriteString(`"` + vals[i] + `"`)
			case '[':
				b.WriteString("[" + vals[i] + "]")
			default:
				b.WriteString(vals[i])
			}
		}
		if b.String() != text {
			t.Fatalf("%q split into %+v %q, which give %q", text, cols, vals, b.String())
		}
	})
}

// FuzzContainer: taking any line out of any container wrapper never
// panics, and a line wrapped as the runtimes wrap it comes back whole.
func FuzzContainer(f *testing.F) {
	seedLines(f, "ingress-nginx.log", "json-envoy.log")
	f.Add(`2026-11-20T12:00:00.123456789Z stderr P x`)
	f.Add(`{"log":"a\"b\u003c\n","stream":"stdout","time":"2026-11-20T12:00:00Z"}`)
	f.Fuzz(func(t *testing.T, line string) {
		var scratch []byte
		for c := containerCRI; c <= containerTimestamps; c++ {
			c.unwrap([]byte(line), &scratch)
		}
		detectContainer([][]byte{[]byte(line)})
		if strings.ContainsAny(line, "\n\r") || !utf8.ValidString(line) {
			return
		}
		cri := "2026-11-20T12:00:00.123456789Z stdout F " + line
		if u, ok := containerCRI.unwrap([]byte(cri), &scratch); !ok || string(u.line) != line || u.stderr || u.partial {
			t.Fatalf("CRI: %+v, %v; want %q back", u, ok, line)
		}
		b, _ := json.Marshal(map[string]string{"log": line + "\n"})
		docker := strings.TrimSuffix(string(b), "}") + `,"stream":"stderr","time":"2026-11-20T12:00:00Z"}`
		if u, ok := containerDocker.unwrap([]byte(docker), &scratch); !ok || string(u.line) != line || !u.stderr || u.partial {
			t.Fatalf("Docker %s: %+v, %v; want %q back", docker, u, ok, line)
		}
	})
}

// FuzzErrorLog: any line read as nginx's error log is counted once, in a
// whole minute, under a kind.
func FuzzErrorLog(f *testing.F) {
	f.Add(`2026/11/20 12:03:27 [error] 31#31: *4501 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, upstream: "http://10.1.2.3:8080/api", host: "shop"`, "")
	f.Add(`2026/11/20 12:03:27 [crit] 1#1: *2 SSL_do_handshake() failed`, "2026-11-20T12:03:27.5Z")
	f.Fuzz(func(t *testing.T, line, stamp string) {
		e := newErrorLog()
		if !e.add([]byte(line), []byte(stamp), 3600) {
			return
		}
		var n int64
		for _, p := range e.list() {
			if p.Minute%60 != 0 || p.Kind == "" && !strings.Contains(line, "] ") {
				t.Fatalf("%+v from %q", p, line)
			}
			n += p.Count
		}
		if n > 1 {
			t.Fatalf("one line counted %d times", n)
		}
	})
}

// FuzzChunks: whatever the bytes and wherever the chunk boundaries fall,
// every non-empty line is read once — parsed or malformed — and a line
// longer than maxLine is one malformed line, plain or gzipped. Small
// chunks and a small maxLine put the boundaries inside the lines.
func FuzzChunks(f *testing.F) {
	f.Add([]byte("a\nbb\n\nccc"), uint8(0))
	f.Add([]byte(strings.Repeat("x", 300)+"\nshort\n"+strings.Repeat("y", 700)), uint8(3))
	f.Add([]byte("\r\n\r\nline\r\n"+strings.Repeat("z", 1000)+"\nend"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, shift uint8) {
		oldChunk, oldMax := chunkSize, maxLine
		chunkSize, maxLine = 16<<(shift%4), 512
		defer func() { chunkSize, maxLine = oldChunk, oldMax }()
		want := int64(0)
		for _, l := range bytes.Split(data, []byte{'\n'}) {
			if len(bytes.TrimSuffix(l, []byte{'\r'})) > 0 {
				want++
			}
		}
		path := filepath.Join(t.TempDir(), "access.log")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := Scan(context.Background(), Options{Paths: []string{path}, Format: "combined", Workers: 2}, func() signal.RequestSink { return discard{} })
		if err != nil {
			if want == 0 || bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
				return // an empty or binary file is refused, by design
			}
			t.Fatalf("scan: %v", err)
		}
		if st.Lines != want {
			t.Fatalf("%d lines read, want %d", st.Lines, want)
		}
	})
}

type discard struct{}

func (discard) Add(*signal.Request) {}
