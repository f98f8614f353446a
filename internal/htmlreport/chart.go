package htmlreport

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

// Chart geometry, in SVG user units (the SVG scales to the page width).
const (
	chartW     = 1100.0
	plotLeft   = 70.0
	plotRight  = chartW - 20
	errTop     = 26.0
	errBot     = 188.0
	latTop     = 222.0
	latBot     = 340.0
	tickLabelY = 357.0
	laneTop    = 370.0
	laneRowH   = 13.0
	laneRows   = 3
	laneBot    = laneTop + laneRowH*laneRows + 4
	chartH     = laneBot + 18
	// maxChangeLines is how many changes get a full-height guide line; above
	// it only the blamed change does, and the others keep their lane marker.
	maxChangeLines = 40
	// labelGap is the room, in user units, a change label needs.
	labelGap = 70.0
)

// chart is the timeline: error rate and latency panels over a shared UTC
// time axis, windows shaded, onset marked, changes in a lane below.
type chart struct {
	W, H                         float64
	Left, Right                  float64
	ErrTop, ErrBot               float64
	LatTop, LatBot               float64
	TickY                        float64
	LaneTop, LaneBot, LaneLabelY float64
	LaneMid                      float64

	Windows  []band
	XTicks   []xtick
	AxisNote string
	ErrTicks []ytick
	LatTicks []ytick

	ErrArea  []string
	ErrLine  []string
	ErrDots  []point
	Baseline *hline

	HasLatency bool
	P50, P99   []string
	LatDots    []point

	Onset    *vline
	Recovery *vline
	Changes  []marker
	// Hidden counts change labels left out to keep the lane readable.
	Hidden int
	// Merged is how many series buckets each drawn point holds (1: none
	// merged), and MergedWidth that width in words.
	Merged      int
	MergedWidth string
}

// maxDisplayPoints bounds the points drawn per line: beyond it adjacent
// buckets are merged, so a long or fine-grained series reads as a trend
// instead of noise.
const maxDisplayPoints = 240

// displayPoints merges runs of k consecutive buckets (k the smallest that
// keeps at most limit points): requests and errors add up, quantiles are
// averaged weighted by requests (an approximation, fine for a chart).
func displayPoints(in []triage.Bucket, limit int) ([]triage.Bucket, int) {
	if len(in) <= limit {
		return in, 1
	}
	pts := make([]triage.Bucket, len(in))
	copy(pts, in)
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].Time.Before(pts[j].Time) })
	k := (len(pts) + limit - 1) / limit
	out := make([]triage.Bucket, 0, limit)
	for i := 0; i < len(pts); i += k {
		group := pts[i:min(i+k, len(pts))]
		m := triage.Bucket{Time: group[0].Time}
		var w50, s50, w99, s99 float64
		for _, b := range group {
			if b.Requests > 0 {
				m.Requests += b.Requests
			}
			if b.Errors > 0 {
				m.Errors += b.Errors
			}
			w := math.Max(float64(b.Requests), 1)
			if b.P50 != nil && finite(*b.P50) && *b.P50 >= 0 {
				w50 += w
				s50 += w * *b.P50
			}
			if b.P99 != nil && finite(*b.P99) && *b.P99 >= 0 {
				w99 += w
				s99 += w * *b.P99
			}
		}
		if w50 > 0 && finite(s50/w50) {
			v := s50 / w50
			m.P50 = &v
		}
		if w99 > 0 && finite(s99/w99) {
			v := s99 / w99
			m.P99 = &v
		}
		out = append(out, m)
	}
	return out, k
}

type band struct {
	X, W   float64
	Class  string
	Label  string
	LabelX float64
}

type xtick struct {
	X     float64
	Label string
}

type ytick struct {
	Y     float64
	Label string
}

type point struct {
	X, Y  float64
	Class string
}

type hline struct {
	Y     float64
	Label string
}

type vline struct {
	X, LabelY float64
	Label     string
	Anchor    string
	LabelX    float64
}

type marker struct {
	ID      string
	Kind    string
	Class   string
	Title   string
	X, Y    float64
	Shape   string
	Blamed  bool
	Outside bool
	Line    bool
	Label   string
	LabelX  float64
	Anchor  string
}

