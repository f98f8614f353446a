package accesslog

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// extLines writes n lines of a preset's fields followed by tail(i).
func extLines(base string, n int, tail func(i int) string) [][]byte {
	var out [][]byte
	for i := range n {
		l := fmt.Sprintf(`203.0.113.%d - - [20/Nov/2026:12:00:%02d +0000] "GET /api/items/%d HTTP/1.1" %d 512`, 10+i, i, i, []int{200, 503, 200, 404}[i%4])
		if base == "combined" {
			l += ` "-" "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0"`
		}
		out = append(out, []byte(l+tail(i)))
	}
	return out
}

// TestExtend: fields a team appended to combined or common are read and
// named from their keys and values — the extended formats nginx's docs and
// NGINX Amplify publish among them — and lines that do not split the same
// way are left to the preset, flagged.
func TestExtend(t *testing.T) {
	up := func(i int) string { return fmt.Sprintf("10.0.%d.%d:8080", i%3, 10+i%5) }
	cases := []struct {
		name  string
		base  string
		tail  func(i int) string
		names []string // nil: not extended
	}{
		{"combined, time, upstream, status, a header", "combined",
			func(i int) string { return fmt.Sprintf(` 0.%03d %s %d "eu-%d"`, i*7, up(i), 200, i%2) },
			[]string{"request_time", "upstream_addr", "upstream_status", "extra_1"}},
		// The default "main" format of nginx's packages and image.
		{"nginx main", "combined",
			func(i int) string { return []string{` "-"`, ` "198.51.100.7, 10.1.0.4"`}[i%2] },
			[]string{"forwarded_for"}},
		{"nginx main, no proxy in front", "combined",
			func(int) string { return ` "-"` },
			[]string{"extra_1"}},
		// NGINX Amplify's main_ext (nginxinc/nginx-amplify-agent README).
		{"amplify main_ext", "combined",
			func(i int) string {
				return fmt.Sprintf(` "-" "shop.example.com" sn="shop.example.com" rt=0.%03d ua="%s" us="%d" ut="0.%03d" ul="%d" cs=%s`,
					i+5, up(i), 200, i+3, 300+i, []string{"-", "MISS", "HIT"}[i%3])
			},
			[]string{"extra_1", "host", "server_name", "request_time", "upstream_addr", "upstream_status", "upstream_response_time", "upstream_response_length", "cache_status"}},
		// NGINX's blog on logging for performance monitoring.
		{"nginx blog", "combined",
			func(i int) string {
				return fmt.Sprintf(` "-" rt=0.%03d uct="0.001" uht="0.%03d" urt="0.%03d"`, i+9, i+2, i+3)
			},
			[]string{"extra_1", "request_time", "upstream_connect_time", "upstream_header_time", "upstream_response_time"}},
		// Retried upstreams write lists; a request served without one "-".
		{"upstream lists", "combined",
			func(i int) string {
				if i%3 == 0 {
					return ` 0.000 - -`
				}
				return fmt.Sprintf(` 0.%03d %s, %s 0.%03d, 0.002`, i+20, up(i), up(i+1), i+10)
			},
			[]string{"request_time", "upstream_addr", "upstream_response_time"}},
		{"common and a time", "common",
			func(i int) string { return fmt.Sprintf(" 0.%03d", i) },
			[]string{"request_time"}},
		// $msec (epoch seconds) is no duration; a key keeps its name.
		{"epoch and unknown key", "combined",
			func(i int) string { return fmt.Sprintf(" 1763640000.%03d tier=gold", i) },
			[]string{"extra_1", "tier"}},
		{"columns differ between lines", "combined",
			func(i int) string { return strings.Repeat(" 0.001", 1+i%2) }, nil},
		{"a stray quote", "combined",
			func(int) string { return ` "unclosed` }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lines := extLines(tc.base, 12, tc.tail)
			d, err := Detect(lines)
			if err != nil {
				t.Fatal(err)
			}
			if d.Name != tc.base || d.ParsedShare != 1 {
				t.Fatalf("detected %s (%.2f), want %s", d.Name, d.ParsedShare, tc.base)
			}
			if !reflect.DeepEqual(d.Extended, tc.names) {
				t.Fatalf("extended with %q, want %q", d.Extended, tc.names)
			}
			if tc.names == nil {
				if !d.Extra {
					t.Error("extra fields not flagged")
				}
				if d.Format.Spec != Presets[tc.base] {
					t.Errorf("format changed: %s", d.Format.Spec)
				}
				return
			}
			if d.Extra || d.Ambiguous {
				t.Errorf("extended but flagged extra=%v ambiguous=%v", d.Extra, d.Ambiguous)
			}
			// The spec the note quotes reads the lines the same way.
			f, err := ParseFormat(d.Format.Spec)
			if err != nil {
				t.Fatal(err)
			}
			if n, exact := parseCounts(f, lines); n != len(lines) || exact != n {
				t.Errorf("the extended spec parses %d lines, %d whole, of %d", n, exact, len(lines))
			}
		})
	}
}

