package lab

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestDevGenerate writes a scenario for a person to look at:
// LAB_SCENARIO=bad-pod LAB_OUT=/tmp/x LAB_SEED=3 go test -run TestDevGenerate ./internal/lab
func TestDevGenerate(t *testing.T) {
	out := os.Getenv("LAB_OUT")
	if out == "" {
		t.Skip("set LAB_OUT (and LAB_SCENARIO, LAB_SEED, LAB_SCALE) to generate a sample")
	}
	seed, _ := strconv.ParseInt(os.Getenv("LAB_SEED"), 10, 64)
	scale, _ := strconv.ParseFloat(os.Getenv("LAB_SCALE"), 64)
	began := time.Now()
	m, err := Generate(context.Background(), os.Getenv("LAB_SCENARIO"), out, GenerateOptions{Seed: seed, Scale: scale})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range m.Logs {
		t.Logf("%s %s %d lines %d bytes", l.Path, l.Format, l.Lines, l.Bytes)
	}
	t.Logf("changes %d, metrics files %d series %d, took %s", m.ChangeCount, len(m.Metrics), m.MetricSeries, time.Since(began))
}
