package lab

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

const (
	appAPI = iota
	appWeb
)

// route is one endpoint of the product: how clients call it and how it
// behaves when healthy.
type route struct {
	method string
	// tmpl is the path template; {name} parts are filled per request.
	tmpl  string
	parts []tmplPart
	app   int
	// lat is the median latency in seconds and sigma the log-normal spread.
	lat, sigma float64
	// size is the median response body in bytes.
	size    float64
	ok      int     // the usual success status
	e4      float64 // share of client errors
	e4codes []int
	db      bool // needs the database
	idx     int
	// per client kind, how often that kind calls it
	weights [numKinds]float64
	reqBody int
	static  bool
	// dep is the downstream service the endpoint calls on every request,
	// if any (set from dependencies).
	dep *dependency
}

// dependency is a service outside this system that some api endpoints call
// synchronously: a payment provider, a search cluster, an identity
// provider. Its calls show in the api pods' outbound request metrics
// (OpenTelemetry's http.client.request.duration, as Prometheus exposes it).
type dependency struct {
	name   string // what the team calls it
	host   string // server.address
	method string // the call's HTTP method
	routes []string
}

// dependencies the api calls. Their names are not among otherServices: no
// change in the change log is about them.
var dependencies = []*dependency{
	{name: "paygate", host: "api.paygate.example", method: "POST", routes: []string{"POST /api/v1/orders"}},
	{name: "opensearch", host: "opensearch-catalog.prod.internal", method: "POST", routes: []string{"GET /api/v1/search?q={q}"}},
	{name: "idp", host: "login.idprovider.example", method: "POST", routes: []string{"POST /api/v1/auth/token", "POST /api/v1/auth/refresh"}},
}

func init() {
	for _, d := range dependencies {
		for _, name := range d.routes {
			found := false
			for _, r := range routes {
				if r.method+" "+r.tmpl == name {
					r.dep, found = d, true
				}
			}
			if !found {
				panic("lab: dependency " + d.name + ": no route " + name)
			}
		}
	}
}

type tmplPart struct {
	lit string
	ph  string
}

