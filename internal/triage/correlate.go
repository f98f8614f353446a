package triage

import (
	"math"
	"sort"
	"strings"
)

// Correlation thresholds.
const (
	minFindingZ      = 4.0  // significance a finding needs
	minFindingErrors = 5.0  // failing requests a finding needs
	minPairShare     = 0.05 // error share a combination needs to be examined
	minPairSamples   = 10   // failing samples a combination needs
	maxPairSeeds     = 24   // single values combined into pairs
	foldOverlap      = 0.8  // share of a finding's errors another holds to fold it
	minResidual      = 0.02 // error share a further finding must add
	pairPenalty      = 0.98 // a combination must beat a single value clearly
	maxRelated       = 8    // related findings listed under one
	maxCandidates    = 300  // candidates kept for the greedy reduction
	outcomeHandicap  = 2    // how much better an outcome must explain the errors than a place
)

// outcomeFields name the fields that say how a request failed rather than
// where: Envoy's response flags and details, HAProxy's termination state,
// the ALB's error reason and classification, Google Cloud's statusDetails.
// Keys are normalised: lower case, without '_' and '-'.
var outcomeFields = map[string]bool{
	"responseflags": true, "responsecodedetails": true, "connectionterminationdetails": true,
	"upstreamtransportfailurereason": true, "statusdetails": true, "errorreason": true,
	"terminationstate": true, "classification": true, "classificationreason": true,
	"errorcode": true, "errordesc": true, // Heroku's router: code=H12 desc="Request timeout"
	"level": true, "severity": true, // a log level: error because the request failed
}

// Outcome reports whether a dimension says how the requests failed (the
// proxy's reason: UF, response_timeout, failed_to_connect_to_backend)
// rather than which of them failed. The failure sets such a field, so it
// explains the errors by restating them: a finding names a place when one
// explains them, with the outcome related to it.
func Outcome(dim string) bool {
	if i := strings.LastIndexByte(dim, '.'); i >= 0 {
		dim = dim[i+1:] // jsonPayload.statusDetails
	}
	return outcomeFields[Squash(dim)]
}

// dimPriority orders dimensions that hold the same failing requests: the
// one a responder acts on first wins (region over the log file it came
// from). Lower is preferred; unlisted dimensions get 50.
var dimPriority = map[string]int{
	"region": 10, "zone": 11, "availability_zone": 11, "az": 11, "datacenter": 12, "dc": 12,
	"node": 13, "cluster": 14, "no_upstream": 15, "upstream": 20, "upstream_name": 21, "pod": 19,
	"upstream_addr": 25, "target": 26, "path": 30, "version": 31, "host": 32, "method": 40,
	"ua_product": 59, "ua_family": 60, "client_net16": 70, "client_net": 71, "client": 72, "user_agent": 73,
	"source": 90, "elb": 85, "lb": 85,
	// Attributes that only restate the load balancer or the backend.
	"chosen_cert_arn": 95, "ssl_cipher": 95, "ssl_protocol": 95, "matched_rule_priority": 95,
	"actions_executed": 95, "target_port_list": 94, "classification": 95, "classification_reason": 95,
	"domain_name": 92, "target_group_arn": 93, "type": 95, "redirect_url": 95, "error_reason": 93, "protocol": 95,
	"server_protocol": 95, "scheme": 95, "referer": 96, "http_referer": 96, "remote_user": 96,
}

func priority(dim string) int {
	if p, ok := dimPriority[dim]; ok {
		return p
	}
	return 50
}

// cand is a finding under consideration.
type cand struct {
	f        Finding
	prec     float64 // excess precision: how much of the scope fails beyond the reference rate
	rec      float64 // recall: share of the incident's errors in the scope, beyond the reference
	prio     int
	pair     bool
	outcome  bool // says how the requests failed, not where (see Outcome)
	keys     []dimVal
	maskW    float64
	residual float64
	score    float64
	done     bool
}

type dimVal struct {
	d  int
	id uint32
}

