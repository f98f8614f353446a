package prom

import (
	"context"
	"fmt"
	"github.com/sitrep-dev/sitrep/internal/testsrv/promtest"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

func TestClientQueryRange(t *testing.T) {
	var got http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got = *r
		w.Header().Set("Content-Type", "application/json")
		switch r.Form.Get("query") {
		case "bad(":
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"1:5: parse error: unclosed left parenthesis"}`)
		case "html":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>login</html>")
		default:
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"x"},"values":[[1732100000,"1"],[1732100015,"0"]]}]}}`)
		}
	}))
	defer srv.Close()

	var queries []Query
	c, err := NewClient(Options{URL: srv.URL + "/prom/", OnQuery: func(q Query) { queries = append(queries, q) }})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1732100000, 0)
	s, err := c.QueryRange(context.Background(), "up", start, start.Add(time.Minute), 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 1 || s[0].Points[1].V != 0 {
		t.Fatalf("series = %+v", s)
	}
	if got.URL.Path != "/prom/api/v1/query_range" || got.Form.Get("start") != "1732100000" || got.Form.Get("end") != "1732100060" || got.Form.Get("step") != "15" {
		t.Errorf("request = %s %v", got.URL.Path, got.Form)
	}
	_, err = c.QueryRange(context.Background(), "bad(", start, start.Add(time.Minute), 15*time.Second)
	if err == nil || !strings.Contains(err.Error(), "unclosed left parenthesis") || !strings.Contains(err.Error(), "HTTP 400") {
		t.Errorf("bad query: err = %v, want Prometheus' message", err)
	}
	_, err = c.QueryRange(context.Background(), "html", start, start.Add(time.Minute), 15*time.Second)
	if err == nil || !strings.Contains(err.Error(), "not a Prometheus API response") {
		t.Errorf("html answer: err = %v", err)
	}
	if len(queries) != 3 || queries[0].Query != "up" || queries[0].Series != 1 || queries[1].Err == nil {
		t.Errorf("OnQuery saw %+v", queries)
	}
	if _, err := c.QueryRange(context.Background(), "up", start, start, time.Second); err == nil {
		t.Error("empty range accepted")
	}
}

func TestNewClientValidates(t *testing.T) {
	for _, u := range []string{"", "localhost:9090", "ftp://x", "http://"} {
		if _, err := NewClient(Options{URL: u}); err == nil {
			t.Errorf("NewClient(%q) accepted", u)
		}
	}
}

func TestClientStep(t *testing.T) {
	c, _ := NewClient(Options{URL: "http://127.0.0.1:9"})
	for d, want := range map[time.Duration]time.Duration{time.Hour: 15 * time.Second, 6 * time.Hour: 30 * time.Second, 7 * 24 * time.Hour: 840 * time.Second} {
		if got := c.Step(Window{time.Unix(0, 0), time.Unix(0, 0).Add(d)}); got != want {
			t.Errorf("Step(%v) = %v, want %v", d, got, want)
		}
	}
}

// startPrometheus backfills the OpenMetrics text om into a TSDB with
// promtool, starts prometheus over it on a free loopback port and returns
// its URL.
func TestFetchFromRealPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real Prometheus")
	}
	const n = 41 // 10 minutes at 15s
	// A scenario: errors start half way on pod api-b; pool connections pinned.
	ok := counter(1000, 20, n)
	errs := make([]signal.Point, n)
	for i := range errs {
		v := 0.0
		if i > n/2 {
			v = float64(i-n/2) * 15 * 5 // 5/s after the midpoint
		}
		errs[i] = signal.Point{T: t0 + int64(i)*stepMS, V: v}
	}
	inUse := make([]float64, n)
	for i := range inUse {
		inUse[i] = math.Min(float64(5+i), 20)
	}
	raw := []signal.Series{
		ser("http_requests_total", ok, "code", "200", "pod", "api-a", "handler", "/api"),
		ser("http_requests_total", ok, "code", "200", "pod", "api-b", "handler", "/api"),
		ser("http_requests_total", errs, "code", "503", "pod", "api-b", "handler", "/api"),
		ser("go_sql_in_use_connections", gauge(inUse...), "pod", "api-b", "db_name", "shop"),
		ser("go_sql_max_open_connections", gauge(slicesRepeat(20, n)...), "pod", "api-b", "db_name", "shop"),
		ser("unrelated_metric", gauge(slicesRepeat(1, n)...)),
	}
	url := promtest.Start(t, promtest.OpenMetrics(raw))

	var logged []string
	c, err := NewClient(Options{URL: url, OnQuery: func(q Query) { logged = append(logged, q.Query) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w := Window{Start: time.UnixMilli(t0), End: time.UnixMilli(t0 + (n-1)*stepMS)}
	// Poll: a freshly started Prometheus may still be loading its blocks.
	var got []signal.Series
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err = c.Fetch(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) >= 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(logged) < len(DefaultCatalog().Metrics()) || logged[0] != "nginx_ingress_controller_requests" {
		t.Errorf("queries logged = %v", logged)
	}
	names := map[string]int{}
	for _, s := range got {
		names[s.Name]++
		if len(s.Points) != n {
			t.Errorf("%s%v: %d points, want %d", s.Name, s.Labels, len(s.Points), n)
		}
	}
	if names["http_requests_total"] != 3 || names["go_sql_in_use_connections"] != 1 || names["unrelated_metric"] != 0 {
		t.Fatalf("fetched = %v, want the 5 known series", names)
	}

	m := Derive(got, nil)
	ratio := one(t, m, RoleErrorRatio, map[string]string{"pod": "api-b"}).Points
	if first, ok := FirstCrossing(ratio, 0.1, time.Time{}); !ok || first.UnixMilli() != t0+(n/2+1)*stepMS {
		t.Errorf("error ratio on api-b first above 10%% at %v %v, want the step after the midpoint", first, ok)
	}
	if v := ratio[len(ratio)-1].V; !near(v, 5.0/25) {
		t.Errorf("final api-b error ratio = %v, want 0.2", v)
	}
	if r := one(t, m, RoleErrorRatio, map[string]string{"pod": "api-a"}).Points; r[len(r)-1].V != 0 {
		t.Errorf("api-a error ratio = %v, want 0", r[len(r)-1].V)
	}
	usage := one(t, m, RoleDBConnUsage, map[string]string{"pod": "api-b"}).Points
	if total, _, first := PinnedNear(usage, 1, 0.95, Window{}); first.UnixMilli() != t0+14*stepMS || total < 20*15*time.Second {
		t.Errorf("pool pinned from %v for %v, want from sample 14 for the rest of the window", first, total)
	}

	// A pushed-down query: Prometheus computes the rate itself.
	s, err := c.QueryRange(ctx, `sum(rate(http_requests_total{code="503"}[1m]))`, w.End.Add(-time.Minute), w.End, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 1 || math.Abs(s[0].Points[len(s[0].Points)-1].V-5) > 0.01 {
		t.Errorf("rate of 503s = %+v, want 5/s", s)
	}
	if _, err := c.QueryRange(ctx, `rate(http_requests_total[1m]`, w.Start, w.End, 15*time.Second); err == nil || !strings.Contains(err.Error(), "parse error") {
		t.Errorf("bad PromQL: err = %v, want Prometheus' parse error", err)
	}
}

func slicesRepeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}
