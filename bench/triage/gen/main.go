// Command gen writes the triage benchmark's input: N requests as an
// extended combined log (nginx "combined" plus
// ` $request_time $upstream_addr $upstream_status "$http_x_region"`) and the
// same requests as JSON lines.
//
// The traffic is deterministic for a given -seed: clients from a few
// thousand networks, three regions, a dozen upstream pods, templated paths
// with ids, browsers, bots and libraries. After -onset (a fraction of the
// run) the eu region is served by a stale endpoint: most of its requests
// fail with 502/504 and never reach an upstream ($upstream_addr "-"). That
// gives the triage engine something to find, at realistic proportions.
// With -incident slow-pod the incident is latency only: one us pod
// (10.1.0.10:8080) answers in 2–3 s from the onset, and nothing fails more.
//
// Usage:
//
//	go run ./bench/triage/gen -n 10000000 -out /tmp/sitrep-bench
//
// writes /tmp/sitrep-bench/access.log and /tmp/sitrep-bench/access.jsonl.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

func main() {
	n := flag.Int64("n", 1_000_000, "number of requests (lines) to write")
	out := flag.String("out", ".", "directory to write access.log and access.jsonl into")
	seed := flag.Uint64("seed", 1, "random seed; the same seed writes the same files")
	start := flag.String("start", "2026-11-20T11:00:00Z", "time of the first request (RFC 3339)")
	rate := flag.Float64("rate", 2000, "requests per second (spacing of the timestamps)")
	onset := flag.Float64("onset", 0.7, "fraction of the run after which region eu fails (0 or 1 = no incident)")
	formats := flag.String("formats", "combined,json", "which files to write: combined, json or both")
	incident := flag.String("incident", "stale-eu", "what happens at -onset: stale-eu (eu fails, no upstream) or slow-pod (one pod slow, no failures)")
	flag.Parse()

	t0, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen: -start: %v\n", err)
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
	wantC, wantJ := false, false
	switch *formats {
	case "combined":
		wantC = true
	case "json":
		wantJ = true
	case "combined,json", "json,combined", "both":
		wantC, wantJ = true, true
	default:
		fmt.Fprintf(os.Stderr, "gen: -formats %q: want combined, json or combined,json\n", *formats)
		os.Exit(2)
	}
	if *incident != "stale-eu" && *incident != "slow-pod" {
		fmt.Fprintf(os.Stderr, "gen: -incident %q: want stale-eu or slow-pod\n", *incident)
		os.Exit(2)
	}
	g := newGen(*seed, t0, *rate, *onset, *n)
	g.slowPod = *incident == "slow-pod"
	if err := g.run(*out, wantC, wantJ); err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
}

type gen struct {
	r       *rand.Rand
	t0      time.Time
	step    float64 // seconds between requests
	n       int64
	onsetAt int64
	slowPod bool // the incident is one slow pod instead of a stale eu endpoint

	nets      []string
	paths     []string
	uas       []string
	uaWeights []int
	upstreams map[string][]string
}

var regions = []string{"us", "eu", "ap"}

func newGen(seed uint64, t0 time.Time, rate, onset float64, n int64) *gen {
	g := &gen{
		r:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		t0:   t0,
		step: 1 / rate,
		n:    n,
	}
	g.onsetAt = n + 1
	if onset > 0 && onset < 1 {
		g.onsetAt = int64(float64(n) * onset)
	}
	for i := 0; i < 3000; i++ {
		g.nets = append(g.nets, fmt.Sprintf("%d.%d.%d.", 11+g.r.IntN(200), g.r.IntN(256), g.r.IntN(256)))
	}
	g.paths = []string{
		"/", "/api/v1/users/%d", "/api/v1/users/%d/orders", "/api/v1/orders/%d",
		"/api/v1/orders/%d/items/%d", "/api/v1/search?q=%x", "/static/app.%x.js",
		"/static/app.css", "/healthz", "/api/v1/cart", "/api/v1/checkout",
		"/api/v2/products/%d", "/api/v2/products/%d/reviews", "/login", "/logout",
		"/img/products/%d.jpg", "/favicon.ico",
	}
	g.uas = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"curl/8.5.0",
		"python-requests/2.32.3",
		"okhttp/4.12.0",
		"ShopApp/5.2.1 (iOS 17.6; iPhone15,2) CFNetwork/1496.0.7 Darwin/23.6.0",
	}
	g.uaWeights = []int{30, 15, 15, 12, 6, 4, 3, 5, 5, 5}
	g.upstreams = map[string][]string{}
	for ri, reg := range regions {
		for p := 0; p < 4; p++ {
			g.upstreams[reg] = append(g.upstreams[reg], fmt.Sprintf("10.%d.%d.%d:8080", ri+1, p/2, 10+p))
		}
	}
	return g
}

