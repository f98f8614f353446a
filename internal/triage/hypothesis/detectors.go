package hypothesis

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/source/prom"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

// detector is one cause's reasoning: what evidence it needs, and a run
// that scores how well the evidence fits (0 = not at all).
type detector struct {
	cause string
	needs string
	run   func(f *features) *scored
}

// detectors is the one list of causes the stage considers.
var detectors = []detector{
	{"dns-stale-cache", "a dns change before the onset (its cached TTL), failures on the old endpoint or load balancer", dnsStale},
	{"bad-deploy", "a deploy, rollback, config or flag change just before a step in errors", badDeploy},
	{"db-pool-exhaustion", "database connections near their limit (metrics or db check), latency up everywhere; without them, failures on every instance ending at one timeout", dbPool},
	{"slow-queries", "query latency up at the onset, or a db-migration just before it", slowQueries},
	{"memory-leak", "memory ramping to the limit with restarts or OOM kills; without memory series, instances failing in turn well after a release", memoryLeak},
	{"bad-pod", "failures concentrated on one upstream instance", badPod},
	{"bad-node", "failures on the instances of one node, or node network errors", badNode},
	{"zone-outage", "failures concentrated in one zone or region, without a DNS change there", zoneOutage},
	{"cdn-origin", "failures at the CDN/proxy layer, with a cdn change or requests not reaching the origin", cdnOrigin},
	{"cert-expired", "a certificate expiring at the onset (probe metrics) or a cert change", certExpired},
	{"capacity", "traffic well above the baseline with saturation and no change to blame", capacity},
	{"dependency", "errors on a few endpoints, reaching the app, with nothing else to blame", dependency},
}

// Detectors lists each cause and the evidence it needs (for docs and -v).
func Detectors() [][2]string {
	out := make([][2]string, len(detectors))
	for i, d := range detectors {
		out[i] = [2]string{d.cause, d.needs}
	}
	return out
}

var deployKinds = []string{signal.KindDeploy, signal.KindRollback, signal.KindConfig, signal.KindFeatureFlag}

// codeKinds change the application itself: its code, configuration or
// schema.
var codeKinds = append(append([]string{}, deployKinds...), signal.KindDBMigration)

// --- shared measurements ---------------------------------------------------

// connUsage is the database connection usage: the peak in the incident,
// the mean in the hour before it, and when it first reached 90%.
type connUsage struct {
	peak, before float64
	crossed      time.Time
	has          bool
	source       string
}

func (f *features) connUsage() connUsage {
	var u connUsage
	if f.m != nil && f.hasOnset {
		s := f.m.Role(prom.RoleDBConnUsage)
		if len(s) > 0 {
			u.peak, _ = maxOver(s, f.incident())
			u.before, _ = meanOf(s, f.before(time.Hour))
			for _, x := range s {
				if t, ok := prom.FirstCrossing(x.Points, 0.9, f.onset.Add(-3*time.Hour)); ok && (u.crossed.IsZero() || t.Before(u.crossed)) {
					u.crossed = t
				}
			}
			u.has, u.source = true, s[0].Name
		}
	}
	if db := f.ev.DB; db != nil && (db.Max > 0 || db.Refused) {
		now := 1.0
		if !db.Refused {
			now = float64(db.InUse) / float64(db.Max)
		}
		if now > u.peak {
			u.peak = now
		}
		u.has = true
		if u.source == "" {
			u.source = "db check"
		}
	}
	return u
}

// stepRatio compares a role's mean level in the incident with the hour
// before the onset (1 = unchanged, 0 = no data).
func (f *features) stepRatio(r prom.Role) (float64, float64, float64) {
	if f.m == nil || !f.hasOnset {
		return 0, 0, 0
	}
	s := f.m.Role(r)
	if len(s) == 0 {
		return 0, 0, 0
	}
	after, na := meanOf(s, f.incident())
	before, nb := meanOf(s, f.before(time.Hour))
	if na == 0 || nb == 0 {
		return 0, 0, 0
	}
	if before <= 0 {
		if after > 0 {
			return math.Inf(1), before, after
		}
		return 1, before, after
	}
	return after / before, before, after
}

// --- detectors -------------------------------------------------------------

// dnsStale: after a DNS record moved, clients on cached answers still reach
// the old endpoint, which no longer works. Needs a dns change before the
// onset (while its old TTL could still be cached). Supported by: failures
// that never reached an upstream or sit on one load balancer; the change
// naming that endpoint or scope; the old endpoint decommissioned at the
// onset; a long cached TTL; a failing share that decays as caches expire;
// resolvers still answering the old value. Refuted by: no dns change, or
// failures spread everywhere.
func dnsStale(f *features) *scored {
	c, cfit, why := f.bestChange([]string{signal.KindDNS}, time.Hour, 0.6)
	if c == nil {
		return nil
	}
	h := &scored{change: c, evidence: why}
	ttl, _ := c.DetailFloat("ttl")
	score := 0.25 + 0.2*cfit
	if ttl >= 3600 {
		score += 0.1
		h.evidence = append(h.evidence, fmt.Sprintf("the old record's TTL was %s: resolvers may serve the old answer for up to %s after the switch", round(time.Duration(ttl)*time.Second), round(time.Duration(ttl)*time.Second)))
	} else if ttl > 0 {
		h.against = append(h.against, fmt.Sprintf("the old TTL was only %s; stale answers should have expired %s after the switch", round(time.Duration(ttl)*time.Second), round(time.Duration(ttl)*time.Second)))
		if f.lag(c) > 2*time.Duration(ttl)*time.Second {
			score -= 0.25
		}
	}
	if never, share := f.neverReached(); never {
		score += 0.15
		h.evidence = append(h.evidence, fmt.Sprintf("%s of the failing requests never reached an upstream: whatever answered them has no healthy targets", pct(share)))
	}
	if lb := f.findingsIn(layerLB); len(lb) > 0 && lb[0].ErrorShare >= 0.5 {
		d, v := scopeValue(lb[0], layerLB)
		score += 0.05
		h.evidence = append(h.evidence, fmt.Sprintf("%s=%s holds %s of the %s (%s %s there)", d, v, pct(lb[0].ErrorShare), f.say.errs, f.say.rate, pct(lb[0].ErrorRate)))
	}
	// The old endpoint taken away at the onset is what turns stale caches
	// into errors.
	for i := range f.ev.Changes {
		d := &f.ev.Changes[i]
		if d.ID == c.ID || (d.Kind != signal.KindInfra && d.Kind != signal.KindDNS && d.Kind != signal.KindCDN) {
			continue
		}
		act := strings.ToLower(d.DetailString("action") + " " + d.Summary)
		if !strings.Contains(act, "decommission") && !strings.Contains(act, "delete") && !strings.Contains(act, "remove") && !strings.Contains(act, "deregist") {
			continue
		}
		if tf := f.timeFit(d, 30*time.Minute); tf > 0.3 && d.Time.After(c.Time) {
			score += 0.15
			h.evidence = append(h.evidence, fmt.Sprintf("%s %s %s: %s", d.Kind, d.ID, f.when(d), d.Summary))
			break
		}
	}
	// Clients on a stale answer fail on every endpoint, at an endpoint that
	// does not serve them: failures that follow the endpoints and were
	// answered by the application are something else.
	eps, share := f.endpointFindings()
	onEndpoints := len(eps) > 0 && same(f.top[0], eps[0]) && share >= 0.5
	if onEndpoints {
		score -= 0.2
		h.against = append(h.against, fmt.Sprintf("the failures follow the endpoints (%s holds %s of the %s), not the clients: clients on a stale answer fail on every endpoint",
			signal.JoinScope(eps[0].Scope, " "), pct(eps[0].ErrorShare), f.say.errs))
	}
	if r, ok := f.reachedShare(); ok && r >= 0.8 {
		score -= 0.1
		h.against = append(h.against, fmt.Sprintf("%s of the failing requests reached the application, which answered them: the endpoint the clients reached works", pct(r)))
	}
	if f.concentrated && f.errRate < 0.5 && !onEndpoints {
		score += 0.1
		h.evidence = append(h.evidence, fmt.Sprintf("a partial failure: %s of all requests fail, concentrated where %s", pct(f.errRate), f.top[0].Summary))
	} else if !f.concentrated {
		score -= 0.15
		h.against = append(h.against, "the failures are spread over the traffic, not concentrated on one endpoint or scope")
	}
	if f.errShape == "decay" {
		score += 0.1
		h.evidence = append(h.evidence, fmt.Sprintf("the failing share decays over the incident (last third at %.0f%% of the first), as caches expire", f.decay*100))
	}
	for _, d := range f.ev.DNS {
		if d.ChangeID != c.ID {
			continue
		}
		h.evidence = append(h.evidence, d.Lines...)
		if d.StillOld > 0 {
			score += 0.15
		} else if d.Fresh > 0 {
			h.against = append(h.against, "every resolver checked already answers the new value")
		}
	}
	if f.latRatio >= 3 && !f.concentrated {
		h.against = append(h.against, fmt.Sprintf("latency is up %.0f× everywhere, which stale DNS does not explain", f.latRatio))
		score -= 0.1
	}
	h.score = clamp01(score)
	name := c.DetailString("name")
	if name == "" {
		name = "the record"
	}
	h.summary = fmt.Sprintf("Clients still resolving %s to its old value %s reach an endpoint that no longer works: the record changed %s (%s) with a cached TTL of %s.",
		name, orDash(c.DetailString("old")), f.when(c), c.ID, round(time.Duration(ttl)*time.Second))
	return h
}

