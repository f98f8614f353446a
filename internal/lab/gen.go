package lab

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

const (
	period     = 6 * 3600 // seconds of data generated
	step       = 60       // metrics resolution, seconds
	linesScale = 32000.0  // expected access log requests at scale 1
)

// connection outcomes between a proxy and a pod
const (
	connOK      = iota
	connRefused // nothing listening / connection reset at connect
	connTimeout // no answer within the proxy's timeout
	connReset   // connection closed before a response
)

// outcome is what a pod did with one request.
type outcome struct {
	status int
	t      float64 // seconds
	size   int
	conn   int
	// timeout is the proxy timeout that fired, for connTimeout
	timeout float64
	// dep is how the route's call to its dependency went: "" a normal
	// call (it succeeds unless the request failed before making it), "-" no
	// call, else the call's status code or error type ("503", "timeout").
	dep string
}

// req is one simulated request. It is reused for every request.
type req struct {
	t       int64 // arrival, unix ns
	c       *client
	region  *region
	route   *route
	kind    int
	path    []byte
	host    string
	proto   string
	reqLen  int
	referer string
	// ingress upstream attempts
	attempts []attempt
}

type attempt struct {
	addr   string
	status int
	t      float64
	size   int
}

// hooks are where a scenario changes how the world behaves.
type hooks struct {
	// pod changes what a pod does with a request arriving at t (unix s).
	pod func(g *gen, r *req, p *pod, t int64, o *outcome)
	// alb picks the load balancer a client reaches through DNS (nil: the
	// region's first).
	alb func(g *gen, r *req, t int64) *alb
	// albNoTargets reports that an ALB has no registered targets.
	albNoTargets func(a *alb, t int64) bool
	// cdnOrigin reports a CDN that fails to reach the origin: the status
	// and detailed result it logs, or status 0 when it works.
	cdnOrigin func(g *gen, r *req, origin *region, t int64) (int, string, float64)
	// rate multiplies a region's traffic at t.
	rate func(r *region, t int64) float64
	// afterRates runs once the traffic is known (to place the onset where
	// the load crosses saturation, say).
	afterRates func(g *gen)
	// metrics adjusts the per-pod and per-node resource model.
	podState  func(g *gen, p *pod, t int64, s *podState)
	nodeState func(g *gen, n *node, t int64, s *nodeState)
	dbState   func(g *gen, r *region, t int64, s *dbState)
	probe     func(g *gen, target string, t int64, s *probeState)
}

type gen struct {
	def    *scenarioDef
	opts   GenerateOptions
	rng    *rand.Rand // world, parameters and changes
	trng   *rand.Rand // traffic
	mrng   *rand.Rand // metrics texture
	drng   *rand.Rand // the dependency calls' own failures
	start  int64      // unix s
	end    int64
	onset  int64
	steps  int
	params map[string]any
	truth  Truth
	h      hooks

	account    string
	regions    []*region
	nodes      []*node
	pods       []*pod
	apiVersion string
	webVersion string
	bundles    [3]string
	rt         *routeTable
	cdn        *cdnConf
	db         string // "postgres" or "mysql"
	albs       []*alb

	changes       []*signal.Change
	culpritChange *signal.Change
	// related changes whose ids go into the truth's params, by param name
	related map[string]*signal.Change
	// scopeRegion is the failing region, if one; DNS and api decoys go elsewhere
	scopeRegion *region
	sinks       []*logSink
	baseRate    float64
	acc         *accum
	// depMetrics: the api exports its outbound request metrics (not every
	// team does; drawn per seed)
	depMetrics bool
}

type cdnConf struct {
	sink     *logSink
	hitRatio float64
	name     string // distribution id
}

