package accesslog

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestParseAllocatesNothingPerLine: once its caches hold a log's values, the
// parser reads every line of every golden format without allocating — the
// reader's speed and its bounded memory rest on it. (A conversion such as
// []byte("…") at a call that the compiler inlines into the per-line path
// can move to the heap; profile-guided builds did that once.)
func TestParseAllocatesNothingPerLine(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instruments allocations")
	}
	for _, tc := range []struct{ name, format string }{
		{"combined", "combined"},
		{"ingress-nginx", "ingress-nginx"},
		{"alb", "alb"},
		{"json", "json"},
		{"json-envoy", "json"},
		{"haproxy", "haproxy"},
		{"envoy", "envoy"},
		{"traefik", "traefik"},
		{"custom-upstreamlog", "@custom-upstreamlog.format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFormat(goldenFormat(t, tc.format))
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join("testdata/golden", tc.name+".log"))
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
			p := newParser(f, tc.name)
			parseAll := func() {
				for _, l := range lines {
					if why := p.parse(l); why != "" {
						t.Fatalf("%q: %s", l, why)
					}
				}
			}
			parseAll() // fill the caches (paths, upstreams, JSON keys)
			if n := testing.AllocsPerRun(20, parseAll); n != 0 {
				t.Errorf("%.1f allocations per pass over %d lines, want 0", n, len(lines))
			}
		})
	}
}