// badDeploy: a deploy, rollback, config or feature-flag change of the
// failing service broke it. Needs such a change shortly before the onset.
// Supported by: a step at the rollout, failures on the new version's pods
// or paths it touched, requests that reach the app. Refuted by: the
// signature of another cause (connections pinned, memory ramp, stale DNS).
func badDeploy(f *features) *scored {
	c, cfit, why := f.bestChange(deployKinds, 20*time.Minute, 0.45)
	if c == nil {
		return nil
	}
	h := &scored{change: c, evidence: why}
	score := 0.15 + 0.5*cfit
	if f.errShape == "step" {
		score += 0.1
		h.evidence = append(h.evidence, "errors step up at the onset, as they do when a rollout lands")
	}
	if never, _ := f.neverReached(); never {
		score -= 0.25
		h.against = append(h.against, "the failing requests never reached an upstream, so the application's code was not involved")
	}
	if v := f.findingsIn(layerVersion); len(v) > 0 && v[0].ErrorShare >= 0.5 {
		d, val := scopeValue(v[0], layerVersion)
		score += 0.1
		h.evidence = append(h.evidence, fmt.Sprintf("%s=%s holds %s of the %s", d, val, pct(v[0].ErrorShare), f.say.errs))
	}
	if u := f.connUsage(); u.has && u.peak >= 0.9 {
		score -= 0.15
		h.against = append(h.against, fmt.Sprintf("database connections peaked at %s of the limit: the deploy may have caused it, but the mechanism is connection exhaustion", pct(u.peak)))
	}
	if r, _, _ := f.stepRatio(prom.RoleQueryLatency); r >= 3 {
		score -= 0.1
		h.against = append(h.against, fmt.Sprintf("query latency is up %.0f×: look at the database first", r))
	}
	if rs := f.restartsIn(); rs > 0 {
		h.against = append(h.against, fmt.Sprintf("%.0f container restarts in the incident window", rs))
	}
	if f.trafficRatio >= 1.5 {
		score -= 0.15
		h.against = append(h.against, fmt.Sprintf("traffic is %.1f× the baseline's: load alone can explain saturation", f.trafficRatio))
	}
	h.score = clamp01(score)
	h.summary = fmt.Sprintf("The %s %s %s broke the service: %s.", c.Kind, c.ID, f.when(c), strings.TrimSuffix(c.Summary, "."))
	return h
}

func (f *features) restartsIn() float64 {
	if f.m == nil || !f.hasOnset {
		return 0
	}
	return increaseIn(f.m.Role(prom.RoleRestarts), f.incident()) + increaseIn(f.m.Role(prom.RoleOOMKills), f.incident())
}

// dbPool: database connections at or near their limit; requests wait for
// a connection, then time out. Needs connection usage (postgres_exporter,
// mysqld_exporter, the client pool's go_sql metrics, or `db check`).
// Supported by: usage pinned near the maximum from before or at the
// onset, latency up by an order of magnitude, errors on every instance,
// pool waits; a deploy or scale-out beforehand (a leak, more clients).
// Refuted by: usage well below the limit.
func dbPool(f *features) *scored {
	u := f.connUsage()
	h := &scored{}
	score := 0.0
	switch {
	case u.has && u.peak >= 0.9:
		score += 0.45
		h.evidence = append(h.evidence, fmt.Sprintf("database connections at %s of the maximum (%s)", pct(u.peak), u.source))
		if !u.crossed.IsZero() && u.crossed.Before(f.onset.Add(2*f.bucket)) {
			score += 0.1
			h.evidence = append(h.evidence, fmt.Sprintf("connections reached 90%% of the maximum at %s, %s the onset", u.crossed.Format("15:04"), beforeAfter(f.onset.Sub(u.crossed))))
		}
		if u.before > 0 && u.before < 0.7 {
			h.evidence = append(h.evidence, fmt.Sprintf("in the hour before the onset usage averaged %s", pct(u.before)))
		}
	case u.has && u.peak >= 0.75:
		score += 0.2
		h.evidence = append(h.evidence, fmt.Sprintf("database connections peaked at %s of the maximum", pct(u.peak)))
	case u.has:
		h.against = append(h.against, fmt.Sprintf("database connections peaked at only %s of the maximum", pct(u.peak)))
		return &scored{score: 0.05, evidence: h.evidence, against: h.against, summary: "Database connection exhaustion does not fit: connections stayed well below the limit."}
	default:
		score += 0.05 // no connection data: only the symptoms can speak
	}
	if db := f.ev.DB; db != nil {
		h.evidence = append(h.evidence, db.Lines...)
	}
	if f.latRatio >= 5 {
		score += 0.15
		h.evidence = append(h.evidence, fmt.Sprintf("p99 latency %.1fs vs %.2fs in the baseline (%.0f×): requests wait for a connection until they time out", f.p99, f.baseP99, f.latRatio))
	} else if f.hasLatency && f.latRatio > 0 && f.latRatio < 2 {
		score -= 0.1
		h.against = append(h.against, "latency barely moved, while waiting for connections makes every request slow")
	}
	if !f.concentrated {
		score += 0.1
		h.evidence = append(h.evidence, "the failures are spread over every instance and path, as a shared database limit would make them")
	} else if p := f.findingsIn(layerPod); len(p) > 0 && same(p[0], f.top[0]) {
		score -= 0.15
		h.against = append(h.against, "the failures concentrate on one instance, while a shared pool limit hits all")
	}
	// Without connection data, the logs can still show the waiting: the
	// failing requests end at one duration, the pool's acquire timeout (or
	// a proxy's timeout in front of it), and every instance fails in
	// proportion to its traffic, as a limit they all hit makes them.
	// Instances failing in turn (restarts) or together (a node, a zone)
	// are no shared limit.
	waited := false
	if to := f.res.Impact.Timeout; !u.has && to != nil && !f.concentrated {
		if f.turns > 0 {
			h.against = append(h.against, "the instances fail one after another, not together as a shared limit fails them")
		} else if n, even := f.spreadOverInstances(); even && f.failingTraffic() >= 0.8 {
			waited = true
			score += 0.1
			h.evidence = append(h.evidence, fmt.Sprintf("%s, spread over %d instances in proportion to their traffic: requests waited for something they all share (a connection pool, a lock) until a timeout", to.Summary(), n))
		}
	}
	if r, b, a := f.stepRatio(prom.RoleDBWait); r >= 3 {
		score += 0.05
		if r > 100 || math.IsInf(r, 0) {
			h.evidence = append(h.evidence, fmt.Sprintf("requests started waiting for a pool connection (%.3g/s, from %.2g/s before)", a, b))
		} else {
			h.evidence = append(h.evidence, fmt.Sprintf("connection-pool waits up %.0f×", r))
		}
	}
	if r, b, a := f.stepRatio(prom.RoleCPU); r >= 1.5 {
		h.evidence = append(h.evidence, fmt.Sprintf("application CPU up from %.2f to %.2f cores", b, a))
	}
	// A leak fills the pool over tens of minutes after the rollout; more
	// instances (a scale-out) or a bigger pool fill it at once.
	c, cfit, why := f.bestChange([]string{signal.KindDeploy, signal.KindConfig, signal.KindScale, signal.KindFeatureFlag, signal.KindRollback}, 90*time.Minute, 0.4)
	if c != nil && (u.has && u.peak >= 0.9 || waited) {
		h.change = c
		score += 0.15 * cfit
		h.evidence = append(h.evidence, why...)
	}
	if !u.has && score < 0.35 {
		h.against = append(h.against, "no connection metrics or db check to confirm: run `sitrep db check --dsn …` or give postgres_exporter/mysqld_exporter metrics")
	}
	h.score = clamp01(score)
	switch {
	case !u.has && waited && h.change != nil:
		h.summary = fmt.Sprintf("Requests on every instance wait %s for something they all share, most likely database connections (no connection data to confirm); %s %s (%s) may leak or multiply them.", f.res.Impact.Timeout.About(), h.change.Kind, h.change.ID, f.when(h.change))
		return h
	case !u.has && waited:
		h.summary = fmt.Sprintf("Requests on every instance wait %s for something they all share, most likely database connections (no connection data to confirm).", f.res.Impact.Timeout.About())
		return h
	case !u.has:
		h.summary = "Requests may be waiting for database connections, but there is no connection data to tell."
		return h
	}
	state := "are exhausted"
	if u.peak < 0.9 {
		state = "ran high" // the wording follows the number: 79% is not exhausted
	}
	if h.change != nil {
		h.summary = fmt.Sprintf("Database connections %s (%s of the maximum); requests wait for a connection and time out. %s %s (%s) likely leaks or multiplies connections.", state, pct(u.peak), h.change.Kind, h.change.ID, f.when(h.change))
	} else {
		h.summary = fmt.Sprintf("Database connections %s (%s of the maximum); requests wait for a connection and time out.", state, pct(u.peak))
	}
	return h
}

