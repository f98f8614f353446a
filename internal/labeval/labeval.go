// Package labeval measures how often triage finds the truth: it generates
// every lab scenario for several seeds, runs the full triage (the same
// investigate.Run the CLI uses) on each, and compares the top hypotheses,
// the blamed change and the onset with truth.json.
package labeval

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/investigate"
	"github.com/sitrep-dev/sitrep/internal/lab"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

// Options configures an evaluation.
type Options struct {
	// Seeds is how many seeds per scenario (seeds 1..Seeds).
	Seeds int
	// FirstSeed is the first seed (default 1).
	FirstSeed int64
	// Scenarios to run (default: all).
	Scenarios []string
	// Scale is the lab scale (default 1).
	Scale float64
	// Without names evidence the triage is not given, to measure how it
	// reasons when a team lacks it: "metrics", "changes", or the
	// scenario's logs of one kind ("alb", "ingress", "cdn").
	Without []string
	// Dir is where scenarios are generated (default: a temporary directory,
	// removed afterwards).
	Dir string
	// Progress is called after each case.
	Progress func(done, total int, c Case)
	Logger   *slog.Logger
}

// Case is one scenario and seed.
type Case struct {
	Scenario    string   `json:"scenario"`
	Seed        int64    `json:"seed"`
	TruthCause  string   `json:"truth_cause"`
	TruthChange string   `json:"truth_change"`
	Causes      []string `json:"causes"` // top hypotheses, best first
	Confidence  float64  `json:"confidence"`
	Change      string   `json:"change"` // the top hypothesis' blamed change
	Top1        bool     `json:"top1"`
	Top3        bool     `json:"top3"`
	ChangeOK    bool     `json:"change_ok"`
	// OnsetErrorMinutes is |found onset - true onset| (NaN: no onset found);
	// with only a step in client errors, that step is the onset found.
	OnsetErrorMinutes float64 `json:"onset_error_minutes"`
	Seconds           float64 `json:"seconds"`
	Error             string  `json:"error,omitempty"`
}

// Row summarises one scenario.
type Row struct {
	Scenario string  `json:"scenario"`
	Cases    int     `json:"cases"`
	Top1     float64 `json:"top1"`
	Top3     float64 `json:"top3"`
	Change   float64 `json:"change"`
	// OnsetMedianMinutes is the median onset error; Missed counts cases with
	// no onset.
	OnsetMedianMinutes float64 `json:"onset_median_minutes"`
	OnsetMissed        int     `json:"onset_missed"`
	Seconds            float64 `json:"seconds"`
}

// Report is the whole evaluation.
type Report struct {
	Rows  []Row   `json:"scenarios"`
	Total Row     `json:"total"`
	Cases []Case  `json:"cases"`
	Scale float64 `json:"scale"`
	Seeds int     `json:"seeds"`
	// Without lists the evidence left out (Options.Without).
	Without []string `json:"without,omitempty"`
}

// Run evaluates.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Seeds <= 0 {
		o.Seeds = 3
	}
	if o.FirstSeed == 0 {
		o.FirstSeed = 1
	}
	if o.Scale <= 0 {
		o.Scale = 1
	}
	if len(o.Scenarios) == 0 {
		for _, s := range lab.Scenarios() {
			o.Scenarios = append(o.Scenarios, s.Name)
		}
	}
	for _, n := range o.Scenarios {
		if _, ok := lab.Lookup(n); !ok {
			return nil, fmt.Errorf("unknown scenario %q (see sitrep lab list)", n)
		}
	}
	for _, w := range o.Without {
		if !slices.Contains(Evidence, w) {
			return nil, fmt.Errorf("--without %q: not a kind of evidence; use %s", w, strings.Join(Evidence, ", "))
		}
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "sitrep-eval-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	rep := &Report{Scale: o.Scale, Seeds: o.Seeds, Without: o.Without}
	total := len(o.Scenarios) * o.Seeds
	for _, name := range o.Scenarios {
		for s := int64(0); s < int64(o.Seeds); s++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			c := runCase(ctx, name, o.FirstSeed+s, filepath.Join(dir, fmt.Sprintf("%s-%d", name, o.FirstSeed+s)), o)
			rep.Cases = append(rep.Cases, c)
			if o.Progress != nil {
				o.Progress(len(rep.Cases), total, c)
			}
		}
	}
	rep.summarise(o.Scenarios)
	return rep, nil
}

