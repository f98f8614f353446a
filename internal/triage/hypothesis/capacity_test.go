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

// TestPoolWordingFollowsTheNumber: the connection pool's summary says
// exhausted only when it was (at 90% of the limit or more).
func TestPoolWordingFollowsTheNumber(t *testing.T) {
	pool := func(inUse float64) []signal.Series {
		use := signal.Series{Name: "go_sql_in_use_connections", Labels: map[string]string{"pod": "api-1", "db_name": "orders"}}
		max := signal.Series{Name: "go_sql_max_open_connections", Labels: map[string]string{"pod": "api-1", "db_name": "orders"}}
		for at := onset.Add(-time.Hour); !at.After(onset.Add(time.Hour)); at = at.Add(time.Minute) {
			v := 5.0
			if !at.Before(onset) {
				v = inUse
			}
			use.Points = append(use.Points, signal.Point{T: at.UnixMilli(), V: v})
			max.Points = append(max.Points, signal.Point{T: at.UnixMilli(), V: 25})
		}
		return []signal.Series{use, max}
	}
	for _, c := range []struct {
		inUse float64
		word  string
	}{{25, "Database connections are exhausted (100% of the maximum)"}, {20, "Database connections ran high (80% of the maximum)"}} {
		r := result(finding("path", "/api/v1/orders", 0.3, 0.2, 0.08))
		Apply(r, Evidence{Metrics: pool(c.inUse)})
		found := false
		for _, h := range r.Hypotheses {
			if h.Cause == "db-pool-exhaustion" {
				found = true
				if !strings.HasPrefix(h.Summary, c.word) {
					t.Errorf("at %.0f of 25: %q, want %q", c.inUse, h.Summary, c.word)
				}
			}
		}
		if !found {
			t.Errorf("at %.0f of 25: no db-pool-exhaustion hypothesis: %+v", c.inUse, r.Hypotheses)
		}
	}
}
