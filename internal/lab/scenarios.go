package lab

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// scenarioDef is a scenario and how to set it up: choose its parameters
// from the seed, change the world, add the culprit change and the truth.
type scenarioDef struct {
	Scenario
	setup func(g *gen)
}

var registry = []*scenarioDef{
	{Scenario{Name: "dns-ttl-migration", Cause: "dns-stale-cache",
		Summary: "a region's API record moved to a new load balancer while the old answer was cached for a day; the old one was then decommissioned",
		Symptom: "API returning 503s for some users"}, setupDNSTTL},
	{Scenario{Name: "db-pool-exhaustion", Cause: "db-pool-exhaustion",
		Summary: "a deploy leaks database connections until the pools and the database are full; requests wait ~15 s, then fail",
		Symptom: "API latency through the roof and about half of requests failing"}, setupDBPool},
	{Scenario{Name: "bad-deploy", Cause: "bad-deploy",
		Summary: "a canary or full rollout, config change or feature flag of the API breaks some of its requests",
		Symptom: "API 5xx error rate above SLO"}, setupBadDeploy},
	{Scenario{Name: "auth-rejects", Cause: "bad-deploy",
		Summary: "a config change of the api (a rotated token signing key, a newly required scope) makes it reject valid requests with 401 or 403; no 5xx",
		Symptom: "Users logged out; API answering 401/403"}, setupAuthRejects},
	{Scenario{Name: "bad-pod", Cause: "bad-pod",
		Summary: "one API pod fails most of its requests but stays in the endpoints",
		Symptom: "Elevated API 500s, a few percent of requests"}, setupBadPod},
	{Scenario{Name: "bad-node", Cause: "bad-node",
		Summary: "one node's network degrades: the pods on it time out and reset connections",
		Symptom: "API 502/504s and retries for some requests"}, setupBadNode},
	{Scenario{Name: "memory-leak", Cause: "memory-leak",
		Summary: "a release leaks memory: RSS ramps for hours until pods are OOM-killed and restart, again and again",
		Symptom: "Intermittent API 502s and latency spikes"}, setupMemoryLeak},
	{Scenario{Name: "slow-queries", Cause: "slow-queries",
		Summary: "a database migration drops an index; one endpoint's query turns into a sequential scan",
		Symptom: "API p99 latency alert, some timeouts"}, setupSlowQueries},
	{Scenario{Name: "cdn-origin", Cause: "cdn-origin",
		Summary: "a CDN origin configuration change leaves the CDN unable to reach the origin; only cached pages still load",
		Symptom: "Website returning 502s for many pages"}, setupCDNOrigin},
	{Scenario{Name: "cert-expired", Cause: "cert-expired",
		Summary: "the TLS certificate of one region's origin endpoint expires; the CDN cannot connect to it",
		Symptom: "Website returning 502s for some users"}, setupCertExpired},
	{Scenario{Name: "capacity", Cause: "capacity",
		Summary: "a traffic surge outgrows a region's capacity with no change behind it; requests queue and are shed",
		Symptom: "API slow and returning 503s in one region"}, setupCapacity},
	{Scenario{Name: "dependency", Cause: "dependency",
		Summary: "a service the api calls (a payment provider, a search cluster, an identity provider) fails or times out; only the endpoints that call it fail",
		Symptom: "Some API requests failing or hanging"}, setupDependency},
	{Scenario{Name: "zone-outage", Cause: "zone-outage",
		Summary: "one availability zone's infrastructure fails: every pod in it times out",
		Symptom: "API errors and retries for a share of requests"}, setupZoneOutage},
}

func (g *gen) pickRegion() *region { return g.regions[g.rng.IntN(len(g.regions))] }

// busyRegion picks a region carrying at least a fifth of the traffic at the
// onset, so that its failure shows in the totals.
func (g *gen) busyRegion() *region {
	var busy []*region
	for _, r := range g.regions {
		if r.weight*diurnal(g.localHour(r, g.onset))/meanDiurnal(g, g.onset) >= 0.2 {
			busy = append(busy, r)
		}
	}
	if len(busy) == 0 {
		return g.regions[0]
	}
	return busy[g.rng.IntN(len(busy))]
}

func between(rng *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }

func minutes(rng *rand.Rand, lo, hi int) int64 { return int64(lo+rng.IntN(hi-lo+1)) * 60 }

func (g *gen) ts(t int64) string { return time.Unix(t, 0).UTC().Format(time.RFC3339) }

// rollout replaces the region's api pods with new ones of version, one
// every stagger seconds from at, as a Deployment's rolling update does.
func (g *gen) rollout(r *region, version string, at, stagger int64) []*pod {
	rs := randString(g.rng, alnumK8s, 10)
	var old []*pod
	for _, p := range r.api {
		if p.alive(at) && p.until == 0 {
			old = append(old, p)
		}
	}
	var fresh []*pod
	off := g.rng.IntN(len(r.nodes))
	for i, p := range old {
		t := at + int64(i)*stagger
		p.until = t + 20
		np := g.newPod(r, "api", version, rs, r.placeNode(i+off), t)
		fresh = append(fresh, np)
	}
	r.api = append(r.api, fresh...)
	return fresh
}

func alivePods(ps []*pod, t int64) []*pod {
	var out []*pod
	for _, p := range ps {
		if p.alive(t) {
			out = append(out, p)
		}
	}
	return out
}

// benignDeploy rolls out a harmless api release hours before the onset, in
// one region or all: the failing service's own deploy that did not cause
// the incident is the decoy responders most often blame.
func (g *gen) benignDeploy() {
	rng := g.rng
	at := g.onset - minutes(rng, 160, 280)
	regions := g.regions
	if rng.IntN(2) == 0 {
		regions = []*region{g.pickRegion()}
	}
	prev := g.apiVersion
	ver := nextVersion(rng, prev)
	var fresh []*pod
	t := at
	for _, r := range regions {
		fresh = append(fresh, g.rollout(r, ver, t, 15)...)
		t += 45
	}
	summary := "deploy api " + ver
	if len(regions) == 1 {
		summary += " to " + regions[0].cluster
	} else {
		summary += " to all regions"
	}
	var pods []*pod
	if len(regions) == 1 && rng.IntN(2) == 0 {
		pods = fresh
	}
	g.deployChange(at, regions, ver, prev, pods, summary)
	g.apiVersion = ver
	g.params["benign_api_deploy_version"] = ver
}

