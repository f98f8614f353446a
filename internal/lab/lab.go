// Package lab simulates a production service and its telemetry and writes
// failure scenarios to disk in the stable lab layout of design.md §4.5:
// access logs in the formats real deployments write (ingress-nginx, AWS ALB,
// CDN JSON lines), a change log with decoy changes, Prometheus query_range
// metric files and truth.json.
//
// Everything is deterministic for a given seed and scale: the same inputs
// give the same bytes. Logs stream to disk; memory stays bounded by the size
// of the simulated world, not by the number of lines.
package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ReferenceTime is the default end of the generated period. A fixed time
// keeps generated data identical from run to run.
var ReferenceTime = time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)

// Scenario describes one failure scenario the lab can generate.
type Scenario struct {
	// Name is the scenario's identifier, as given to Generate.
	Name string `json:"name"`
	// Summary is a one-line description of what goes wrong.
	Summary string `json:"summary"`
	// Cause is the design.md §4.4 cause a correct triage names.
	Cause string `json:"cause"`
	// Symptom is the page an on-call engineer gets, without giving the
	// cause away; drills print it.
	Symptom string `json:"symptom"`
}

// Scenarios returns every scenario, sorted by name.
func Scenarios() []Scenario {
	out := make([]Scenario, 0, len(registry))
	for _, s := range registry {
		out = append(out, s.Scenario)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the scenario called name.
func Lookup(name string) (Scenario, bool) {
	for _, s := range registry {
		if s.Name == name {
			return s.Scenario, true
		}
	}
	return Scenario{}, false
}

// GenerateOptions tunes a generated scenario.
type GenerateOptions struct {
	// Seed picks the scenario's parameters (region, magnitude, timing,
	// decoys) and every random draw. The same seed gives the same bytes.
	Seed int64
	// Scale multiplies the traffic volume: 1 (the default when 0) writes
	// about 20–50k log lines in total, 0.1 a few thousand, 100 millions.
	Scale float64
	// Now is the end of the generated period; zero means ReferenceTime.
	Now time.Time
}

// Truth is what really happened in a generated scenario. Its JSON form is
// truth.json (design.md §4.5, stable): cause, change_id, onset and scope are
// the contract; the other fields help drills and evaluations.
type Truth struct {
	// Cause is one of design.md §4.4's causes.
	Cause string `json:"cause"`
	// ChangeID is the id of the change in changes.jsonl that caused the
	// incident, or "" when no change did (capacity, a failing node…).
	ChangeID string `json:"change_id"`
	// Onset is when users started to fail.
	Onset time.Time `json:"onset"`
	// Scope holds the dimension values the failure is confined to
	// (region, zone, node, pod, version, lb, host, endpoint…).
	Scope map[string]string `json:"scope"`
	// Scenario is the scenario's name.
	Scenario string `json:"scenario"`
	// Seed is the seed it was generated with.
	Seed int64 `json:"seed"`
	// Notes tells what happened, in words, for drills.
	Notes string `json:"notes"`
	// Params holds the seed-randomised parameters of the scenario.
	Params map[string]any `json:"params"`
}

// LogFile is one access log the generator wrote.
type LogFile struct {
	// Path is the file's path.
	Path string `json:"path"`
	// Format is the accesslog preset that parses it: "ingress-nginx",
	// "alb", "json" or "combined".
	Format string `json:"format"`
	// Lines is the number of lines written.
	Lines int64 `json:"lines"`
	// Bytes is the file's size.
	Bytes int64 `json:"bytes"`
}

// Manifest lists what Generate wrote.
type Manifest struct {
	// Dir is the directory written into.
	Dir string `json:"dir"`
	// Logs are the access logs, sorted by path.
	Logs []LogFile `json:"logs"`
	// Changes is the path of changes.jsonl.
	Changes string `json:"changes"`
	// ChangeCount is the number of changes in Changes.
	ChangeCount int `json:"change_count"`
	// Metrics lists the metric files, one query_range body each.
	Metrics []string `json:"metrics"`
	// MetricSeries is the number of series across the metric files.
	MetricSeries int `json:"metric_series"`
	// TruthPath is the path of truth.json, and Truth its content.
	TruthPath string `json:"truth"`
	Truth     Truth  `json:"truth_content"`
	// Start and End bound the generated period.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// ErrUnknownScenario is returned by Generate for a name Scenarios does not
// list.
var ErrUnknownScenario = errors.New("unknown scenario")

// Generate writes scenario name into dir: dir/logs/*, dir/changes.jsonl,
// dir/metrics/*.json and dir/truth.json. dir is created if needed; files of
// an earlier run in it are overwritten.
func Generate(ctx context.Context, name, dir string, opts GenerateOptions) (*Manifest, error) {
	sc, ok := lookupDef(name)
	if !ok {
		return nil, fmt.Errorf("%w %q: want one of %s", ErrUnknownScenario, name, strings.Join(names(), ", "))
	}
	if dir == "" {
		return nil, errors.New("generate: an output directory is required")
	}
	if opts.Scale == 0 {
		opts.Scale = 1
	}
	if opts.Scale < 0 || opts.Scale > 10000 {
		return nil, fmt.Errorf("scale %g: want a number between 0.001 and 10000", opts.Scale)
	}
	if opts.Now.IsZero() {
		opts.Now = ReferenceTime
	}
	opts.Now = opts.Now.UTC().Truncate(time.Minute)
	if err := clearPrevious(dir); err != nil {
		return nil, err
	}
	for _, sub := range []string{"logs", "metrics"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("create output directory: %w", err)
		}
	}
	g := newGen(sc, opts)
	m, err := g.run(ctx, dir)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// clearPrevious removes the files of an earlier lab run in dir, so that a
// glob over dir/logs sees only this run. It refuses to touch a logs or
// metrics directory that is not a lab output (no truth.json beside it).
func clearPrevious(dir string) error {
	_, err := os.Stat(filepath.Join(dir, "truth.json"))
	previous := err == nil
	for _, sub := range []struct{ name, ext string }{{"logs", ".log"}, {"logs", ".jsonl"}, {"metrics", ".json"}} {
		entries, err := os.ReadDir(filepath.Join(dir, sub.name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read output directory: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), sub.ext) {
				continue
			}
			if !previous {
				return fmt.Errorf("%s already holds %s and is not the output of an earlier lab run: choose an empty directory", filepath.Join(dir, sub.name), e.Name())
			}
			if err := os.Remove(filepath.Join(dir, sub.name, e.Name())); err != nil {
				return fmt.Errorf("remove earlier output: %w", err)
			}
		}
	}
	return nil
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	b = append(b, '\n')
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func names() []string {
	var n []string
	for _, s := range Scenarios() {
		n = append(n, s.Name)
	}
	return n
}

func lookupDef(name string) (*scenarioDef, bool) {
	for _, s := range registry {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}

// ReadTruth reads a truth.json written by Generate (the path of the file,
// or of the scenario directory holding it).
func ReadTruth(path string) (*Truth, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "truth.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read truth: %w", err)
	}
	var t Truth
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("read truth %s: %w", path, err)
	}
	if t.Cause == "" || t.Onset.IsZero() {
		return nil, fmt.Errorf("read truth %s: cause and onset are required", path)
	}
	return &t, nil
}
