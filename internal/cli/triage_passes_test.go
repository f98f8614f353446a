package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/lab"
)

// A latency incident read from files gets the slow-request pass;
// --single-pass reads the logs once and says how to ask for it.
func TestTriageSecondPassAndSinglePass(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab")
	m, err := lab.Generate(context.Background(), "slow-queries", dir, lab.GenerateOptions{Seed: 7, Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		OnsetEvidence *struct {
			Method string `json:"method"`
		} `json:"onset_evidence"`
		Slow *struct {
			Expression string `json:"expression"`
			Findings   []struct {
				Scope map[string]string `json:"scope"`
			} `json:"findings"`
		} `json:"slow"`
		Notes  []string `json:"notes"`
		Stages []struct {
			Name string `json:"name"`
		} `json:"stages"`
	}
	run := func(extra ...string) result {
		args := append([]string{"triage", "--log", filepath.Join(dir, "logs", "*"), "--no-store", "-o", "json"}, extra...)
		var r result
		if err := json.Unmarshal([]byte(must(t, filepath.Join(t.TempDir(), "s.db"), args...)), &r); err != nil {
			t.Fatal(err)
		}
		if r.OnsetEvidence == nil || r.OnsetEvidence.Method != "latency" {
			t.Fatalf("onset %+v, want a latency onset", r.OnsetEvidence)
		}
		return r
	}

	two := run()
	if two.Slow == nil || len(two.Slow.Findings) == 0 {
		t.Fatalf("no slow-request findings: %+v", two.Slow)
	}
	if got := two.Slow.Findings[0].Scope["path"]; got != "/api/v1/users/:id/orders" {
		t.Errorf("top slow finding %v, want the orders endpoint (truth: %v)", two.Slow.Findings[0].Scope, m.Truth.Scope)
	}

	one := run("--single-pass")
	if one.Slow != nil {
		t.Errorf("--single-pass still made the slow pass")
	}
	for _, s := range one.Stages {
		if s.Name == "slow" {
			t.Errorf("--single-pass ran stage %q", s.Name)
		}
	}
	if notes := strings.Join(one.Notes, "\n"); !strings.Contains(notes, "run again with --error 'request_time>") {
		t.Errorf("notes do not say how to find what the slow requests share:\n%s", notes)
	}
}