// routes of the product. Weights are per client kind; latencies and sizes
// are those of a healthy day.
var routes = []*route{
	// API (api.example.com, and /api from the browser through www)
	{method: "GET", tmpl: "/api/v1/users/{uid}", app: appAPI, lat: 0.014, sigma: 0.5, size: 820, ok: 200, e4: 0.012, e4codes: []int{404, 401}, db: true, weights: w(6, 8, 10, 0, 0, 0)},
	{method: "GET", tmpl: "/api/v1/users/{uid}/orders", app: appAPI, lat: 0.038, sigma: 0.6, size: 4200, ok: 200, e4: 0.01, e4codes: []int{401, 403}, db: true, weights: w(4, 7, 9, 0, 0, 0)},
	{method: "GET", tmpl: "/api/v1/orders/{oid}", app: appAPI, lat: 0.022, sigma: 0.5, size: 1900, ok: 200, e4: 0.02, e4codes: []int{404, 403}, db: true, weights: w(2, 4, 8, 0, 0, 0)},
	{method: "POST", tmpl: "/api/v1/orders", app: appAPI, lat: 0.12, sigma: 0.5, size: 640, ok: 201, e4: 0.04, e4codes: []int{400, 422, 409}, db: true, weights: w(1, 1.5, 4, 0, 0, 0), reqBody: 900},
	{method: "GET", tmpl: "/api/v1/products?page={page}&limit=24", app: appAPI, lat: 0.031, sigma: 0.45, size: 14500, ok: 200, e4: 0.002, e4codes: []int{400}, db: true, weights: w(5, 9, 6, 0, 0, 0)},
	{method: "GET", tmpl: "/api/v1/products/{pid}", app: appAPI, lat: 0.011, sigma: 0.5, size: 2600, ok: 200, e4: 0.015, e4codes: []int{404}, db: true, weights: w(7, 10, 5, 0, 0, 0)},
	{method: "GET", tmpl: "/api/v1/search?q={q}", app: appAPI, lat: 0.085, sigma: 0.6, size: 9800, ok: 200, e4: 0.004, e4codes: []int{400}, db: true, weights: w(4, 6, 2, 0, 0, 0)},
	{method: "GET", tmpl: "/api/v1/cart", app: appAPI, lat: 0.018, sigma: 0.45, size: 1300, ok: 200, e4: 0.01, e4codes: []int{401}, db: true, weights: w(4, 5, 0.5, 0, 0, 0)},
	{method: "POST", tmpl: "/api/v1/cart/items", app: appAPI, lat: 0.042, sigma: 0.5, size: 1350, ok: 201, e4: 0.02, e4codes: []int{400, 409}, db: true, weights: w(1.5, 2, 0.2, 0, 0, 0), reqBody: 160},
	{method: "DELETE", tmpl: "/api/v1/cart/items/{iid}", app: appAPI, lat: 0.03, sigma: 0.5, size: 0, ok: 204, e4: 0.03, e4codes: []int{404}, db: true, weights: w(0.4, 0.5, 0, 0, 0, 0)},
	{method: "POST", tmpl: "/api/v1/auth/token", app: appAPI, lat: 0.09, sigma: 0.35, size: 1100, ok: 200, e4: 0.09, e4codes: []int{401, 400, 429}, db: true, weights: w(0.5, 1, 2, 0, 0, 0), reqBody: 210},
	{method: "POST", tmpl: "/api/v1/auth/refresh", app: appAPI, lat: 0.028, sigma: 0.4, size: 950, ok: 200, e4: 0.03, e4codes: []int{401}, db: true, weights: w(0.5, 2.5, 1, 0, 0, 0), reqBody: 480},
	{method: "GET", tmpl: "/api/v1/feed?cursor={cursor}", app: appAPI, lat: 0.062, sigma: 0.55, size: 22000, ok: 200, e4: 0.003, e4codes: []int{400}, db: true, weights: w(0, 8, 0, 0, 0, 0)},
	{method: "GET", tmpl: "/api/v1/notifications?since={ts}", app: appAPI, lat: 0.016, sigma: 0.5, size: 700, ok: 200, e4: 0.01, e4codes: []int{401}, db: true, weights: w(1.5, 5, 0, 0, 0, 0)},
	{method: "PUT", tmpl: "/api/v1/users/{uid}/preferences", app: appAPI, lat: 0.034, sigma: 0.4, size: 0, ok: 204, e4: 0.03, e4codes: []int{400, 403}, db: true, weights: w(0.2, 0.5, 0.5, 0, 0, 0), reqBody: 240},
	{method: "GET", tmpl: "/api/v2/recommendations?user_id={uid}&limit=12", app: appAPI, lat: 0.15, sigma: 0.5, size: 6400, ok: 200, e4: 0.002, e4codes: []int{400}, db: true, weights: w(2, 4, 0.5, 0, 0, 0)},
	{method: "POST", tmpl: "/api/v1/events", app: appAPI, lat: 0.006, sigma: 0.4, size: 0, ok: 202, e4: 0.005, e4codes: []int{400, 413}, db: false, weights: w(3, 9, 0, 0, 0, 0), reqBody: 2200},
	{method: "GET", tmpl: "/api/healthz", app: appAPI, lat: 0.0012, sigma: 0.3, size: 15, ok: 200, db: false, weights: w(0, 0, 0.3, 0, 0, 4)},
	// Web front end (www.example.com)
	{method: "GET", tmpl: "/", app: appWeb, lat: 0.055, sigma: 0.45, size: 48000, ok: 200, weights: w(4, 0, 0, 2, 0.5, 4)},
	{method: "GET", tmpl: "/products/{slug}", app: appWeb, lat: 0.07, sigma: 0.5, size: 61000, ok: 200, e4: 0.02, e4codes: []int{404}, weights: w(8, 0, 0, 12, 0, 0)},
	{method: "GET", tmpl: "/category/{cat}?page={page}", app: appWeb, lat: 0.08, sigma: 0.5, size: 72000, ok: 200, e4: 0.005, e4codes: []int{404}, weights: w(4, 0, 0, 6, 0, 0)},
	{method: "GET", tmpl: "/search?q={q}", app: appWeb, lat: 0.095, sigma: 0.55, size: 58000, ok: 200, weights: w(3, 0, 0, 0.5, 0, 0)},
	{method: "GET", tmpl: "/cart", app: appWeb, lat: 0.04, sigma: 0.4, size: 31000, ok: 200, weights: w(2, 0, 0, 0, 0, 0)},
	{method: "GET", tmpl: "/checkout", app: appWeb, lat: 0.075, sigma: 0.4, size: 36000, ok: 200, e4: 0.01, e4codes: []int{302}, weights: w(0.8, 0, 0, 0, 0, 0)},
	{method: "POST", tmpl: "/login", app: appWeb, lat: 0.11, sigma: 0.35, size: 0, ok: 302, e4: 0.12, e4codes: []int{401, 429}, weights: w(0.5, 0, 0, 0, 0.5, 0), reqBody: 120},
	{method: "GET", tmpl: "/account/orders", app: appWeb, lat: 0.06, sigma: 0.45, size: 39000, ok: 200, e4: 0.02, e4codes: []int{302}, weights: w(1, 0, 0, 0, 0, 0)},
	{method: "GET", tmpl: "/static/js/main.{bundle}.js", app: appWeb, lat: 0.0018, sigma: 0.5, size: 412000, ok: 200, weights: w(6, 0, 0, 0.5, 0, 0), static: true},
	{method: "GET", tmpl: "/static/js/vendor.{bundle2}.chunk.js", app: appWeb, lat: 0.0021, sigma: 0.5, size: 688000, ok: 200, weights: w(5, 0, 0, 0.3, 0, 0), static: true},
	{method: "GET", tmpl: "/static/css/main.{bundle3}.css", app: appWeb, lat: 0.0012, sigma: 0.5, size: 54000, ok: 200, weights: w(6, 0, 0, 0.5, 0, 0), static: true},
	{method: "GET", tmpl: "/static/img/{img}.webp", app: appWeb, lat: 0.0015, sigma: 0.6, size: 38000, ok: 200, e4: 0.004, e4codes: []int{404}, weights: w(9, 0, 0, 2, 0, 0), static: true},
	{method: "GET", tmpl: "/favicon.ico", app: appWeb, lat: 0.0009, sigma: 0.3, size: 15086, ok: 200, weights: w(1, 0, 0, 0.5, 0.5, 0), static: true},
	{method: "GET", tmpl: "/robots.txt", app: appWeb, lat: 0.0008, sigma: 0.3, size: 412, ok: 200, weights: w(0, 0, 0, 2, 1, 0), static: true},
	{method: "GET", tmpl: "/sitemap.xml", app: appWeb, lat: 0.02, sigma: 0.3, size: 96000, ok: 200, weights: w(0, 0, 0, 1.5, 0, 0)},
	{method: "GET", tmpl: "/healthz", app: appWeb, lat: 0.0008, sigma: 0.3, size: 2, ok: 200, weights: w(0, 0, 0, 0, 0, 6)},
	{method: "GET", tmpl: "/wp-login.php", app: appWeb, lat: 0.004, sigma: 0.4, size: 548, ok: 404, weights: w(0, 0, 0, 0, 3, 0)},
	{method: "GET", tmpl: "/.env", app: appWeb, lat: 0.004, sigma: 0.4, size: 548, ok: 404, weights: w(0, 0, 0, 0, 3, 0)},
	{method: "GET", tmpl: "/.git/config", app: appWeb, lat: 0.004, sigma: 0.4, size: 548, ok: 404, weights: w(0, 0, 0, 0, 2, 0)},
	{method: "GET", tmpl: "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", app: appWeb, lat: 0.004, sigma: 0.4, size: 548, ok: 404, weights: w(0, 0, 0, 0, 1, 0)},
	{method: "POST", tmpl: "/cgi-bin/luci/;stok=/locale", app: appWeb, lat: 0.004, sigma: 0.4, size: 548, ok: 404, weights: w(0, 0, 0, 0, 1, 0)},
}

