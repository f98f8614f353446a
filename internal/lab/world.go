package lab

import (
	"math"
	"math/rand/v2"
	"strconv"
)

// The simulated company runs one product, "example.com": a web front end
// (www) and an API (api) on Kubernetes in several AWS regions. Browsers and
// crawlers reach www through ingress-nginx (or a CDN in front of it); mobile
// apps and API clients reach api.example.com through a regional ALB whose
// targets are the api pods (IP mode).

type regionSpec struct {
	name, short string
	tz          float64 // hours from UTC, for the diurnal curve
	zones       []string
	pops        []string // CDN points of presence near the region
}

var regionCatalog = []regionSpec{
	{"us-east-1", "use1", -5, []string{"a", "b", "c", "d"}, []string{"IAD89-C1", "JFK52-P2", "ATL56-C3", "EWR53-C2"}},
	{"eu-west-1", "euw1", 0, []string{"a", "b", "c"}, []string{"DUB56-P1", "LHR61-P4", "AMS58-C1", "CDG52-P2"}},
	{"us-west-2", "usw2", -8, []string{"a", "b", "c"}, []string{"SEA19-C2", "SFO53-P5", "LAX50-C1"}},
	{"eu-central-1", "euc1", 1, []string{"a", "b", "c"}, []string{"FRA56-P3", "MUC50-P1", "WAW51-P2", "VIE50-C1"}},
	{"ap-southeast-1", "apse1", 8, []string{"a", "b", "c"}, []string{"SIN2-P4", "KUL50-C1", "BKK50-C1"}},
	{"ap-northeast-1", "apne1", 9, []string{"a", "c", "d"}, []string{"NRT57-P2", "KIX56-P1", "ICN54-C1"}},
}

const (
	kindBrowser = iota
	kindApp
	kindAPIClient
	kindBot
	kindScanner
	kindMonitor
	numKinds
)

// userAgents by client kind; each client keeps one for its lifetime.
var userAgents = [numKinds][]string{
	kindBrowser: {
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
		"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (iPad; CPU OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 OPR/115.0.0.0",
	},
	kindApp: {
		"ExampleApp/5.42.1 (iPhone15,3; iOS 18.1; Scale/3.00)",
		"ExampleApp/5.42.1 (iPhone14,5; iOS 18.0.1; Scale/3.00)",
		"ExampleApp/5.41.0 (iPhone13,2; iOS 17.6.1; Scale/3.00)",
		"ExampleApp/5.42.0 (iPad13,4; iPadOS 18.1; Scale/2.00)",
		"ExampleApp/5.42.1 (Android 14; Pixel 8; Build/AP2A.240905.003)",
		"ExampleApp/5.42.1 (Android 14; SM-S921B; Build/UP1A.231005.007)",
		"ExampleApp/5.40.2 (Android 13; SM-A536B; Build/TP1A.220624.014)",
		"okhttp/4.12.0",
		"Dalvik/2.1.0 (Linux; U; Android 13; M2101K6G Build/TKQ1.221013.002)",
		"ExampleApp/1104 CFNetwork/1568.200.51 Darwin/24.1.0",
	},
	kindAPIClient: {
		"curl/8.5.0",
		"curl/7.81.0",
		"python-requests/2.32.3",
		"python-httpx/0.27.2",
		"Go-http-client/2.0",
		"Go-http-client/1.1",
		"axios/1.7.7",
		"node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
		"Java/17.0.12",
		"Apache-HttpClient/4.5.14 (Java/11.0.24)",
		"PostmanRuntime/7.42.0",
		"Zapier",
	},
	kindBot: {
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
		"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
		"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
		"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
	},
	kindScanner: {
		"Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)",
		"Mozilla/5.0 zgrab/0.x",
		"python-requests/2.25.1",
		"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/41.0.2228.0 Safari/537.36",
	},
	kindMonitor: {
		"Blackbox Exporter/0.25.0",
		"Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
		"Datadog/Synthetics",
	},
}

// Kind mix of client populations and how often each kind sends a request,
// relative to the others.
var kindShare = [numKinds]float64{kindBrowser: 0.52, kindApp: 0.28, kindAPIClient: 0.06, kindBot: 0.08, kindScanner: 0.03, kindMonitor: 0.03}
var kindActivity = [numKinds]float64{kindBrowser: 1, kindApp: 1.3, kindAPIClient: 4, kindBot: 3, kindScanner: 1.5, kindMonitor: 2}

