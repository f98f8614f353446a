package triage

import (
	"math"
	"strconv"
	"time"
)

// Client errors (4xx) are not failures by default — a 404 is often the
// client's mistake — but a step in them is an incident users feel: every
// login answered 401 after a key rotation, 429s after a rate-limit change,
// 403s from a new WAF rule. When the error rate and latency show no onset,
// triage looks for such a step and says where it is.

const (
	// A client-error shift must also be material: at least this share of
	// the requests after the onset, so that a crawler's few 404s are no
	// headline.
	minClientShare = 0.02
	// One code holding this share of the rise names the expression
	// (status==401); otherwise every 4xx code counts.
	dominantCode = 0.8
	// A refusal code tested on its own (refusals) must reach this share of
	// the requests: one in 200 refused.
	minRefusalShare = 0.005
)

// refusals are the codes by which a server refuses a client it served
// before — a rotated key (401), a new scope or WAF rule (403), a proxy's
// credentials (407), a rate limit (429). They are rare in a healthy log,
// so their step can hide in the noise of the common 4xx (a site's 404s).
var refusals = []int{401, 403, 407, 429}

// clientShift is a step in the share of client errors.
type clientShift struct {
	w         windows
	recovered bool // the share fell back before the end of the data
	before    float64
	after     float64
	codes     map[int]int64 // 4xx codes in the incident window
	expr      string
}

// clientErrorShift finds a step up of the client-error (4xx) share in the
// request series s (the scope's), by the same binomial segmentation and thresholds as the
// error rate's onset, and the expression that selects the codes that rose.
// It returns nil when there is none.
func clientErrorShift(s series) *clientShift {
	L := len(s.n)
	if L < 2 {
		return nil
	}
	c, _ := s.counting(func(b *bucket) uint32 { return b.c4 })
	sp := bestSplit(c.n, c.e, 0, L)
	only := 0 // the refusal code whose own step is the shift, if any
	if !sp.ok || !sp.increasing || sp.pHi < minClientShare {
		if only, sp, c.e = refusalShift(s); only == 0 {
			return nil
		}
	}
	k := refineOnset(c, sp.k, sp.pLo)
	end := recoveryAt(c.n, c.e, sp)
	cs := &clientShift{codes: map[int]int64{}, recovered: end < L}
	cs.w = windows{incStart: s.at(k), incEnd: s.at(end), baseStart: s.at(0), baseEnd: s.at(k), hasBase: k > 0}
	cs.w.onset = ptr(time.Unix(0, s.at(k)).UTC())
	var n, e, nb, eb float64
	var inc, base [100]float64
	for i, b := range s.b {
		in := i >= k && i < end
		if in {
			n += s.n[i]
			e += c.e[i]
		} else if i < k {
			nb += s.n[i]
			eb += c.e[i]
		}
		if b.cli == nil {
			continue
		}
		for code, x := range b.cli {
			if in && x > 0 {
				inc[code] += float64(x)
				cs.codes[400+code] += int64(x)
			} else if i < k {
				base[code] += float64(x)
			}
		}
	}
	cs.after = round(ratio(e, n), 4)
	cs.before = round(ratio(eb, nb), 4)
	if len(cs.codes) == 0 {
		return nil
	}
	// Which codes rose: the excess of each over its own baseline share.
	var rise [100]float64
	total, best := 0.0, 0
	for code := range inc {
		rise[code] = inc[code] - n*ratio(base[code], nb)
		if rise[code] > 0 {
			total += rise[code]
		}
		if rise[code] > rise[best] {
			best = code
		}
	}
	cs.expr = "status>=400 && status<500"
	switch {
	case only != 0:
		cs.expr = "status==" + strconv.Itoa(only)
	case total > 0 && rise[best] >= dominantCode*total:
		cs.expr = "status==" + strconv.Itoa(400+best)
	}
	return cs
}

// refusalShift looks for a step in each refusal code alone, when the
// client errors together show none; the bar of significance rises with
// the number of codes tried. It returns the code, its split and its
// per-bucket counts (the shift's shares are then that code's), or 0.
func refusalShift(s series) (int, split, []float64) {
	bar := minLLR + 2*math.Log(float64(len(refusals)))
	code, best, counts := 0, split{}, []float64(nil)
	for _, c := range refusals {
		x := make([]float64, len(s.b))
		var sum float64
		for i, b := range s.b {
			if b.cli != nil {
				x[i] = float64(b.cli[c-400])
			}
			sum += x[i]
		}
		if sum < 5 {
			continue
		}
		sp := bestSplit(s.n, x, 0, len(x))
		if !sp.ok || !sp.increasing || sp.pHi < minRefusalShare || sp.llr/sp.disp < bar {
			continue
		}
		if code == 0 || sp.llr/sp.disp > best.llr/best.disp {
			code, best, counts = c, sp, x
		}
	}
	return code, best, counts
}

// result describes the shift for the Result.
func (cs *clientShift) result() *ClientErrorAnalysis {
	out := &ClientErrorAnalysis{
		Onset: *cs.w.onset, Expression: cs.expr, Share: cs.after, BaselineShare: cs.before,
		Codes: map[string]int64{}, Findings: []Finding{},
	}
	if cs.recovered {
		out.End = ptr(time.Unix(0, cs.w.incEnd).UTC())
	}
	for code, n := range cs.codes {
		out.Codes[strconv.Itoa(code)] = n
	}
	return out
}