func fscore(p, r float64) float64 {
	if p+r <= 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// correlate compares the incident's failing requests with the healthy ones
// and with the baseline, per dimension value and for pairs of values, and
// reduces the candidates to the smallest set that explains the errors.
func (a *Aggregator) correlate(w windows, top int) []Finding {
	win := a.slotWindows(w)
	ns := a.slots.n
	N, E, Nb, Eb := a.windowTotals(w)
	if E < minFindingErrors || N == 0 {
		return nil
	}

	// Samples in the incident (failing and healthy) and the baseline.
	sw := a.slots.width()
	slotOf := func(t int64) int {
		p := floorDiv(t, sw) - a.slots.lo
		if p < 0 || p >= int64(ns) {
			return -1
		}
		return int(p)
	}
	var failS, okS, failB, okB []int
	var WE, WH, WEb, WHb float64
	for i, s := range a.merged {
		p := slotOf(s.t)
		if p < 0 {
			continue
		}
		switch {
		case win[p] == 1 && s.failed:
			failS = append(failS, i)
			WE += s.w
		case win[p] == 1:
			okS = append(okS, i)
			WH += s.w
		case win[p] == 2 && s.failed:
			failB = append(failB, i)
			WEb += s.w
		case win[p] == 2:
			okB = append(okB, i)
			WHb += s.w
		}
	}
	maskOf := func(keys []dimVal) (bitset, float64) {
		m := newBitset(len(failS))
		var wsum float64
		for j, i := range failS {
			s := &a.merged[i]
			if matches(s, keys) {
				m.set(j)
				wsum += s.w
			}
		}
		return m, wsum
	}
	weightOf := func(idx []int, keys []dimVal) (float64, int) {
		var wsum float64
		var k int
		for _, i := range idx {
			s := &a.merged[i]
			if matches(s, keys) {
				wsum += s.w
				k++
			}
		}
		return wsum, k
	}

	var cands []*cand
	type seed struct {
		dv    dimVal
		share float64
		n     float64 // requests in the incident
	}
	var seeds []seed
	for di, d := range a.dims {
		if d.dropped || len(d.vals) <= 2 {
			continue
		}
		if d.seen > 50 && float64(len(d.vals)) > 0.5*float64(d.seen) {
			continue // nearly unique values: nothing to concentrate
		}
		for id := 1; id < len(d.vals); id++ {
			if uint32(id) == d.overflow {
				continue
			}
			var e, n, eb, nb float64
			for p, k := range win {
				if k == 0 {
					continue
				}
				ok, failed := d.count(id, p)
				c0, c1 := float64(ok), float64(failed)
				if k == 1 {
					n += c0 + c1
					e += c1
				} else {
					nb += c0 + c1
					eb += c1
				}
			}
			if e < minFindingErrors {
				continue
			}
			restRate := ratio(E-e, N-n)
			// Values nearly every request has (no_upstream=false) add
			// nothing to a combination.
			if e/E >= minPairShare && e/n > restRate && n/N < 0.8 {
				seeds = append(seeds, seed{dimVal{di, uint32(id)}, e / E, n})
			}
			c := newCand([]string{d.name}, []string{d.vals[id]}, e, n, eb, nb, E, N, Eb, Nb)
			if c == nil {
				continue
			}
			c.keys = []dimVal{{di, uint32(id)}}
			c.prio = priority(d.name)
			c.outcome = Outcome(d.name)
			cands = append(cands, c)
		}
	}

	// Pairs of over-represented values, counted on the sample.
	sort.Slice(seeds, func(i, j int) bool {
		if seeds[i].share != seeds[j].share {
			return seeds[i].share > seeds[j].share
		}
		if seeds[i].dv.d != seeds[j].dv.d {
			return seeds[i].dv.d < seeds[j].dv.d
		}
		return seeds[i].dv.id < seeds[j].dv.id
	})
	if len(seeds) > maxPairSeeds {
		seeds = seeds[:maxPairSeeds]
	}
	if len(seeds) > 1 && WE > 0 && WH > 0 {
		type pk struct{ x, y int }
		pw := map[pk]float64{}
		pc := map[pk]int{}
		present := make([]int, 0, len(seeds))
		for _, i := range failS {
			s := &a.merged[i]
			present = present[:0]
			for j, sd := range seeds {
				if int(sd.dv.d) < len(s.ids) && s.ids[sd.dv.d] == sd.dv.id {
					present = append(present, j)
				}
			}
			for x := 0; x < len(present); x++ {
				for y := x + 1; y < len(present); y++ {
					if seeds[present[x]].dv.d == seeds[present[y]].dv.d {
						continue
					}
					k := pk{present[x], present[y]}
					pw[k] += s.w
					pc[k]++
				}
			}
		}
		keysSorted := make([]pk, 0, len(pw))
		for k := range pw {
			keysSorted = append(keysSorted, k)
		}
		sort.Slice(keysSorted, func(i, j int) bool {
			if keysSorted[i].x != keysSorted[j].x {
				return keysSorted[i].x < keysSorted[j].x
			}
			return keysSorted[i].y < keysSorted[j].y
		})
		for _, k := range keysSorted {
			wsum := pw[k]
			if wsum/WE < minPairShare || pc[k] < minPairSamples {
				continue
			}
			keys := []dimVal{seeds[k.x].dv, seeds[k.y].dv}
			sort.Slice(keys, func(i, j int) bool {
				pi, pj := priority(a.dims[keys[i].d].name), priority(a.dims[keys[j].d].name)
				if pi != pj {
					return pi < pj
				}
				return a.dims[keys[i].d].name < a.dims[keys[j].d].name
			})
			hw, hk := weightOf(okS, keys)
			e := E * wsum / WE
			n := e + (N-E)*hw/WH
			// A combination no narrower than one of its values is that
			// value under another name (target and upstream of one pod).
			if n >= 0.9*math.Min(seeds[k.x].n, seeds[k.y].n) {
				continue
			}
			var eb, nb float64
			if WEb+WHb > 0 {
				ebw, _ := weightOf(failB, keys)
				hbw, _ := weightOf(okB, keys)
				if WEb > 0 {
					eb = Eb * ebw / WEb
				}
				if WHb > 0 {
					nb = eb + (Nb-Eb)*hbw/WHb
				}
			}
			names := []string{a.dims[keys[0].d].name, a.dims[keys[1].d].name}
			vals := []string{a.dims[keys[0].d].vals[keys[0].id], a.dims[keys[1].d].vals[keys[1].id]}
			c := newCand(names, vals, e, n, eb, nb, E, N, Eb, Nb)
			if c == nil {
				continue
			}
			// Significance on the sample itself: is the pair more common
			// among failing than among healthy sampled requests?
			z := twoPropZ(float64(pc[k]), float64(len(failS)), float64(hk), float64(len(okS)))
			c.f.Significance = math.Min(c.f.Significance, z)
			if c.f.Significance < minFindingZ {
				continue
			}
			c.keys = keys
			c.pair = true
			c.prio = priority(names[0]) + priority(names[1])
			c.outcome = Outcome(names[0]) || Outcome(names[1])
			c.f.Estimated = true
			cands = append(cands, c)
		}
	}
	// Keep the best candidates only: the greedy reduction below costs
	// candidates × samples per round.
	if len(cands) > maxCandidates {
		sort.SliceStable(cands, func(i, j int) bool {
			return fscore(cands[i].prec, cands[i].rec) > fscore(cands[j].prec, cands[j].rec)
		})
		cands = cands[:maxCandidates]
	}
	for _, c := range cands {
		c.f.mask, c.maskW = maskOf(c.keys)
	}

	// Greedy reduction: pick the candidate that best explains the errors not
	// yet explained; fold the candidates whose errors it holds.
	explained := newBitset(len(failS))
	var out []Finding
	for len(out) < top {
		var best *cand
		for _, c := range cands {
			if c.done {
				continue
			}
			var resid float64
			for j, i := range failS {
				if c.f.mask.has(j) && !explained.has(j) {
					resid += a.merged[i].w
				}
			}
			c.residual = c.rec
			if c.maskW > 0 {
				c.residual = c.rec * resid / c.maskW
			}
			c.score = fscore(c.prec, c.residual)
			if c.pair {
				c.score *= pairPenalty
			}
			if best == nil || better(c, best) {
				best = c
			}
		}
		if best == nil || best.residual < minResidual || best.score <= 0.01 {
			break
		}
		best.done = true
		for j := range failS {
			if best.f.mask.has(j) {
				explained.set(j)
			}
		}
		f := best.f
		f.Score = round(best.score, 4)
		for _, c := range cands {
			if c.done || c.maskW == 0 {
				continue
			}
			var both float64
			for j, i := range failS {
				if c.f.mask.has(j) && best.f.mask.has(j) {
					both += a.merged[i].w
				}
			}
			if ov := both / c.maskW; ov >= foldOverlap || sameBackend(c, best) {
				// c's errors are (mostly) best's: fold it. List it as related
				// when it also holds most of best's errors — the same failure
				// seen through another dimension — not when it is a slice.
				c.done = true
				if c.maskW >= 0.5*best.maskW || sameBackend(c, best) {
					f.Related = append(f.Related, Related{
						Dimension: c.f.Dimension, Value: c.f.Value, Scope: c.f.Scope,
						Overlap: round(ov, 4), Covers: round(both/best.maskW, 4), ErrorRate: c.f.ErrorRate, pair: c.pair,
					})
				}
			}
		}
		if f.Related == nil {
			f.Related = []Related{}
		}
		sort.SliceStable(f.Related, func(i, j int) bool {
			x, y := f.Related[i], f.Related[j]
			if x.pair != y.pair {
				return !x.pair
			}
			if a, b := x.Overlap*x.ErrorRate, y.Overlap*y.ErrorRate; a != b {
				return a > b
			}
			if x.Dimension != y.Dimension {
				return x.Dimension < y.Dimension
			}
			return x.Value < y.Value
		})
		if len(f.Related) > maxRelated {
			f.Related = f.Related[:maxRelated]
		}
		localize(&f)
		// A related combination that contains one of the finding's own
		// values is only a slice or a restatement of it.
		kept := f.Related[:0]
		for _, r := range f.Related {
			dup := false
			for k, v := range r.Scope {
				if f.Scope[k] == v && (r.pair || len(f.Scope) == 1) {
					dup = true
				}
			}
			if !dup {
				kept = append(kept, r)
			}
		}
		f.Related = kept
		f.Summary = summarize(&f)
		out = append(out, f)
	}
	return out
}

// windowTotals counts the requests and the failing ones in the incident
// (n, e) and the baseline (nb, eb) windows, by time slot.
func (a *Aggregator) windowTotals(w windows) (n, e, nb, eb float64) {
	for p, k := range a.slotWindows(w) {
		switch k {
		case 1:
			n += float64(a.slotTotals[p*2] + a.slotTotals[p*2+1])
			e += float64(a.slotTotals[p*2+1])
		case 2:
			nb += float64(a.slotTotals[p*2] + a.slotTotals[p*2+1])
			eb += float64(a.slotTotals[p*2+1])
		}
	}
	return n, e, nb, eb
}

func better(c, b *cand) bool {
	if c.outcome != b.outcome {
		// A field set by the failure itself holds nearly only failures:
		// its precision restates them. A place that explains the errors
		// half as well is the finding; the outcome then folds under it.
		if c.outcome {
			return c.score > outcomeHandicap*b.score
		}
		return outcomeHandicap*c.score >= b.score
	}
	// Combinations are estimated from the sample: scores within a few
	// percent are a tie, decided by which dimensions a responder acts on.
	tol := 0.01
	if c.pair && b.pair {
		tol = 0.04
	}
	if math.Abs(c.score-b.score) > tol*math.Max(c.score, b.score) {
		return c.score > b.score
	}
	if c.pair != b.pair {
		return !c.pair
	}
	if c.prio != b.prio {
		return c.prio < b.prio
	}
	if c.f.Dimension != b.f.Dimension {
		return c.f.Dimension < b.f.Dimension
	}
	return c.f.Value < b.f.Value
}

func matches(s *sample, keys []dimVal) bool {
	for _, k := range keys {
		if k.d >= len(s.ids) || s.ids[k.d] != k.id {
			return false
		}
	}
	return true
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// newCand builds a candidate from its counts in the incident (e of n) and
// the baseline (eb of nb) against the totals; nil when it is not
// significant.
func newCand(dims, vals []string, e, n, eb, nb, E, N, Eb, Nb float64) *cand {
	if n <= 0 || e < minFindingErrors {
		return nil
	}
	if e > n {
		n = e
	}
	rate := e / n
	restRate := ratio(E-e, N-n)
	if N-n <= 0 {
		restRate = 0
	}
	ref := restRate
	sig := twoPropZ(e, n, E-e, N-n)
	if N-n <= 0 {
		sig = 0
	}
	var brate *float64
	if nb >= 20 {
		br := eb / nb
		brate = &br
		ref = math.Max(ref, br)
		sig = math.Min(sig, rateZ(e, n, br))
	} else if Nb > 0 {
		// Too few baseline requests in the scope: compare with the whole
		// baseline instead.
		sig = math.Min(sig, rateZ(e, n, Eb/Nb))
	}
	if sig < minFindingZ || rate < minRateRatio*ref || rate-ref < minRateDiff {
		return nil
	}
	prec := math.Max(0, (wilsonLower(e, n, 1.96)-ref)/(1-math.Min(ref, 0.999)))
	rec := math.Max(0, e-n*ref) / E
	share, traffic := e/E, n/N
	f := Finding{
		Dimension: strings.Join(dims, ","), Value: strings.Join(vals, ","),
		ErrorShare: round(math.Min(share, 1), 4), TrafficShare: round(math.Min(traffic, 1), 4),
		ErrorRate: round(rate, 4), Requests: int64(math.Round(n)), Errors: int64(math.Round(e)),
		Significance: round(sig, 2), BaselineRequests: int64(math.Round(nb)), hasBase: Nb > 0,
	}
	if brate != nil {
		f.BaselineErrorRate = ptr(round(*brate, 4))
	}
	if traffic > 0 {
		f.Lift = ptr(round(share/traffic, 2))
	}
	f.Scope = map[string]string{}
	for i := range dims {
		f.Scope[dims[i]] = vals[i]
	}
	f.dims, f.vals = dims, vals
	return &cand{f: f, prec: prec, rec: rec}
}

// localize turns "these requests never reached a backend" (no_upstream=true,
// upstream=-) into a combination with the region, zone or node that holds
// all of them (region=eu, no_upstream=true): the symptom alone does not say
// where to look. It applies only when nearly every request of the finding
// fails, so the finding's counts are those of the combination.
func localize(f *Finding) {
	if len(f.dims) != 1 || f.ErrorRate < 0.9 || specificity(f.dims[0], f.vals[0]) != 9 {
		return
	}
	best := -1
	for i, r := range f.Related {
		if r.pair || r.Covers < 0.95 || !locating[r.Dimension] || r.Dimension == f.dims[0] {
			continue
		}
		if best < 0 || priority(r.Dimension) < priority(f.Related[best].Dimension) {
			best = i
		}
	}
	if best >= 0 {
		r := f.Related[best]
		f.Related = append(f.Related[:best:best], f.Related[best+1:]...)
		f.dims = []string{r.Dimension, f.dims[0]}
		f.vals = []string{r.Value, f.vals[0]}
		f.Dimension = strings.Join(f.dims, ",")
		f.Value = strings.Join(f.vals, ",")
		f.Scope[r.Dimension] = r.Value
	}
}

// locating dimensions say where a failure is: a region, zone, node or the
// load balancer (and the log file of one load balancer).
var locating = map[string]bool{
	"region": true, "zone": true, "availability_zone": true, "az": true, "datacenter": true, "dc": true,
	"node": true, "cluster": true, "elb": true, "lb": true, "source": true,
}

// sameBackend reports whether two single-value findings name the same
// backend address through different logs ("10.0.0.7:8080 (api-a1)" in the
// load balancer's log, "10.0.0.7:8080 (prod-api-80)" in the ingress's).
func sameBackend(c, b *cand) bool {
	if c.pair || b.pair || !isUpstream(c.f.dims[0]) || !isUpstream(b.f.dims[0]) {
		return false
	}
	x, y := backendAddr(c.f.vals[0]), backendAddr(b.f.vals[0])
	return x != "" && x != "-" && x == y
}

func backendAddr(v string) string {
	if i := strings.IndexByte(v, ' '); i >= 0 {
		v = v[:i]
	}
	return v
}
