package htmlreport

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testCase is one page the golden and structure tests render.
type testCase struct {
	name    string
	res     *triage.Result
	changes []signal.Change
	blamed  string // the change the page must highlight ("" for none)
	onset   bool   // whether the onset marker must be drawn
}

func cases() []testCase {
	full, fullCh := sampleResult()

	// No onset, no latency, no hypotheses: a quiet log.
	quiet, _ := sampleResult()
	quiet.Impact.Onset, quiet.Onset, quiet.Impact.Latency, quiet.Impact.Significant = nil, nil, nil, false
	quiet.Impact.ErrorRate, quiet.Impact.StatusCodes = 0.0031, map[string]int64{"500": 12}
	quiet.Findings, quiet.Hypotheses, quiet.Changes = nil, nil, nil
	quiet.Window.Baseline = triage.Span{}
	for i := range quiet.Series.Points {
		quiet.Series.Points[i].P50, quiet.Series.Points[i].P99 = nil, nil
		quiet.Series.Points[i].Errors = quiet.Series.Points[i].Requests / 300
	}

	// One bucket, one change, the onset on it.
	single, _ := sampleResult()
	single.Series.Points = single.Series.Points[45:46]
	single.Impact.Onset = tp(at(45))
	single.Window = triage.Window{Incident: triage.Span{Start: tp(at(45)), End: tp(at(46))}}
	singleCh := []signal.Change{{ID: "chg-7", Time: at(44.5), Kind: "deploy", Summary: "api v2.0.0"}}
	single.Changes = []triage.Change{{ID: "chg-7", Score: 0.7, Reasons: []string{"30s before the onset"}}}
	single.Hypotheses = []triage.Hypothesis{{Cause: "bad-deploy", Confidence: 0.6, ChangeID: sp("chg-7"), Summary: "v2.0.0 broke api"}}

	// Hundreds of changes: labels must thin out, every marker stays.
	many, _ := sampleResult()
	var manyCh []signal.Change
	for i := 0; i < 300; i++ {
		manyCh = append(manyCh, signal.Change{
			ID:      fmt.Sprintf("chg-%04d", i),
			Time:    at(float64(i) * 0.2),
			Kind:    signal.ChangeKinds[i%len(signal.ChangeKinds)],
			Summary: fmt.Sprintf("automated change %d", i),
		})
	}
	many.Changes = []triage.Change{{ID: "chg-0191", Score: 0.8, Reasons: []string{"1m before the onset"}}}
	many.Hypotheses[0].ChangeID = sp("chg-0191")
	many.Hypotheses = many.Hypotheses[:1]

	// Nothing failing with a 5xx, but a step in 401s found where they are.
	authStorm := *quiet
	login := triage.Finding{Dimension: "path", Value: "/api/login", Scope: map[string]string{"path": "/api/login"},
		ErrorShare: 1, TrafficShare: 0.13, ErrorRate: 0.69, BaselineErrorRate: fp(0), Lift: fp(7.8),
		Summary: "path=/api/login holds 100% of the 401 responses but 13% of the traffic; 69% of its requests get a 401 (0% before the onset)"}
	authStorm.ClientErrors = &triage.ClientErrorAnalysis{Onset: at(40), Share: 0.115, BaselineShare: 0.03, Expression: "status==401",
		Codes: map[string]int64{"401": 1770, "404": 531}, Findings: []triage.Finding{login}}

	// A latency-only incident: no error step, p99 up at the onset.
	slow, slowCh := sampleResult()
	slow.Onset = &triage.OnsetEvidence{Method: "latency", Before: 0.25, After: 1.3, Quantile: 0.99, BucketSeconds: 60}
	slow.Impact.ErrorRate, slow.Impact.Errors, slow.Findings = 0.003, 120, nil
	// The second pass found where the slow requests are.
	slowFinding := triage.Finding{Dimension: "upstream", Value: "10.0.3.7:8080", Scope: map[string]string{"upstream": "10.0.3.7:8080"},
		ErrorShare: 0.97, TrafficShare: 0.083, ErrorRate: 0.99, BaselineErrorRate: fp(0.002), Lift: fp(11.7),
		Summary: "upstream=10.0.3.7:8080 holds 97% of the slow requests but 8.3% of the traffic; 99% of its requests are slow (0.2% before the onset)"}
	slow.Slow = &triage.SlowAnalysis{Expression: "request_time>0.57", ThresholdSeconds: 0.57, Requests: 40000, SlowRequests: 3300,
		SlowRate: 0.0825, BaselineSlowRate: fp(0.001), Findings: []triage.Finding{slowFinding}}
	for i := range slow.Series.Points {
		slow.Series.Points[i].Errors = slow.Series.Points[i].Requests * 3 / 1000
	}

	return []testCase{
		{name: "latency", res: slow, changes: slowCh, blamed: "chg-2041", onset: true},
		{name: "incident", res: full, changes: fullCh, blamed: "chg-2041", onset: true},
		{name: "quiet", res: quiet, changes: fullCh[:2]},
		{name: "single-bucket", res: single, changes: singleCh, blamed: "chg-7", onset: true},
		{name: "many-changes", res: many, changes: manyCh, blamed: "chg-0191", onset: true},
		{name: "empty", res: &triage.Result{}},
		{name: "client-errors", res: &authStorm, changes: fullCh[:2]},
	}
}

