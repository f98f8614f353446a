package triage

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/DataDog/sketches-go/ddsketch"
)

// Limits of a timeout wall. A timeout makes the requests it ends take the
// same time, give or take the scheduler: nginx's proxy_read_timeout ends
// them at 60.00x s, a pool's acquire timeout at its setting. Requests that
// fail fast (a refused connection, a 500 from the code) pile up near zero
// instead, which is no wall: the wall must stand well above what the
// requests took before.
const (
	wallBand     = 0.05 // the wall's width, relative to its value (the sketch's bins are 1%)
	wallShare    = 0.5  // of the failing requests with a duration
	wallMin      = 8    // failing requests at the wall
	wallFloor    = 0.5  // seconds: shorter is not told from fast failure
	wallOverBase = 3    // the wall is at least 3× the baseline's p95
)

// timeoutWall finds the duration most failing requests ended at, from the
// sketch of their durations: the band of relative width wallBand holding
// the most of them. It returns nil when that band holds less than
// wallShare of them, or sits below wallFloor or near the baseline's usual
// latency.
func timeoutWall(sk *ddsketch.DDSketch, lat *Latency) *Timeout {
	if sk == nil || sk.IsEmpty() {
		return nil
	}
	type bin struct{ v, n float64 }
	var bins []bin
	total := 0.0
	sk.ForEach(func(v, n float64) bool {
		bins = append(bins, bin{v, n})
		total += n
		return false
	})
	sort.Slice(bins, func(i, j int) bool { return bins[i].v < bins[j].v })
	best, bestAt, bestEnd := 0.0, 0, 0
	in, j := 0.0, 0
	for i := range bins {
		for j < len(bins) && bins[j].v <= bins[i].v*(1+wallBand) {
			in += bins[j].n
			j++
		}
		if in > best {
			best, bestAt, bestEnd = in, i, j
		}
		in -= bins[i].n
	}
	if best < wallMin || best < wallShare*total {
		return nil
	}
	// The wall's value: the count-weighted mean of its bins.
	sum := 0.0
	for _, b := range bins[bestAt:bestEnd] {
		sum += b.v * b.n
	}
	v := sum / best
	if v < wallFloor {
		return nil
	}
	if lat != nil && lat.BaselineP95 != nil && v < wallOverBase**lat.BaselineP95 {
		return nil
	}
	return &Timeout{Seconds: roundSig(v, 2), Share: round(best/total, 4), Failures: int64(math.Round(best))}
}

// roundSig rounds x to n significant digits (14.93 → 15, 5.02 → 5.0): the
// sketch reads a duration within 1%, so two digits are all it can say.
func roundSig(x float64, n int) float64 {
	if x == 0 {
		return 0
	}
	p := math.Pow(10, float64(n)-math.Ceil(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}

// About says where the wall is, for reports and evidence: "~15s",
// "~750ms".
func (t *Timeout) About() string {
	if t.Seconds < 1 {
		return "~" + strconv.FormatFloat(t.Seconds*1000, 'f', -1, 64) + "ms"
	}
	return "~" + strconv.FormatFloat(t.Seconds, 'f', -1, 64) + "s"
}

// Summary is one line on the wall: "964 failing requests (96%) ended at ~15s".
func (t *Timeout) Summary() string {
	n := "failing requests"
	if t.Failures == 1 {
		n = "failing request"
	}
	return fmt.Sprintf("%d %s (%.0f%%) ended at %s", t.Failures, n, math.Floor(t.Share*100), t.About())
}