func beforeAfter(d time.Duration) string {
	if d >= 0 {
		return round(d) + " before"
	}
	return round(-d) + " after"
}

// slowQueries: queries got slow (a migration, a missing index, a lock),
// dragging latency and errors. Needs query latency metrics or a
// db-migration change. Supported by: statement time stepping up at the
// onset, slow-query counters, long transactions or lock waits, latency up
// on the endpoints that use the table.
func slowQueries(f *features) *scored {
	h := &scored{}
	score := 0.0
	r, b, a := f.stepRatio(prom.RoleQueryLatency)
	if r >= 3 {
		score += 0.35
		h.evidence = append(h.evidence, fmt.Sprintf("mean query time up %.0f× at the onset (%.3fs → %.3fs)", r, b, a))
	} else if r > 0 && r < 1.5 {
		h.against = append(h.against, "query latency did not move")
		score -= 0.1
	}
	if sr, _, _ := f.stepRatio(prom.RoleSlowQueries); sr >= 3 {
		score += 0.1
		h.evidence = append(h.evidence, fmt.Sprintf("slow queries up %.0f×", sr))
	}
	if tr, _, ta := f.stepRatio(prom.RoleMaxTxDuration); tr >= 3 {
		score += 0.05
		h.evidence = append(h.evidence, fmt.Sprintf("the longest transaction reached %.0fs", ta))
	}
	c, cfit, why := f.bestChange([]string{signal.KindDBMigration}, 45*time.Minute, 0.3)
	if c != nil {
		h.change = c
		score += 0.3 * cfit
		h.evidence = append(h.evidence, why...)
		if risk, what := migrationRisk(c); risk > 0 {
			score += 0.05
			h.evidence = append(h.evidence, c.ID+": "+what)
		}
	}
	if f.latRatio >= 3 {
		score += 0.1
		h.evidence = append(h.evidence, fmt.Sprintf("p99 latency %.1fs vs %.2fs in the baseline", f.p99, f.baseP99))
	}
	if p := f.findingsIn(layerPath); len(p) > 0 && p[0].ErrorShare >= 0.4 {
		score += 0.05
		d, v := scopeValue(p[0], layerPath)
		h.evidence = append(h.evidence, fmt.Sprintf("%s=%s holds %s of the %s: the endpoints using the slow query", d, v, pct(p[0].ErrorShare), f.say.errs))
	}
	if db := f.ev.DB; db != nil && (db.LongestQuery > 10*time.Second || db.LockWaits > 0) {
		score += 0.1
		h.evidence = append(h.evidence, db.Lines...)
	}
	if c == nil && r == 0 && f.ev.DB == nil {
		return nil // nothing about the database at all
	}
	h.score = clamp01(score)
	if c != nil {
		h.summary = fmt.Sprintf("Database queries got slow after %s %s (%s): %s; requests pile up behind them.", c.Kind, c.ID, f.when(c), strings.TrimSuffix(c.Summary, "."))
	} else {
		h.summary = "Database queries got slow at the onset, dragging latency and errors up."
	}
	return h
}

// memoryLeak: memory grows until instances are OOM-killed and restart.
// Needs memory series per instance. Supported by: a steady ramp toward the
// limit, OOM kills and restarts during the incident, a deploy at the start
// of the ramp.
func memoryLeak(f *features) *scored {
	if !f.hasOnset {
		return nil
	}
	var series []prom.Series
	if f.m != nil {
		series = f.m.Role(prom.RoleMemoryUsage)
		if len(series) == 0 {
			series = f.m.Role(prom.RoleMemory)
		}
	}
	if len(series) == 0 {
		return restartsInTurn(f)
	}
	h := &scored{}
	score := 0.0
	w := prom.Window{Start: f.onset.Add(-3 * time.Hour), End: f.end}
	ramping, total := 0, 0
	for _, s := range series {
		r := prom.Ramp(s.Points, w)
		if r.N < 5 {
			continue
		}
		total++
		if r.Rising >= 0.6 && r.Slope > 0 && (r.R2 >= 0.5 || r.Last >= 1.5*r.First) {
			ramping++
		}
	}
	if ramping >= 2 && ramping*10 >= total {
		score += 0.35
		h.evidence = append(h.evidence, fmt.Sprintf("memory ramps steadily on %d of %d instances", ramping, total))
	} else if total > 0 {
		h.against = append(h.against, fmt.Sprintf("memory is flat on %d of %d instances", total-ramping, total))
	}
	oom := increaseIn(f.m.Role(prom.RoleOOMKills), f.incident())
	rs := increaseIn(f.m.Role(prom.RoleRestarts), f.incident())
	if oom > 0 || rs > 0 {
		score += 0.3
		h.evidence = append(h.evidence, fmt.Sprintf("%.0f container restarts and %.0f OOM kills in the incident window", rs, oom))
	} else {
		h.against = append(h.against, "no restarts or OOM kills in the incident window")
		score -= 0.1
	}
	if ramping == 0 && oom == 0 && rs == 0 {
		return nil
	}
	if !f.concentrated {
		score += 0.1
	}
	ref := f.onset
	if t := riseStart(series, f.onset.Add(-6*time.Hour), f.end); !t.IsZero() && t.Before(f.onset) {
		ref = t
		h.evidence = append(h.evidence, fmt.Sprintf("memory started to climb at %s, %s before the onset", t.Format("15:04"), round(f.onset.Sub(t))))
	}
	c, cfit, why := f.bestChangeAt([]string{signal.KindDeploy, signal.KindConfig, signal.KindFeatureFlag}, ref, 30*time.Minute, 0.3)
	if c != nil && ramping > 0 {
		h.change = c
		score += 0.15 * cfit
		h.evidence = append(h.evidence, why...)
	}
	h.score = clamp01(score)
	h.summary = "Memory grows until instances are OOM-killed and restart; requests fail while they are down."
	if h.change != nil {
		h.summary = fmt.Sprintf("A memory leak: memory ramps until instances are OOM-killed and restart. It started after %s %s (%s).", h.change.Kind, h.change.ID, f.when(h.change))
	}
	return h
}