func render(t testing.TB, res *triage.Result, changes []signal.Change) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, res, changes, Options{Title: "api: 5xx in eu", Now: time.Date(2026, 11, 20, 12, 5, 0, 0, time.UTC)}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			got := render(t, tc.res, tc.changes)
			path := filepath.Join("testdata", tc.name+".html")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the rendered page; run go test -update and review the diff", path)
			}
		})
	}
}

// TestStructure checks what a reader relies on: the page is well-formed,
// the SVG is valid XML, the onset is marked, every change has exactly one
// marker, the blamed change is highlighted, and nothing is fetched.
func TestStructure(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			page := render(t, tc.res, tc.changes)
			checkWellFormed(t, page)
			doc, err := html.Parse(bytes.NewReader(page))
			if err != nil {
				t.Fatal(err)
			}

			onsets := find(doc, func(n *html.Node) bool { return n.Data == "g" && hasClass(n, "onset") })
			if tc.onset && len(onsets) != 1 {
				t.Errorf("want one onset marker, got %d", len(onsets))
			}
			if !tc.onset && len(onsets) != 0 {
				t.Errorf("want no onset marker, got %d", len(onsets))
			}
			if tc.onset {
				want := "onset " + tc.res.Impact.Onset.UTC().Format("15:04:05")
				if !strings.Contains(text(onsets[0]), want) {
					t.Errorf("onset marker says %q, want %q", text(onsets[0]), want)
				}
			}

			markers := find(doc, func(n *html.Node) bool { return n.Data == "g" && hasClass(n, "chg-marker") })
			if len(markers) != len(tc.changes) {
				t.Errorf("want %d change markers (one per change), got %d", len(tc.changes), len(markers))
			}
			seen := map[string]int{}
			for _, m := range markers {
				seen[attr(m, "data-change-id")]++
				title := find(m, func(n *html.Node) bool { return n.Data == "title" })
				if len(title) != 1 {
					t.Errorf("marker %s has no <title> tooltip", attr(m, "data-change-id"))
				}
			}
			for _, c := range tc.changes {
				if seen[c.ID] != 1 {
					t.Errorf("change %s has %d markers, want 1", c.ID, seen[c.ID])
					continue
				}
				m := markers[0]
				for _, x := range markers {
					if attr(x, "data-change-id") == c.ID {
						m = x
					}
				}
				tip := text(m)
				for _, want := range []string{c.ID, c.Kind, c.Summary} {
					if !strings.Contains(tip, want) {
						t.Errorf("tooltip of %s is %q, missing %q", c.ID, tip, want)
					}
				}
			}

			blamed := find(doc, func(n *html.Node) bool { return n.Data == "g" && hasClass(n, "blamed") })
			switch {
			case tc.blamed == "" && len(blamed) != 0:
				t.Errorf("no change is blamed, but %d markers are highlighted", len(blamed))
			case tc.blamed != "" && len(blamed) != 1:
				t.Errorf("want exactly one highlighted change, got %d", len(blamed))
			case tc.blamed != "" && attr(blamed[0], "data-change-id") != tc.blamed:
				t.Errorf("highlighted change is %s, want %s", attr(blamed[0], "data-change-id"), tc.blamed)
			}

			// Self-contained: no scripts, no stylesheets, no fetched URLs.
			ext := find(doc, func(n *html.Node) bool {
				if n.Type != html.ElementNode {
					return false
				}
				if n.Data == "script" || n.Data == "link" || n.Data == "img" || n.Data == "iframe" {
					return true
				}
				return attr(n, "src") != "" || attr(n, "href") != ""
			})
			if len(ext) > 0 {
				t.Errorf("page is not self-contained: <%s> element", ext[0].Data)
			}
			if bytes.Contains(page, []byte("url(")) || bytes.Contains(page, []byte("@import")) {
				t.Error("CSS fetches a resource")
			}
		})
	}
}

// TestEscaping: text from logs and change events is shown, never run.
func TestEscaping(t *testing.T) {
	res, ch := sampleResult()
	page := render(t, res, ch)
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	if n := find(doc, func(n *html.Node) bool { return n.Data == "script" || (n.Data == "b" && text(n) == "bold?") }); len(n) > 0 {
		t.Fatalf("user text became a <%s> element", n[0].Data)
	}
	if !strings.Contains(text(doc), "<script>alert(1)</script>") || !strings.Contains(text(doc), "<b>bold?</b>") {
		t.Error("the finding summary with markup is not shown as text")
	}
}