func w(browser, app, apic, bot, scanner, monitor float64) [numKinds]float64 {
	return [numKinds]float64{browser, app, apic, bot, scanner, monitor}
}

// routeTable holds cumulative weights per client kind.
type routeTable struct {
	cum    [numKinds][]float64
	routes [numKinds][]*route
}

var words = []string{"blue", "shirt", "linen", "summer", "dress", "running", "shoes", "wool", "coat", "kids", "jacket", "leather", "bag", "sale", "gift", "card", "black", "boots", "denim", "jeans", "cotton", "hoodie", "rain", "sandals", "women", "men", "socks", "hat", "scarf", "travel", "backpack", "watch", "green", "red", "slim", "fit", "organic", "vintage"}
var cats = []string{"women", "men", "kids", "shoes", "accessories", "sale", "new-in", "outdoor", "home", "beauty"}

func init() {
	for i, r := range routes {
		r.idx = i
		r.parts = parseTmpl(r.tmpl)
	}
}

func parseTmpl(t string) []tmplPart {
	var parts []tmplPart
	for t != "" {
		i := strings.IndexByte(t, '{')
		if i < 0 {
			parts = append(parts, tmplPart{lit: t})
			break
		}
		j := strings.IndexByte(t[i:], '}')
		if i > 0 {
			parts = append(parts, tmplPart{lit: t[:i]})
		}
		parts = append(parts, tmplPart{ph: t[i+1 : i+j]})
		t = t[i+j+1:]
	}
	return parts
}