// restartsInTurn is the memory leak as the logs alone show it, without
// memory series: instances failing one after another, each for a few
// minutes (slow while the heap fills, refusing connections while it
// restarts), long after a release of the service. A crash on some
// requests fails instances in turn too, but from the release on; a leak
// needs time to fill the memory, so the onset comes well after it.
func restartsInTurn(f *features) *scored {
	if f.turns == 0 {
		return nil
	}
	h := &scored{}
	score := 0.3
	h.evidence = append(h.evidence, fmt.Sprintf("%d instances fail in turn, each for a short part of the incident, rather than together: instances dying and restarting one after another, as they do when each runs out of memory", f.turns))
	if c, cfit, why := f.bestChange([]string{signal.KindDeploy, signal.KindConfig, signal.KindFeatureFlag}, 2*time.Hour, 0.4); c != nil {
		if gap := f.onset.Sub(c.Time); gap >= 10*time.Minute {
			h.change = c
			score += 0.15 * cfit
			h.evidence = append(h.evidence, why...)
			h.evidence = append(h.evidence, fmt.Sprintf("the failures began %s after %s, not at it: something built up until the instances gave way", round(gap), c.ID))
		} else {
			score -= 0.1
			h.against = append(h.against, fmt.Sprintf("%s %s landed %s before the onset: instances failing in turn right after a release crash on what it changed, they do not leak", c.Kind, c.ID, round(gap)))
		}
	}
	h.against = append(h.against, "no memory series to confirm: give container_memory_working_set_bytes and kube_pod_container_status_restarts_total (--prometheus or --metrics)")
	h.score = clamp01(score)
	h.summary = "Instances fail one after another and recover, as when each runs out of memory and is restarted; there are no memory series to confirm a leak."
	if h.change != nil {
		h.summary = fmt.Sprintf("Instances fail one after another and recover, as when each runs out of memory and is restarted: a leak since %s %s (%s)? No memory series to confirm.", h.change.Kind, h.change.ID, f.when(h.change))
	}
	return h
}

// badPod: one instance is unhealthy but still receives traffic. Needs a
// finding on one upstream/pod that holds most errors with a small share of
// the traffic. Refuted by: other instances of the same node failing too
// (bad-node), or a deploy naming that instance (bad-deploy).
func badPod(f *features) *scored {
	ps := f.findingsIn(layerPod)
	if len(ps) == 0 {
		return nil
	}
	p := ps[0]
	d, v := scopeValue(p, layerPod)
	h := &scored{scope: map[string]string{d: v}}
	// One instance may be reached through several load balancers (an ALB
	// targeting pods, an ingress controller): each log names it in its own
	// dimension, and each finding holds only its own log's share.
	errShare, trafficShare := p.ErrorShare, p.TrafficShare
	if g := f.instance(hostOf(v)); g != nil && g.errShare > errShare+0.01 {
		errShare = g.errShare
		trafficShare = float64(g.req) / float64(max(f.res.Impact.Requests, 1))
		h.evidence = append(h.evidence, fmt.Sprintf("instance %s holds %s of the %s with %s of the traffic across every log that names it", hostOf(v), pct(errShare), f.say.errs, pct(trafficShare)))
	}
	score := 0.0
	if errShare >= 0.5 && trafficShare <= 0.3 {
		score += 0.45 + 0.2*errShare
	} else if errShare >= 0.3 {
		score += 0.2
	}
	if p.ErrorRate >= 0.3 {
		score += 0.1
	}
	h.evidence = append(h.evidence, fmt.Sprintf("%s=%s holds %s of the %s with %s of the traffic; its %s is %s", d, v, pct(p.ErrorShare), f.say.errs, pct(p.TrafficShare), f.say.rate, pct(p.ErrorRate)))
	if !same(p, f.top[0]) {
		score -= 0.2
		h.against = append(h.against, "another finding explains the "+f.say.errs+" better: "+f.top[0].Summary)
	}
	if len(f.nodes) > 0 && f.nodes[0].failing >= 2 && f.nodes[0].errShare >= 0.5 {
		score -= 0.3
		h.against = append(h.against, fmt.Sprintf("%d instances on node %s fail, not one", f.nodes[0].failing, f.nodes[0].name))
	}
	if len(f.zones) > 0 {
		if failing, _ := f.failingNodesIn(f.zones[0].name, 0.15); failing >= 2 && f.zones[0].errShare >= 0.5 {
			score -= 0.3
			h.against = append(h.against, fmt.Sprintf("%d nodes of zone %s fail, not one instance", failing, f.zones[0].name))
		}
	}
	if fs, _, _ := f.cohort(); len(fs) >= 2 {
		var others []string
		for _, g := range fs {
			if g.name != hostOf(v) && g.errShare >= 0.15 {
				others = append(others, g.name)
			}
		}
		if len(others) > 0 {
			score -= 0.25
			what := fmt.Sprintf("%d other instances %s", len(others), f.say.fail)
			if len(others) == 1 {
				what = "another instance " + f.say.fails
			}
			h.against = append(h.against, fmt.Sprintf("%s with it (%s): one bad pod does not explain that", what, listNames(others, 4)))
		}
	}
	node := f.podNode[hostOf(v)]
	if n, st, ok := f.nodeNetStep(node); ok && node != "" {
		score -= 0.25
		h.against = append(h.against, fmt.Sprintf("network errors on its node %s rose from %.1f/s to %.1f/s at the onset: the node, not the pod, may be at fault", n, st.Before, st.After))
	}
	if node != "" {
		others := 0
		for _, q := range ps[1:] {
			_, qv := scopeValue(q, layerPod)
			if hostOf(qv) != hostOf(v) && f.podNode[hostOf(qv)] == node && q.ErrorShare >= 0.1 {
				others++ // another instance, not the same one seen through another load balancer
			}
		}
		if others > 0 {
			score -= 0.3
			h.against = append(h.against, fmt.Sprintf("%d other instances on node %s fail too", others, node))
		} else {
			h.evidence = append(h.evidence, fmt.Sprintf("it runs on node %s, whose other instances look healthy in the logs", node))
		}
	}
	score -= f.notTheMachine(h, "this instance: a bad rollout to it?")
	h.score = clamp01(score)
	h.summary = fmt.Sprintf("One instance, %s, %s while still receiving traffic: it holds %s of the %s with %s of the requests.", v, f.say.fails, pct(errShare), f.say.errs, pct(trafficShare))
	return h
}

// nodeNetStep finds a node whose network error counters step up at least
// 5× (to over 1/s) at the onset: node, when given, or any node. With few
// failures the onset found may trail the real start (the interval's
// earliest end): a step there counts too — measured at the later onset,
// the "before" half would hold the step itself.
func (f *features) nodeNetStep(node string) (string, prom.StepShape, bool) {
	if f.m == nil || !f.hasOnset {
		return "", prom.StepShape{}, false
	}
	stepped := func(st prom.StepShape) bool { return st.NAfter > 0 && st.After > 1 && st.Ratio >= 5 }
	for _, s := range f.m.Role(prom.RoleNodeNetErrors) {
		st := prom.Step(s.Points, f.onset, 30*time.Minute)
		if !stepped(st) && f.onsetLo.Before(f.onset) {
			st = prom.Step(s.Points, f.onsetLo, 30*time.Minute)
		}
		if !stepped(st) {
			continue
		}
		n := s.Labels["node"]
		if n == "" {
			n = s.Labels["instance"]
		}
		if node == "" || sameNode(n, node) {
			return n, st, true
		}
	}
	return "", prom.StepShape{}, false
}

