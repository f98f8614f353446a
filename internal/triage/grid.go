package triage

import "time"

// widthLadder holds the bucket widths a grid may use. Each width divides the
// next, so a bucket of one width falls wholly inside one bucket of any
// coarser width, and two grids can always be merged exactly.
var widthLadder = func() []int64 {
	w := []time.Duration{
		time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
		time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
	}
	out := make([]int64, 0, len(w)+16)
	for _, d := range w {
		out = append(out, int64(d))
	}
	for i := 0; i < 16; i++ {
		out = append(out, out[len(out)-1]*2)
	}
	return out
}()

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// span tracks the layout of a time grid: a width level, the absolute index
// (time / width) of the first stored bucket and how many are stored, and the
// range actually observed. The owner keeps its per-bucket data in slices
// indexed by position and re-lays them out when relayout reports a move.
type span struct {
	cap      int // maximum observed range, in buckets
	level    int
	lo       int64
	n        int
	min, max int64
	any      bool
}

func (s *span) width() int64 { return widthLadder[s.level] }

// pos returns the storage position of time t, or -1 when t lies outside the
// stored range or would stretch the observed range past cap (the owner then
// calls include, which coarsens). So the width a grid ends at is the finest
// that holds all its times in cap buckets, whatever their order — and
// whatever the number of workers that shared them out, once merged.
func (s *span) pos(t int64) int {
	a := floorDiv(t, widthLadder[s.level])
	if !s.any {
		return -1
	}
	p := a - s.lo
	if p < 0 || p >= int64(s.n) {
		return -1
	}
	top := s.level == len(widthLadder)-1
	if a < s.min {
		if s.max-a+1 > int64(s.cap) && !top {
			return -1
		}
		s.min = a
	}
	if a > s.max {
		if a-s.min+1 > int64(s.cap) && !top {
			return -1
		}
		s.max = a
	}
	return int(p)
}

// layout describes a move from one layout to another: old position p goes to
// new position mapTo[p].
type layout struct {
	mapTo []int
	n     int
}

// include changes the layout so that absolute time range [tmin, tmax] (ns)
// at the given minimum level is stored, coarsening as needed to respect cap.
// It returns the move to apply to the owner's data.
func (s *span) include(tmin, tmax int64, minLevel int) layout {
	oldLevel, oldLo, oldN := s.level, s.lo, s.n
	level := s.level
	if minLevel > level {
		level = minLevel
	}
	var lo, hi int64
	for {
		w := widthLadder[level]
		lo, hi = floorDiv(tmin, w), floorDiv(tmax, w)
		if s.any {
			ow := widthLadder[s.level]
			if m := floorDiv(s.min*ow, w); m < lo {
				lo = m
			}
			if m := floorDiv(s.max*ow, w); m > hi {
				hi = m
			}
		}
		if hi-lo+1 <= int64(s.cap) || level == len(widthLadder)-1 {
			break
		}
		level++
	}
	w := widthLadder[level]
	size := hi - lo + 1
	// Leave slack in the direction of growth so that a stream moving forward
	// (or backward) in time does not re-lay out on every new bucket.
	slack := size
	if slack > int64(s.cap) {
		slack = int64(s.cap)
	}
	slack += 8
	stLo, stHi := lo, hi
	if !s.any {
		stHi = hi + slack
	} else {
		ow := widthLadder[s.level]
		if floorDiv(tmax, w) > floorDiv(s.max*ow, w) {
			stHi = hi + slack
		}
		if floorDiv(tmin, w) < floorDiv(s.min*ow, w) {
			stLo = lo - slack
		}
	}
	var mv layout
	mv.n = int(stHi - stLo + 1)
	mv.mapTo = make([]int, oldN)
	ow := widthLadder[oldLevel]
	for p := 0; p < oldN; p++ {
		a := floorDiv((oldLo+int64(p))*ow, w)
		q := a - stLo
		if q < 0 || q >= int64(mv.n) {
			q = -1 // slack outside the observed range: empty
		}
		mv.mapTo[p] = int(q)
	}
	s.level, s.lo, s.n = level, stLo, mv.n
	s.min, s.max, s.any = lo, hi, true
	return mv
}

// start returns the start time (ns) of storage position p.
func (s *span) start(p int) int64 { return (s.lo + int64(p)) * widthLadder[s.level] }

// observed returns the storage positions of the first and last observed
// buckets.
func (s *span) observed() (int, int) {
	if !s.any {
		return 0, -1
	}
	return int(s.min - s.lo), int(s.max - s.lo)
}
