package labeval

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/investigate"
	"github.com/sitrep-dev/sitrep/internal/lab"
)

// evalSeeds is how many seeds per scenario TestEvalAccuracy runs
// (SITREP_EVAL_SEEDS overrides; CI runs 10).
func evalSeeds() int {
	if n, err := strconv.Atoi(os.Getenv("SITREP_EVAL_SEEDS")); err == nil && n > 0 {
		return n
	}
	return 10
}

// TestEvalAccuracy is the acceptance goal of the triage engine on the lab:
// top-1 cause and blamed change at least 90% overall, no scenario below
// 70%. It generates every scenario for every seed, so it is skipped under
// -short and -race (make test runs it on its own, without -race).
func TestEvalAccuracy(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("long: run by make test without -race (go test -run TestEvalAccuracy ./internal/labeval)")
	}
	rep, err := Run(context.Background(), Options{Seeds: evalSeeds(), Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Cases {
		if c.Error != "" {
			t.Errorf("%s seed %d: %s", c.Scenario, c.Seed, c.Error)
		} else if !c.Top1 || !c.ChangeOK {
			t.Logf("miss: %s seed %d: truth %s/%q, got %v (change %q)", c.Scenario, c.Seed, c.TruthCause, c.TruthChange, c.Causes, c.Change)
		}
	}
	for _, r := range rep.Rows {
		t.Logf("%-20s top1 %.0f%% top3 %.0f%% change %.0f%% onset %.1f min", r.Scenario, r.Top1*100, r.Top3*100, r.Change*100, r.OnsetMedianMinutes)
		if r.Top1 < 0.7 || r.Change < 0.7 {
			t.Errorf("%s: top-1 %.0f%%, change %.0f%%: below the 70%% floor", r.Scenario, r.Top1*100, r.Change*100)
		}
	}
	if rep.Total.Top1 < 0.9 || rep.Total.Change < 0.9 {
		t.Errorf("overall top-1 %.0f%%, change %.0f%%: below the 90%% goal", rep.Total.Top1*100, rep.Total.Change*100)
	}
}

// TestEvalAccuracyQuietLogs: the same goal on quiet logs — lab scale 0.3,
// about 9,000 lines over six hours, a dozen requests per 30-second bucket
// and a few dozen failing requests in the incident — on seeds the other
// test does not run: top-1 cause at least 85% overall.
func TestEvalAccuracyQuietLogs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("long: run by make test without -race (go test -run TestEvalAccuracy ./internal/labeval)")
	}
	rep, err := Run(context.Background(), Options{Seeds: 3, FirstSeed: 101, Scale: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Cases {
		if c.Error != "" {
			t.Errorf("%s seed %d: %s", c.Scenario, c.Seed, c.Error)
		} else if !c.Top1 {
			t.Logf("miss: %s seed %d: truth %s/%q, got %v (change %q)", c.Scenario, c.Seed, c.TruthCause, c.TruthChange, c.Causes, c.Change)
		}
	}
	t.Logf("quiet logs: top-1 %.0f%%, top-3 %.0f%%, change %.0f%% over %d cases", rep.Total.Top1*100, rep.Total.Top3*100, rep.Total.Change*100, len(rep.Cases))
	if rep.Total.Top1 < 0.85 {
		t.Errorf("quiet logs: top-1 %.0f%%, below the 85%% goal", rep.Total.Top1*100)
	}
}

// TestBaselineOnlyIsUnknown: on data from before any incident (the same
// scenarios cut off before their onset) triage must not name a cause with
// confidence above 0.5.
func TestBaselineOnlyIsUnknown(t *testing.T) {
	if testing.Short() {
		t.Skip("generates scenarios")
	}
	for _, c := range []struct {
		name  string
		scale float64
	}{{"dns-ttl-migration", 0.5}, {"db-pool-exhaustion", 0.5}, {"bad-deploy", 0.5}, {"memory-leak", 0.5},
		// quiet logs: the onset test's bar is lower there
		{"bad-pod", 0.2}, {"slow-queries", 0.2}, {"capacity", 0.2}} {
		name := c.name
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			m, err := lab.Generate(context.Background(), name, dir, lab.GenerateOptions{Seed: 3, Scale: c.scale})
			if err != nil {
				t.Fatal(err)
			}
			var logs []string
			for _, l := range m.Logs {
				logs = append(logs, l.Path)
			}
			res, err := investigate.Run(context.Background(), investigate.Options{Logs: logs, ChangeFiles: []string{m.Changes},
				MetricFiles: m.Metrics, Until: m.Truth.Onset.Add(-15 * time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Hypotheses) == 0 {
				t.Fatal("no hypothesis at all: want an explicit unknown")
			}
			top := res.Hypotheses[0]
			if top.Cause != "unknown" && top.Confidence > 0.5 {
				t.Errorf("baseline-only data: top hypothesis %s at %.2f (%s)", top.Cause, top.Confidence, top.Summary)
			}
			for _, h := range res.Hypotheses {
				if h.Cause != "unknown" && h.Confidence > 0.5 {
					t.Errorf("baseline-only data ranks %s at %.2f", h.Cause, h.Confidence)
				}
			}
		})
	}
}

// TestWithout: --without leaves out exactly the evidence it names, and a
// triage without the change log blames no change.
func TestWithout(t *testing.T) {
	dir := t.TempDir()
	m, err := lab.Generate(context.Background(), "cdn-origin", dir, lab.GenerateOptions{Seed: 3, Scale: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, l := range m.Logs {
		kinds[logKind(l.Format)]++
	}
	if kinds["alb"] == 0 || kinds["ingress"] == 0 || kinds["cdn"] == 0 || len(m.Metrics) == 0 {
		t.Fatalf("the scenario should write every kind of evidence: logs %v, %d metric files", kinds, len(m.Metrics))
	}
	all, err := inputs(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Logs) != len(m.Logs) || len(all.MetricFiles) != len(m.Metrics) || len(all.ChangeFiles) != 1 {
		t.Errorf("nothing left out: %d logs, %d metric files, %d change files; want %d, %d, 1", len(all.Logs), len(all.MetricFiles), len(all.ChangeFiles), len(m.Logs), len(m.Metrics))
	}
	o, err := inputs(m, []string{"metrics", "alb", "cdn"})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Logs) != kinds["ingress"] || len(o.MetricFiles) != 0 || len(o.ChangeFiles) != 1 {
		t.Errorf("without metrics, alb, cdn: %v, %d metric files, %d change files; want the %d ingress logs and the change log", o.Logs, len(o.MetricFiles), len(o.ChangeFiles), kinds["ingress"])
	}
	if _, err := inputs(m, []string{"alb", "ingress", "cdn"}); err == nil {
		t.Error("no logs left: want an error")
	}
	if _, err := Run(context.Background(), Options{Seeds: 1, Scenarios: []string{"cdn-origin"}, Without: []string{"logs"}}); err == nil {
		t.Error(`--without logs: want an error naming the kinds of evidence`)
	}

	res, err := analyze(context.Background(), m, []string{"changes"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 0 {
		t.Errorf("without the change log the triage lists %d changes", len(res.Changes))
	}
	for _, h := range res.Hypotheses {
		if h.ChangeID != nil {
			t.Errorf("without the change log %s blames %s", h.Cause, *h.ChangeID)
		}
	}
}