func podNames(ps []*pod) []string {
	var n []string
	for _, p := range ps {
		n = append(n, p.name)
	}
	return n
}

func nextVersion(rng *rand.Rand, v string) string {
	// v<major>.<minor>.<patch> → the next minor or patch; anything else
	// starts again from v1.0.0
	num := func(x string) int {
		n, err := strconv.Atoi(x)
		if err != nil || n < 0 || n > 1e6 {
			return 0
		}
		return n
	}
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	major, minor, patch := 1, 0, 0
	if len(parts) == 3 {
		major, minor, patch = num(parts[0]), num(parts[1]), num(parts[2])
	}
	if rng.IntN(2) == 0 {
		return "v" + strconv.Itoa(major) + "." + strconv.Itoa(minor+1) + ".0"
	}
	return "v" + strconv.Itoa(major) + "." + strconv.Itoa(minor) + "." + strconv.Itoa(patch+1)
}

func (g *gen) deployChange(t int64, regions []*region, version, prev string, pods []*pod, summary string) *signal.Change {
	d := map[string]any{"version": version, "previous_version": prev}
	if len(pods) > 0 {
		d["pods"] = podNames(pods)
	}
	if g.rng.IntN(2) == 0 {
		d["image"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:" + version
		d["commit"] = randString(g.rng, hexDigits, 12)
	}
	scope := map[string]string{"service": "api", "version": version}
	if len(regions) == 1 {
		scope["region"] = regions[0].name
		scope["cluster"] = regions[0].cluster
	}
	actor := "argocd"
	if g.rng.IntN(3) == 0 {
		actor = "github-actions"
	}
	return g.addChange(t, signal.KindDeploy, "api", summary, actor, scope, d)
}

// --- dns-ttl-migration ---------------------------------------------------

func setupDNSTTL(g *gen) {
	rng := g.rng
	// a region busy enough at the onset for its stale clients to be ~5%
	// of all traffic (an EU region, during the European day)
	var busy []*region
	for _, x := range g.regions {
		if strings.HasPrefix(x.name, "eu-") && x.weight*diurnal(g.localHour(x, g.onset))/meanDiurnal(g, g.onset) >= 0.2 {
			busy = append(busy, x)
		}
	}
	r := g.regions[1]
	if len(busy) > 0 {
		r = busy[rng.IntN(len(busy))]
	}
	g.scopeRegion = r
	old := r.albs[0]
	nw := g.newALB(r, old.name+"-v2")
	r.albs = append(r.albs, nw)
	decom := g.onset
	dnsAt := decom - minutes(rng, 30, 70)
	target := between(rng, 0.04, 0.065)
	// each network's resolver fetched the old answer at some point within
	// its TTL before the change, so it expires at a uniform time after it
	expiry := make([]int64, len(r.nets))
	stale := make([]bool, len(r.nets))
	for i, nw := range r.nets {
		ttl := int64(nw.ttlCap)
		if ttl > 86400 {
			ttl = 86400
		}
		expiry[i] = dnsAt + int64(rng.Float64()*float64(ttl))
	}
	// calibrate: which share of the region's networks still held the old
	// answer, so that about target of all requests fail at the onset
	est := rand.New(rand.NewPCG(uint64(g.opts.Seed), 77))
	var regionALB, staleW float64
	for i := 0; i < 20000; i++ {
		c := r.pickClient(est)
		if c.kind != kindApp && c.kind != kindAPIClient {
			continue
		}
		rt := g.rt.pick(est, int(c.kind))
		if rt.app != appAPI {
			continue
		}
		regionALB++
		if expiry[c.net] > decom {
			staleW++
		}
	}
	share := r.weight * regionALB / 20000 * diurnal(g.localHour(r, decom)) / meanDiurnal(g, decom)
	q := 1.0
	if staleW > 0 && share > 0 {
		q = math.Min(1, target/(share*staleW/regionALB))
	}
	for i := range stale {
		stale[i] = rng.Float64() < q
	}
	g.h.alb = func(g *gen, rq *req, t int64) *alb {
		if rq.region != r {
			return rq.region.albs[0]
		}
		if t < dnsAt || (stale[rq.c.net] && t < expiry[rq.c.net]) {
			return old
		}
		return nw
	}
	g.h.albNoTargets = func(a *alb, t int64) bool { return a == old && t >= decom }

	dns := g.addChange(dnsAt, signal.KindDNS, "api", "api.example.com "+r.name+" record moved to new load balancer "+nw.name, "netops",
		map[string]string{"region": r.name},
		map[string]any{"name": "api.example.com", "type": "A", "old": old.ips[0], "new": nw.ips[0], "ttl": 86400, "new_ttl": 300,
			"routing": "latency", "set_identifier": r.name, "old_target": old.id, "new_target": nw.id})
	g.culprit(dns)
	dec := g.addChange(decom-int64(rng.IntN(90)), signal.KindInfra, "api", "decommission load balancer "+old.name+" (targets deregistered)", "terraform-cloud",
		map[string]string{"region": r.name},
		map[string]any{"action": "decommission", "target": old.id, "replaced_by": nw.id})
	g.related["decommission_change_id"] = dec
	// a short-TTL DNS change elsewhere, close to the onset
	o := g.otherRegion(r)
	g.addChange(decom-minutes(rng, 5, 30), signal.KindDNS, "api", "api.example.com "+o.name+" latency record: health check updated", "netops",
		map[string]string{"region": o.name},
		map[string]any{"name": "api.example.com", "type": "A", "old": o.albs[0].ips[0], "new": o.albs[0].ips[0], "ttl": 60, "new_ttl": 60})

	g.truth.Scope = map[string]string{"region": r.name, "lb": old.name, "source": "alb-" + old.name + ".log"}
	g.truth.Notes = "At " + g.ts(dns.Time.Unix()) + " netops moved api.example.com's " + r.name + " record from " + old.name + " to " + nw.name +
		"; the old answer had a TTL of 86400 s, so resolvers kept sending clients to " + old.name + ". At " + g.ts(decom) +
		" the old load balancer's targets were deregistered: it answers 503 with no target for every client still on a cached answer. " +
		"The new load balancer and the pods are healthy; the failing share decays as caches expire. Rolling back the api does nothing; " +
		"re-registering targets on the old load balancer (or keeping it serving until the old TTL has passed) does."
	g.params["dns_change_at"] = g.ts(dns.Time.Unix())
	g.params["decommission_at"] = g.ts(dec.Time.Unix())
	g.params["old_lb"] = old.name
	g.params["new_lb"] = nw.name
	g.params["target_fail_share"] = round3(target)
	g.params["stale_network_share"] = round3(q)
}

func meanDiurnal(g *gen, t int64) float64 {
	var s float64
	for _, r := range g.regions {
		s += r.weight * diurnal(g.localHour(r, t))
	}
	return s
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// --- db-pool-exhaustion --------------------------------------------------

func setupDBPool(g *gen) {
	rng := g.rng
	leakMin := 12 + rng.IntN(25)
	deployAt := g.onset - int64(leakMin)*60
	prev := g.apiVersion
	ver := nextVersion(rng, prev)
	failP := between(rng, 0.42, 0.55)
	var fresh []*pod
	var at int64 = deployAt
	for _, r := range g.regions {
		fresh = append(fresh, g.rollout(r, ver, at, 15)...)
		at += 40
	}
	isNew := map[*pod]bool{}
	for _, p := range fresh {
		isNew[p] = true
	}
	// leaked connections per pod grow linearly; the pool (25) is full after
	// about leakMin minutes
	leakPerSec := 20.0 / float64(leakMin*60)
	sat := func(p *pod, t int64) float64 {
		if !isNew[p] || t < p.from {
			return 0
		}
		return math.Min(1, (2+leakPerSec*float64(t-p.from))/25)
	}
	firstNew := map[*region]*pod{}
	for _, p := range fresh {
		if firstNew[p.region] == nil {
			firstNew[p.region] = p
		}
	}
	g.h.pod = func(g *gen, rq *req, p *pod, t int64, o *outcome) {
		s := sat(p, t)
		web := p.app == "web" && !rq.route.static && rq.route.ok == 200
		if web {
			// server-side rendered pages call the api for their data
			s = sat(firstNew[p.region], t)
		}
		if s < 0.85 || !(rq.route.db || web) {
			return
		}
		rng := g.trng
		f := (s - 0.85) / 0.15
		if rng.Float64() < failP*f {
			// sql: connection pool wait timed out after 15 s
			o.t = 15 + 0.05*rng.Float64()
			o.status, o.size = 500, 92
			if web {
				o.status = 502
			} else if rng.IntN(4) == 0 {
				o.status = 503
			}
			return
		}
		o.t += f * rng.Float64() * 13
	}
	g.h.podState = func(g *gen, p *pod, t int64, s *podState) {
		if !isNew[p] {
			return
		}
		st := sat(p, t)
		s.inUse = math.Round(25 * st)
		if st > 0.9 {
			s.idle = 0
			s.cpu = 0.92 + 0.06*g.mrng.Float64()
			s.waits = 300 + 200*g.mrng.Float64()
			s.waitSecs = s.waits * 9
		}
	}
	g.h.dbState = func(g *gen, r *region, t int64, s *dbState) {
		var leaked float64
		for _, p := range r.api {
			if isNew[p] && p.alive(t) {
				leaked += math.Max(0, 25*sat(p, t)-2-10*g.util(r, t)*0.5)
			}
		}
		// leaked sessions sit idle in transaction; the rest of the busy
		// connections wait on locks those sessions hold
		leaked = math.Min(leaked, s.inUse)
		s.idleInTx += leaked
		s.active = math.Max(2, (s.inUse-leaked)*0.8)
		s.idle = s.poolIdle + (s.inUse-leaked)*0.2
		if leaked > 0 {
			s.maxTxDuration = float64(t-deployAt) * 0.9
		}
		s.threadsRunning += leaked * 0.1
	}
	c := g.deployChange(deployAt, nil, ver, prev, nil, "deploy api "+ver+" to all regions")
	g.culprit(c)
	g.truth.Scope = map[string]string{"service": "api", "version": ver}
	g.truth.Notes = "api " + ver + " (deployed from " + g.ts(c.Time.Unix()) + ") leaks a database connection on an error path: each pod's pool of 25 fills in about " +
		strconv.Itoa(leakMin) + " minutes, leaked sessions sit 'idle in transaction' and the database nears max_connections. From " + g.ts(g.onset) +
		" requests wait 15 s for a connection and about half fail; CPU is pinned by waiting goroutines and retries. Scaling out makes it worse (more pools); rolling back to " + prev + " fixes it."
	g.params["deploy_at"] = g.ts(c.Time.Unix())
	g.params["version"] = ver
	g.params["previous_version"] = prev
	g.params["leak_minutes"] = leakMin
	g.params["fail_share"] = round3(failP)
}

// --- bad-deploy -----------------------------------------------------------

func setupBadDeploy(g *gen) {
	rng := g.rng
	r := g.busyRegion()
	prev := g.apiVersion
	ver := nextVersion(rng, prev)
	at := g.onset
	variant := []string{"canary", "rollout", "rollout", "config", "feature-flag"}[rng.IntN(5)]
	failP := between(rng, 0.5, 0.95)
	// the broken code path: a set of endpoints
	broken := map[int]bool{}
	for _, rt := range routes {
		if rt.app == appAPI && rt.db && rng.Float64() < 0.55 {
			broken[rt.idx] = true
		}
	}
	if len(broken) == 0 {
		broken[1] = true
	}
	bad := map[*pod]bool{}
	errStatus := 500
	var c *signal.Change
	switch variant {
	case "canary":
		n := 1 + rng.IntN(2)
		rs := randString(rng, alnumK8s, 10)
		var cps []*pod
		for i := 0; i < n; i++ {
			p := g.newPod(r, "api", ver, rs, r.nodes[rng.IntN(len(r.nodes))], at+int64(i*20))
			p.canary = true
			r.api = append(r.api, p)
			cps = append(cps, p)
			bad[p] = true
		}
		failP = between(rng, 0.8, 0.98)
		c = g.deployChange(at-30, []*region{r}, ver, prev, cps, "canary api "+ver+" in "+r.cluster+" ("+strconv.Itoa(n)+" pods)")
		g.truth.Scope = map[string]string{"region": r.name, "version": ver, "pod": cps[0].name}
	case "rollout":
		fresh := g.rollout(r, ver, at, 20)
		for _, p := range fresh {
			bad[p] = true
		}
		c = g.deployChange(at-30, []*region{r}, ver, prev, fresh, "deploy api "+ver+" to "+r.cluster)
		g.truth.Scope = map[string]string{"region": r.name, "version": ver}
	case "config":
		for _, p := range r.api {
			if p.alive(at) {
				bad[p] = true
			}
		}
		errStatus = 502
		if rng.IntN(2) == 0 {
			errStatus = 500
		}
		c = g.addChange(at-40, signal.KindConfig, "api", "api: point ORDERS_DB_REPLICA_URL at the new reader endpoint", g.person(),
			map[string]string{"region": r.name, "cluster": r.cluster, "service": "api"},
			map[string]any{"key": "ORDERS_DB_REPLICA_URL", "old": "orders-ro-" + r.spec.short + ".internal:5432", "new": "orders-reader-" + r.spec.short + ".internal:5432", "configmap": "api-config"})
		g.truth.Scope = map[string]string{"region": r.name, "service": "api"}
		ver = g.apiVersion
	case "feature-flag":
		for _, p := range g.pods {
			if p.app == "api" {
				bad[p] = true
			}
		}
		pct := 25 * (1 + rng.IntN(3))
		failP = float64(pct) / 100
		c = g.addChange(at-20, signal.KindFeatureFlag, "api", "api: orders-serializer-v2 0% → "+strconv.Itoa(pct)+"% of users", g.person(),
			map[string]string{"service": "api"},
			map[string]any{"flag": "orders-serializer-v2", "old": "0%", "new": strconv.Itoa(pct) + "%"})
		g.truth.Scope = map[string]string{"service": "api"}
		ver = g.apiVersion
		r = nil
	}
	g.scopeRegion = r
	g.culprit(c)
	g.h.pod = func(g *gen, rq *req, p *pod, t int64, o *outcome) {
		if !bad[p] || t < at || !broken[rq.route.idx] {
			return
		}
		if g.trng.Float64() < failP {
			o.status, o.size = errStatus, 120+g.trng.IntN(60)
			o.t *= 0.4
		}
	}
	g.h.podState = func(g *gen, p *pod, t int64, s *podState) {
		if bad[p] && t >= at {
			s.cpu *= 1.15
		}
	}
	var eps []string
	for _, rt := range routes {
		if broken[rt.idx] {
			eps = append(eps, rt.method+" "+rt.tmpl)
		}
	}
	g.truth.Notes = "Variant " + variant + ": from " + g.ts(at) + " the change " + c.Summary + " breaks " + strconv.Itoa(len(eps)) +
		" API endpoints (" + strconv.Itoa(int(failP*100)) + "% of their requests fail with " + strconv.Itoa(errStatus) + "). Reverting the change fixes it."
	g.params["variant"] = variant
	g.params["version"] = ver
	g.params["previous_version"] = prev
	g.params["endpoints"] = eps
	g.params["fail_share"] = round3(failP)
	g.params["change_at"] = g.ts(c.Time.Unix())
}

// --- auth-rejects ----------------------------------------------------------

// authenticated reports whether the api checks a token on the route: those
// that already answer 401 or 403 now and then, but the token endpoint.
func authenticated(rt *route) bool {
	if rt.app != appAPI || strings.HasPrefix(rt.tmpl, "/api/v1/auth/token") {
		return false
	}
	for _, c := range rt.e4codes {
		if c == 401 || c == 403 {
			return true
		}
	}
	return false
}

func setupAuthRejects(g *gen) {
	rng := g.rng
	at := g.onset
	variant := []string{"signing-key", "scope"}[rng.IntN(2)]
	var c *signal.Change
	var status int
	var reject func(rq *req, t int64) bool
	switch variant {
	case "signing-key":
		// Tokens signed with the old key fail verification until their
		// client gets a new one: each client after its own delay (the
		// token's remaining lifetime, or a refresh after the 401).
		mean := between(rng, 8, 30) * 60
		status = 401
		reject = func(rq *req, t int64) bool {
			if !authenticated(rq.route) {
				return false
			}
			u := (float64(fnv64(rq.c.ip)%10007) + 0.5) / 10007
			return float64(t-at) < -mean*math.Log(u)
		}
		c = g.addChange(at-int64(rng.IntN(90)), signal.KindConfig, "api", "api: rotate the JWT signing key", g.person(),
			map[string]string{"service": "api"},
			map[string]any{"key": "JWT_SIGNING_KEY_ID", "old": "k-2026-10", "new": "k-2026-11", "configmap": "api-auth"})
		g.params["token_refresh_mean_minutes"] = round3(mean / 60)
		g.truth.Scope = map[string]string{"service": "api"}
	case "scope":
		// One family of endpoints now requires a scope that the tokens
		// already issued lack.
		var writes []*route
		for _, rt := range routes {
			if rt.app == appAPI && rt.method != "GET" && !strings.HasPrefix(rt.tmpl, "/api/v1/auth/") && rt.tmpl != "/api/v1/events" {
				writes = append(writes, rt)
			}
		}
		rng.Shuffle(len(writes), func(i, j int) { writes[i], writes[j] = writes[j], writes[i] })
		writes = writes[:1+rng.IntN(2)]
		in := map[*route]bool{}
		var eps []string
		for _, rt := range writes {
			in[rt] = true
			eps = append(eps, rt.method+" "+rt.tmpl)
		}
		failP := between(rng, 0.7, 1)
		status = 403
		reject = func(rq *req, t int64) bool { return in[rq.route] && g.trng.Float64() < failP }
		c = g.addChange(at-int64(rng.IntN(90)), signal.KindConfig, "api", "api: require scope orders:write on write endpoints", g.person(),
			map[string]string{"service": "api"},
			map[string]any{"key": "REQUIRED_SCOPES", "old": "orders:read", "new": "orders:read,orders:write", "endpoints": eps, "configmap": "api-auth"})
		g.params["endpoints"] = eps
		g.params["fail_share"] = round3(failP)
		g.truth.Scope = map[string]string{"service": "api", "endpoint": strings.Join(eps, ", ")}
	}
	g.culprit(c)
	g.h.pod = func(g *gen, rq *req, p *pod, t int64, o *outcome) {
		if t < at || p.app != "api" || o.status >= 400 || !reject(rq, t) {
			return
		}
		o.status, o.size = status, 60+g.trng.IntN(60)
		o.t = 0.002 + o.t*0.2
		o.dep = "-" // rejected before any call
	}
	g.truth.Notes = "Variant " + variant + ": the change " + c.Summary + " makes the api answer " + strconv.Itoa(status) +
		" to requests it accepted before; nothing fails with a 5xx, so only the client errors show it. Reverting the change fixes it."
	g.params["variant"] = variant
	g.params["status"] = status
	g.params["change_at"] = g.ts(c.Time.Unix())
}

// --- bad-pod ---------------------------------------------------------------

func setupBadPod(g *gen) {
	rng := g.rng
	r := g.busyRegion()
	g.scopeRegion = r
	alive := alivePods(r.api, g.onset)
	bp := alive[rng.IntN(len(alive))]
	failP := between(rng, 0.6, 0.95)
	status := []int{500, 503, 500}[rng.IntN(3)]
	g.h.pod = func(g *gen, rq *req, p *pod, t int64, o *outcome) {
		if p != bp || t < g.onset || !rq.route.db {
			return
		}
		if g.trng.Float64() < failP {
			o.status, o.size = status, 70+g.trng.IntN(40)
			o.t = 0.002 + o.t*0.1
		}
	}
	g.h.podState = func(g *gen, p *pod, t int64, s *podState) {
		if p == bp && t >= g.onset {
			s.inUse = 0
			s.idle = 0
			s.cpu *= 0.4
		}
	}
	g.truth.Scope = map[string]string{"region": r.name, "pod": bp.name, "upstream": bp.ip + ":8080", "node": bp.node.name}
	g.truth.Notes = "From " + g.ts(g.onset) + " pod " + bp.name + " (" + bp.ip + ") lost its database connections and answers " + strconv.Itoa(status) +
		" to " + strconv.Itoa(int(failP*100)) + "% of its database-backed requests, fast, while its readiness probe (which does not touch the database) still passes. " +
		"No change caused it; deleting the pod (after capturing its state) fixes it."
	g.params["pod"] = bp.name
	g.params["pod_ip"] = bp.ip
	g.params["fail_share"] = round3(failP)
	g.params["status"] = status
}

// --- bad-node --------------------------------------------------------------

func setupBadNode(g *gen) {
	rng := g.rng
	r := g.busyRegion()
	g.scopeRegion = r
	// a node that runs api pods
	alive := alivePods(r.api, g.onset)
	bn := alive[rng.IntN(len(alive))].node
	failP := between(rng, 0.35, 0.7)
	g.h.pod = func(g *gen, rq *req, p *pod, t int64, o *outcome) {
		if p.node != bn || t < g.onset {
			return
		}
		rng := g.trng
		if rng.Float64() < failP {
			if rng.IntN(5) < 3 {
				o.conn = connReset
				o.t = 0.2 + rng.Float64()*2
			} else {
				o.conn, o.timeout = connTimeout, 5
			}
			return
		}
		o.t *= 1.5 + 3*rng.Float64()
	}
	g.h.nodeState = func(g *gen, n *node, t int64, s *nodeState) {
		if n != bn || t < g.onset {
			return
		}
		s.rxErrs = 400 + 1500*g.mrng.Float64()
		s.txErrs = 100 + 600*g.mrng.Float64()
		s.load1 += 6 + 4*g.mrng.Float64()
		s.busy = math.Min(0.95, s.busy+0.15)
	}
	var pods []string
	for _, p := range r.api {
		if p.node == bn {
			pods = append(pods, p.name)
		}
	}
	g.truth.Scope = map[string]string{"region": r.name, "node": bn.name, "zone": bn.zone}
	g.truth.Notes = "From " + g.ts(g.onset) + " node " + bn.name + " (" + bn.zone + ") has a failing network interface: receive and transmit errors climb, " +
		"and " + strconv.Itoa(int(failP*100)) + "% of requests to its pods (" + joinComma(pods) + ") are reset or time out. Ingress retries hide some of it. " +
		"No change caused it; cordoning and draining the node fixes it."
	g.params["node"] = bn.name
	g.params["zone"] = bn.zone
	g.params["pods"] = pods
	g.params["fail_share"] = round3(failP)
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ", "
		}
		out += v
	}
	return out
}