func runCase(ctx context.Context, name string, seed int64, dir string, o Options) (c Case) {
	c = Case{Scenario: name, Seed: seed, OnsetErrorMinutes: math.NaN()}
	t0 := time.Now()
	defer func() { c.Seconds = time.Since(t0).Seconds() }()
	m, err := lab.Generate(ctx, name, dir, lab.GenerateOptions{Seed: seed, Scale: o.Scale})
	if err != nil {
		c.Error = err.Error()
		return c
	}
	defer os.RemoveAll(dir)
	c.TruthCause, c.TruthChange = m.Truth.Cause, m.Truth.ChangeID
	t0 = time.Now() // time the triage, not the generation
	res, err := analyze(ctx, m, o.Without, o.Logger)
	if err != nil {
		c.Error = err.Error()
		return c
	}
	score(&c, m.Truth, res)
	return c
}

// Evidence lists what Options.Without may leave out.
var Evidence = []string{"metrics", "changes", "alb", "ingress", "cdn"}

// Analyze runs the full triage on a generated scenario's files.
func Analyze(ctx context.Context, m *lab.Manifest, log *slog.Logger) (*triage.Result, error) {
	return analyze(ctx, m, nil, log)
}

// analyze runs the triage on a scenario's files but those of the kinds in
// without.
func analyze(ctx context.Context, m *lab.Manifest, without []string, log *slog.Logger) (*triage.Result, error) {
	o, err := inputs(m, without)
	if err != nil {
		return nil, err
	}
	o.Logger = log
	return investigate.Run(ctx, o)
}

// inputs lists a scenario's files but those of the kinds in without. A
// scenario left with no log is an error: there is nothing to triage.
func inputs(m *lab.Manifest, without []string) (investigate.Options, error) {
	var o investigate.Options
	for _, l := range m.Logs {
		if !slices.Contains(without, logKind(l.Format)) {
			o.Logs = append(o.Logs, l.Path)
		}
	}
	if len(o.Logs) == 0 {
		return o, fmt.Errorf("no logs left without %s", strings.Join(without, ", "))
	}
	if !slices.Contains(without, "changes") {
		o.ChangeFiles = []string{m.Changes}
	}
	if !slices.Contains(without, "metrics") {
		o.MetricFiles = m.Metrics
	}
	return o, nil
}

func score(c *Case, t lab.Truth, res *triage.Result) {
	for i, h := range res.Hypotheses {
		if i < 3 {
			c.Causes = append(c.Causes, h.Cause)
		}
	}
	if len(res.Hypotheses) > 0 {
		top := res.Hypotheses[0]
		c.Confidence = top.Confidence
		if top.ChangeID != nil {
			c.Change = *top.ChangeID
		}
		c.Top1 = top.Cause == t.Cause
	}
	for _, cause := range c.Causes {
		if cause == t.Cause {
			c.Top3 = true
		}
	}
	c.ChangeOK = c.Change == t.ChangeID
	found := res.Impact.Onset
	if found == nil && res.ClientErrors != nil {
		found = &res.ClientErrors.Onset // only the client errors stepped up: theirs is the onset
	}
	if found != nil && !t.Onset.IsZero() {
		c.OnsetErrorMinutes = math.Abs(found.Sub(t.Onset).Minutes())
	}
}

func (r *Report) summarise(order []string) {
	by := map[string][]Case{}
	for _, c := range r.Cases {
		by[c.Scenario] = append(by[c.Scenario], c)
	}
	for _, n := range order {
		r.Rows = append(r.Rows, row(n, by[n]))
	}
	r.Total = row("total", r.Cases)
}

func row(name string, cs []Case) Row {
	rw := Row{Scenario: name, Cases: len(cs)}
	var onsets []float64
	for _, c := range cs {
		rw.Top1 += b(c.Top1)
		rw.Top3 += b(c.Top3)
		rw.Change += b(c.ChangeOK)
		rw.Seconds += c.Seconds
		if math.IsNaN(c.OnsetErrorMinutes) {
			rw.OnsetMissed++
		} else {
			onsets = append(onsets, c.OnsetErrorMinutes)
		}
	}
	if n := float64(len(cs)); n > 0 {
		rw.Top1 /= n
		rw.Top3 /= n
		rw.Change /= n
		rw.Seconds /= n
	}
	sort.Float64s(onsets)
	if len(onsets) > 0 {
		rw.OnsetMedianMinutes = onsets[len(onsets)/2]
	}
	return rw
}

func b(x bool) float64 {
	if x {
		return 1
	}
	return 0
}

// logKind names the lab's logs by what writes them: the ingress
// controllers, the load balancers, the CDN.
func logKind(format string) string {
	switch format {
	case "ingress-nginx":
		return "ingress"
	case "alb":
		return "alb"
	case "json":
		return "cdn"
	}
	return format
}
