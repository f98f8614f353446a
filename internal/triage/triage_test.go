package triage

import (
	"context"
	"maps"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// TestScenarioFiles runs every testdata/scenarios/*.json and checks what it
// expects: the top finding's scope, whether an onset is found (within two
// buckets of the truth), or that nothing is claimed.
func TestScenarioFiles(t *testing.T) {
	paths, _ := filepath.Glob("testdata/scenarios/*.json")
	sort.Strings(paths)
	if len(paths) == 0 {
		t.Fatal("no scenario files")
	}
	for _, p := range paths {
		sc, f, err := loadScenario(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(sc.name, func(t *testing.T) {
			res, err := Run(context.Background(), Options{Scan: sc.scan(), Rescannable: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, fd := range res.Findings {
				t.Logf("%s=%s share=%.3f rate=%.3f z=%.1f score=%.3f", fd.Dimension, fd.Value, fd.ErrorShare, fd.ErrorRate, fd.Significance, fd.Score)
			}
			wantOnset := sc.onset > 0
			if f.Expect.Onset != nil {
				wantOnset = *f.Expect.Onset
			}
			switch {
			case wantOnset && res.Impact.Onset == nil:
				t.Fatalf("no onset found")
			case wantOnset:
				truth := sc.start.Add(sc.onset)
				tol := 2 * bucketDur(res)
				if o := res.Onset; o != nil && o.Scope != nil {
					tol = 2 * time.Duration(o.BucketSeconds*float64(time.Second)) // a value's time slots
				}
				if d := res.Impact.Onset.Sub(truth); d.Abs() > tol {
					t.Errorf("onset %s, truth %s (tolerance %v)", res.Impact.Onset, truth, tol)
				}
			case res.Impact.Onset != nil && res.Impact.Significant:
				t.Errorf("onset %s claimed significant", res.Impact.Onset)
			}
			if w := f.Expect.OnsetScope; w != nil && (res.Onset == nil || !maps.Equal(res.Onset.Scope, w)) {
				t.Errorf("onset evidence %+v, want the onset found in %v's own requests", res.Onset, w)
			}
			if f.Expect.NoFindings && len(res.Findings) > 0 {
				t.Errorf("%d findings, want none", len(res.Findings))
			}
			for _, w := range f.Expect.Scopes {
				found := false
				for _, fd := range res.Findings {
					ok := len(fd.Scope) == len(w)
					for k, v := range w {
						ok = ok && fd.Scope[k] == v
					}
					found = found || ok
				}
				if !found {
					t.Errorf("no finding with scope %v", w)
				}
			}
			if w := f.Expect.SlowTopScope; len(w) > 0 {
				if res.Slow == nil || len(res.Slow.Findings) == 0 {
					t.Fatalf("no slow finding; slow pass %+v", res.Slow)
				}
				if top := res.Slow.Findings[0].Scope; !sameScope(top, w) {
					t.Errorf("top slow finding %v, want %v", top, w)
				}
			}
			if w := f.Expect.ClientTopScope; len(w) > 0 {
				c := res.ClientErrors
				if c == nil || len(c.Findings) == 0 {
					t.Fatalf("no client-error finding; client errors %+v", c)
				}
				if top := c.Findings[0].Scope; !sameScope(top, w) {
					t.Errorf("top client-error finding %v, want %v", top, w)
				}
				if e := f.Expect.ClientExpression; e != "" && c.Expression != e {
					t.Errorf("client-error expression %q, want %q", c.Expression, e)
				}
			}
			if w := f.Expect.TopScope; len(w) > 0 {
				if len(res.Findings) == 0 {
					t.Fatalf("no findings; impact %+v", res.Impact)
				}
				top := res.Findings[0].Scope
				ok := len(top) == len(w)
				for k, v := range w {
					ok = ok && top[k] == v
				}
				if !ok {
					t.Errorf("top finding %v, want %v", top, w)
				}
			}
		})
	}
}

func sameScope(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func bucketDur(r *Result) time.Duration {
	return time.Duration(r.Series.BucketSeconds * float64(time.Second))
}