// request is one generated request.
type request struct {
	ns        int64
	client    []byte
	method    string
	uri       []byte
	status    int
	bytes     int
	referer   string
	ua        string
	rt        float64
	upstream  string
	upStatus  int
	region    string
	noUpstrem bool
}

func (g *gen) pick(weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	x := g.r.IntN(total)
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

func (g *gen) next(i int64, q *request) {
	q.ns = g.t0.UnixNano() + int64(float64(i)*g.step*1e9) + int64(g.r.IntN(1e6))
	q.client = append(q.client[:0], g.nets[g.r.IntN(len(g.nets))]...)
	q.client = strconv.AppendInt(q.client, int64(1+g.r.IntN(254)), 10)
	q.method = "GET"
	switch x := g.r.IntN(100); {
	case x < 12:
		q.method = "POST"
	case x < 14:
		q.method = "PUT"
	case x < 15:
		q.method = "DELETE"
	}
	p := g.paths[g.r.IntN(len(g.paths))]
	q.uri = q.uri[:0]
	for k := 0; k < len(p); k++ {
		if p[k] == '%' && k+1 < len(p) {
			switch p[k+1] {
			case 'd':
				q.uri = strconv.AppendInt(q.uri, int64(1+g.r.IntN(500000)), 10)
			case 'x':
				q.uri = strconv.AppendUint(q.uri, g.r.Uint64()&0xffffffffff, 16)
			}
			k++
			continue
		}
		q.uri = append(q.uri, p[k])
	}
	q.ua = g.uas[g.pick(g.uaWeights)]
	q.referer = "-"
	if g.r.IntN(3) == 0 {
		q.referer = "https://shop.example.com/"
	}
	q.region = regions[g.pick([]int{55, 30, 15})]
	ups := g.upstreams[q.region]
	q.upstream = ups[g.r.IntN(len(ups))]
	q.noUpstrem = false
	q.status = 200
	switch x := g.r.IntN(1000); {
	case x < 2:
		q.status = 500
	case x < 3:
		q.status = 503
	case x < 30:
		q.status = 404
	case x < 60:
		q.status = 304
	case x < 80:
		q.status = 302
	case x < 90:
		q.status = 201
	}
	q.upStatus = q.status
	q.rt = 0.002 + g.r.ExpFloat64()*0.04
	q.bytes = 200 + g.r.IntN(30000)
	if g.slowPod {
		if i >= g.onsetAt && q.upstream == g.upstreams["us"][0] {
			q.rt = 2 + g.r.Float64()
		}
		return
	}
	if i >= g.onsetAt && q.region == "eu" && g.r.IntN(100) < 92 {
		// Stale DNS: eu clients hit a decommissioned balancer that never
		// reaches an upstream.
		q.noUpstrem = true
		q.status = 502
		if g.r.IntN(4) == 0 {
			q.status = 504
			q.rt = 5 + g.r.Float64()
		} else {
			q.rt = 0.001 + g.r.Float64()*0.01
		}
		q.bytes = 150
	}
}

func (g *gen) run(dir string, wantC, wantJ bool) error {
	var fc, fj *os.File
	var wc, wj *bufio.Writer
	var err error
	if wantC {
		if fc, err = os.Create(filepath.Join(dir, "access.log")); err != nil {
			return err
		}
		defer fc.Close()
		wc = bufio.NewWriterSize(fc, 1<<20)
	}
	if wantJ {
		if fj, err = os.Create(filepath.Join(dir, "access.jsonl")); err != nil {
			return err
		}
		defer fj.Close()
		wj = bufio.NewWriterSize(fj, 1<<20)
	}
	var q request
	var line []byte
	var lastSec int64 = -1
	var tl, iso []byte
	for i := int64(0); i < g.n; i++ {
		g.next(i, &q)
		sec := q.ns / 1e9
		if sec != lastSec {
			t := time.Unix(sec, 0).UTC()
			tl = t.AppendFormat(tl[:0], "02/Jan/2006:15:04:05 -0700")
			lastSec = sec
		}
		if wc != nil {
			line = appendCombined(line[:0], &q, tl)
			if _, err := wc.Write(line); err != nil {
				return err
			}
		}
		if wj != nil {
			iso = time.Unix(0, q.ns).UTC().AppendFormat(iso[:0], "2006-01-02T15:04:05.000Z07:00")
			line = appendJSON(line[:0], &q, iso)
			if _, err := wj.Write(line); err != nil {
				return err
			}
		}
	}
	for _, w := range []*bufio.Writer{wc, wj} {
		if w != nil {
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
	for _, f := range []*os.File{fc, fj} {
		if f != nil {
			if err := f.Close(); err != nil {
				return err
			}
		}
	}
	return nil
}

func appendCombined(b []byte, q *request, tl []byte) []byte {
	b = append(b, q.client...)
	b = append(b, " - - ["...)
	b = append(b, tl...)
	b = append(b, "] \""...)
	b = append(b, q.method...)
	b = append(b, ' ')
	b = append(b, q.uri...)
	b = append(b, " HTTP/1.1\" "...)
	b = strconv.AppendInt(b, int64(q.status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(q.bytes), 10)
	b = append(b, " \""...)
	b = append(b, q.referer...)
	b = append(b, "\" \""...)
	b = append(b, q.ua...)
	b = append(b, "\" "...)
	b = strconv.AppendFloat(b, q.rt, 'f', 3, 64)
	b = append(b, ' ')
	if q.noUpstrem {
		b = append(b, "- - \""...)
	} else {
		b = append(b, q.upstream...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(q.upStatus), 10)
		b = append(b, " \""...)
	}
	b = append(b, q.region...)
	b = append(b, "\"\n"...)
	return b
}

func appendJSON(b []byte, q *request, iso []byte) []byte {
	b = append(b, `{"time":"`...)
	b = append(b, iso...)
	b = append(b, `","remote_addr":"`...)
	b = append(b, q.client...)
	b = append(b, `","method":"`...)
	b = append(b, q.method...)
	b = append(b, `","uri":"`...)
	b = append(b, q.uri...)
	b = append(b, `","protocol":"HTTP/1.1","status":`...)
	b = strconv.AppendInt(b, int64(q.status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, int64(q.bytes), 10)
	b = append(b, `,"referer":"`...)
	b = append(b, q.referer...)
	b = append(b, `","user_agent":"`...)
	b = append(b, q.ua...)
	b = append(b, `","request_time":`...)
	b = strconv.AppendFloat(b, q.rt, 'f', 3, 64)
	if q.noUpstrem {
		b = append(b, `,"upstream_addr":"-","upstream_status":"-"`...)
	} else {
		b = append(b, `,"upstream_addr":"`...)
		b = append(b, q.upstream...)
		b = append(b, `","upstream_status":"`...)
		b = strconv.AppendInt(b, int64(q.upStatus), 10)
		b = append(b, '"')
	}
	b = append(b, `,"region":"`...)
	b = append(b, q.region...)
	b = append(b, "\"}\n"...)
	return b
}