func newGen(sc *scenarioDef, opts GenerateOptions) *gen {
	seed := uint64(opts.Seed)
	h := fnv64(sc.Name)
	g := &gen{
		def:     sc,
		opts:    opts,
		rng:     rand.New(rand.NewPCG(seed, h)),
		trng:    rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15, h+1)),
		mrng:    rand.New(rand.NewPCG(seed^0x5851f42d4c957f2d, h+2)),
		drng:    rand.New(rand.NewPCG(seed^0x2545f4914f6cdd1d, h+3)),
		end:     opts.Now.Unix(),
		params:  map[string]any{},
		related: map[string]*signal.Change{},
		db:      "postgres",
	}
	g.start = g.end - period
	g.steps = period/step + 1
	g.account = strconv.FormatInt(int64(100000000000+g.rng.IntN(899999999999)), 10)
	g.apiVersion = "v2." + strconv.Itoa(30+g.rng.IntN(20)) + "." + strconv.Itoa(g.rng.IntN(6))
	g.webVersion = "v1." + strconv.Itoa(80+g.rng.IntN(40)) + "." + strconv.Itoa(g.rng.IntN(4))
	for i := range g.bundles {
		g.bundles[i] = randString(g.rng, hexDigits, 8)
	}
	if g.rng.Float64() < 0.3 {
		g.db = "mysql"
	}
	// default onset: 45–100 minutes before the end
	g.onset = g.end - int64(45+g.rng.IntN(56))*60
	g.rt = newRouteTable()
	g.buildRegions()
	g.depMetrics = g.drng.IntN(2) == 0
	return g
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// diurnal is the relative traffic at a local hour: lowest at 04:00,
// highest at 16:00.
func diurnal(h float64) float64 {
	return 0.3 + 0.7*(1-math.Cos(2*math.Pi*(h-4)/24))/2
}

func (g *gen) localHour(r *region, t int64) float64 {
	h := math.Mod(float64(t%86400)/3600+r.spec.tz+48, 24)
	return h
}

// buildRates fills each region's requests per second, minute by minute.
func (g *gen) buildRates() {
	minutes := period / 60
	var expected float64
	for _, r := range g.regions {
		r.rateByMinute = make([]float64, minutes)
		noise := 1.0
		for m := 0; m < minutes; m++ {
			t := g.start + int64(m*60)
			noise = 0.8*noise + 0.2*(1+0.12*g.rng.NormFloat64())
			v := r.weight * diurnal(g.localHour(r, t)) * noise
			if g.h.rate != nil {
				v *= g.h.rate(r, t)
			}
			if v < 0 {
				v = 0
			}
			r.rateByMinute[m] = v
		}
	}
	// normalise the baseline (without the scenario's surge) to the scale
	for _, r := range g.regions {
		for m := 0; m < minutes; m++ {
			t := g.start + int64(m*60)
			v := r.weight * diurnal(g.localHour(r, t))
			expected += v * 60
		}
	}
	g.baseRate = linesScale * g.opts.Scale / expected
	for _, r := range g.regions {
		for m := range r.rateByMinute {
			r.rateByMinute[m] *= g.baseRate
		}
	}
}

// util is a region's API utilisation at t: about 0.5 at the daily peak.
func (g *gen) util(r *region, t int64) float64 {
	m := int((t - g.start) / 60)
	if m < 0 {
		m = 0
	}
	if m >= len(r.rateByMinute) {
		m = len(r.rateByMinute) - 1
	}
	return 0.5 * r.rateByMinute[m] / (g.baseRate * r.weight)
}

