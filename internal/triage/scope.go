package triage

import (
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/axiomhq/hyperloglog"
)

// Onset detection thresholds. A change must be both likely (log-likelihood
// ratio against "no change") and large enough to matter.
//
// minLLR bounds the quasi-binomial log-likelihood ratio: the binomial one
// divided by the dispersion of the two-rate fit (at least 1). On binomial
// noise the best of 720–2,880 splits exceeds 10 about once in a thousand
// series (simulated: 2,000 series each at 5–4,000 requests per bucket and
// 0.1–1% errors); real error rates come in bursts, and the dispersion
// (Pearson's χ² of the fit per degree of freedom) discounts them instead of
// a bar high enough for the burstiest log, which missed incidents of a few
// dozen errors in a quiet log.
const (
	minLLR        = 12.0 // quasi-binomial log-likelihood ratio of the best split
	onsetSlack    = 2.0  // log-likelihood below the best split still in the onset's interval (≈95%)
	minRateRatio  = 1.5  // the higher rate is at least this times the lower
	minRateDiff   = 0.002
	minLatencyT   = 8.0 // t statistic of a latency shift between segments
	minLatencyFac = 1.5 // latency ratio between segments
)

// series is the request series over the observed buckets.
type series struct {
	start []int64 // bucket start, ns
	width int64
	n, e  []float64
	b     []*bucket
}

func (a *Aggregator) series() series {
	lo, hi := a.main.observed()
	s := series{width: a.main.width()}
	for p := lo; p <= hi; p++ {
		b := &a.buckets[p]
		s.start = append(s.start, a.main.start(p))
		s.n = append(s.n, float64(b.req))
		s.e = append(s.e, float64(b.err))
		s.b = append(s.b, b)
	}
	return s
}

// at is the start of bucket i, or the end of the data for i past the last.
// counting returns the series with another count of each bucket as its
// failures (client errors, retried requests), and their sum.
func (s series) counting(count func(*bucket) uint32) (series, float64) {
	c := series{start: s.start, width: s.width, n: s.n, e: make([]float64, len(s.b)), b: s.b}
	var sum float64
	for i, b := range s.b {
		c.e[i] = float64(count(b))
		sum += c.e[i]
	}
	return c, sum
}

func (s series) at(i int) int64 {
	if i >= len(s.start) {
		return s.start[len(s.start)-1] + s.width
	}
	return s.start[i]
}

type split struct {
	k          int
	llr        float64 // binomial log-likelihood ratio against one rate
	disp       float64 // dispersion of the two-rate fit, at least 1
	kLo        int     // earliest split nearly as likely as k (onsetSlack)
	kHi        int     // latest split nearly as likely as k
	pLo, pHi   float64 // rate before and after k
	nLo, nHi   float64
	ok         bool
	increasing bool
}

// bestSplit finds the split of [a,b) that best separates two binomial
// rates (binary segmentation's step).
func bestSplit(n, e []float64, a, b int) split {
	var N, E float64
	for i := a; i < b; i++ {
		N += n[i]
		E += e[i]
	}
	base := binLL(E, N)
	best := split{k: -1}
	var ln, le float64
	for k := a + 1; k < b; k++ {
		ln += n[k-1]
		le += e[k-1]
		if ln == 0 || ln == N {
			continue
		}
		g := binLL(le, ln) + binLL(E-le, N-ln) - base
		if best.k < 0 || g > best.llr {
			best = split{k: k, llr: g, pLo: le / ln, pHi: (E - le) / (N - ln), nLo: ln, nHi: N - ln}
		}
	}
	if best.k < 0 {
		return best
	}
	lo, hi := math.Min(best.pLo, best.pHi), math.Max(best.pLo, best.pHi)
	best.increasing = best.pHi > best.pLo
	best.disp = dispersion(n, e, a, b, best)
	// The change point's likelihood interval: the earliest split within
	// onsetSlack (times the dispersion) of the best. With a few errors
	// per hour the best split can trail the real start by many buckets;
	// changes inside the interval fit the onset as well as at it.
	best.kLo = best.k
	ln, le = 0, 0
	for k := a + 1; k < best.k; k++ {
		ln += n[k-1]
		le += e[k-1]
		if ln == 0 || ln == N {
			continue
		}
		if binLL(le, ln)+binLL(E-le, N-ln)-base >= best.llr-onsetSlack*best.disp {
			best.kLo = k
			break
		}
	}
	// And the latest: the best split can also lead the real start.
	best.kHi = best.k
	ln, le = 0, 0
	for k := a + 1; k < b; k++ {
		ln += n[k-1]
		le += e[k-1]
		if k <= best.k || ln == 0 || ln == N {
			continue
		}
		if binLL(le, ln)+binLL(E-le, N-ln)-base >= best.llr-onsetSlack*best.disp {
			best.kHi = k
		}
	}
	best.ok = best.llr/best.disp >= minLLR && hi >= minRateRatio*lo && hi-lo >= minRateDiff
	return best
}