// sameNode compares node names that may be written in full or in part
// (ip-10-0-1-2 and ip-10-0-1-2.eu-west-1.compute.internal).
func sameNode(a, b string) bool {
	return a == b || strings.Contains(a, b) || strings.Contains(b, a)
}

// badNode: the instances on one node fail together. Needs a node
// dimension in the logs, or upstream findings mapped to nodes through
// kube_pod_info, or node network error counters.
func badNode(f *features) *scored {
	h := &scored{}
	score := 0.0
	node := ""
	if ns := f.findingsIn(layerNode); len(ns) > 0 && ns[0].ErrorShare >= 0.5 {
		d, v := scopeValue(ns[0], layerNode)
		node = v
		score += 0.45 + 0.2*ns[0].ErrorShare
		h.evidence = append(h.evidence, fmt.Sprintf("%s=%s holds %s of the %s with %s of the traffic", d, v, pct(ns[0].ErrorShare), f.say.errs, pct(ns[0].TrafficShare)))
	}
	// Instances rolled up to their node: one node holding most errors,
	// its zone's other nodes healthy.
	if node == "" && len(f.nodes) > 0 {
		n0 := f.nodes[0]
		zone := f.nodeZone[n0.name]
		failing, total := f.failingNodesIn(zone, 0.15)
		// Several of the node's instances must fail: one failing instance
		// among healthy neighbours is that instance's problem.
		if n0.errShare >= 0.4 && n0.errRate >= 0.15 && n0.failing >= 2 && n0.failing*2 > n0.members && (zone == "" || failing <= 1) {
			node = n0.name
			score += 0.45 + 0.2*math.Min(n0.errShare, 1)
			h.evidence = append(h.evidence, fmt.Sprintf("the instances on node %s hold %s of the %s; %d of its %d instances fail (%s %s on the node)", n0.name, pct(n0.errShare), f.say.errs, n0.failing, n0.members, f.say.rate, pct(n0.errRate)))
			if zone != "" && total > 1 {
				h.evidence = append(h.evidence, fmt.Sprintf("the other %d nodes of zone %s are healthy", total-1, zone))
			}
		} else if n0.errShare >= 0.4 && zone != "" && failing > 1 {
			h.against = append(h.against, fmt.Sprintf("%d nodes of zone %s fail, not one", failing, zone))
		} else if n0.errShare >= 0.4 && n0.failing >= 2 {
			h.against = append(h.against, fmt.Sprintf("only %d of the %d instances on node %s fail", n0.failing, n0.members, n0.name))
		}
	}
	// Upstream findings grouped by the node their pod runs on: several
	// distinct instances (not one instance seen through two load
	// balancers) failing on one node.
	hosts := map[string]map[string]bool{}
	share := map[string]float64{}
	for _, p := range f.findingsIn(layerPod) {
		_, v := scopeValue(p, layerPod)
		h := hostOf(v)
		n := f.podNode[h]
		if n == "" {
			continue
		}
		if hosts[n] == nil {
			hosts[n] = map[string]bool{}
		}
		if !hosts[n][h] {
			share[n] += p.ErrorShare
		}
		hosts[n][h] = true
	}
	for n, hs := range hosts {
		if len(hs) >= 2 && share[n] >= 0.5 && node == "" {
			node = n
			score += 0.45 + 0.2*math.Min(share[n], 1)
			h.evidence = append(h.evidence, fmt.Sprintf("%d failing instances all run on node %s and hold %s of the %s", len(hs), n, pct(math.Min(share[n], 1)), f.say.errs))
		}
	}
	// Neither the logs nor the metrics say where the instances run:
	// several failing together while the others stay healthy share
	// something below the application — a node, or a zone.
	together, instances := "", ""
	if node == "" {
		if t := f.failingTogether(); t != nil {
			together, instances = listNames(t.names, 4), strings.Join(t.names, ",")
			score += 0.3 + 0.15*t.share
			h.evidence = append(h.evidence, t.evidence(f))
			if t.services >= 2 {
				score += 0.15
				h.evidence = append(h.evidence, fmt.Sprintf("they serve %d different things (on different ports): no release of one of them fails them all", t.services))
			} else {
				h.against = append(h.against, "they all serve the same thing: a rollout to just these instances (a canary) would fail them alike")
			}
			h.against = append(h.against, "neither the logs nor the metrics say which node they run on: check that they share one (or one zone)")
		}
	}
	if n, st, ok := f.nodeNetStep(node); ok && together == "" {
		score += 0.25
		h.evidence = append(h.evidence, fmt.Sprintf("network errors on %s up from %.1f/s to %.1f/s at the onset", n, st.Before, st.After))
		if node == "" {
			node = n
			score += 0.1
			// The logs' failing instance on that node ties the two.
			if ps := f.findingsIn(layerPod); len(ps) > 0 && ps[0].ErrorShare >= 0.3 {
				_, v := scopeValue(ps[0], layerPod)
				if pn := f.podNode[hostOf(v)]; pn != "" && sameNode(pn, n) {
					score += 0.2
					h.evidence = append(h.evidence, fmt.Sprintf("the instance that fails most, %s, runs on it", hostOf(v)))
				}
			}
		}
	}
	if node == "" && together == "" {
		return nil
	}
	// A deploy that names the failing instances, just before the onset,
	// put them there: a node does not pick its victims by release.
	score -= f.notTheMachine(h, "the failing instances: a bad rollout to them?")
	h.score = clamp01(score)
	if node == "" {
		h.scope = map[string]string{"instances": instances}
		h.summary = fmt.Sprintf("Instances %s %s together while the others stay healthy: they likely share a faulty node (or zone).", together, f.say.fail)
		return h
	}
	h.scope = map[string]string{"node": node}
	h.summary = fmt.Sprintf("Node %s is faulty: the instances running on it %s together while the same service elsewhere is healthy.", node, f.say.fail)
	return h
}