func (g *gen) run(ctx context.Context, dir string) (*Manifest, error) {
	if g.rng.Float64() < 0.6 {
		g.benignDeploy()
	}
	g.def.setup(g)
	g.buildRates()
	if g.h.afterRates != nil {
		g.h.afterRates(g)
	}
	g.addDecoys()
	g.truth.Scenario = g.def.Name
	g.truth.Seed = g.opts.Seed
	g.truth.Cause = g.def.Cause
	g.truth.Onset = time.Unix(g.onset, 0).UTC()
	g.truth.Params = g.params
	g.params["regions"] = g.regionNames()
	g.params["database"] = g.db
	g.params["scale"] = g.opts.Scale
	if g.truth.Scope == nil {
		g.truth.Scope = map[string]string{}
	}

	if err := g.openSinks(dir); err != nil {
		return nil, err
	}
	g.acc = newAccum(g)
	if err := g.simulate(ctx); err != nil {
		g.closeSinks()
		return nil, err
	}
	if err := g.closeSinks(); err != nil {
		return nil, err
	}

	m := &Manifest{Dir: dir, Start: time.Unix(g.start, 0).UTC(), End: time.Unix(g.end, 0).UTC()}
	for _, s := range g.sinks {
		m.Logs = append(m.Logs, LogFile{Path: s.path, Format: s.format, Lines: s.lines, Bytes: s.bytes})
	}
	cp, n, err := g.writeChanges(dir)
	if err != nil {
		return nil, err
	}
	m.Changes, m.ChangeCount = cp, n
	files, series, err := g.writeMetrics(dir)
	if err != nil {
		return nil, err
	}
	m.Metrics, m.MetricSeries = files, series
	m.Truth = g.truth
	m.TruthPath = filepath.Join(dir, "truth.json")
	if err := writeJSONFile(m.TruthPath, g.truth); err != nil {
		return nil, err
	}
	return m, nil
}

func (g *gen) regionNames() []string {
	var n []string
	for _, r := range g.regions {
		n = append(n, r.name)
	}
	return n
}

func (g *gen) openSinks(dir string) error {
	add := func(name, format string) (*logSink, error) {
		s, err := newSink(dir, name, format)
		if err != nil {
			return nil, err
		}
		g.sinks = append(g.sinks, s)
		return s, nil
	}
	for _, r := range g.regions {
		s, err := add("ingress-"+r.name+".log", "ingress-nginx")
		if err != nil {
			return err
		}
		r.ingress = s
		for _, a := range r.albs {
			s, err := add("alb-"+a.name+".log", "alb")
			if err != nil {
				return err
			}
			a.sink = s
			g.albs = append(g.albs, a)
		}
	}
	if g.cdn != nil {
		s, err := add("cdn.jsonl", "json")
		if err != nil {
			return err
		}
		g.cdn.sink = s
	}
	sort.SliceStable(g.sinks, func(i, j int) bool { return g.sinks[i].path < g.sinks[j].path })
	return nil
}