// dispersion is Pearson's χ² of the two-rate fit of [a,b) per degree of
// freedom, at least 1: how much more the buckets vary than binomial counts
// at the fitted rates would. Bursts of errors (a crawler on a broken page,
// a client retrying) raise it, and the split's likelihood ratio is
// discounted by it, as in a quasi-binomial model.
func dispersion(n, e []float64, a, b int, sp split) float64 {
	var x2, df float64
	for i := a; i < b; i++ {
		p := sp.pLo
		if i >= sp.k {
			p = sp.pHi
		}
		if n[i] == 0 || p <= 0 || p >= 1 {
			continue
		}
		d := e[i] - n[i]*p
		x2 += d * d / (n[i] * p * (1 - p))
		df++
	}
	if df -= 2; df <= 0 {
		return 1
	}
	return math.Max(1, x2/df)
}

// recoveryAt returns where the step up sp ends: a significant step back
// down after it, at least halfway to the rate before; len(n) when the
// rate stays up to the end of the data.
func recoveryAt(n, e []float64, sp split) int {
	if r := bestSplit(n, e, sp.k, len(n)); r.ok && !r.increasing && r.pHi < (r.pLo+sp.pLo)/2 {
		return r.k
	}
	return len(n)
}

// detected is the outcome of onset detection, in bucket indexes of a series.
type detected struct {
	onset    int // -1: none (the incident started before the data, or no change)
	onsetLo  int // earliest bucket the onset may be in (<= onset)
	onsetHi  int // latest bucket the onset may be in (>= onset)
	end      int // exclusive; len when the incident lasts to the end of the data
	incStart int // first bucket of the incident window
	baseLo   int // baseline buckets [baseLo, baseHi)
	baseHi   int
	ev       *OnsetEvidence
}

// detectOnset finds the incident in the series: a step up of the error rate
// (binary segmentation with a binomial likelihood), its recovery if any, and
// falls back to a shift of latency when the error rate does not move.
func detectOnset(s series) detected {
	L := len(s.n)
	d := detected{onset: -1, end: L, incStart: 0, baseLo: 0, baseHi: 0}
	if L < 2 {
		return d
	}
	sp := bestSplit(s.n, s.e, 0, L)
	if sp.ok && sp.increasing {
		d.onset = refineOnset(s, sp.k, sp.pLo)
		d.onsetLo, d.onsetHi = min(d.onset, sp.kLo), max(d.onset, sp.kHi)
		d.incStart = d.onset
		d.baseHi = d.onset
		d.end = recoveryAt(s.n, s.e, sp)
		d.ev = &OnsetEvidence{Method: "error-rate", Before: sp.pLo, After: sp.pHi, LogLikelihoodRatio: sp.llr, Dispersion: round(sp.disp, 3)}
	} else if sp.ok {
		// The rate fell: the data starts inside an incident, or one ended.
		if r := bestSplit(s.n, s.e, 0, sp.k); r.ok && r.increasing {
			d.onset = refineOnset(s, r.k, r.pLo)
			d.onsetLo, d.onsetHi = min(d.onset, r.kLo), max(d.onset, r.kHi)
			d.incStart, d.baseHi, d.end = d.onset, d.onset, sp.k
			d.ev = &OnsetEvidence{Method: "error-rate", Before: r.pLo, After: r.pHi, LogLikelihoodRatio: r.llr, Dispersion: round(r.disp, 3)}
		} else {
			// Started before the data: compare with the recovered period.
			d.incStart, d.end = 0, sp.k
			d.baseLo, d.baseHi = sp.k, L
			d.ev = &OnsetEvidence{Method: "error-rate", Before: sp.pHi, After: sp.pLo, LogLikelihoodRatio: sp.llr, Dispersion: round(sp.disp, 3)}
			d.ev.Time = time.Unix(0, s.start[0]).UTC()
			return d
		}
	} else if k, before, after, t, q := latencySplit(s); k > 0 {
		d.onset, d.onsetLo, d.onsetHi, d.incStart, d.baseHi = k, k, k, k, k
		d.ev = &OnsetEvidence{Method: "latency", Quantile: q, Before: round(before, 4), After: round(after, 4), LogLikelihoodRatio: t}
		// A minority of requests turning slow moves the share of slow
		// requests before any quantile (one endpoint's queries, then the
		// pool behind them): an earlier step there is where it began.
		if e, ok := slowShareOnset(s); ok && e.onset < k {
			d = e
		}
	} else if e, ok := slowShareOnset(s); ok {
		d = e
	}
	if d.ev != nil && d.onset >= 0 {
		d.ev.Time = time.Unix(0, s.start[d.onset]).UTC()
		if d.onsetLo < d.onset {
			d.ev.Earliest = ptr(time.Unix(0, s.start[d.onsetLo]).UTC())
		}
		if hi := min(d.onsetHi, d.end-1); hi > d.onset {
			d.ev.Latest = ptr(time.Unix(0, s.start[hi]).UTC())
		}
		if d.end < L {
			d.ev.End = ptr(time.Unix(0, s.start[d.end]).UTC())
		}
	}
	return d
}