// --- memory-leak -------------------------------------------------------------

func setupMemoryLeak(g *gen) {
	rng := g.rng
	prev := g.apiVersion
	ver := nextVersion(rng, prev)
	deployAt := g.onset - minutes(rng, 60, 150)
	var regions []*region
	if rng.IntN(2) == 0 {
		regions = g.regions
	} else {
		regions = []*region{g.busyRegion()}
		g.scopeRegion = regions[0]
	}
	var fresh []*pod
	at := deployAt
	for _, r := range regions {
		fresh = append(fresh, g.rollout(r, ver, at, 15)...)
		at += 45
	}
	const limit = 1 << 30
	base := 330e6
	type life struct {
		kills []int64 // OOM kill times
		down  []int64 // seconds until the restarted container is ready
		rate  float64 // bytes per second
	}
	lives := map[*pod]*life{}
	first := fresh[rng.IntN(len(fresh))]
	for _, p := range fresh {
		f := between(rng, 1.0, 1.35)
		if p == first {
			f = 1
		}
		// the first pod starts thrashing (93% of its limit) at the onset
		l := &life{rate: (0.93*limit - base) / (float64(g.onset-p.from) * f)}
		for t, n := p.from, 0; ; n++ {
			k := t + int64((limit-base)/l.rate)
			if k > g.end {
				break
			}
			l.kills = append(l.kills, k)
			// CrashLoopBackOff doubles the wait between restarts
			l.down = append(l.down, int64(20+10<<min(n, 3)+rng.IntN(15)))
			t = k + l.down[n]
		}
		lives[p] = l
	}
	// state at t: memory, restarts so far, and whether it is restarting
	state := func(p *pod, t int64) (mem float64, restarts int, down bool) {
		l := lives[p]
		since := p.from
		for i, k := range l.kills {
			if t < k {
				break
			}
			restarts++
			since = k + l.down[i]
			if t < since {
				return base, restarts, true
			}
		}
		return base + l.rate*float64(t-since), restarts, false
	}
	g.h.pod = func(g *gen, rq *req, p *pod, t int64, o *outcome) {
		if lives[p] == nil {
			return
		}
		mem, _, down := state(p, t)
		if down {
			// the ALB keeps sending to the target until its health
			// checks fail; ingress-nginx retries another pod
			o.conn = connRefused
			return
		}
		for _, k := range lives[p].kills {
			if t >= k-6 && t < k {
				o.conn, o.t = connReset, float64(k-t)
				return
			}
		}
		// GC thrash as the heap nears the limit: slow, then requests miss
		// their 5 s deadline
		if x := (mem/limit - 0.85) / 0.15; x > 0 {
			o.t *= 1 + 25*x*x*x
		}
		if x := (mem/limit - 0.93) / 0.07; x > 0 && g.trng.Float64() < 0.5*x {
			o.t = 5 + 0.01*g.trng.Float64()
			o.status, o.size = 503, 85
		}
	}
	g.h.podState = func(g *gen, p *pod, t int64, s *podState) {
		if lives[p] == nil {
			return
		}
		mem, restarts, down := state(p, t)
		s.mem = mem
		s.restarts = float64(restarts)
		s.ooms = float64(restarts)
		s.lastOOM = restarts > 0
		s.up = !down
		s.cpu *= 1 + 1.5*math.Pow(mem/limit, 6)
	}
	c := g.deployChange(deployAt, regions, ver, prev, nil, "deploy api "+ver)
	if len(regions) > 1 {
		c.Summary = "deploy api " + ver + " to all regions"
	}
	g.culprit(c)
	g.truth.Scope = map[string]string{"service": "api", "version": ver}
	if len(regions) == 1 {
		g.truth.Scope["region"] = regions[0].name
	}
	g.truth.Notes = "api " + ver + " (deployed " + g.ts(c.Time.Unix()) + ") leaks memory on every request: each pod's working set grows until it hits its 1 GiB limit and is OOM-killed; " +
		"the first pod starts failing requests in GC thrash at " + g.ts(g.onset) + ", is killed minutes later, and kills recur. In-flight requests are reset and the pod refuses connections while it restarts. " +
		"Restarting only resets the clock; rolling back to " + prev + " fixes it."
	g.params["deploy_at"] = g.ts(c.Time.Unix())
	g.params["version"] = ver
	g.params["previous_version"] = prev
	g.params["first_oom_pod"] = first.name
}

