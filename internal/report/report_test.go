package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/triage"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The inputs are the triage engine's golden results.
var cases = []string{"stale-endpoint", "p2p-bitrate", "noise", "slow-node", "login-401", "quiet-pod"}

func load(t *testing.T, name string) *triage.Result {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "triage", "testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var r triage.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs; got:\n%s", path, got)
	}
}

func TestText(t *testing.T) {
	for _, name := range cases {
		t.Run(name, func(t *testing.T) {
			r := load(t, name)
			var buf bytes.Buffer
			if err := Text(&buf, r, TextOptions{Width: 100}); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(buf.String(), "\x1b[") {
				t.Error("colour codes without Color")
			}
			for i, line := range strings.Split(buf.String(), "\n") {
				if n := len([]rune(line)); n > 100 {
					t.Errorf("line %d is %d columns wide: %q", i+1, n, line)
				}
			}
			if n := strings.Count(buf.String(), "\n"); n > 40 {
				t.Errorf("report is %d lines long; it should fit one screen", n)
			}
			golden(t, name+".txt", buf.Bytes())
		})
	}
}

func TestTextColor(t *testing.T) {
	var buf bytes.Buffer
	if err := Text(&buf, load(t, "stale-endpoint"), TextOptions{Width: 100, Color: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), ansiRed) {
		t.Error("no colour with Color set")
	}
}

func TestMarkdown(t *testing.T) {
	for _, name := range cases {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Markdown(&buf, load(t, name)); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".md", buf.Bytes())
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := load(t, "p2p-bitrate")
	var buf bytes.Buffer
	if err := JSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join("..", "triage", "testdata", "p2p-bitrate.json"))
	if !bytes.Equal(want, buf.Bytes()) {
		t.Error("JSON output differs from the engine's result")
	}
}

// TestTextHypotheses: hypotheses from a later stage are shown — the leading
// one in full (evidence, against, blamed change, checks, containment with
// its risk), the others in a line — within the width.
func TestTextHypotheses(t *testing.T) {
	r := load(t, "stale-endpoint")
	id := "chg-2041"
	long := strings.Repeat("a long piece of evidence that goes on ", 6)
	for i := 0; i < 5; i++ {
		r.Hypotheses = append(r.Hypotheses, triage.Hypothesis{
			Cause: "dns-stale-cache", Confidence: 0.9 - float64(i)/10, Summary: "clients on a cached answer reach the old endpoint; " + long,
			ChangeID: &id, Evidence: []string{long}, Against: []string{"the old TTL was short"}, Checks: []string{"dig @1.1.1.1 api.example.com A " + long},
			Containment: []triage.Containment{{Action: "keep the old endpoint serving " + long, Risk: "low " + long}},
		})
	}
	r.Changes = []triage.Change{{ID: id, Score: 0.9, Reasons: []string{"happened 60 min before the onset"}}}
	var buf bytes.Buffer
	if err := Text(&buf, r, TextOptions{Width: 100}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"Most likely cause", "1. dns-stale-cache (90%)", "evidence", "against", "- the old TTL was short",
		"blamed change", "chg-2041: happened 60 min before the onset", "- dig @1.1.1.1", "- keep the old endpoint", "— risk:",
		"Other hypotheses", "2. dns-stale-cache (80%)", "(+1 more"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	for i, line := range strings.Split(out, "\n") {
		if n := len([]rune(line)); n > 100 {
			t.Errorf("line %d is %d columns wide: %q", i+1, n, line)
		}
	}
	buf.Reset()
	if err := Markdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "- check: `dig @1.1.1.1") {
		t.Errorf("markdown lacks the check:\n%s", buf.String())
	}
}

// TestRetriesHeadline: when the failures are retried attempts the client
// never saw, the headline says so instead of "Errors up", and Markdown
// names what stepped at the onset.
func TestRetriesHeadline(t *testing.T) {
	r := load(t, "quiet-pod")
	if r.Onset == nil || r.Impact.Onset == nil {
		t.Fatal("the quiet-pod result has no onset")
	}
	r.Onset.Method, r.Onset.Scope = "retries", nil
	r.Inputs.Error = triage.RetryErrorExpr
	if h := headline(r); !strings.HasPrefix(h, "Upstream failures hidden by retries since ") || strings.Contains(h, "of errors") {
		t.Errorf("headline %q", h)
	}
	var buf bytes.Buffer
	if err := Markdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "(requests retried after a failed upstream attempt ") {
		t.Errorf("markdown onset line does not say what stepped:\n%s", buf.String())
	}
}