// refineOnset moves the onset earlier over buckets already failing well
// above the baseline rate: binary segmentation places the split of a ramp
// (a leak, a rollout, DNS caches expiring) in its middle, but the incident
// began where the rate first left the baseline.
func refineOnset(s series, k int, p0 float64) int {
	k = cusumOnset(s, k, p0)
	for k > 1 {
		i := k - 1
		if s.n[i] == 0 || rateZ(s.e[i], s.n[i], p0) < 3 || s.e[i]/s.n[i] < minRateRatio*p0 {
			break
		}
		k = i
	}
	return k
}

// cusumOnset looks for where a slow rise began: a CUSUM of failures above
// a reference slightly over the baseline rate, run up to the split k; the
// onset is the last point where the sum was zero, kept when the buckets
// from there to k fail significantly more than the baseline as a whole.
func cusumOnset(s series, k int, p0 float64) int {
	var n1, e1 float64
	for i := k; i < len(s.n); i++ {
		n1 += s.n[i]
		e1 += s.e[i]
	}
	p1 := ratio(e1, n1)
	ref := math.Max(p0+0.1*(p1-p0), 1.2*p0)
	var S float64
	last := 0
	for i := 0; i < k; i++ {
		S = math.Max(0, S+s.e[i]-s.n[i]*ref)
		if S == 0 {
			last = i + 1
		}
	}
	if last <= 0 || last >= k {
		return k
	}
	var n, e float64
	for i := last; i < k; i++ {
		n += s.n[i]
		e += s.e[i]
	}
	if rateZ(e, n, p0) < 3 || ratio(e, n) < 1.2*p0 {
		return k
	}
	return last
}

// latencySplit finds a step up of per-bucket latency — the median, p90 or
// p99, whichever moved most clearly (a slow minority only moves p99); k is
// 0 when none.
func latencySplit(s series) (k int, before, after, t, quantile float64) {
	for _, q := range []float64{0.5, 0.9, 0.99} {
		minN := uint32(5)
		if q > 0.95 {
			minN = 50
		}
		if k1, b1, a1, t1 := latencySplitAt(s, q, minN); k1 > 0 && t1 > t {
			k, before, after, t, quantile = k1, b1, a1, t1, q
		}
	}
	return k, before, after, t, quantile
}

