package triage

import (
	"fmt"
	"time"
)

// scopedOnset looks for the onset in the requests of one finding when the
// whole log's error rate shows none: one pod of forty failing half its
// requests adds a few dozen errors to a quiet log — too few to move the
// total, but a clear step in the pod's own requests. The finding's
// per-slot counts are segmented by the same test as the error rate; the
// onset is the start of the slot the step begins in.
func (a *Aggregator) scopedOnset(f Finding) (onset int64, sp split, ok bool) {
	if len(f.Scope) != 1 || f.Estimated {
		return 0, sp, false // pairs are counted on samples, not per slot
	}
	d := a.liveDimension(f.Dimension)
	if d == nil {
		return 0, sp, false
	}
	id := d.lookup(f.Value)
	if id == 0 || id == d.overflow {
		return 0, sp, false
	}
	lo, hi := a.slots.observed()
	s := series{n: make([]float64, 0, hi-lo+1), e: make([]float64, 0, hi-lo+1)}
	for p := lo; p <= hi; p++ {
		okN, failed := d.count(int(id), p)
		s.n = append(s.n, float64(okN+failed))
		s.e = append(s.e, float64(failed))
	}
	if len(s.n) < 4 {
		return 0, sp, false
	}
	sp = bestSplit(s.n, s.e, 0, len(s.n))
	if !sp.ok || !sp.increasing {
		return 0, sp, false
	}
	k := refineOnset(s, sp.k, sp.pLo)
	sp.kLo, sp.kHi = min(sp.kLo, k), max(sp.kHi, k)
	return a.slots.start(lo + k), sp, true
}

// scopeSince recomputes the windows and the impact with at as the onset of
// a step found in other counts than the whole log's error rate (a
// finding's own requests, the retried ones): the baseline runs from start
// to at, the incident from at on, and the step's own test made it
// significant.
func (a *Aggregator) scopeSince(opt *Options, res *Result, start, at time.Time) (windows, series) {
	o := *opt
	o.Baseline = &[2]time.Time{start, at}
	res.Impact, res.Series, res.Window = Impact{}, Series{}, Window{}
	w, s := a.scope(&o, res)
	w.onset, res.Impact.Onset = &at, &at
	res.Impact.Significant = true
	return w, s
}

// rescopeAt makes t the onset found in finding f's own requests: the
// baseline is everything before it, the incident everything after, and
// the impact is recomputed over those windows.
func (a *Aggregator) rescopeAt(opt *Options, res *Result, f Finding, t int64, sp split) (windows, series) {
	lo, _ := a.slots.observed()
	at := time.Unix(0, t).UTC()
	w, s := a.scopeSince(opt, res, time.Unix(0, a.slots.start(lo)).UTC(), at)
	width := float64(a.slots.width()) / 1e9
	res.Onset = &OnsetEvidence{Method: "error-rate", Time: at, Before: sp.pLo, After: sp.pHi,
		LogLikelihoodRatio: sp.llr, Dispersion: round(sp.disp, 3), Scope: f.Scope, BucketSeconds: width}
	if e := time.Unix(0, a.slots.start(lo+sp.kLo)).UTC(); e.Before(at) {
		res.Onset.Earliest = &e
	}
	if l := time.Unix(0, a.slots.start(lo+sp.kHi)).UTC(); l.After(at) {
		res.Onset.Latest = &l
	}
	res.Notes = append(res.Notes, fmt.Sprintf("the whole log's error rate did not change significantly; the onset is that of %s's own requests (%s fail before, %s after)",
		f.Dimension+"="+f.Value, pct(sp.pLo), pct(sp.pHi)))
	return w, s
}