// zoneOutage: one zone or region's infrastructure fails (not DNS). Needs a
// finding on a zone/region dimension. Refuted by: a dns or cdn change
// scoped there (then stale DNS or the CDN is the better story).
func zoneOutage(f *features) *scored {
	var d, v string
	var share, rate, traffic float64
	h := &scored{}
	score := 0.0
	if zs := f.findingsIn(layerZone); len(zs) > 0 {
		z := zs[0]
		d, v = scopeValue(z, layerZone)
		share, rate, traffic = z.ErrorShare, z.ErrorRate, z.TrafficShare
		h.evidence = append(h.evidence, fmt.Sprintf("%s=%s holds %s of the %s with %s of the traffic (%s %s there)", d, v, pct(share), f.say.errs, pct(traffic), f.say.rate, pct(rate)))
	}
	if len(f.zones) > 0 && (d == "" || f.zones[0].errShare > share) {
		z0 := f.zones[0]
		failing, total := f.failingNodesIn(z0.name, 0.15)
		// A zone fails across its nodes; one failing node is that node's
		// (or one instance's) problem.
		if failing >= 2 {
			d, v, share, rate = "zone", z0.name, z0.errShare, z0.errRate
			h.evidence = append(h.evidence, fmt.Sprintf("the instances in zone %s hold %s of the %s (%s %s there); %d of its %d nodes fail", v, pct(share), f.say.errs, f.say.rate, pct(rate), failing, total))
			if failing >= 2 {
				score += 0.1
			}
		}
	}
	if d == "" {
		return zoneOfCohort(f, h)
	}
	h.scope = map[string]string{d: v}
	if share >= 0.6 {
		score += 0.4 + 0.15*share
	} else if share >= 0.3 {
		score += 0.15
	}
	if rate >= 0.5 {
		score += 0.1
		h.evidence = append(h.evidence, fmt.Sprintf("most requests in %s=%s fail", d, v))
	}
	if f.errShape == "step" {
		score += 0.05
	}
	for i := range f.ev.Changes {
		c := &f.ev.Changes[i]
		if c.Kind != signal.KindDNS && c.Kind != signal.KindCDN {
			continue
		}
		if sm, _, _ := f.scopeMatch(c); sm > 0 && f.timeFit(c, 24*time.Hour) > 0 {
			score -= 0.25
			h.against = append(h.against, fmt.Sprintf("%s change %s touched %s=%s before the onset: the routing layer, not the zone, may be at fault", c.Kind, c.ID, d, v))
			break
		}
	}
	if c, cfit, why := f.bestChange(deployKinds, 20*time.Minute, 0.6); c != nil && cfit >= 0.6 {
		score -= 0.15
		h.against = append(h.against, why...)
	}
	if f.errShape == "decay" {
		score -= 0.1
		h.against = append(h.against, "the failing share decays by itself, unlike an outage")
	}
	// A zone's failure takes its instances down together; a few failing
	// instances that happen to share a zone (a canary's pods, a bad pod)
	// are theirs.
	if d == "zone" || layerOf(d) == layerZone {
		if failing, active := f.failingInstancesIn(v); active >= 4 && 2*failing < active {
			score -= 0.25
			h.against = append(h.against, fmt.Sprintf("only %d of the %d instances in %s that served requests fail: a zone's failure takes them all", failing, active, v))
		}
	}
	if c, _, why := f.bestChange([]string{signal.KindInfra}, 30*time.Minute, 0.6); c != nil {
		h.change = c
		h.evidence = append(h.evidence, why...)
	}
	h.score = clamp01(score)
	h.summary = fmt.Sprintf("The %s %s is failing: its requests %s while the other %ss are healthy.", d, v, f.say.fail, d)
	return h
}

// notTheMachine is what speaks against blaming the instances' machine (one
// pod, a node, a zone) and returns the score it costs: a deploy just before
// the onset whose scope names them (who says what it names), and failing
// requests that never reached an upstream.
func (f *features) notTheMachine(h *scored, who string) float64 {
	cost := 0.0
	if c, cfit, _ := f.bestChange(deployKinds, 20*time.Minute, 0.6); c != nil && cfit >= 0.5 {
		if sm, _, broadOnly := f.scopeMatch(c); sm > 0 && !broadOnly {
			cost += 0.2
			h.against = append(h.against, fmt.Sprintf("%s %s names %s", c.Kind, c.ID, who))
		}
	}
	if never, _ := f.neverReached(); never {
		cost += 0.3
		h.against = append(h.against, "the failing requests never reached an upstream")
	}
	return cost
}

// zoneOfCohort is the zone reading of instances failing together when
// nothing says where they run (bad-node's cohort): the other place they may
// share. One failing node is more common than a failing zone, so it stays
// below bad-node; it is there so that the check that tells the two apart is
// on the list.
func zoneOfCohort(f *features, h *scored) *scored {
	t := f.failingTogether()
	if t == nil {
		return nil
	}
	score := 0.2 + 0.1*t.share
	h.evidence = append(h.evidence, t.evidence(f))
	if t.services >= 2 {
		score += 0.1
		h.evidence = append(h.evidence, fmt.Sprintf("they serve %d different things (on different ports): what fails is below the application", t.services))
	}
	h.against = append(h.against, "neither the logs nor the metrics say which zone they run in, and one node failing is more common than a zone: check where they run")
	score -= f.notTheMachine(h, "the failing instances: a bad rollout to them?")
	h.score = clamp01(score)
	h.scope = map[string]string{"instances": strings.Join(t.names, ",")}
	h.summary = fmt.Sprintf("Instances %s %s together while the others stay healthy: if they run in one zone rather than on one node, the zone's infrastructure is failing.", listNames(t.names, 4), f.say.fail)
	return h
}

// together is a cohort that counts (failingTogether).
type together struct {
	names            []string
	share            float64 // of the failures, at most 1
	active, services int
}

// failingTogether is the cohort when it points below the application: two
// or more instances failing, no more than half of those serving traffic,
// holding at least half of the failures. bad-node and its zone reading
// weigh the same cohort; nil when there is none.
func (f *features) failingTogether() *together {
	fs, active, services := f.cohort()
	if len(fs) < 2 || 2*len(fs) > active {
		return nil
	}
	t := &together{active: active, services: services}
	for _, g := range fs {
		t.share += g.errShare
		t.names = append(t.names, g.name)
	}
	if t.share < 0.5 {
		return nil
	}
	t.share = math.Min(t.share, 1)
	return t
}

func (t *together) evidence(f *features) string {
	return fmt.Sprintf("%d instances %s together (%s) and hold %s of the %s, while the other %d instances serving traffic stay healthy", len(t.names), f.say.fail, listNames(t.names, 4), pct(t.share), f.say.errs, t.active-len(t.names))
}

// cdnOrigin: a CDN or proxy in front of the service fails or cannot reach
// the origin. Needs a cdn change, or failures at the edge layer (edge/pop
// dimensions, a CDN log) while the origin's own logs stay healthy.
func cdnOrigin(f *features) *scored {
	h := &scored{}
	score := 0.0
	c, cfit, why := f.bestChange([]string{signal.KindCDN}, 30*time.Minute, 0.3)
	if c != nil {
		h.change = c
		score += 0.25 + 0.3*cfit
		h.evidence = append(h.evidence, why...)
	}
	edge, unreachable := f.edgeFailure()
	if edge != "" {
		score += 0.2
		h.evidence = append(h.evidence, "the failures sit at the CDN/edge layer: "+edge)
	}
	if unreachable != "" {
		// The CDN says it could not connect to the origin or resolve
		// it: the path between them, not the origin's answers.
		score += 0.2
		h.evidence = append(h.evidence, "the CDN could not reach the origin for the failing requests: "+unreachable)
	}
	if c == nil && edge == "" {
		return nil
	}
	if never, _ := f.neverReached(); never {
		score += 0.1
		h.evidence = append(h.evidence, "the failing requests never reached an origin upstream")
	}
	if f.errShape == "step" {
		score += 0.05
	}
	if what, share, _ := f.tlsFailure(); share >= 0.5 && (c == nil || !tlsWords(c.Summary)) {
		score -= 0.25
		h.against = append(h.against, fmt.Sprintf("%s of the %s failed the TLS handshake with the origin (%s): its certificate, not the CDN's reach, is the likelier fault", pct(share), f.say.errs, what))
	}
	h.score = clamp01(score)
	h.summary = "The CDN cannot reach the origin (or fails in front of it): requests through the CDN fail while the origin itself is healthy."
	if c != nil {
		h.summary = fmt.Sprintf("The CDN cannot reach the origin after %s (%s): %s.", c.ID, f.when(c), strings.TrimSuffix(c.Summary, "."))
	}
	return h
}