func (g *gen) closeSinks() error {
	var first error
	for _, s := range g.sinks {
		if err := s.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// simulate runs the traffic: a Poisson process whose rate changes minute
// by minute, each arrival a request of one client of one region.
func (g *gen) simulate(ctx context.Context) error {
	rng := g.trng
	r := &req{path: make([]byte, 0, 256)}
	cum := make([]float64, len(g.regions))
	t := g.start * 1e9
	for m := 0; m < period/60; m++ {
		if m%30 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			for _, s := range g.sinks {
				if s.err != nil {
					return s.err
				}
			}
		}
		var total float64
		for i, reg := range g.regions {
			total += reg.rateByMinute[m]
			cum[i] = total
		}
		mEnd := (g.start + int64(m+1)*60) * 1e9
		if total <= 0 {
			t = mEnd
			continue
		}
		for {
			t += int64(rng.ExpFloat64() / total * 1e9)
			if t >= mEnd {
				t = mEnd
				break
			}
			x := rng.Float64() * total
			ri := 0
			for ri < len(cum)-1 && x >= cum[ri] {
				ri++
			}
			reg := g.regions[ri]
			for _, s := range g.sinks {
				s.flush(t)
			}
			g.request(r, reg, t)
		}
	}
	return nil
}

var hostWWW = "www.example.com"
var hostAPI = "api.example.com"

func (g *gen) request(r *req, reg *region, t int64) {
	rng := g.trng
	c := reg.pickClient(rng)
	r.t = t
	r.c = c
	r.region = reg
	r.kind = int(c.kind)
	r.route = g.rt.pick(rng, r.kind)
	r.path = g.appendPath(r.path[:0], rng, r.route, t/1e9)
	r.referer = "-"
	switch r.kind {
	case kindBrowser:
		r.proto = "HTTP/2.0"
		if rng.IntN(10) == 0 {
			r.proto = "HTTP/1.1"
		}
		r.reqLen = 600 + rng.IntN(1100)
		switch {
		case r.route.app == appAPI || r.route.static:
			r.referer = "https://www.example.com" + refererPages[rng.IntN(len(refererPages))]
		case rng.IntN(4) == 0:
			r.referer = externalReferers[rng.IntN(len(externalReferers))]
		case rng.IntN(3) == 0:
			r.referer = "https://www.example.com" + refererPages[rng.IntN(len(refererPages))]
		}
	case kindApp:
		r.proto = "HTTP/2.0"
		r.reqLen = 380 + rng.IntN(500)
	case kindAPIClient:
		r.proto = "HTTP/1.1"
		if rng.IntN(3) == 0 {
			r.proto = "HTTP/2.0"
		}
		r.reqLen = 180 + rng.IntN(300)
	default:
		r.proto = "HTTP/1.1"
		r.reqLen = 150 + rng.IntN(250)
	}
	r.reqLen += r.route.reqBody
	if r.route.reqBody > 0 {
		r.reqLen += rng.IntN(r.route.reqBody/2 + 1)
	}
	viaALB := r.route.app == appAPI && (r.kind == kindApp || r.kind == kindAPIClient || r.kind == kindMonitor)
	if viaALB {
		r.host = hostAPI
		g.viaALB(r, t)
		return
	}
	r.host = hostWWW
	if g.cdn != nil {
		g.viaCDN(r, t)
		return
	}
	g.viaIngress(r, reg, t)
}

var refererPages = []string{"/", "/", "/cart", "/checkout", "/search?q=linen+shirt", "/account/orders", "/products/blue-linen-shirt-4121", "/category/women", "/category/sale?page=2", "/products/running-shoes-1877"}
var externalReferers = []string{"https://www.google.com/", "https://www.google.com/", "https://www.bing.com/", "https://duckduckgo.com/", "https://t.co/", "https://www.instagram.com/", "android-app://com.google.android.gm/"}

// podHandle is what pod p does with r at t (unix ns).
func (g *gen) podHandle(r *req, p *pod, tn int64) outcome {
	rng := g.trng
	rt := r.route
	ts := tn / 1e9
	u := g.util(p.region, ts)
	lat := lognormal(rng, rt.lat, rt.sigma)
	if u > 0.6 {
		lat *= 1 + (u-0.6)*(u-0.6)*12
	}
	if rng.Float64() < 0.004 {
		lat *= 4 + rng.Float64()*30
	}
	o := outcome{status: rt.ok, conn: connOK}
	switch {
	case rt.ok == 404:
		o.size = int(rt.size) // the same error page every time
	case rt.size > 0:
		o.size = int(lognormal(rng, rt.size, 0.3))
	}
	x := rng.Float64()
	switch {
	case x < rt.e4:
		o.status = rt.e4codes[rng.IntN(len(rt.e4codes))]
		o.size = 40 + rng.IntN(160)
		if o.status == 302 {
			o.size = 0
		}
		lat *= 0.6
	case x < rt.e4+0.0004 && !rt.static:
		// the odd connection reset: a pod recycling a keep-alive connection
		o.conn = connReset
	case x < rt.e4+0.0018 && !rt.static:
		o.status = 500
		if rng.IntN(5) == 0 {
			o.status = 503
		}
		o.size = 60 + rng.IntN(120)
	case rt.static && rt.method == "GET" && rng.Float64() < 0.3:
		o.status = 304
		o.size = 0
	}
	if u > 0.9 && !rt.static {
		// saturated: the app sheds load with 503 or requests queue until
		// the proxy gives up
		pf := math.Min(0.8, (u-0.9)*1.4)
		lat *= 1 + (u-0.9)*40
		if rng.Float64() < pf {
			if rng.IntN(3) == 0 {
				o.conn, o.timeout = connTimeout, 60
			} else {
				// shed at the door: the queue is full
				o.status, o.size = 503, 95
				lat = 0.001 + 0.01*rng.Float64()
			}
		}
	}
	o.t = lat
	if g.h.pod != nil {
		g.h.pod(g, r, p, ts, &o)
	}
	if o.t > 60 && o.conn == connOK {
		o.conn, o.timeout = connTimeout, 60
	}
	if o.conn == connOK {
		g.acc.appReq(p, o.status, rt.method, o.t, ts)
		if rt.dep != nil {
			g.depCall(rt.dep, p, &o, ts)
		}
	}
	return o
}

// depCall records the call a request handled by p made to its route's
// dependency, for the outbound request metrics.
func (g *gen) depCall(d *dependency, p *pod, o *outcome, ts int64) {
	res := o.dep
	switch {
	case res == "-":
		return
	case res != "":
	case o.status >= 500:
		return // the request failed before the call
	case g.drng.Float64() < 0.0008:
		res = []string{"503", "500", "timeout"}[g.drng.IntN(3)]
	default:
		res = "200"
	}
	g.acc.depCall(p, d, res, ts)
}

func (g *gen) appendReqID(b []byte) []byte { return appendHex(b, g.trng, 32) }

// viaIngress sends r through the region's ingress-nginx and logs it. It
// returns the status, duration and body size the client got.
func (g *gen) viaIngress(r *req, reg *region, tn int64) (int, float64, int) {
	rng := g.trng
	pods, upstream, port := reg.web, "prod-web-80", ":3000"
	if r.route.app == appAPI {
		pods, upstream, port = reg.api, "prod-api-80", ":8080"
	}
	r.attempts = r.attempts[:0]
	elapsed := 0.0
	status, size := 0, 0
	idempotent := r.route.method == "GET" || r.route.method == "PUT" || r.route.method == "DELETE"
	var last *pod
	for try := 0; try < 3; try++ {
		p := pickPod(rng, pods, tn/1e9)
		if try > 0 && p == last {
			p = pickPod(rng, pods, tn/1e9)
		}
		last = p
		o := g.podHandle(r, p, tn+int64(elapsed*1e9))
		a := attempt{addr: p.ip + port}
		switch o.conn {
		case connOK:
			a.status, a.t, a.size = o.status, o.t, o.size
			status, size = o.status, o.size
		case connRefused:
			a.status, a.t = 502, 0.001*float64(rng.IntN(3))
			status, size = 502, 150
		case connTimeout:
			a.status, a.t = 504, o.timeout
			status, size = 504, 160
		case connReset:
			a.status, a.t = 502, o.t
			status, size = 502, 150
		}
		elapsed += a.t
		r.attempts = append(r.attempts, a)
		// proxy_next_upstream error timeout: retry on connection errors,
		// never after a timeout of a non-idempotent request
		if o.conn == connOK || (o.conn != connRefused && !idempotent) {
			break
		}
	}
	dur := elapsed + 0.0003*float64(rng.IntN(4))
	end := tn + int64(dur*1e9)
	g.acc.ingress(reg, r.route.app, status, r.route.method, dur, end/1e9)

	s := reg.ingress
	b := s.buf()
	b = append(b, r.c.ip...)
	b = append(b, " - - ["...)
	b = s.appendNginxTime(b, end)
	b = append(b, "] \""...)
	b = append(b, r.route.method...)
	b = append(b, ' ')
	b = append(b, r.path...)
	b = append(b, ' ')
	b = append(b, r.proto...)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, " \""...)
	b = append(b, r.referer...)
	b = append(b, "\" \""...)
	b = append(b, r.c.ua...)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(r.reqLen), 10)
	b = append(b, ' ')
	b = appendSeconds(b, dur)
	b = append(b, " ["...)
	b = append(b, upstream...)
	b = append(b, "] [] "...)
	for i, a := range r.attempts {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, a.addr...)
	}
	b = append(b, ' ')
	for i, a := range r.attempts {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendInt(b, int64(a.size), 10)
	}
	b = append(b, ' ')
	for i, a := range r.attempts {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendSeconds(b, a.t)
	}
	b = append(b, ' ')
	for i, a := range r.attempts {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendInt(b, int64(a.status), 10)
	}
	b = append(b, ' ')
	b = g.appendReqID(b)
	b = append(b, '\n')
	s.add(end, b)
	return status, dur, size
}