// --- slow-queries ----------------------------------------------------------

func setupSlowQueries(g *gen) {
	rng := g.rng
	var regions []*region
	if rng.IntN(2) == 0 {
		regions = g.regions
	} else {
		regions = []*region{g.busyRegion()}
		g.scopeRegion = regions[0]
	}
	in := map[*region]bool{}
	for _, r := range regions {
		in[r] = true
	}
	slowRoute := routes[1] // /api/v1/users/{uid}/orders
	medianSlow := between(rng, 3, 9)
	migAt := g.onset - int64(rng.IntN(90))
	g.h.pod = func(g *gen, rq *req, p *pod, t int64, o *outcome) {
		if !in[p.region] || t < g.onset || p.app != "api" {
			return
		}
		rng := g.trng
		if rq.route == slowRoute {
			o.t = lognormal(rng, medianSlow, 0.5)
			if o.t > 10 {
				// statement_timeout = 10s
				o.t = 10 + 0.02*rng.Float64()
				o.status, o.size = 500, 98
			}
			return
		}
		if rq.route.db {
			// the scans hog the database: everything else slows a little
			o.t *= 1.3 + 0.8*rng.Float64()
		}
	}
	g.h.podState = func(g *gen, p *pod, t int64, s *podState) {
		if in[p.region] && t >= g.onset && p.app == "api" {
			s.inUse += 6 + 3*g.mrng.Float64()
		}
	}
	g.h.dbState = func(g *gen, r *region, t int64, s *dbState) {
		if !in[r] || t < g.onset {
			return
		}
		s.stmtSecs[0] = s.stmtCalls[0] * medianSlow
		s.active += 20 + 10*g.mrng.Float64()
		s.maxTxDuration = 8 + 2*g.mrng.Float64()
		s.locks["accesssharelock"] += 30
		s.slowQueries = s.stmtCalls[0] / 10
		s.threadsRunning += 25
	}
	d := map[string]any{"migration": "20261120_" + strconv.Itoa(1000+rng.IntN(900)) + "_orders_index_cleanup", "statement": "DROP INDEX CONCURRENTLY idx_orders_user_id_created_at",
		"database": "orders"}
	if rng.IntN(2) == 0 {
		d["pr"] = "https://github.com/example/api/pull/" + strconv.Itoa(4000+rng.IntN(900))
	}
	scope := map[string]string{"service": "api", "database": "orders"}
	if len(regions) == 1 {
		scope["region"] = regions[0].name
	}
	c := g.addChange(migAt, signal.KindDBMigration, "api", "orders: drop redundant indexes", "flyway", scope, d)
	g.culprit(c)
	g.truth.Scope = map[string]string{"service": "api", "endpoint": slowRoute.method + " " + slowRoute.tmpl}
	if len(regions) == 1 {
		g.truth.Scope["region"] = regions[0].name
	}
	g.truth.Notes = "A migration at " + g.ts(c.Time.Unix()) + " dropped idx_orders_user_id_created_at as 'redundant'. From " + g.ts(g.onset) +
		" the orders-by-user query scans the table: " + slowRoute.method + " " + slowRoute.tmpl + " takes seconds and hits the 10 s statement timeout; the database's active sessions and lock counts climb. " +
		"Recreating the index (CREATE INDEX CONCURRENTLY) fixes it; rolling back the api does not."
	g.params["migration_at"] = g.ts(c.Time.Unix())
	g.params["median_seconds"] = round3(medianSlow)
	g.params["endpoint"] = slowRoute.tmpl
}