// timeRange is the chart's time domain.
type timeRange struct{ t0, t1 time.Time }

func (r timeRange) x(t time.Time) float64 {
	span := r.t1.Sub(r.t0).Seconds()
	if span <= 0 {
		return (plotLeft + plotRight) / 2
	}
	f := t.Sub(r.t0).Seconds() / span
	return plotLeft + clampF(f, 0, 1)*(plotRight-plotLeft)
}

func (r timeRange) contains(t time.Time) bool { return !t.Before(r.t0) && !t.After(r.t1) }

func clampF(v, lo, hi float64) float64 {
	if !finite(v) {
		return lo
	}
	return math.Max(lo, math.Min(hi, v))
}

// bucketWidth is the series' bucket width (1 minute when unknown).
func bucketWidth(s triage.Series) time.Duration {
	if finite(s.BucketSeconds) && s.BucketSeconds > 0 && s.BucketSeconds < 366*24*3600 {
		return time.Duration(s.BucketSeconds * float64(time.Second))
	}
	return time.Minute
}

// domain picks the time range: the series, else the windows, else the
// changes; windows, the onset and changes extend it by at most a quarter
// of its span on each side, so a change days away does not squash the
// incident (such changes sit at the edge, marked as outside).
func domain(res *triage.Result, changes []signal.Change) (timeRange, bool) {
	var r timeRange
	have := false
	add := func(t time.Time) {
		if !have {
			r.t0, r.t1, have = t, t, true
			return
		}
		if t.Before(r.t0) {
			r.t0 = t
		}
		if t.After(r.t1) {
			r.t1 = t
		}
	}
	bw := bucketWidth(res.Series)
	for _, p := range res.Series.Points {
		add(p.Time)
		add(p.Time.Add(bw))
	}
	spans := []triage.Span{res.Window.Baseline, res.Window.Incident}
	if !have {
		for _, s := range spans {
			if s.Start != nil {
				add(*s.Start)
			}
			if s.End != nil {
				add(*s.End)
			}
		}
	}
	if !have {
		for _, c := range changes {
			add(c.Time)
		}
		if res.Impact.Onset != nil {
			add(*res.Impact.Onset)
		}
	}
	if !have {
		return r, false
	}
	if r.t1.Sub(r.t0) < time.Minute {
		pad := (time.Minute - r.t1.Sub(r.t0)) / 2
		r.t0, r.t1 = r.t0.Add(-pad), r.t1.Add(pad)
	}
	slack := max(r.t1.Sub(r.t0)/4, 5*bw)
	lo, hi := r.t0.Add(-slack), r.t1.Add(slack)
	ext := func(t time.Time) {
		if t.Before(r.t0) && !t.Before(lo) {
			r.t0 = t
		}
		if t.After(r.t1) && !t.After(hi) {
			r.t1 = t
		}
	}
	for _, s := range spans {
		if s.Start != nil {
			ext(*s.Start)
		}
		if s.End != nil {
			ext(*s.End)
		}
	}
	if res.Impact.Onset != nil {
		ext(*res.Impact.Onset)
	}
	for _, c := range changes {
		ext(c.Time)
	}
	// A little air either side so edge markers stay visible.
	air := r.t1.Sub(r.t0) / 100
	r.t0, r.t1 = r.t0.Add(-air), r.t1.Add(air)
	return r, true
}

// tickSteps are the time-axis steps we consider, smallest first.
var tickSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour,
}

// timeTicks returns at most ~9 ticks on round UTC times, and a note with
// the date when all ticks fall on one day.
func timeTicks(r timeRange) ([]xtick, string) {
	span := r.t1.Sub(r.t0)
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if span/s <= 8 {
			step = s
			break
		}
	}
	if span/step > 8 { // spans of years: a round number of days
		step = (span/8/(24*time.Hour) + 1) * 24 * time.Hour
	}
	start := r.t0.UTC().Truncate(step)
	if start.Before(r.t0) {
		start = start.Add(step)
	}
	layout := "15:04"
	if step < time.Minute {
		layout = "15:04:05"
	}
	multiDay := r.t0.UTC().Format("2006-01-02") != r.t1.UTC().Format("2006-01-02")
	var ticks []xtick
	prevDay := ""
	for t, i := start, 0; !t.After(r.t1) && i < 12; t, i = t.Add(step), i+1 {
		u := t.UTC()
		label := u.Format(layout)
		if day := u.Format("Jan 2"); multiDay && day != prevDay {
			if step >= 24*time.Hour {
				label = day
			} else {
				label = day + " " + label
			}
			prevDay = day
		}
		ticks = append(ticks, xtick{X: r.x(t), Label: label})
	}
	note := "Time (UTC)"
	if !multiDay {
		note = "Time (UTC) · " + r.t0.UTC().Format("2006-01-02")
	}
	return ticks, note
}