// viaALB sends r to api.example.com through the ALB the client's DNS
// answer points to, and logs it in the ALB's access log format.
func (g *gen) viaALB(r *req, tn int64) {
	rng := g.trng
	reg := r.region
	a := reg.albs[0]
	if g.h.alb != nil {
		a = g.h.alb(g, r, tn/1e9)
	}
	noTargets := g.h.albNoTargets != nil && g.h.albNoTargets(a, tn/1e9)
	var (
		target       = "-"
		reqProc      = 0.000
		targProc     float64
		respProc     = 0.000
		elbStatus    int
		targetStatus = "-"
		body         int
		failed       = true
	)
	reqProc = 0.00002 + 0.00004*rng.Float64()
	respProc = 0.00001 + 0.00003*rng.Float64()
	var p *pod
	if noTargets {
		elbStatus, body = 503, 162
	} else {
		p = pickPod(rng, reg.api, tn/1e9)
		o := g.podHandle(r, p, tn)
		target = p.ip + ":8080"
		switch o.conn {
		case connOK:
			failed = false
			targProc = o.t
			elbStatus, body = o.status, o.size
			targetStatus = strconv.Itoa(o.status)
		case connRefused, connReset:
			elbStatus, body = 502, 122
			targProc = o.t
		case connTimeout:
			elbStatus, body = 504, 132
			targProc = o.timeout
		}
	}
	dur := reqProc + targProc + respProc
	end := tn + int64(dur*1e9)

	s := a.sink
	b := s.buf()
	if r.proto == "HTTP/2.0" {
		b = append(b, "h2 "...)
	} else {
		b = append(b, "https "...)
	}
	b = s.appendISO(b, end, 6)
	b = append(b, ' ')
	b = append(b, a.id...)
	b = append(b, ' ')
	b = append(b, r.c.ip...) // IPv6 clients too are written without brackets
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(1024+rng.IntN(64500)), 10)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, ' ')
	if failed {
		b = append(b, "-1 -1 -1 "...)
	} else {
		b = appendFixed(b, reqProc, 3)
		b = append(b, ' ')
		b = appendFixed(b, targProc, 3)
		b = append(b, ' ')
		b = appendFixed(b, respProc, 3)
		b = append(b, ' ')
	}
	b = strconv.AppendInt(b, int64(elbStatus), 10)
	b = append(b, ' ')
	b = append(b, targetStatus...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(r.reqLen), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(body+220+rng.IntN(160)), 10)
	b = append(b, " \""...)
	b = append(b, r.route.method...)
	b = append(b, " https://api.example.com:443"...)
	b = append(b, r.path...)
	b = append(b, ' ')
	b = append(b, r.proto...)
	b = append(b, "\" \""...)
	b = append(b, r.c.ua...)
	b = append(b, "\" "...)
	if r.proto == "HTTP/2.0" || rng.IntN(3) > 0 {
		b = append(b, "TLS_AES_128_GCM_SHA256 TLSv1.3 "...)
	} else {
		b = append(b, "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 "...)
	}
	b = append(b, a.arnTG...)
	b = append(b, " \"Root=1-"...)
	b = strconv.AppendInt(b, tn/1e9, 16)
	b = append(b, '-')
	b = appendHex(b, rng, 24)
	b = append(b, "\" \"api.example.com\" \""...)
	b = append(b, a.certARN...)
	b = append(b, "\" 0 "...)
	b = s.appendISO(b, tn, 6)
	b = append(b, " \"forward\" \"-\" \"-\" \""...)
	if target == "-" {
		b = append(b, "-\" \"-\""...)
	} else {
		b = append(b, target...)
		b = append(b, "\" \""...)
		b = append(b, targetStatus...)
		b = append(b, '"')
	}
	b = append(b, " \"-\" \"-\" TID_"...)
	b = appendHex(b, rng, 32)
	b = append(b, " \"-\" \"-\" \"-\"\n"...)
	s.add(end, b)
}