func newRouteTable() *routeTable {
	rt := &routeTable{}
	for k := 0; k < numKinds; k++ {
		var cum float64
		for _, r := range routes {
			if r.weights[k] > 0 {
				cum += r.weights[k]
				rt.cum[k] = append(rt.cum[k], cum)
				rt.routes[k] = append(rt.routes[k], r)
			}
		}
	}
	return rt
}

func (rt *routeTable) pick(rng *rand.Rand, kind int) *route {
	c := rt.cum[kind]
	x := rng.Float64() * c[len(c)-1]
	for i, v := range c {
		if x < v {
			return rt.routes[kind][i]
		}
	}
	return rt.routes[kind][len(c)-1]
}

// appendPath fills the route's template.
func (g *gen) appendPath(b []byte, rng *rand.Rand, r *route, t int64) []byte {
	for _, p := range r.parts {
		if p.ph == "" {
			b = append(b, p.lit...)
			continue
		}
		switch p.ph {
		case "uid":
			b = strconv.AppendInt(b, int64(10000+zipfIndex(rng, 990000)), 10)
		case "oid":
			b = strconv.AppendInt(b, int64(4100000+rng.IntN(900000)), 10)
		case "pid":
			b = strconv.AppendInt(b, int64(1000+zipfIndex(rng, 60000)), 10)
		case "iid":
			b = strconv.AppendInt(b, int64(1+rng.IntN(99999)), 10)
		case "page":
			b = strconv.AppendInt(b, int64(1+zipfIndex(rng, 30)), 10)
		case "q":
			b = append(b, words[zipfIndex(rng, len(words))]...)
			if rng.IntN(2) == 0 {
				b = append(b, '+')
				b = append(b, words[rng.IntN(len(words))]...)
			}
		case "slug":
			b = append(b, words[zipfIndex(rng, len(words))]...)
			b = append(b, '-')
			b = append(b, words[rng.IntN(len(words))]...)
			b = append(b, '-')
			b = strconv.AppendInt(b, int64(1000+zipfIndex(rng, 60000)), 10)
		case "cat":
			b = append(b, cats[zipfIndex(rng, len(cats))]...)
		case "cursor":
			b = appendHex(b, rng, 16)
		case "ts":
			b = strconv.AppendInt(b, t-int64(rng.IntN(3600)), 10)
		case "bundle":
			b = append(b, g.bundles[0]...)
		case "bundle2":
			b = append(b, g.bundles[1]...)
		case "bundle3":
			b = append(b, g.bundles[2]...)
		case "img":
			b = append(b, words[zipfIndex(rng, len(words))]...)
			b = append(b, '-')
			b = strconv.AppendInt(b, int64(1000+zipfIndex(rng, 60000)), 10)
			b = append(b, "-800w"...)
		}
	}
	return b
}

// lognormal draws a log-normal value with the given median and sigma.
func lognormal(rng *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(rng.NormFloat64()*sigma)
}