type client struct {
	ip     string
	ua     string
	kind   uint8
	ipv6   bool
	net    int32   // index of the client's network (and its DNS resolver)
	weight float64 // cumulative weight within the region
}

// network is one client network: an ISP block, a carrier's CGNAT pool, an
// office or a cloud provider, with its DNS resolver's TTL cap.
type network struct {
	prefix string // "100.72.14." or "2001:db8:4a1f:"
	ipv6   bool
	ttlCap int32 // seconds the resolver holds an answer at most
}

// ipBlocks are the address blocks clients come from: carrier-grade NAT
// (100.64.0.0/10), the benchmarking block (198.18.0.0/15), the three
// documentation /24s and private ranges for corporate proxies. Nothing is
// ever sent to them; they are only text in a log file.
func regionBlocks(ri int) []string {
	var b []string
	for i := 0; i < 10; i++ {
		b = append(b, "100."+strconv.Itoa(64+ri*10+i)+".")
	}
	b = append(b, "172."+strconv.Itoa(16+ri*2)+".", "172."+strconv.Itoa(17+ri*2)+".")
	return b
}

var sharedBlocks = []string{"198.18.", "198.19.", "192.0.2.", "198.51.100.", "203.0.113."}

// resolver TTL caps: share of networks whose resolver caps cached answers
// at that many seconds (ISP resolvers commonly cap at 1 h, 6 h or 12 h;
// many honour a full day).
var ttlCaps = []struct {
	cap   int32
	share float64
}{{1800, 0.10}, {3600, 0.22}, {7200, 0.18}, {21600, 0.18}, {86400, 0.32}}

func (g *gen) buildClients(r *region, n int) {
	// a stream of its own: the client population grows with the scale,
	// and must not shift the scenario's parameters
	rng := rand.New(rand.NewPCG(uint64(g.opts.Seed), fnv64("clients")+uint64(r.idx)))
	blocks := regionBlocks(r.idx)
	nNets := n/12 + 8
	nets := make([]network, nNets)
	for i := range nets {
		var nw network
		switch x := rng.Float64(); {
		case x < 0.08:
			nw.ipv6 = true
			nw.prefix = "2001:db8:" + strconv.FormatInt(int64(rng.IntN(0xffff)), 16) + ":" + strconv.FormatInt(int64(rng.IntN(0xfff)), 16) + "::"
		case x < 0.12:
			s := sharedBlocks[rng.IntN(len(sharedBlocks))]
			if len(s) > 8 { // a documentation /24
				nw.prefix = s
			} else {
				nw.prefix = s + strconv.Itoa(rng.IntN(256)) + "."
			}
		default:
			nw.prefix = blocks[rng.IntN(len(blocks))] + strconv.Itoa(rng.IntN(256)) + "."
		}
		x := rng.Float64()
		for _, c := range ttlCaps {
			if x < c.share {
				nw.ttlCap = c.cap
				break
			}
			x -= c.share
		}
		if nw.ttlCap == 0 {
			nw.ttlCap = 86400
		}
		nets[i] = nw
	}
	// crawlers, scanners, monitors and many API integrations run in data
	// centres (the benchmarking block stands in for cloud ranges)
	nDC := 6 + n/200
	for i := 0; i < nDC; i++ {
		nets = append(nets, network{prefix: "198." + strconv.Itoa(18+rng.IntN(2)) + "." + strconv.Itoa(rng.IntN(256)) + ".", ttlCap: 300})
	}
	r.nets = nets
	r.clients = make([]client, n)
	var cum float64
	for i := range r.clients {
		c := &r.clients[i]
		k := pickKind(rng)
		c.kind = uint8(k)
		c.ua = userAgents[k][zipfIndex(rng, len(userAgents[k]))]
		// a few networks hold most users (big carriers and ISPs)
		switch {
		case k == kindBot || k == kindScanner || k == kindMonitor || (k == kindAPIClient && rng.IntN(2) == 0):
			c.net = int32(nNets + zipfIndex(rng, nDC))
		case rng.IntN(2) == 0:
			c.net = int32(zipfIndex(rng, nNets))
		default:
			c.net = int32(rng.IntN(nNets))
		}
		nw := nets[c.net]
		c.ipv6 = nw.ipv6
		if nw.ipv6 {
			c.ip = nw.prefix + strconv.FormatInt(int64(rng.IntN(0xffff)+1), 16) + ":" + strconv.FormatInt(int64(rng.IntN(0xffff)+1), 16)
		} else {
			c.ip = nw.prefix + strconv.Itoa(1+rng.IntN(254))
		}
		// heavy-tailed activity: most users send a few requests, some many
		w := kindActivity[k] * math.Exp(rng.NormFloat64()*1.0)
		cum += w
		c.weight = cum
	}
	// monitors and a crawler or two are busier than anybody
	r.clientTotal = cum
}