// --- dependency ------------------------------------------------------------

func setupDependency(g *gen) {
	rng := g.rng
	d := dependencies[rng.IntN(len(dependencies))]
	// how it fails: calls time out; the dependency answers errors at once;
	// calls time out until the api's circuit breaker opens and fails them
	// fast without calling
	mode := rng.IntN(3)
	modes := []string{"timeouts", "errors", "timeouts, then an open circuit breaker"}
	failP := between(rng, 0.5, 1)
	timeout := []float64{3, 5, 10, 30}[rng.IntN(4)]
	depStatus := []string{"503", "500", "502", "429"}[rng.IntN(4)]
	appStatus := []int{502, 503, 500}[rng.IntN(3)]
	if mode != 1 {
		appStatus = []int{504, 500, 503}[rng.IntN(3)]
	}
	breakerAt := g.onset + minutes(rng, 2, 12)
	g.h.pod = func(g *gen, rq *req, p *pod, t int64, o *outcome) {
		if t < g.onset || rq.route.dep != d || o.status >= 500 {
			return
		}
		rng := g.trng
		if rng.Float64() >= failP {
			return
		}
		o.size = 70 + rng.IntN(90)
		switch {
		case mode == 1:
			o.dep, o.status = depStatus, appStatus
			o.t = 0.01 + o.t*0.5 + 0.05*rng.Float64()
		case mode == 2 && t >= breakerAt:
			o.dep, o.status = "-", 503
			o.t = 0.001 + 0.003*rng.Float64()
		default:
			o.dep, o.status = "timeout", appStatus
			o.t = timeout + 0.002 + 0.03*rng.Float64()
		}
	}
	eps := d.routes
	g.truth.Scope = map[string]string{"service": "api", "dependency": d.host, "endpoint": strings.Join(eps, ", ")}
	g.truth.Notes = "From " + g.ts(g.onset) + " " + d.name + " (" + d.host + "), which the api calls from " + strings.Join(eps, " and ") + ", fails " +
		strconv.Itoa(int(failP*100)) + "% of the calls with " + modes[mode] + "; every api pod in every region is affected alike. " +
		"No change of ours caused it; the fix is on the dependency's side, the containment on ours (fail fast, degrade the feature)."
	g.params["dependency"] = d.host
	g.params["mode"] = modes[mode]
	g.params["fail_share"] = round3(failP)
	if mode != 1 {
		g.params["timeout_seconds"] = timeout
	}
	if mode == 2 {
		g.params["breaker_open_at"] = g.ts(breakerAt)
	}
	g.params["status"] = appStatus
	g.params["outbound_metrics"] = g.depMetrics
}

