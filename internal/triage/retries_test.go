package triage

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/source/accesslog"
)

// writeRetryLog writes an nginx log of 16 pods behind a proxy that retries
// the next pod after a timeout. From failAt (when not zero) pod
// 10.0.0.7:8080 answers 503 to the outright share of its requests (no
// retry: nginx does not retry a 503 by default) and times out on the
// timeouts share of the others; the retry nearly always succeeds, so the
// client gets a 200, five seconds late.
func writeRetryLog(t *testing.T, path string, n int, failAt time.Time, timeouts, outright float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 9))
	start := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	step := 4 * time.Hour / time.Duration(n)
	pod := func() string { return fmt.Sprintf("10.0.%d.%d:8080", rng.IntN(2), 1+rng.IntN(8)) }
	writeLines(t, path, func(w io.Writer) {
		for i := 0; i < n; i++ {
			ts := start.Add(time.Duration(i) * step)
			first := pod()
			addr, ups, status, rt := first, "200", 200, 0.02+rng.Float64()*0.05
			if rng.Float64() < 0.002 {
				status, ups = 503, "503"
			}
			bad := !failAt.IsZero() && !ts.Before(failAt) && first == "10.0.0.7:8080"
			if bad && rng.Float64() < outright {
				status, ups = 503, "503"
			} else if bad && rng.Float64() < timeouts {
				next := pod()
				for next == first {
					next = pod()
				}
				addr, ups, rt = first+", "+next, "504, 200", 5+rt
				if rng.Float64() < 0.03 { // the retry failed too
					status, ups = 502, "504, 502"
				}
			}
			fmt.Fprintf(w, "203.0.%d.%d - - [%s] \"GET /api/items/%d HTTP/1.1\" %d %d \"-\" \"Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0\" %.3f %s %s \"eu\"\n",
				rng.IntN(100), rng.IntN(250), ts.Format("02/Jan/2006:15:04:05 -0700"), rng.IntN(1000), status, 100+rng.IntN(5000), rt, addr, ups)
		}
	})
}

func logScan(path string) ScanFunc { return formatScan(path, extendedCombined) }

// formatScan reads one log through the real reader; format "" detects it.
func formatScan(path, format string) ScanFunc {
	return func(ctx context.Context, newSink func() signal.RequestSink) (Inputs, error) {
		st, err := accesslog.Scan(ctx, accesslog.Options{Paths: []string{path}, Format: format}, newSink)
		return Inputs{Lines: st.Lines, Malformed: st.Malformed, Sources: st.Sources}, err
	}
}

// TestRetriedFailures: a pod whose timeouts the proxy retries leaves the
// error rate flat; triage finds the step in retried requests, counts them
// as failures where they first failed, and names the pod — not the pods
// that answered the retries. Without the pod failing, or with the
// retries steady, there is no incident.
func TestRetriedFailures(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name               string
		timeouts, outright float64 // shares of the bad pod's requests
		n                  int
	}{
		{"busy", 0.5, 0, 40000},
		{"quiet", 0.5, 0, 4000}, // ~40 retried requests in all
		// The error rate steps up too, but more failures were retried
		// than seen: the retries are the incident.
		{"more hidden than seen", 0.5, 0.2, 40000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".log")
			failAt := time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)
			writeRetryLog(t, path, tc.n, failAt, tc.timeouts, tc.outright)
			res, err := Run(context.Background(), Options{Scan: logScan(path), Rescannable: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Inputs.Error != RetryErrorExpr || res.Inputs.Lines != int64(tc.n) {
				t.Errorf("inputs %+v: want the retry expression and every line", res.Inputs)
			}
			if res.Onset == nil || res.Onset.Method != "retries" || res.Impact.Onset == nil {
				t.Fatalf("onset %+v, want the retries' step", res.Onset)
			}
			if d := res.Impact.Onset.Sub(failAt).Abs(); d > 10*time.Minute {
				t.Errorf("onset %v, truth %v", res.Impact.Onset, failAt)
			}
			if len(res.Findings) == 0 || res.Findings[0].Scope["upstream"] != "10.0.0.7:8080" {
				t.Fatalf("findings %+v, want upstream=10.0.0.7:8080 (the pod that failed, not the one that answered)", res.Findings)
			}
			if !strings.Contains(strings.Join(res.Notes, "\n"), "retried a failed upstream attempt") {
				t.Errorf("notes %q do not say why the errors are retries", res.Notes)
			}
			for _, f := range res.Findings {
				if f.Scope["upstream_addr"] != "" {
					t.Errorf("finding on the raw upstream list: %+v", f)
				}
			}
		})
	}
	for _, tc := range []struct {
		name   string
		failAt time.Time
	}{
		{"no failure", time.Time{}},
		// The pod has timed out since before the log starts: no step.
		{"steady retries", time.Date(2026, 11, 20, 7, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "steady.log")
			writeRetryLog(t, path, 40000, tc.failAt, 0.5, 0)
			res, err := Run(context.Background(), Options{Scan: logScan(path), Rescannable: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Onset != nil || res.Inputs.Error != DefaultErrorExpr {
				t.Errorf("onset %+v, error %q: want no incident", res.Onset, res.Inputs.Error)
			}
		})
	}
	t.Run("stdin", func(t *testing.T) {
		// A single pass: say how to count them instead.
		path := filepath.Join(dir, "stdin.log")
		writeRetryLog(t, path, 40000, time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC), 0.5, 0)
		res, err := Run(context.Background(), Options{Scan: logScan(path)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Inputs.Error != DefaultErrorExpr || !strings.Contains(strings.Join(res.Notes, "\n"), "--error '"+RetryErrorExpr+"'") {
			t.Errorf("error %q, notes %q: want the default and a note naming the retry expression", res.Inputs.Error, res.Notes)
		}
	})
	t.Run("mostly seen", func(t *testing.T) {
		// The pod answers 503 to most requests, a few time out: an error
		// incident, named by its errors.
		path := filepath.Join(dir, "seen.log")
		writeRetryLog(t, path, 40000, time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC), 0.05, 0.6)
		res, err := Run(context.Background(), Options{Scan: logScan(path), Rescannable: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Inputs.Error != DefaultErrorExpr || res.Onset == nil || res.Onset.Method != "error-rate" {
			t.Errorf("error %q, onset %+v: want the error rate's incident", res.Inputs.Error, res.Onset)
		}
		if len(res.Findings) == 0 || res.Findings[0].Scope["upstream"] != "10.0.0.7:8080" {
			t.Errorf("findings %+v, want upstream=10.0.0.7:8080", res.Findings)
		}
	})
}
