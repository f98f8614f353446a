package prom

import (
	"math"
	"sort"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// Window is a half-open time range [Start, End). A zero Start or End leaves
// that side open.
type Window struct {
	Start, End time.Time
}

// In returns the points inside w (a sub-slice, not a copy). pts must be
// sorted by time, as every series from this package is.
func In(pts []signal.Point, w Window) []signal.Point {
	i, j := 0, len(pts)
	if !w.Start.IsZero() {
		s := w.Start.UnixMilli()
		i = sort.Search(len(pts), func(k int) bool { return pts[k].T >= s })
	}
	if !w.End.IsZero() {
		e := w.End.UnixMilli()
		j = sort.Search(len(pts), func(k int) bool { return pts[k].T >= e })
	}
	if j < i {
		return pts[:0]
	}
	return pts[i:j]
}

// Mean returns the mean value of the points in w and how many there were.
func Mean(pts []signal.Point, w Window) (float64, int) {
	sum, n := 0.0, 0
	for _, p := range In(pts, w) {
		if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
			continue
		}
		sum += p.V
		n++
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// StepShape compares a series' level before and after a time.
type StepShape struct {
	// Before and After are the mean values in [at-span, at) and [at, at+span).
	Before, After float64
	// Delta is After-Before; Ratio is After/Before (+Inf when Before is 0 and
	// After is not, 1 when both are 0).
	Delta, Ratio float64
	// NBefore and NAfter count the points each mean is over; a shape with
	// either 0 says nothing.
	NBefore, NAfter int
}

// Step measures the level of a series before and after at, each over span:
// a deploy that breaks a service shows a large Ratio at the rollout time.
func Step(pts []signal.Point, at time.Time, span time.Duration) StepShape {
	var s StepShape
	s.Before, s.NBefore = Mean(pts, Window{at.Add(-span), at})
	s.After, s.NAfter = Mean(pts, Window{at, at.Add(span)})
	s.Delta = s.After - s.Before
	switch {
	case s.Before != 0:
		s.Ratio = s.After / s.Before
	case s.After == 0:
		s.Ratio = 1
	default:
		s.Ratio = math.Inf(1)
	}
	return s
}

// RampShape describes how a series moves over a window.
type RampShape struct {
	// Slope is the least-squares slope in units per second.
	Slope float64
	// R2 is the coefficient of determination of that line, 0..1: near 1 for
	// a steady ramp (a leak), near 0 for noise or a step.
	R2 float64
	// First and Last are the first and last values in the window.
	First, Last float64
	// Rising is the fraction of consecutive moves that go up, ignoring
	// drops (a leak that is OOM-killed drops once per cycle but rises
	// steadily in between).
	Rising float64
	// N is the number of points.
	N int
}

// Ramp fits a line to the points in w. With fewer than 3 points the shape
// is zero apart from N.
func Ramp(pts []signal.Point, w Window) RampShape {
	in := In(pts, w)
	r := RampShape{N: len(in)}
	if len(in) < 3 {
		return r
	}
	r.First, r.Last = in[0].V, in[len(in)-1].V
	t0 := float64(in[0].T) / 1000
	var sx, sy, sxx, sxy, syy float64
	n := float64(len(in))
	up, moves := 0, 0
	for i, p := range in {
		x, y := float64(p.T)/1000-t0, p.V
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
		syy += y * y
		if i > 0 && p.V != in[i-1].V {
			moves++
			if p.V > in[i-1].V {
				up++
			}
		}
	}
	if moves > 0 {
		r.Rising = float64(up) / float64(moves)
	}
	vx := n*sxx - sx*sx
	vy := n*syy - sy*sy
	if vx == 0 {
		return r
	}
	cov := n*sxy - sx*sy
	r.Slope = cov / vx
	if vy > 0 {
		r.R2 = cov * cov / (vx * vy)
	}
	return r
}

// FirstCrossing returns the time of the first point at or after from whose
// value is >= threshold, and whether there is one.
func FirstCrossing(pts []signal.Point, threshold float64, from time.Time) (time.Time, bool) {
	f := from.UnixMilli()
	for _, p := range pts {
		if (from.IsZero() || p.T >= f) && p.V >= threshold {
			return time.UnixMilli(p.T).UTC(), true
		}
	}
	return time.Time{}, false
}

// PinnedNear measures how long a series stayed at or above frac*limit inside
// w (e.g. connections at 95% of max_connections): the total duration of such
// stretches (each point counts until the next point), the longest single
// stretch, and when the first stretch began (zero when never).
func PinnedNear(pts []signal.Point, limit, frac float64, w Window) (total, longest time.Duration, first time.Time) {
	in := In(pts, w)
	th := limit * frac
	var run time.Duration
	for i, p := range in {
		if p.V < th {
			run = 0
			continue
		}
		if first.IsZero() {
			first = time.UnixMilli(p.T).UTC()
		}
		var d time.Duration
		if i+1 < len(in) {
			d = time.Duration(in[i+1].T-p.T) * time.Millisecond
		} else if i > 0 {
			d = time.Duration(p.T-in[i-1].T) * time.Millisecond
		}
		total += d
		run += d
		if run > longest {
			longest = run
		}
	}
	return total, longest, first
}