func pickKind(rng *rand.Rand) int {
	x := rng.Float64()
	for k := 0; k < numKinds; k++ {
		if x < kindShare[k] {
			return k
		}
		x -= kindShare[k]
	}
	return kindBrowser
}

// zipfIndex returns an index in [0,n) with a skew towards small indices.
func zipfIndex(rng *rand.Rand, n int) int {
	if n <= 1 {
		return 0
	}
	// inverse of a 1/x density over [1, n+1)
	x := math.Exp(rng.Float64()*math.Log(float64(n)+1)) - 1
	i := int(x)
	if i >= n {
		i = n - 1
	}
	return i
}

func (r *region) pickClient(rng *rand.Rand) *client {
	x := rng.Float64() * r.clientTotal
	lo, hi := 0, len(r.clients)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if r.clients[mid].weight < x {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return &r.clients[lo]
}

// Names and identifiers in the style Kubernetes and AWS use.

const alnumK8s = "bcdfghjklmnpqrstvwxz2456789"
const hexDigits = "0123456789abcdef"

func randString(rng *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

func appendHex(b []byte, rng *rand.Rand, n int) []byte {
	for n > 0 {
		v := rng.Uint64()
		for i := 0; i < 16 && n > 0; i++ {
			b = append(b, hexDigits[v&15])
			v >>= 4
			n--
		}
	}
	return b
}

type node struct {
	name, ip, zone string
	region         *region
	idx            int
	cpus           int
	memBytes       float64
}

type pod struct {
	name, ip, app, version, rs string
	node                       *node
	region                     *region
	idx                        int   // index into gen.pods
	from, until                int64 // unix seconds; until 0 = still running
	canary                     bool
}

func (p *pod) alive(t int64) bool { return t >= p.from && (p.until == 0 || t < p.until) }

type region struct {
	idx          int
	spec         regionSpec
	name         string
	weight       float64
	nodes        []*node
	spread       []*node // nodes interleaved by zone
	api, web     []*pod  // every pod that runs during the period
	nets         []network
	clients      []client
	clientTotal  float64
	ingress      *logSink
	albs         []*alb // the API's load balancers; albs[0] is the one DNS points to at the start
	cluster      string
	ingressLBIP  string
	apiTGHash    string
	dbInstance   string
	rateByMinute []float64
}

type alb struct {
	name, id, arnTG, certARN string
	region                   *region
	sink                     *logSink
	ips                      []string // public addresses (documentation range) for DNS answers
}

func (g *gen) buildRegions() {
	rng := g.rng
	nreg := 3 + rng.IntN(2)
	// us-east-1 and one EU region always; the rest by seed
	chosen := []int{0, 1 + 2*rng.IntN(2)}
	rest := []int{}
	for i := range regionCatalog {
		if i != chosen[0] && i != chosen[1] {
			rest = append(rest, i)
		}
	}
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	chosen = append(chosen, rest[:nreg-2]...)
	weights := []float64{0.38, 0.27, 0.2, 0.15}
	for i, ci := range chosen {
		spec := regionCatalog[ci]
		r := &region{idx: i, spec: spec, name: spec.name, weight: weights[i] * (0.8 + 0.4*rng.Float64())}
		r.cluster = "prod-" + spec.short
		r.apiTGHash = randString(rng, hexDigits, 10)
		g.regions = append(g.regions, r)
	}
	g.normaliseWeights()
	for _, r := range g.regions {
		// two or three nodes per zone (m6i.2xlarge: 8 vCPU, 32 GiB)
		for zi, z := range r.spec.zones {
			if zi >= 3 {
				break
			}
			nn := 2 + rng.IntN(2)
			for k := 0; k < nn; k++ {
				third := 16*zi + rng.IntN(16)
				last := 1 + rng.IntN(254)
				ip := "10." + strconv.Itoa(20+r.idx) + "." + strconv.Itoa(third) + "." + strconv.Itoa(last)
				n := &node{
					name:     "ip-10-" + strconv.Itoa(20+r.idx) + "-" + strconv.Itoa(third) + "-" + strconv.Itoa(last) + "." + r.name + ".compute.internal",
					ip:       ip,
					zone:     r.name + z,
					region:   r,
					idx:      len(g.nodes),
					cpus:     8,
					memBytes: 32 * (1 << 30),
				}
				r.nodes = append(r.nodes, n)
				g.nodes = append(g.nodes, n)
			}
		}
		// the scheduler spreads replicas across zones: interleave the nodes
		// zone by zone
		byZone := map[string][]*node{}
		var zones []string
		for _, n := range r.nodes {
			if byZone[n.zone] == nil {
				zones = append(zones, n.zone)
			}
			byZone[n.zone] = append(byZone[n.zone], n)
		}
		for k := 0; len(r.spread) < len(r.nodes); k++ {
			for _, z := range zones {
				if k < len(byZone[z]) {
					r.spread = append(r.spread, byZone[z][k])
				}
			}
		}
		napi := 6 + int(math.Round(r.weight*14)) + rng.IntN(3)
		nweb := 3 + rng.IntN(2)
		rsAPI := randString(rng, alnumK8s, 10)
		rsWeb := randString(rng, alnumK8s, 9)
		offAPI, offWeb := rng.IntN(len(r.nodes)), rng.IntN(len(r.nodes))
		for i := 0; i < napi; i++ {
			r.api = append(r.api, g.newPod(r, "api", g.apiVersion, rsAPI, r.placeNode(i+offAPI), g.start-86400*3))
		}
		for i := 0; i < nweb; i++ {
			r.web = append(r.web, g.newPod(r, "web", g.webVersion, rsWeb, r.placeNode(i+offWeb), g.start-86400*2))
		}
		r.ingressLBIP = "10." + strconv.Itoa(20+r.idx) + "." + strconv.Itoa(rng.IntN(48)) + "." + strconv.Itoa(1+rng.IntN(254))
		r.dbInstance = "orders-db-" + r.spec.short + ".cluster-" + randString(rng, "abcdefghijklmnopqrstuvwxyz0123456789", 12) + "." + r.name + ".rds.amazonaws.com:5432"
		r.albs = append(r.albs, g.newALB(r, "api-"+r.name))
	}
	for _, r := range g.regions {
		g.buildClients(r, 100+int(6000*r.weight*math.Sqrt(g.opts.Scale)))
	}
}

func (g *gen) normaliseWeights() {
	var sum float64
	for _, r := range g.regions {
		sum += r.weight
	}
	for _, r := range g.regions {
		r.weight /= sum
	}
}

func (g *gen) newPod(r *region, app, version, rs string, n *node, from int64) *pod {
	rng := g.rng
	p := &pod{
		app: app, version: version, rs: rs, node: n, region: r, from: from,
		name: app + "-" + rs + "-" + randString(rng, alnumK8s, 5),
		ip:   "10." + strconv.Itoa(20+r.idx) + "." + strconv.Itoa(64+rng.IntN(128)) + "." + strconv.Itoa(1+rng.IntN(254)),
		idx:  len(g.pods),
	}
	g.pods = append(g.pods, p)
	return p
}

func (g *gen) newALB(r *region, name string) *alb {
	rng := g.rng
	a := &alb{name: name, region: r}
	a.id = "app/" + name + "/" + randString(rng, hexDigits, 16)
	a.arnTG = "arn:aws:elasticloadbalancing:" + r.name + ":" + g.account + ":targetgroup/k8s-prod-api-" + r.apiTGHash[:6] + "/" + randString(rng, hexDigits, 16)
	a.certARN = "arn:aws:acm:" + r.name + ":" + g.account + ":certificate/" + randString(rng, hexDigits, 8) + "-" + randString(rng, hexDigits, 4) + "-" + randString(rng, hexDigits, 4) + "-" + randString(rng, hexDigits, 4) + "-" + randString(rng, hexDigits, 12)
	a.ips = []string{"203.0.113." + strconv.Itoa(10+rng.IntN(240)), "198.51.100." + strconv.Itoa(10+rng.IntN(240))}
	return a
}

// pickPod returns a pod of pods alive at t, uniformly (kube-proxy and the
// ALB both spread requests evenly).
func pickPod(rng *rand.Rand, pods []*pod, t int64) *pod {
	n := len(pods)
	for try := 0; try < 8; try++ {
		p := pods[rng.IntN(n)]
		if p.alive(t) {
			return p
		}
	}
	start := rng.IntN(n)
	for i := 0; i < n; i++ {
		if p := pods[(start+i)%n]; p.alive(t) {
			return p
		}
	}
	return pods[0]
}

// placeNode returns the node of the i-th replica, spreading across zones.
func (r *region) placeNode(i int) *node { return r.spread[i%len(r.spread)] }