// --- cdn-origin --------------------------------------------------------------

func setupCDNOrigin(g *gen) {
	rng := g.rng
	g.cdn = &cdnConf{hitRatio: between(rng, 0.35, 0.6), name: "E" + randString(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 13)}
	at := g.onset
	variants := []struct{ key, old, new, result string }{
		{"origin_domain", "origin-{region}.example.com", "orign-{region}.example.com", "OriginDnsError"},
		{"origin_protocol_policy", "https-only", "http-only", "OriginConnectError"},
		{"origin_port", "443", "8443", "OriginConnectError"},
	}
	v := variants[rng.IntN(len(variants))]
	status := 502
	if v.result == "OriginConnectError" && rng.IntN(2) == 0 {
		status = 504
	}
	g.h.cdnOrigin = func(g *gen, rq *req, origin *region, t int64) (int, string, float64) {
		if t < at {
			return 0, "", 0
		}
		if v.result == "OriginDnsError" {
			return status, v.result, 0.01 + 0.02*g.trng.Float64()
		}
		if status == 504 {
			return status, v.result, 10 + g.trng.Float64()
		}
		return status, v.result, 0.05 + 0.3*g.trng.Float64()
	}
	g.h.probe = func(g *gen, target string, t int64, s *probeState) {
		if target == "https://www.example.com/" && t >= at && g.mrng.IntN(2) == 0 {
			s.success, s.status = 0, float64(status)
		}
	}
	c := g.addChange(at-int64(30+rng.IntN(60)), signal.KindCDN, "www", "www distribution: update origin settings ("+v.key+")", g.person(),
		map[string]string{"host": hostWWW},
		map[string]any{"distribution": g.cdn.name, "setting": v.key, "old": v.old, "new": v.new})
	g.culprit(c)
	g.truth.Scope = map[string]string{"host": hostWWW, "layer": "cdn", "source": "cdn.jsonl"}
	g.truth.Notes = "At " + g.ts(c.Time.Unix()) + " the www CDN distribution's " + v.key + " was changed from " + v.old + " to " + v.new +
		". From " + g.ts(at) + " every cache miss fails at the edge with " + strconv.Itoa(status) + " (" + v.result + "); cached pages still load. " +
		"The origins and pods are healthy (their traffic drops). Reverting the distribution's origin settings fixes it."
	g.params["setting"] = v.key
	g.params["result"] = v.result
	g.params["status"] = status
	g.params["hit_ratio"] = round3(g.cdn.hitRatio)
}