// certExpired: a TLS certificate expired or does not match. Needs
// blackbox probe expiry metrics, or a cert change, or TLS errors in the
// logs. Supported by: the expiry time at the onset, probes failing.
func certExpired(f *features) *scored {
	h := &scored{}
	score := 0.0
	if f.m != nil && f.hasOnset {
		for _, s := range f.m.Role(prom.RoleCertExpiry) {
			if len(s.Points) == 0 {
				continue
			}
			exp := time.Unix(int64(s.Points[len(s.Points)-1].V), 0).UTC()
			d := f.onset.Sub(exp)
			if d > -f.bucket-2*time.Minute && d < 2*time.Hour {
				score += 0.6
				where := s.Labels["instance"]
				if where == "" {
					where = s.Labels["target"]
				}
				h.evidence = append(h.evidence, fmt.Sprintf("the certificate of %s expired at %s, %s the onset", orDash(where), exp.Format("2006-01-02 15:04"), beforeAfter(d)))
				h.scope = map[string]string{"endpoint": where}
				break
			}
		}
		if r, b, a := f.stepRatio(prom.RoleProbeSuccess); r > 0 && r < 0.7 {
			score += 0.15
			h.evidence = append(h.evidence, fmt.Sprintf("probe success fell from %.0f%% to %.0f%%", b*100, a*100))
		}
	}
	what, share, where := f.tlsFailure()
	c, cfit, why := f.bestChange([]string{signal.KindCert}, 2*time.Hour, 0.4)
	if c != nil {
		// A certificate change for another host than the one that expired
		// (or whose handshakes fail) is not the cause.
		ep := h.scope["endpoint"]
		if ep == "" && share >= 0.5 {
			ep = hostOf(where.value)
		}
		if ep != "" && !certNames(c, ep) {
			h.against = append(h.against, fmt.Sprintf("%s changed the certificate of %s, not of %s", c.ID, orDash(c.DetailString("name")), ep))
			c = nil
		}
	}
	if c != nil {
		h.change = c
		score += 0.2 * cfit
		h.evidence = append(h.evidence, why...)
	}
	if share >= 0.5 {
		// The proxy or CDN says how most requests failed: the TLS
		// handshake with the next hop. That is a certificate (expired,
		// not trusted, or not matching the name) or a TLS setting, not
		// a slow or dead backend.
		score += 0.45
		h.evidence = append(h.evidence, fmt.Sprintf("%s of the %s failed the TLS handshake (%s)%s", pct(share), f.say.errs, what, where.in()))
		if h.scope == nil && where.dim != "" {
			h.scope = map[string]string{where.dim: where.value}
		}
	} else if share > 0 {
		score += 0.15
		h.evidence = append(h.evidence, fmt.Sprintf("some of the failing requests carry TLS errors: %s holds %s of them", what, pct(share)))
	}
	if score == 0 {
		return nil
	}
	if f.concentrated {
		score += 0.05
	}
	h.score = clamp01(score)
	h.summary = "A TLS certificate expired on an endpoint: clients fail the handshake there."
	return h
}

// edgeFailure says whether the failures sit at a CDN or edge layer: the
// best findings (holding at least half the failures), or a scope holding
// nearly all of a finding's failing requests, name an edge location, a
// cache result or a CDN (edge: the finding's summary, or the scope). It
// also reports a result that says the CDN could not connect to the origin
// or resolve it (OriginConnectError, OriginDnsError, Cloudflare's
// 521–523).
func (f *features) edgeFailure() (edge, unreachable string) {
	for i, fd := range f.res.Findings {
		if i > 0 && fd.ErrorShare < 0.5 {
			break
		}
		scopes := []map[string]string{fd.Scope}
		for _, r := range fd.Related {
			if r.Covers >= 0.9 {
				scopes = append(scopes, r.Scope)
			}
		}
		for _, sc := range scopes {
			for d, v := range sc {
				lv := strings.ToLower(v)
				if edge == "" && (edgeField(d) || strings.Contains(lv, "cdn") || strings.Contains(lv, "edge")) {
					edge = d + "=" + v
					if maps.Equal(sc, fd.Scope) {
						edge = fd.Summary
					}
				}
				if unreachable == "" && (outcomeLike(d) || edgeField(d)) && originUnreachable(lv) {
					unreachable = d + "=" + v
				}
			}
		}
		if edge != "" || fd.ErrorShare >= 0.5 {
			break
		}
	}
	return edge, unreachable
}

// edgeField names the fields a CDN's log has and an origin's does not:
// its point of presence, its cache and edge results.
func edgeField(dim string) bool {
	switch triage.Squash(dim) {
	case "pop", "edgelocation", "xedgelocation", "cachestatus", "xcache", "originstatus",
		"edgeresult", "xedgeresulttype", "xedgedetailedresulttype", "xedgeresponseresulttype", "edgeresponseresulttype":
		return true
	}
	return false
}

// originUnreachable says whether a result names a failure to connect to
// the origin or to resolve it (not an error the origin answered).
func originUnreachable(lv string) bool {
	switch lv {
	case "521", "522", "523":
		return true
	}
	if !strings.Contains(lv, "origin") {
		return false
	}
	for _, w := range []string{"connect", "dns", "unreachable", "refused", "resolv"} {
		if strings.Contains(lv, w) {
			return true
		}
	}
	return false
}

