package triage

import (
	"fmt"
	"time"
)

// Failures a proxy hid. nginx and ingress-nginx retry the next upstream
// after an error or a timeout, so a pod or a node that fails half its
// requests may leave the error rate flat: the client got a 200 from the
// second attempt, a few seconds late. The access log still lists every
// attempt; when the share of requests retried after a failed attempt
// steps up and nothing else did — or more failures were hidden than seen —
// triage counts them as failures, where they first failed (RetryErrorExpr).

// RetryErrorExpr is the error expression of a report that counts the
// requests retried after a failed upstream attempt as failures.
const RetryErrorExpr = DefaultErrorExpr + " || " + retryVar + ">0"

const (
	// A retry step must be material, as the client errors' must: one
	// request in 200 retried after a failure, and five of them at least.
	minRetryShare = 0.005
	minRetried    = 5
)

// retryStep is a step up in the share of requests retried after a
// failed upstream attempt (that did not fail in the end).
type retryStep struct {
	onset         time.Time
	before, after float64 // shares of the requests, before and after the onset
	retried       int64   // retried requests from the onset to the end of the step
	errors        int64   // requests that failed outright over the same time
	ev            OnsetEvidence
}

// findRetryStep looks for a step up in the retried requests of the
// request series s, by the error rate's segmentation and thresholds. It
// returns nil when there is none.
func findRetryStep(s series) *retryStep {
	L := len(s.n)
	if L < 2 {
		return nil
	}
	r, sum := s.counting(func(b *bucket) uint32 { return b.rt })
	if sum < minRetried {
		return nil
	}
	sp := bestSplit(r.n, r.e, 0, L)
	if !sp.ok || !sp.increasing || sp.pHi < minRetryShare {
		return nil
	}
	k := refineOnset(r, sp.k, sp.pLo)
	end := recoveryAt(r.n, r.e, sp)
	var n, e, nb, eb, errs float64
	for i := range r.n {
		switch {
		case i < k:
			nb += r.n[i]
			eb += r.e[i]
		case i < end:
			n += r.n[i]
			e += r.e[i]
			errs += s.e[i]
		}
	}
	if e < minRetried {
		return nil
	}
	rs := &retryStep{onset: time.Unix(0, s.at(k)).UTC(), before: round(ratio(eb, nb), 4), after: round(ratio(e, n), 4), retried: int64(e), errors: int64(errs)}
	rs.ev = OnsetEvidence{Method: "retries", Time: rs.onset, Before: sp.pLo, After: sp.pHi,
		LogLikelihoodRatio: sp.llr, Dispersion: round(sp.disp, 3), BucketSeconds: float64(s.width) / 1e9}
	if lo := min(k, sp.kLo); lo < k {
		rs.ev.Earliest = ptr(time.Unix(0, s.at(lo)).UTC())
	}
	if hi := min(max(k, sp.kHi), end-1); hi > k {
		rs.ev.Latest = ptr(time.Unix(0, s.at(hi)).UTC())
	}
	if end < L {
		rs.ev.End = ptr(time.Unix(0, s.at(end)).UTC())
	}
	return rs
}

// rescopeRetries makes the retry step's onset the incident's in the pass
// that counts the retried requests as failures: the baseline is everything
// before it, and the impact is recomputed over the windows.
func (a *Aggregator) rescopeRetries(opt *Options, res *Result, rs *retryStep) (windows, series) {
	lo, _ := a.main.observed()
	w, s := a.scopeSince(opt, res, time.Unix(0, a.main.start(lo)).UTC(), rs.onset)
	ev := rs.ev
	res.Onset = &ev
	return w, s
}

// hides reports whether the step is the incident: nothing else stepped up
// (quiet: no onset, or latency's alone), or the proxy hid more failures
// than the clients saw — a zone's pods timing out behind ingress retries
// leave a few dozen errors over hundreds of retried requests, and the
// error rate's onset alone would weigh the causes on the few.
func (rs *retryStep) hides(quiet bool) bool {
	return quiet || rs.retried >= rs.errors
}

// note says what the step is, for the report's notes.
func (rs *retryStep) note(quiet bool) string {
	if quiet {
		return fmt.Sprintf("the error rate did not change, but from %s %s of the requests (%d) succeeded only after the proxy retried a failed upstream attempt (%s before): failures hidden from the clients, not from the service",
			rs.onset.Format("15:04:05"), pct(rs.after), rs.retried, pct(rs.before))
	}
	return fmt.Sprintf("from %s more requests succeeded only after the proxy retried a failed upstream attempt (%d, %s of the requests; %s before) than failed (%d): most failures were hidden from the clients, not from the service",
		rs.onset.Format("15:04:05"), rs.retried, pct(rs.after), pct(rs.before), rs.errors)
}
