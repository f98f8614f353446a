package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/lab"
	"github.com/sitrep-dev/sitrep/internal/source/prom"
	"github.com/sitrep-dev/sitrep/internal/testsrv/promtest"
)

// TestTriagePrometheusLive backfills a generated db-pool-exhaustion
// scenario's metrics into a real Prometheus, and runs sitrep triage with
// --prometheus instead of the metric files: the connection exhaustion and
// the leaking deploy must be found from the live server.
func TestTriagePrometheusLive(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus")
	}
	dir := filepath.Join(t.TempDir(), "lab")
	m, err := lab.Generate(context.Background(), "db-pool-exhaustion", dir, lab.GenerateOptions{Seed: 2, Scale: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	series, err := prom.ReadFiles(m.Metrics)
	if err != nil {
		t.Fatal(err)
	}
	url := promtest.Start(t, promtest.OpenMetrics(series))

	out := must(t, filepath.Join(t.TempDir(), "s.db"), "triage", "--log", filepath.Join(dir, "logs", "*"),
		"--changes", m.Changes, "--prometheus", url, "--no-store",
		"--since", m.Start.Format(time.RFC3339), "--until", m.End.Format(time.RFC3339), "-o", "json")
	var res struct {
		Hypotheses []struct {
			Cause    string   `json:"cause"`
			ChangeID *string  `json:"change_id"`
			Evidence []string `json:"evidence"`
		} `json:"hypotheses"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Hypotheses) == 0 || res.Hypotheses[0].Cause != "db-pool-exhaustion" {
		t.Fatalf("hypotheses from live Prometheus = %+v", res.Hypotheses)
	}
	if id := res.Hypotheses[0].ChangeID; id == nil || *id != m.Truth.ChangeID {
		t.Errorf("blamed change %v, want %s", id, m.Truth.ChangeID)
	}
}
