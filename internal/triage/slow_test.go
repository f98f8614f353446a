package triage

import (
	"context"
	"strings"
	"testing"
)

// A latency incident gets a second pass that says what the slow requests
// share — when the inputs can be read again and the user did not choose
// the error expression.
func TestSlowPassFindsWhatTheSlowRequestsShare(t *testing.T) {
	sc := scenarioNamed(t, "slow-node")
	scans := 0
	scan := sc.scan()
	counting := func(ctx context.Context, newSink func() signalSink) (Inputs, error) {
		scans++
		return scan(ctx, newSink)
	}
	res, err := Run(context.Background(), Options{Scan: counting, Rescannable: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Onset == nil || res.Onset.Method != "latency" {
		t.Fatalf("onset = %+v, want a latency onset", res.Onset)
	}
	if len(res.Findings) != 0 {
		t.Errorf("error findings on an incident where nothing fails more: %+v", res.Findings[0].Summary)
	}
	s := res.Slow
	if s == nil || scans != 2 {
		t.Fatalf("slow pass = %v after %d scans, want one after 2", s, scans)
	}
	if !strings.HasPrefix(s.Expression, "request_time>") || s.ThresholdSeconds <= 0.1 || s.ThresholdSeconds >= 2 {
		t.Errorf("slow expression %q, threshold %.2f s: want between the ~0.1 s before and the ~2 s after", s.Expression, s.ThresholdSeconds)
	}
	// node-3 holds 3 of the 12 pods: a quarter of the incident is slow.
	if s.SlowRate < 0.2 || s.SlowRate > 0.3 || s.BaselineSlowRate == nil || *s.BaselineSlowRate > 0.01 {
		t.Errorf("slow rate %.3f (baseline %v), want ~0.25 against ~0", s.SlowRate, s.BaselineSlowRate)
	}
	if len(s.Findings) == 0 {
		t.Fatal("no slow finding")
	}
	top := s.Findings[0]
	if top.Scope["node"] != "node-3" || len(top.Scope) != 1 {
		t.Errorf("top slow finding %v, want node=node-3", top.Scope)
	}
	if !strings.Contains(top.Summary, "of the slow requests") || !strings.Contains(top.Summary, "are slow") {
		t.Errorf("summary does not speak of slow requests: %s", top.Summary)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "second pass") {
		t.Errorf("notes do not say a second pass ran: %q", res.Notes)
	}
}

// Standard input cannot be read twice, and a user's --error already says
// what counts: no second pass then; without one, the note says how to ask.
func TestNoSlowPassWithoutRescanOrWithUserError(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rescan     bool
		errExpr    string
		wantNoteRe string
	}{
		{"stdin", false, "", "run again with --error 'request_time>"},
		{"user error", true, "status>=500 || status==429", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := scenarioNamed(t, "slow-node")
			scans := 0
			scan := sc.scan()
			res, err := Run(context.Background(), Options{Error: tc.errExpr, Rescannable: tc.rescan,
				Scan: func(ctx context.Context, newSink func() signalSink) (Inputs, error) {
					scans++
					return scan(ctx, newSink)
				}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Onset == nil || res.Onset.Method != "latency" {
				t.Fatalf("onset = %+v, want a latency onset", res.Onset)
			}
			if res.Slow != nil || scans != 1 {
				t.Errorf("slow pass %v after %d scans, want none after 1", res.Slow, scans)
			}
			notes := strings.Join(res.Notes, "\n")
			if tc.wantNoteRe != "" && !strings.Contains(notes, tc.wantNoteRe) {
				t.Errorf("notes %q lack %q", notes, tc.wantNoteRe)
			}
		})
	}
}

// Which names the client errors for the reports and the summaries.
func TestClientErrorWhich(t *testing.T) {
	for expr, want := range map[string]string{"status==401": "401", "status==429": "429", "status>=400 && status<500": "4xx"} {
		if got := (&ClientErrorAnalysis{Expression: expr}).Which(); got != want {
			t.Errorf("Which(%q) = %q, want %q", expr, got, want)
		}
	}
}