// TestTruncation: long values are cut in the table and whole in the title.
func TestTruncation(t *testing.T) {
	res, ch := sampleResult()
	doc, err := html.Parse(bytes.NewReader(render(t, res, ch)))
	if err != nil {
		t.Fatal(err)
	}
	long := res.Findings[2].Value
	cut := find(doc, func(n *html.Node) bool { return hasClass(n, "trunc") && attr(n, "title") == long })
	if len(cut) != 1 {
		t.Fatalf("want the long user agent shortened once with its full text in title, got %d", len(cut))
	}
	if got := text(cut[0]); len([]rune(got)) > 48 || !strings.HasSuffix(got, "…") {
		t.Errorf("shortened text %q", got)
	}
}

// TestLabelsDoNotOverlap: with hundreds of changes the labels thin out.
func TestLabelsDoNotOverlap(t *testing.T) {
	c := cases()[4]
	ch, ok := buildChart(c.res, c.changes, c.blamed)
	if !ok {
		t.Fatal("no chart")
	}
	var xs []float64
	for _, m := range ch.Changes {
		if m.Label != "" {
			xs = append(xs, m.X)
		}
	}
	if len(xs) < 5 || ch.Hidden == 0 || len(xs)+ch.Hidden != len(c.changes) {
		t.Errorf("labelled %d, hidden %d of %d changes", len(xs), ch.Hidden, len(c.changes))
	}
	for i := range xs {
		for j := range i {
			if math.Abs(xs[i]-xs[j]) < labelGap {
				t.Fatalf("labels at x=%.1f and x=%.1f overlap", xs[i], xs[j])
			}
		}
	}
}

func TestTimeTicks(t *testing.T) {
	for _, tc := range []struct {
		span  time.Duration
		first string
		note  string
	}{
		{40 * time.Second, "11:00:05", "Time (UTC) · 2026-11-20"},
		{time.Hour, "11:10", "Time (UTC) · 2026-11-20"},
		{30 * time.Hour, "Nov 20 12:00", "Time (UTC)"},
		{90 * 24 * time.Hour, "Nov 23", "Time (UTC)"},
	} {
		r := timeRange{t0.Add(time.Second), t0.Add(time.Second + tc.span)}
		ticks, note := timeTicks(r)
		if len(ticks) < 3 || len(ticks) > 12 {
			t.Errorf("%v: %d ticks", tc.span, len(ticks))
			continue
		}
		if ticks[0].Label != tc.first || note != tc.note {
			t.Errorf("%v: first tick %q note %q, want %q %q", tc.span, ticks[0].Label, note, tc.first, tc.note)
		}
	}
}

func TestNilResult(t *testing.T) {
	if err := Write(io.Discard, nil, nil, Options{}); err == nil {
		t.Fatal("want an error for a nil result")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	res, ch := sampleResult()
	if err := Write(failWriter{}, res, ch, Options{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("want the writer's error, got %v", err)
	}
}

// checkWellFormed walks the tokens: every element that is opened is closed
// in order, and the SVG parses as strict XML.
func checkWellFormed(t testing.TB, page []byte) {
	t.Helper()
	void := map[string]bool{"meta": true, "br": true, "hr": true, "img": true, "input": true, "link": true}
	z := html.NewTokenizer(bytes.NewReader(page))
	var stack []string
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatalf("tokenize: %v", z.Err())
			}
			break
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken:
			if !void[tok.Data] {
				stack = append(stack, tok.Data)
			}
		case html.EndTagToken:
			if len(stack) == 0 || stack[len(stack)-1] != tok.Data {
				t.Fatalf("</%s> closes %v", tok.Data, stack)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		t.Fatalf("unclosed elements %v", stack)
	}
	s := string(page)
	for {
		i := strings.Index(s, "<svg")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], "</svg>")
		if j < 0 {
			t.Fatal("unterminated <svg>")
		}
		d := xml.NewDecoder(strings.NewReader(s[i : i+j+len("</svg>")]))
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("svg is not well-formed XML: %v", err)
			}
		}
		s = s[i+j:]
	}
}

func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(attr(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func TestDisplayPointsMerge(t *testing.T) {
	var in []triage.Bucket
	for i := 0; i < 600; i++ {
		in = append(in, triage.Bucket{Time: at(float64(i) / 10), Requests: 10, Errors: int64(i % 3), P50: fp(0.1), P99: fp(float64(i % 2))})
	}
	out, k := displayPoints(in, 240)
	if k != 3 || len(out) != 200 {
		t.Fatalf("merged %d buckets into %d points, want 3 into 200", k, len(out))
	}
	var req, errs int64
	for _, b := range out {
		req += b.Requests
		errs += b.Errors
	}
	if req != 6000 || errs != 600 {
		t.Errorf("merging lost counts: %d requests, %d errors", req, errs)
	}
	if *out[0].P50 != 0.1 || !out[0].Time.Equal(in[0].Time) {
		t.Errorf("first point %+v", out[0])
	}
}