func latencySplitAt(s series, quantile float64, minN uint32) (k int, before, after, t float64) {
	var idx []int
	var x []float64
	for i, b := range s.b {
		if b.sk == nil || b.durN < minN {
			continue
		}
		q, err := b.sk.GetValueAtQuantile(quantile)
		if err != nil {
			continue
		}
		idx = append(idx, i)
		x = append(x, math.Log(math.Max(q, 1e-4)))
	}
	m := len(x)
	if m < 6 {
		return 0, 0, 0, 0
	}
	var tot, tot2 float64
	for _, v := range x {
		tot += v
		tot2 += v * v
	}
	bestJ, bestT := -1, 0.0
	var l, l2 float64
	for j := 1; j < m; j++ {
		l += x[j-1]
		l2 += x[j-1] * x[j-1]
		n1, n2 := float64(j), float64(m-j)
		if n1 < 3 || n2 < 2 {
			continue
		}
		m1, m2 := l/n1, (tot-l)/n2
		ss := (l2 - n1*m1*m1) + ((tot2 - l2) - n2*m2*m2)
		v := ss / (n1 + n2 - 2)
		if v < 1e-12 {
			v = 1e-12
		}
		tt := (m2 - m1) / math.Sqrt(v*(1/n1+1/n2))
		if tt > bestT {
			bestJ, bestT = j, tt
			before, after = math.Exp(m1), math.Exp(m2)
		}
	}
	if bestJ < 0 || bestT < minLatencyT || after < minLatencyFac*before {
		return 0, 0, 0, 0
	}
	return idx[bestJ], before, after, bestT
}

// slowShareOnset is the onset of the clearest step up in the share of slow
// requests (slowShareSplits) with latency itself up 1.5× from it.
func slowShareOnset(s series) (detected, bool) {
	for _, c := range slowShareSplits(s) {
		sp := c.sp
		onset := refineOnset(c.ss, sp.k, sp.pLo)
		end := recoveryAt(c.ss.n, c.ss.e, sp)
		// As for a quantile's shift: latency itself must rise 1.5× —
		// more requests over the usual p90 can be a change of traffic
		// mix. Otherwise the next clearest threshold may still hold.
		q, before, after := movedQuantile(s, onset, end)
		if after <= 0 || after < minLatencyFac*before {
			continue
		}
		return detected{onset: onset, onsetLo: min(onset, sp.kLo), onsetHi: max(onset, sp.kHi), end: end,
			incStart: onset, baseHi: onset,
			ev: &OnsetEvidence{Method: "latency", Quantile: q, Before: before, After: after,
				LogLikelihoodRatio: sp.llr, Dispersion: round(sp.disp, 3),
				ThresholdSeconds: c.thr, SlowBefore: round(sp.pLo, 6), SlowAfter: round(sp.pHi, 6)}}, true
	}
	return detected{}, false
}