// --- cert-expired ----------------------------------------------------------

func setupCertExpired(g *gen) {
	rng := g.rng
	g.cdn = &cdnConf{hitRatio: between(rng, 0.35, 0.6), name: "E" + randString(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 13)}
	r := g.busyRegion()
	g.scopeRegion = r
	host := "origin-" + r.name + ".example.com"
	at := g.onset
	g.h.cdnOrigin = func(g *gen, rq *req, origin *region, t int64) (int, string, float64) {
		if origin != r || t < at {
			return 0, "", 0
		}
		return 502, "OriginSslError", 0.02 + 0.03*g.trng.Float64()
	}
	g.h.probe = func(g *gen, target string, t int64, s *probeState) {
		if target != "https://"+host+"/healthz" {
			return
		}
		s.certExpiry = float64(at)
		if t >= at {
			s.success, s.status = 0, 0
		}
	}
	// cert-manager tried to renew for weeks; nobody looked at its events
	g.truth.Scope = map[string]string{"region": r.name, "host": host}
	g.truth.Notes = "The certificate of " + host + ", served by ingress-nginx in " + r.name + " and used by the CDN as that region's origin, expired at " + g.ts(at) +
		" (cert-manager's renewals had been failing quietly). The CDN's TLS handshakes to that origin fail: cache misses for users served from " + r.name +
		" get 502 OriginSslError; probe_ssl_earliest_cert_expiry shows the date. No change caused it; renewing the certificate fixes it."
	g.params["host"] = host
	g.params["not_after"] = g.ts(at)
	g.params["hit_ratio"] = round3(g.cdn.hitRatio)
}