// niceStep rounds raw up to 1, 2, 2.5 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if !finite(raw) || raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// yTicks returns 4 steps from 0 to a round maximum above max.
func yTicks(max float64, top, bot float64, label func(float64) string) (float64, []ytick) {
	if !finite(max) || max <= 0 || max > 1e12 {
		max = math.Min(1e12, math.Max(max, 1)) // absurd values: keep the axis finite
		if !finite(max) {
			max = 1e12
		}
	}
	step := niceStep(max / 4)
	n := math.Max(1, math.Ceil(max/step-1e-9))
	hi := step * n
	var ticks []ytick
	for i := 0.0; i <= n; i++ {
		v := step * i
		ticks = append(ticks, ytick{Y: bot - v/hi*(bot-top), Label: label(v)})
	}
	return hi, ticks
}

// axisPct labels a percentage axis without needless decimals.
func axisPct(v float64) string {
	p := v * 100
	if p == math.Trunc(p) {
		return fmt.Sprintf("%.0f%%", p)
	}
	s := strconv.FormatFloat(p, 'f', 3, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}

// axisDur labels a latency axis.
func axisDur(v float64) string {
	if v == 0 {
		return "0"
	}
	if v < 1 {
		ms := v * 1000
		s := strings.TrimRight(strings.TrimRight(strconv.FormatFloat(ms, 'f', 2, 64), "0"), ".")
		return s + " ms"
	}
	s := strings.TrimRight(strings.TrimRight(strconv.FormatFloat(v, 'f', 2, 64), "0"), ".")
	return s + " s"
}

// polyline turns points (NaN = gap) into one path per run of points.
func polyline(xs, ys []float64) (lines []string, dots []point) {
	var b strings.Builder
	n := 0
	flush := func(i int) {
		if n == 1 { // an isolated point has no line: draw it as a dot
			dots = append(dots, point{X: xs[i-1], Y: ys[i-1]})
		} else if n > 1 {
			lines = append(lines, b.String())
		}
		b.Reset()
		n = 0
	}
	for i := range xs {
		if !finite(ys[i]) {
			flush(i)
			continue
		}
		if n == 0 {
			fmt.Fprintf(&b, "M%.1f,%.1f", xs[i], ys[i])
		} else {
			fmt.Fprintf(&b, " L%.1f,%.1f", xs[i], ys[i])
		}
		n++
	}
	flush(len(xs))
	return lines, dots
}

// area closes each line run down to the baseline y.
func area(xs, ys []float64, base float64) []string {
	var out []string
	start := -1
	for i := 0; i <= len(xs); i++ {
		if i < len(xs) && finite(ys[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start > 1 {
			var b strings.Builder
			fmt.Fprintf(&b, "M%.1f,%.1f", xs[start], base)
			for j := start; j < i; j++ {
				fmt.Fprintf(&b, " L%.1f,%.1f", xs[j], ys[j])
			}
			fmt.Fprintf(&b, " L%.1f,%.1f Z", xs[i-1], base)
			out = append(out, b.String())
		}
		start = -1
	}
	return out
}

// buildChart lays out the timeline; ok is false when there is nothing in
// time to draw.
func buildChart(res *triage.Result, changes []signal.Change, blamed string) (*chart, bool) {
	r, ok := domain(res, changes)
	if !ok {
		return nil, false
	}
	c := &chart{
		W: chartW, H: chartH, Left: plotLeft, Right: plotRight,
		ErrTop: errTop, ErrBot: errBot, LatTop: latTop, LatBot: latBot,
		TickY: tickLabelY, LaneTop: laneTop, LaneBot: laneBot,
		LaneMid: (laneTop + laneBot) / 2, LaneLabelY: laneBot + 13,
	}
	c.XTicks, c.AxisNote = timeTicks(r)

	// Windows.
	for _, w := range []struct {
		s     triage.Span
		class string
		label string
	}{{res.Window.Baseline, "win-base", "baseline"}, {res.Window.Incident, "win-inc", "incident"}} {
		if w.s.Start == nil {
			continue
		}
		end := r.t1
		if w.s.End != nil {
			end = *w.s.End
		}
		x0, x1 := r.x(*w.s.Start), r.x(end)
		if x1-x0 < 0.5 {
			continue
		}
		b := band{X: x0, W: x1 - x0, Class: w.class, LabelX: x0 + 6}
		if b.W > 70 {
			b.Label = w.label
		}
		c.Windows = append(c.Windows, b)
	}

	// Error rate.
	pts, merged := displayPoints(res.Series.Points, maxDisplayPoints)
	c.Merged = merged
	half := bucketWidth(res.Series) * time.Duration(max(merged, 1)) / 2
	xs := make([]float64, len(pts))
	rates := make([]float64, len(pts))
	maxRate := 0.0
	for i, p := range pts {
		xs[i] = r.x(p.Time.Add(half))
		rates[i] = math.NaN()
		if p.Requests > 0 && p.Errors >= 0 {
			rates[i] = math.Min(float64(p.Errors)/float64(p.Requests), 1)
			maxRate = math.Max(maxRate, rates[i])
		}
	}
	base := res.Impact.BaselineErrorRate
	if finite(base) && base > 0 && base <= 1 {
		maxRate = math.Max(maxRate, base)
	}
	if maxRate == 0 {
		maxRate = 0.01
	}
	hi, ticks := yTicks(maxRate*1.05, errTop, errBot, axisPct)
	c.ErrTicks = ticks
	ys := make([]float64, len(pts))
	for i, v := range rates {
		ys[i] = math.NaN()
		if finite(v) {
			ys[i] = errBot - v/hi*(errBot-errTop)
		}
	}
	c.ErrLine, c.ErrDots = polyline(xs, ys)
	c.ErrArea = area(xs, ys, errBot)
	if finite(base) && base > 0 && base <= 1 {
		c.Baseline = &hline{Y: errBot - base/hi*(errBot-errTop), Label: "baseline " + pct(base)}
	}

	// Latency.
	p50 := make([]float64, len(pts))
	p99 := make([]float64, len(pts))
	maxLat := 0.0
	for i, p := range pts {
		p50[i], p99[i] = math.NaN(), math.NaN()
		if p.P50 != nil && finite(*p.P50) && *p.P50 >= 0 {
			p50[i] = *p.P50
			maxLat = math.Max(maxLat, p50[i])
		}
		if p.P99 != nil && finite(*p.P99) && *p.P99 >= 0 {
			p99[i] = *p.P99
			maxLat = math.Max(maxLat, p99[i])
		}
	}
	if maxLat > 0 {
		c.HasLatency = true
		lhi, lticks := yTicks(maxLat*1.05, latTop, latBot, axisDur)
		c.LatTicks = lticks
		scale := func(v []float64) []float64 {
			out := make([]float64, len(v))
			for i, x := range v {
				out[i] = math.NaN()
				if finite(x) {
					out[i] = latBot - math.Min(x, lhi)/lhi*(latBot-latTop)
				}
			}
			return out
		}
		var d50, d99 []point
		c.P50, d50 = polyline(xs, scale(p50))
		c.P99, d99 = polyline(xs, scale(p99))
		for _, d := range d50 {
			d.Class = "p50"
			c.LatDots = append(c.LatDots, d)
		}
		for _, d := range d99 {
			d.Class = "p99"
			c.LatDots = append(c.LatDots, d)
		}
	}
	for i := range c.ErrDots {
		c.ErrDots[i].Class = "err"
	}

	// Onset and recovery.
	if on := res.Impact.Onset; on != nil && r.contains(*on) {
		c.Onset = vertical(r.x(*on), "onset "+hms(*on))
	}
	if res.Onset != nil && res.Onset.End != nil && r.contains(*res.Onset.End) {
		c.Recovery = vertical(r.x(*res.Onset.End), "recovery "+hms(*res.Onset.End))
	}

	c.Changes, c.Hidden = changeMarkers(r, changes, blamed)
	return c, true
}

func vertical(x float64, label string) *vline {
	v := &vline{X: x, Label: label, Anchor: "start", LabelX: x + 4, LabelY: errTop - 8}
	if x > plotRight-120 {
		v.Anchor, v.LabelX = "end", x-4
	}
	if x < plotLeft+110 { // the panel title is there: label inside the panel
		v.LabelY = errTop + 26
	}
	return v
}

// changeMarkers places one marker per change in the lane: stacked when
// they crowd one spot, labelled only where a label fits (the blamed change
// always is), and pinned to an edge when outside the time range.
func changeMarkers(r timeRange, changes []signal.Change, blamed string) ([]marker, int) {
	order := make([]int, len(changes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return changes[order[a]].Time.Before(changes[order[b]].Time) })

	lines := len(changes) <= maxChangeLines
	out := make([]marker, 0, len(changes))
	occupied := map[int]int{} // 8-unit bins → markers stacked there
	for _, i := range order {
		ch := changes[i]
		m := marker{
			ID:     ch.ID,
			Class:  kindClass(ch.Kind),
			Kind:   strings.TrimPrefix(kindClass(ch.Kind), "k-"),
			X:      r.x(ch.Time),
			Blamed: blamed != "" && ch.ID == blamed,
		}
		kind := ch.Kind
		if kind == "" {
			kind = "other"
		}
		m.Title = fmt.Sprintf("%s · %s · %s\n%s", ch.ID, kind, clock(ch.Time), ch.Summary)
		if m.Blamed {
			m.Title = "Blamed by the top hypothesis\n" + m.Title
		}
		switch {
		case ch.Time.Before(r.t0):
			m.Outside = true
			m.Title += "\n(before the chart's time range)"
		case ch.Time.After(r.t1):
			m.Outside = true
			m.Title += "\n(after the chart's time range)"
		}
		bin := int(m.X / 8)
		row := occupied[bin] % laneRows
		occupied[bin]++
		m.Y = laneTop + laneRowH*float64(row) + laneRowH/2 + 2
		m.Line = m.Blamed || (lines && !m.Outside)
		m.Shape = diamond(m.X, m.Y, 4.5)
		switch {
		case m.Blamed:
			m.Shape = diamond(m.X, m.Y, 6.5)
		case m.Outside && ch.Time.Before(r.t0):
			m.Shape = fmt.Sprintf("M%.1f,%.1f L%.1f,%.1f L%.1f,%.1f Z", m.X-5, m.Y, m.X+3, m.Y-5, m.X+3, m.Y+5)
		case m.Outside:
			m.Shape = fmt.Sprintf("M%.1f,%.1f L%.1f,%.1f L%.1f,%.1f Z", m.X+5, m.Y, m.X-3, m.Y-5, m.X-3, m.Y+5)
		}
		out = append(out, m)
	}

	// Labels: the blamed change first, then the others left to right where
	// they do not collide with a label already placed.
	var placed []float64
	fits := func(x float64) bool {
		for _, p := range placed {
			if math.Abs(p-x) < labelGap {
				return false
			}
		}
		return true
	}
	label := func(m *marker) {
		m.Label = trunc(m.ID, 12).Short
		m.LabelX, m.Anchor = m.X, "middle"
		if m.X < plotLeft+labelGap/2 {
			m.LabelX, m.Anchor = m.X-4, "start"
		} else if m.X > plotRight-labelGap/2 {
			m.LabelX, m.Anchor = m.X+4, "end"
		}
		placed = append(placed, m.X)
	}
	for i := range out {
		if out[i].Blamed {
			label(&out[i])
		}
	}
	hidden := 0
	for i := range out {
		if out[i].Blamed {
			continue
		}
		if out[i].ID != "" && fits(out[i].X) {
			label(&out[i])
		} else {
			hidden++
		}
	}
	return out, hidden
}

func diamond(x, y, s float64) string {
	return fmt.Sprintf("M%.1f,%.1f L%.1f,%.1f L%.1f,%.1f L%.1f,%.1f Z", x, y-s, x+s, y, x, y+s, x-s, y)
}