// TestInputsLine: the line that says what was read names each format once,
// with the container wrapper its lines came in, and the skipped lines.
func TestInputsLine(t *testing.T) {
	in := triage.Inputs{Lines: 1200, Malformed: 3, Skipped: 40, Sources: []string{"a/controller", "b/controller", "alb.log"},
		Formats:    map[string]string{"a/controller": "ingress-nginx", "b/controller": "ingress-nginx", "alb.log": "alb"},
		Containers: map[string]string{"a/controller": "cri", "b/controller": "cri"}}
	want := "read 1,200 lines (3 malformed, 40 of the proxy's own log skipped) from a/controller, b/controller, alb.log; format ingress-nginx in CRI container lines, alb"
	if got := inputsLine(in); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestProxyErrorTable: the proxy's error log is a table in the text and
// Markdown reports, a row per upstream that stands out and one for a kind
// spread thin.
func TestProxyErrorTable(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC)
	r := &triage.Result{Window: triage.Window{Incident: triage.Span{Start: &at, End: &at}, Baseline: triage.Span{Start: &at, End: &at}},
		ProxyErrors: []triage.ProxyErrorSummary{
			{Kind: "connection refused", Upstream: "10.44.2.31:8080", Upstreams: 1, Incident: 1002, IncidentPerMinute: 11.1, First: at},
			{Kind: "upstream timed out", Upstreams: 9, Incident: 14, IncidentPerMinute: 0.16, BaselinePerMinute: 0.05, First: at},
		}}
	var text, md bytes.Buffer
	if err := Text(&text, r, TextOptions{Width: 100}); err != nil {
		t.Fatal(err)
	}
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^KIND +UPSTREAM +INCIDENT +PER MIN +BASELINE PER MIN +FIRST$`),
		regexp.MustCompile(`(?m)^connection refused +10\.44\.2\.31:8080 +1,002 +11 +0 +10:30$`),
		regexp.MustCompile(`(?m)^upstream timed out +9 upstreams +14 +0\.2 +<0\.1 +10:30$`),
	} {
		if !want.MatchString(text.String()) {
			t.Errorf("text report lacks %s:\n%s", want, text.String())
		}
	}
	if !strings.Contains(md.String(), "| connection refused | 10.44.2.31:8080 | 1,002 | 11 | 0 | 10:30 |") {
		t.Errorf("Markdown report lacks the row:\n%s", md.String())
	}
}

// TestSpreadHeadline: a best finding holding under a fifth of the errors
// is named as the largest group of errors that are spread, not as where
// they are; the wall of the failures' latency has its line in the text
// and Markdown reports.
func TestSpreadHeadline(t *testing.T) {
	r := load(t, "stale-endpoint")
	if len(r.Findings) == 0 {
		t.Fatal("the stale-endpoint result has no finding")
	}
	if h := headline(r); strings.Contains(h, "spread") || !strings.Contains(h, " holds ") {
		t.Errorf("a finding holding %.0f%% of the errors: headline %q", r.Findings[0].ErrorShare*100, h)
	}
	r.Findings[0].ErrorShare = 0.064
	if h, want := headline(r), "; errors are spread: the largest group, "+scopeText(r.Findings[0].Dimension, r.Findings[0].Value)+", holds 6.40%"; !strings.HasSuffix(h, want) {
		t.Errorf("headline %q, want it to end %q", h, want)
	}
	r.Impact.Timeout = &triage.Timeout{Seconds: 15, Share: 0.9959, Failures: 964}
	var text, md bytes.Buffer
	if err := Text(&text, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "timeout              964 failing requests (99%) ended at ~15s\n") {
		t.Errorf("text report lacks the timeout line:\n%s", text.String())
	}
	if !strings.Contains(md.String(), "| Timeout | 964 failing requests (99%) ended at ~15s | |") {
		t.Errorf("Markdown lacks the timeout row:\n%s", md.String())
	}
}