// TestExtendedLogRead: an extended combined log read without --log-format
// gives the triage what the appended fields hold: the request time, the
// upstream (and whether one was reached), the upstream status.
func TestExtendedLogRead(t *testing.T) {
	lines := extLines("combined", 40, func(i int) string {
		if i%4 == 1 {
			return ` 0.002 - - "eu"`
		}
		return fmt.Sprintf(` 0.%03d 10.0.0.%d:8080 200 "us"`, 100+i, i%3)
	})
	var b strings.Builder
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, st, err := scanAll(t, Options{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Malformed != 0 || len(recs) != 40 {
		t.Fatalf("%d requests, %d malformed", len(recs), st.Malformed)
	}
	if d := st.Detections["access.log"]; len(d.Extended) != 4 {
		t.Errorf("detection %+v", d)
	}
	r := recs[2] // 12:00:02, the third line
	if r.Duration != 0.102 || r.Fields["upstream"] != "10.0.0.2:8080" || r.Fields["upstream_status"] != "200" || r.Fields["extra_1"] != "us" {
		t.Errorf("line 3 read as %+v", r)
	}
	if r := recs[1]; r.Fields["no_upstream"] != "true" || r.Status != 503 {
		t.Errorf("line 2 (no upstream) read as %+v", r)
	}
}

func TestSplitExtra(t *testing.T) {
	for _, tc := range []struct {
		in   string
		vals []string // nil: refused
	}{
		{` 0.001 10.0.0.1:80, 10.0.0.2:80 : 10.0.1.1:80 "a b"`, []string{"0.001", "10.0.0.1:80, 10.0.0.2:80 : 10.0.1.1:80", "a b"}},
		{` [svc-a] k="x y" z=-`, []string{"svc-a", "x y", "-"}},
		{` "a \"q\" b"`, []string{`a \"q\" b`}},
		{`  two-spaces`, []string{"two-spaces"}},
		{`glued`, nil},
		{` "a"b`, nil},
		{` trailing `, nil},
		{` k=`, nil},
		{` [open`, nil},
	} {
		_, vals, ok := splitExtra([]byte(tc.in))
		if tc.vals == nil {
			if ok {
				t.Errorf("%q split into %q, want refused", tc.in, vals)
			}
			continue
		}
		if !ok || !reflect.DeepEqual(vals, tc.vals) {
			t.Errorf("%q split into %q (%v), want %q", tc.in, vals, ok, tc.vals)
		}
	}
}

// TestWrappedFormat: a log_format copied from a terminal that wrapped it
// (the report's note, nginx.conf's lines) reads as the one-line format.
func TestWrappedFormat(t *testing.T) {
	one := `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_addr`
	wrapped := "$remote_addr - $remote_user [$time_local] \"$request\" $status\r\n      $body_bytes_sent \"$http_referer\" \"$http_user_agent\"\n      $request_time $upstream_addr\n"
	conf := "log_format main '$remote_addr - $remote_user [$time_local] \"$request\" '\n    '$status $body_bytes_sent \"$http_referer\" '\n    '\"$http_user_agent\" $request_time $upstream_addr';"
	for _, s := range []string{wrapped, conf} {
		f, err := ParseFormat(s)
		if err != nil {
			t.Fatal(err)
		}
		if f.Spec != one {
			t.Errorf("%q read as\n%q, want\n%q", s, f.Spec, one)
		}
	}
}
