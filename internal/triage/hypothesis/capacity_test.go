package hypothesis

import (
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// TestCapacityNeedsTheServiceToWorkHarder: twice the baseline's traffic and
// failures spread out look like load outgrowing capacity — unless the CPU
// metrics say the service did not work any harder.
func TestCapacityNeedsTheServiceToWorkHarder(t *testing.T) {
	cpu := func(after float64) []signal.Series {
		s := signal.Series{Name: "container_cpu_usage_seconds_total", Labels: map[string]string{"pod": "api-1", "container": "api"}}
		v := 0.0
		for at := onset.Add(-time.Hour); !at.After(onset.Add(time.Hour)); at = at.Add(time.Minute) {
			rate := 0.4
			if !at.Before(onset) {
				rate = after
			}
			v += 60 * rate
			s.Points = append(s.Points, signal.Point{T: at.UnixMilli(), V: v})
		}
		return []signal.Series{s}
	}
	for _, c := range []struct {
		name     string
		cpuAfter float64
		doubted  bool
	}{{"CPU up", 0.9, false}, {"CPU flat", 0.41, true}} {
		t.Run(c.name, func(t *testing.T) {
			r := result(finding("path", "/api/v1/search", 0.3, 0.2, 0.08))
			r.Impact.BaselineRequests = 10000 // over two hours: the incident's hour has twice the rate
			Apply(r, Evidence{Metrics: cpu(c.cpuAfter)})
			for _, h := range r.Hypotheses {
				if h.Cause != "capacity" {
					continue
				}
				doubt := strings.Contains(strings.Join(h.Against, "\n"), "CPU did not rise")
				if doubt != c.doubted {
					t.Errorf("capacity against = %q, want the flat CPU held against it: %v", h.Against, c.doubted)
				}
				return
			}
			t.Fatalf("no capacity hypothesis: %+v", r.Hypotheses)
		})
	}
}