// --- capacity ----------------------------------------------------------------

func setupCapacity(g *gen) {
	rng := g.rng
	r := g.pickRegion()
	g.scopeRegion = r
	mult := between(rng, 2.3, 3.3)
	ramp := minutes(rng, 4, 12)
	at := g.onset - ramp/2
	// utilisation at the onset must cross saturation: scale the surge to
	// the region's diurnal level
	d := diurnal(g.localHour(r, g.onset))
	if 0.5*d*mult < 1.05 {
		mult = 1.05 / (0.5 * d) * between(rng, 1, 1.1)
	}
	g.h.rate = func(rr *region, t int64) float64 {
		if rr != r || t < at {
			return 1
		}
		x := math.Min(1, float64(t-at)/float64(ramp))
		return 1 + (mult-1)*x
	}
	g.h.podState = func(g *gen, p *pod, t int64, s *podState) {
		if p.region == r && t >= at {
			s.cpu = math.Min(0.99, s.cpu)
		}
	}
	g.h.afterRates = func(g *gen) {
		// users start failing when the load crosses saturation
		for t := at; t < g.end; t += 60 {
			if g.util(r, t) >= 0.92 {
				g.onset = t
				return
			}
		}
	}
	g.truth.Scope = map[string]string{"region": r.name}
	g.truth.Notes = "From " + g.ts(at) + " traffic in " + r.name + " climbs to " + strconv.FormatFloat(round3(mult), 'f', -1, 64) +
		"× its usual level (a marketing push notification). The api deployment is already at its autoscaler's maximum: CPU is pinned, requests queue and are shed with 503s and timeouts. " +
		"No change caused it; raising the replica limit (and the database's connection budget) or shedding load fixes it."
	g.params["surge"] = round3(mult)
	g.params["ramp_minutes"] = ramp / 60
}

// --- zone-outage -----------------------------------------------------------

func setupZoneOutage(g *gen) {
	rng := g.rng
	r := g.busyRegion()
	g.scopeRegion = r
	zone := r.nodes[rng.IntN(len(r.nodes))].zone
	failP := between(rng, 0.7, 0.95)
	g.h.pod = func(g *gen, rq *req, p *pod, t int64, o *outcome) {
		if p.node.zone != zone || t < g.onset {
			return
		}
		rng := g.trng
		if rng.Float64() < failP {
			if rng.IntN(3) == 0 {
				o.conn, o.t = connRefused, 0
			} else {
				o.conn, o.timeout = connTimeout, 5
			}
		}
	}
	g.h.nodeState = func(g *gen, n *node, t int64, s *nodeState) {
		if n.zone == zone && t >= g.onset {
			s.up = g.mrng.Float64() < 0.15
			s.kubeletReady = false
		}
	}
	g.h.podState = func(g *gen, p *pod, t int64, s *podState) {
		if p.node.zone == zone && t >= g.onset {
			s.up = g.mrng.Float64() < 0.2
		}
	}
	var nodes []string
	for _, n := range r.nodes {
		if n.zone == zone {
			nodes = append(nodes, n.name)
		}
	}
	g.truth.Scope = map[string]string{"region": r.name, "zone": zone}
	g.truth.Notes = "From " + g.ts(g.onset) + " availability zone " + zone + " is impaired: its nodes (" + joinComma(nodes) + ") drop most packets, so the pods there time out or refuse connections. " +
		"Ingress retries hide part of it; ALB requests to those targets fail with 502/504. No change caused it; shifting traffic away from the zone (zonal shift) fixes it."
	g.params["zone"] = zone
	g.params["nodes"] = nodes
	g.params["fail_share"] = round3(failP)
}