// viaCDN serves r from the CDN's cache or its origin (the region's
// ingress) and logs it as a JSON line.
func (g *gen) viaCDN(r *req, tn int64) {
	rng := g.trng
	reg := r.region
	cache := "MISS"
	cacheable := r.route.method == "GET" && r.route.app == appWeb && r.kind != kindMonitor
	switch {
	case !cacheable:
		cache = "PASS"
	case r.route.static && rng.Float64() < 0.93, rng.Float64() < g.cdn.hitRatio:
		cache = "HIT"
	}
	status, size := 200, 0
	dur := 0.0
	originStatus := 0
	result := "Hit"
	originTime := 0.0
	edge := 0.001 + 0.004*rng.Float64()
	if cache == "HIT" {
		o := g.podHandleCached(r)
		status, size = o.status, o.size
		dur = edge
	} else {
		fs, fr, ft := 0, "", 0.0
		if g.h.cdnOrigin != nil {
			fs, fr, ft = g.h.cdnOrigin(g, r, reg, tn/1e9)
		}
		if fs != 0 {
			status, size, result = fs, 560+rng.IntN(40), fr
			originTime = ft
			dur = edge + ft
			if cacheable && fs >= 500 && r.route.static && rng.Float64() < 0.5 {
				// stale-if-error keeps some cached objects served
				status, size, result, cache = 200, int(lognormal(rng, r.route.size, 0.3)), "Hit", "STALE"
				dur = edge
			} else {
				cache = "ERROR"
			}
		} else {
			st, od, osz := g.viaIngress(r, reg, tn+int64(edge*1e9))
			originStatus = st
			originTime = od + 0.004 + 0.01*rng.Float64()
			status, size = st, osz
			dur = edge + originTime
			result = "Miss"
			if cache == "PASS" {
				result = "Pass"
			}
			if st >= 500 {
				result = "Error"
			}
		}
	}
	end := tn + int64(dur*1e9)
	s := g.cdn.sink
	b := s.buf()
	b = append(b, `{"timestamp":"`...)
	b = s.appendISO(b, end, 3)
	b = append(b, `","pop":"`...)
	b = append(b, reg.spec.pops[int(r.c.net)%len(reg.spec.pops)]...)
	b = append(b, `","client_ip":"`...)
	b = append(b, r.c.ip...)
	b = append(b, `","method":"`...)
	b = append(b, r.route.method...)
	b = append(b, `","host":"www.example.com","path":`...)
	b = appendJSONString(b, r.path)
	b = append(b, `,"protocol":"`...)
	b = append(b, r.proto...)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, int64(size+300+rng.IntN(120)), 10)
	b = append(b, `,"cache_status":"`...)
	b = append(b, cache...)
	b = append(b, `","edge_result":"`...)
	b = append(b, result...)
	b = append(b, `","origin":"origin-`...)
	b = append(b, reg.name...)
	b = append(b, `.example.com","origin_status":`...)
	if originStatus == 0 {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(originStatus), 10)
	}
	b = append(b, `,"time_taken":`...)
	b = appendFixed(b, dur, 3)
	b = append(b, `,"origin_time":`...)
	b = appendFixed(b, originTime, 3)
	b = append(b, `,"tls_protocol":"TLSv1.3","user_agent":`...)
	b = appendJSONString(b, []byte(r.c.ua))
	b = append(b, `,"referer":`...)
	b = appendJSONString(b, []byte(r.referer))
	b = append(b, `,"request_id":"`...)
	b = appendHex(b, rng, 20)
	b = append(b, "\"}\n"...)
	s.add(end, b)
}

// podHandleCached is a cached answer: the status and size the origin gave
// when it filled the cache.
func (g *gen) podHandleCached(r *req) outcome {
	o := outcome{status: r.route.ok}
	if r.route.size > 0 {
		o.size = int(lognormal(g.trng, r.route.size, 0.3))
	}
	if r.route.ok == 404 {
		o.size = 548
	}
	return o
}

func appendFixed(b []byte, v float64, prec int) []byte {
	return strconv.AppendFloat(b, v, 'f', prec, 64)
}

func appendJSONString(b []byte, s []byte) []byte {
	b = append(b, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, hexDigits[c>>4], hexDigits[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