// slowShareSplits looks for a step up of the share of slow requests, for
// when no bucket's quantile moves: one endpoint of many turning slow, with a
// few dozen requests per bucket, moves no bucket's p99, but it moves the
// share of requests slower than the whole log's usual tail. For thresholds
// at the log's p90, p99 and p99.9 (each with at least 20 requests above
// it), the requests slower than the threshold are counted per bucket from
// the buckets' sketches and segmented as the error rate is. It returns the
// significant steps up, clearest first; ss is the series of those counts
// (e: slow requests).
func slowShareSplits(s series) []slowStep {
	var all *ddsketch.DDSketch
	for _, b := range s.b {
		all = mergeSketch(all, b.sk)
	}
	if all == nil || all.GetCount() < 100 {
		return nil
	}
	n := make([]float64, len(s.b))
	for i, b := range s.b {
		if b.sk != nil {
			n[i] = b.sk.GetCount()
		}
	}
	var out []slowStep
	for _, q := range []float64{0.9, 0.99, 0.999} {
		if all.GetCount()*(1-q) < 20 {
			break
		}
		t, err := all.GetValueAtQuantile(q)
		if err != nil || t <= 0 {
			continue
		}
		e := make([]float64, len(s.b))
		for i, b := range s.b {
			if b.sk != nil {
				e[i] = countAbove(b.sk, t)
			}
		}
		if sp := bestSplit(n, e, 0, len(n)); sp.ok && sp.increasing {
			out = append(out, slowStep{ss: series{start: s.start, width: s.width, n: n, e: e, b: s.b}, sp: sp, thr: round(t, 4)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].sp.llr/out[i].sp.disp > out[j].sp.llr/out[j].sp.disp })
	return out
}

// slowStep is a step up of the share of requests slower than thr.
type slowStep struct {
	ss  series
	sp  split
	thr float64
}

// countAbove counts a sketch's values above t (by their bins, within the
// sketch's 1% relative accuracy).
func countAbove(sk *ddsketch.DDSketch, t float64) float64 {
	var c float64
	sk.ForEach(func(v, n float64) bool {
		if v > t {
			c += n
		}
		return false
	})
	return c
}

// movedQuantile compares latency before bucket k with [k, end) and returns
// the quantile (p50, p90 or p99) that rose by the largest factor, and its
// values in seconds.
func movedQuantile(s series, k, end int) (q, before, after float64) {
	var bs, as *ddsketch.DDSketch
	for i, b := range s.b {
		switch {
		case i < k:
			bs = mergeSketch(bs, b.sk)
		case i < end:
			as = mergeSketch(as, b.sk)
		}
	}
	if bs == nil || as == nil || bs.IsEmpty() || as.IsEmpty() {
		return 0, 0, 0
	}
	qs := []float64{0.5, 0.9, 0.99}
	bv, av := quantiles(bs, qs...), quantiles(as, qs...)
	bestF := 0.0
	for i := range qs {
		if f := av[i] / math.Max(bv[i], 1e-4); f > bestF {
			bestF, q, before, after = f, qs[i], bv[i], av[i]
		}
	}
	return q, before, after
}

// windows are the analysis windows in Unix ns, [start, end).
type windows struct {
	incStart, incEnd   int64
	baseStart, baseEnd int64
	hasBase            bool
	onset              *time.Time
}

// scope computes the windows and the impact.
func (a *Aggregator) scope(opt *Options, res *Result) (windows, series) {
	s := a.series()
	var w windows
	L := len(s.n)
	if L == 0 {
		return w, s
	}
	dataStart, dataEnd := s.start[0], s.start[L-1]+s.width
	d := detectOnset(s)
	w.incStart, w.incEnd = s.at(d.incStart), s.at(d.end)
	if d.baseHi > d.baseLo {
		w.baseStart, w.baseEnd, w.hasBase = s.at(d.baseLo), s.at(d.baseHi), true
	}
	if d.onset >= 0 {
		w.onset = ptr(time.Unix(0, s.start[d.onset]).UTC())
	}
	if opt.Baseline != nil {
		w.baseStart, w.baseEnd, w.hasBase = opt.Baseline[0].UnixNano(), opt.Baseline[1].UnixNano(), true
		if w.onset == nil || w.onset.UnixNano() < w.baseEnd {
			w.incStart, w.incEnd = w.baseEnd, dataEnd
			if w.baseStart >= dataEnd || w.baseEnd <= dataStart {
				// Baseline outside the data: incident is everything.
				w.incStart = dataStart
			}
		}
	}
	res.Onset = d.ev
	res.Window.Incident = Span{Start: ptr(time.Unix(0, w.incStart).UTC()), End: ptr(time.Unix(0, w.incEnd).UTC())}
	if w.hasBase {
		res.Window.Baseline = Span{Start: ptr(time.Unix(0, w.baseStart).UTC()), End: ptr(time.Unix(0, w.baseEnd).UTC())}
	}

	// Impact over the series buckets.
	im := &res.Impact
	im.Onset = w.onset
	im.StatusCodes = map[string]int64{}
	var incSk, baseSk, errSk *ddsketch.DDSketch
	status := make([]int64, maxStatusCodes)
	for i := 0; i < L; i++ {
		t, b := s.start[i], s.b[i]
		switch {
		case t >= w.incStart && t < w.incEnd:
			im.Requests += int64(b.req)
			im.Errors += int64(b.err)
			incSk = mergeSketch(incSk, b.sk)
			errSk = mergeSketch(errSk, b.esk)
			for j, c := range b.errStatus {
				status[j] += int64(c)
			}
		case w.hasBase && t >= w.baseStart && t < w.baseEnd:
			im.BaselineRequests += int64(b.req)
			im.BaselineErrors += int64(b.err)
			baseSk = mergeSketch(baseSk, b.sk)
		}
	}
	for j, c := range status {
		if c > 0 && j < len(a.statusCodes) {
			k := strconv.Itoa(a.statusCodes[j])
			if a.statusCodes[j] == 0 {
				k = "other"
			}
			im.StatusCodes[k] += c
		}
	}
	im.ErrorRate = round(ratio(float64(im.Errors), float64(im.Requests)), 6)
	im.BaselineErrorRate = round(ratio(float64(im.BaselineErrors), float64(im.BaselineRequests)), 6)
	if incSk != nil && !incSk.IsEmpty() {
		q := quantiles(incSk, 0.5, 0.95, 0.99)
		im.Latency = &Latency{P50: q[0], P95: q[1], P99: q[2]}
		if baseSk != nil && !baseSk.IsEmpty() {
			bq := quantiles(baseSk, 0.5, 0.95, 0.99)
			im.Latency.BaselineP50, im.Latency.BaselineP95, im.Latency.BaselineP99 = &bq[0], &bq[1], &bq[2]
		}
		im.Timeout = timeoutWall(errSk, im.Latency)
	}
	if w.hasBase {
		z := twoPropZ(float64(im.Errors), float64(im.Requests), float64(im.BaselineErrors), float64(im.BaselineRequests))
		hi, lo := im.ErrorRate, im.BaselineErrorRate
		im.Significant = z >= 4 && hi >= minRateRatio*lo && hi-lo >= minRateDiff
		if d.ev != nil && d.ev.Method == "latency" {
			im.Significant = true
		}
	}

	// Clients over the value slots that overlap the incident.
	var all, failing *hyperloglog.Sketch
	sw := a.slots.width()
	lo, hi := a.slots.observed()
	for p := lo; p <= hi; p++ {
		t := a.slots.start(p)
		if t+sw <= w.incStart || t >= w.incEnd {
			continue
		}
		all = mergeHLL(all, a.clients[p])
		failing = mergeHLL(failing, a.errClients[p])
	}
	if all != nil {
		im.Clients = int64(all.Estimate())
	}
	if failing != nil {
		im.ClientsAffected = int64(failing.Estimate())
	}
	// HyperLogLog estimates are within a few percent: keep them consistent
	// with the exact counts.
	im.ClientsAffected = min(im.ClientsAffected, im.Errors)
	im.Clients = min(max(im.Clients, im.ClientsAffected), im.Requests)

	// Series for the report.
	res.Series.BucketSeconds = float64(s.width) / 1e9
	for i := 0; i < L; i++ {
		b := s.b[i]
		pt := Bucket{Time: time.Unix(0, s.start[i]).UTC(), Requests: int64(b.req), Errors: int64(b.err)}
		if b.sk != nil && !b.sk.IsEmpty() {
			q := quantiles(b.sk, 0.5, 0.99)
			pt.P50, pt.P99 = &q[0], &q[1]
		}
		res.Series.Points = append(res.Series.Points, pt)
	}
	if res.Onset != nil {
		res.Onset.BucketSeconds = res.Series.BucketSeconds
	}
	return w, s
}

// quantiles returns the sketch's quantiles in seconds, rounded to 0.1 ms.
func quantiles(sk *ddsketch.DDSketch, qs ...float64) []float64 {
	v, err := sk.GetValuesAtQuantiles(qs)
	if err != nil {
		return make([]float64, len(qs))
	}
	for i := range v {
		v[i] = round(v[i], 4)
	}
	return v
}

func mergeSketch(dst, src *ddsketch.DDSketch) *ddsketch.DDSketch {
	if src == nil {
		return dst
	}
	if dst == nil {
		return src.Copy()
	}
	_ = dst.MergeWith(src)
	return dst
}

func mergeHLL(dst, src *hyperloglog.Sketch) *hyperloglog.Sketch {
	if src == nil {
		return dst
	}
	if dst == nil {
		return src.Clone()
	}
	_ = dst.Merge(src)
	return dst
}

// slotWindows returns, per value slot, whether it belongs to the incident
// (1), the baseline (2) or neither (0). A slot overlapping the incident
// window belongs to the incident.
func (a *Aggregator) slotWindows(w windows) []uint8 {
	out := make([]uint8, a.slots.n)
	sw := a.slots.width()
	lo, hi := a.slots.observed()
	for p := lo; p <= hi; p++ {
		t := a.slots.start(p)
		switch {
		case t+sw > w.incStart && t < w.incEnd:
			out[p] = 1
		case w.hasBase && t+sw > w.baseStart && t < w.baseEnd:
			out[p] = 2
		}
	}
	return out
}
