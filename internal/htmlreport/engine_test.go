package htmlreport

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/triage"
)

// TestEngineResults renders the results the triage engine's own golden
// tests produce (real output, not hand-built), checking they are
// well-formed and drawn.
func TestEngineResults(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "triage", "testdata", "*.json"))
	n := 0
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var res triage.Result
		if err := json.Unmarshal(b, &res); err != nil || len(res.Series.Points) == 0 {
			continue // not a result (the schema, fixtures of other shapes)
		}
		n++
		t.Run(filepath.Base(path), func(t *testing.T) {
			page := render(t, &res, nil)
			checkWellFormed(t, page)
			if !bytes.Contains(page, []byte(`class="err-line"`)) {
				t.Error("no error-rate line drawn")
			}
			if res.Impact.Onset != nil && !bytes.Contains(page, []byte(`<g class="onset">`)) {
				t.Error("onset not marked")
			}
			for k, v := range onsetScope(&res) {
				if !bytes.Contains(page, []byte("step of "+k+"="+v)) {
					t.Errorf("the onset was found in %s=%s's requests, and the page does not say so", k, v)
				}
			}
		})
	}
	if n == 0 {
		t.Skip("no triage results in ../triage/testdata")
	}
}

func onsetScope(r *triage.Result) map[string]string {
	if r.Onset == nil {
		return nil
	}
	return r.Onset.Scope
}

// TestRetriesHeadline: failures the proxy hid by retrying are no "Errors
// up": the headline says what they are.
func TestRetriesHeadline(t *testing.T) {
	at := time.Date(2026, 11, 20, 12, 59, 30, 0, time.UTC)
	r := &triage.Result{Impact: triage.Impact{Onset: &at, Significant: true, ErrorRate: 0.0176, BaselineErrorRate: 0.0023},
		Onset: &triage.OnsetEvidence{Method: "retries", Time: at}}
	h, verdict := headline(r)
	if !strings.HasPrefix(h, "Upstream failures hidden by retries since 12:59:30 UTC: 1.76% of requests") || verdict != "incident" {
		t.Errorf("headline %q (%s)", h, verdict)
	}
}