// listNames joins up to n names, saying how many more there are.
func listNames(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// place is where a finding puts the failures: the dimension and value of
// its scope that names a place (an upstream, a host, a region), if any.
type place struct{ dim, value string }

func (p place) in() string {
	if p.dim == "" {
		return ""
	}
	return fmt.Sprintf(", all at %s=%s", p.dim, p.value)
}

// tlsFailure finds the field that says how the failing requests failed (a
// proxy's or CDN's result, error reason, response flags or details, a
// status like Cloudflare's 525/526) naming a TLS or certificate error, in
// the findings or in what they fold: the dimension=value, the share of the
// failures it holds at least, and the place its finding names.
func (f *features) tlsFailure() (what string, share float64, where place) {
	check := func(scope map[string]string, sh float64, at place) {
		for d, v := range scope {
			if sh > share && outcomeLike(d) && (tlsWords(v) || layerOf(d) == layerStatus && (v == "525" || v == "526")) {
				what, share, where = d+"="+v, sh, at
			}
		}
	}
	for _, fd := range f.res.Findings {
		// The place: an instance or origin before a node, a zone or an
		// endpoint, in the finding's scope or in a scope that holds every
		// one of its failing requests.
		var at place
		rank := len(placeLayers)
		consider := func(scope map[string]string) {
			for d, v := range scope {
				if i := slices.Index(placeLayers, layerOf(d)); i >= 0 && i < rank {
					at, rank = place{d, v}, i
				}
			}
		}
		consider(fd.Scope)
		for _, r := range fd.Related {
			if r.Covers >= 0.99 {
				consider(r.Scope)
			}
		}
		check(fd.Scope, fd.ErrorShare, at)
		for _, r := range fd.Related {
			check(r.Scope, r.Covers*fd.ErrorShare, at)
		}
	}
	return what, share, where
}

// placeLayers are the layers that say where failures are, most precise
// first.
var placeLayers = []string{layerPod, layerNode, layerZone, layerPath}

// outcomeLike says whether a field describes how a request ended rather
// than where it went: statuses, results, errors, reasons, flags, details.
func outcomeLike(dim string) bool {
	if layerOf(dim) == layerStatus {
		return true
	}
	d := strings.ToLower(dim)
	for _, w := range []string{"result", "error", "reason", "flags", "detail", "termination"} {
		if strings.Contains(d, w) {
			return true
		}
	}
	return false
}

// tlsWords says whether a value names a TLS or certificate failure
// (OriginSslError, TLS_error, CERTIFICATE_VERIFY_FAILED, SSL handshake).
// An ARN names a certificate, not a failure.
func tlsWords(v string) bool {
	l := strings.ToLower(v)
	if strings.HasPrefix(l, "arn:") {
		return false
	}
	for _, w := range []string{"ssl", "tls", "cert", "handshake", "x509"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// capacity: load outgrew capacity with no triggering change. Needs the
// request rate (logs or metrics) well above the baseline. Supported by:
// latency up, CPU saturated, failures spread over instances. Refuted by: a
// change that lines up (then the change is the better story).
func capacity(f *features) *scored {
	ratio := f.trafficRatio
	if r, _, _ := f.stepRatio(prom.RoleRequests); r > ratio && !math.IsInf(r, 0) {
		ratio = r
	}
	if ratio < 1.3 {
		return nil
	}
	h := &scored{}
	// Diurnal swings move traffic by tens of percent; a surge is more.
	score := 0.5 * clamp01((ratio-1.1)/0.6)
	h.evidence = append(h.evidence, fmt.Sprintf("traffic is %.1f× the baseline's rate", ratio))
	if f.latRatio >= 2 {
		score += 0.15
		h.evidence = append(h.evidence, fmt.Sprintf("p99 latency %.1f× the baseline's", f.latRatio))
	}
	if !f.concentrated {
		score += 0.15
		h.evidence = append(h.evidence, "the failures are spread over instances and paths")
	} else {
		score -= 0.1
		h.against = append(h.against, "the failures concentrate in one place: "+f.top[0].Summary)
	}
	if r, b, a := f.stepRatio(prom.RoleCPU); r >= 1.3 {
		score += 0.15
		h.evidence = append(h.evidence, fmt.Sprintf("CPU up from %.2f to %.2f cores", b, a))
	} else if r > 0 && r < 1.15 {
		// Saturation is the service working harder than it can: its CPU
		// would show it.
		score -= 0.15
		h.against = append(h.against, fmt.Sprintf("CPU did not rise (%.2f to %.2f cores on average): the service is not working harder", b, a))
	}
	if u := f.connUsage(); u.has && u.peak >= 0.9 {
		h.against = append(h.against, fmt.Sprintf("database connections at %s of the maximum", pct(u.peak)))
	}
	if c, _, why := f.bestChange(signal.ChangeKinds, 30*time.Minute, 0.4); c != nil && f.timeFit(c, 30*time.Minute) >= 0.6 {
		score -= 0.2
		h.against = append(h.against, why...)
	} else {
		score += 0.1
		h.evidence = append(h.evidence, "no change lines up with the onset")
	}
	if f.latRatio < 1.5 && f.hasLatency {
		score -= 0.1
		h.against = append(h.against, "latency did not rise: the service is not saturated")
	}
	h.score = clamp01(score)
	h.summary = fmt.Sprintf("Load outgrew capacity: traffic is %.1f× the baseline's and the service saturates, with no change to blame.", ratio)
	return h
}

// dependency: a service the failing one calls is failing (a payment
// provider, a search cluster, another team's API). Supported by: outbound
// request metrics whose calls to one service started failing at the onset;
// failures that follow the endpoints making the call rather than instances,
// nodes, zones or clients, alike on every instance; no change of ours at
// the onset. Refuted by: failures that never reached the application, a
// change of the service at the onset, a saturated or slow database,
// outbound metrics in which no dependency moved.
func dependency(f *features) *scored {
	deps := f.failingDependencies()
	eps, share := f.endpointFindings()
	// The failures follow the endpoints when the best finding is one and
	// holds a real part of them: one path among many holding 6% of a
	// failure spread over all of them says nothing of a dependency.
	onEndpoints := len(eps) > 0 && same(f.top[0], eps[0]) && eps[0].ErrorShare >= 0.2
	if len(deps) == 0 && !onEndpoints {
		return nil
	}
	if never, _ := f.neverReached(); never {
		return nil
	}
	h := &scored{scope: map[string]string{}}
	score := 0.2
	var where string
	if onEndpoints {
		score += 0.2 * share
		var names []string
		for _, e := range eps {
			names = append(names, signal.JoinScope(e.Scope, " "))
		}
		where = strings.Join(names, ", ")
		d, v := scopeValue(eps[0], layerPath)
		h.scope[d] = v
		verb := "hold"
		if len(eps) == 1 {
			verb = "holds"
		}
		h.evidence = append(h.evidence, fmt.Sprintf("the failures follow the endpoints, not the instances or the clients: %s %s %s of the %s", where, verb, pct(share), f.say.errs))
	}
	if len(deps) > 0 {
		d := deps[0]
		h.scope["dependency"] = d.name
		if d.stopped {
			// Fewer calls, not failing ones: a breaker opened, or the
			// client fails before it calls. Weaker than failing calls.
			score += 0.2
			h.evidence = append(h.evidence, fmt.Sprintf("calls to %s fell to %s of their rate in the hour before the onset, while the rest of the traffic did not (%s): callers stopped calling it (an open circuit breaker? a client failing fast?)", d.name, pct(d.calls), d.metric))
		} else {
			score += 0.3
			h.evidence = append(h.evidence, fmt.Sprintf("calls to %s fail: %s of them since the onset, %s in the hour before (%s)", d.name, pct(d.after), pct(d.before), d.metric))
			if d.calls > 0 && d.calls < 0.5 {
				h.evidence = append(h.evidence, fmt.Sprintf("calls to %s fell to %s of their rate before the onset: callers stopped trying (an open circuit breaker?)", d.name, pct(d.calls)))
			}
		}
	} else if f.m != nil && len(f.m.Role(prom.RoleDependencyErrorRatio)) > 0 {
		score -= 0.15
		h.against = append(h.against, "none of the dependencies in the outbound request metrics started failing at the onset")
	}
	if n, ok := f.spreadOverInstances(); ok {
		score += 0.05
		h.evidence = append(h.evidence, fmt.Sprintf("the failures are spread over %d instances in proportion to their traffic: the instances are fine, what they call is not", n))
	}
	// Endpoints that fail while the application answers are broken by
	// what changes the application's code, configuration or schema; a
	// DNS, CDN or certificate change would fail clients, not endpoints.
	if c, cfit, why := f.bestChange(codeKinds, 30*time.Minute, 0.5); c != nil && cfit >= 0.5 {
		score -= 0.15
		h.against = append(h.against, why...)
	} else {
		score += 0.05
		h.evidence = append(h.evidence, "no change of the application (deploy, config, flag, migration) lines up with the onset")
	}
	if u := f.connUsage(); u.has && u.peak >= 0.9 {
		score -= 0.1
		h.against = append(h.against, fmt.Sprintf("database connections peaked at %s of the limit", pct(u.peak)))
	}
	if r, _, _ := f.stepRatio(prom.RoleQueryLatency); r >= 3 {
		score -= 0.1
		h.against = append(h.against, fmt.Sprintf("query latency is up %.0f×: the dependency that fails may be the database", r))
	}
	h.score = clamp01(score)
	switch {
	case len(deps) > 0 && deps[0].stopped && where != "":
		h.summary = fmt.Sprintf("Calls to %s collapsed to %s of their rate, and the endpoints that make them %s: %s.", deps[0].name, pct(deps[0].calls), f.say.fail, where)
	case len(deps) > 0 && deps[0].stopped:
		h.summary = fmt.Sprintf("Calls to %s collapsed to %s of their rate, and the requests that need it %s with them.", deps[0].name, pct(deps[0].calls), f.say.fail)
	case len(deps) > 0 && where != "":
		h.summary = fmt.Sprintf("Calls to %s fail (%s of them since the onset), and the endpoints that make them %s: %s.", deps[0].name, pct(deps[0].after), f.say.fail, where)
	case len(deps) > 0:
		h.summary = fmt.Sprintf("Calls to %s fail (%s of them since the onset), and the requests that need it %s with them.", deps[0].name, pct(deps[0].after), f.say.fail)
	default:
		h.summary = fmt.Sprintf("A dependency behind %s %s: only the endpoints that call it are affected.", where, f.say.fails)
	}
	return h
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func same(a, b triage.Finding) bool { return a.Dimension == b.Dimension && a.Value == b.Value }

// certNames reports whether a cert change is about the endpoint (its name,
// host scope or summary names the endpoint's host).
func certNames(c *signal.Change, endpoint string) bool {
	host := endpoint
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	if i := strings.IndexAny(host, "/:"); i >= 0 {
		host = host[:i]
	}
	host = strings.ToLower(host)
	for _, v := range []string{c.DetailString("name"), c.Scope["host"], c.Summary} {
		if v != "" && strings.Contains(strings.ToLower(v), host) {
			return true
		}
	}
	return false
}
