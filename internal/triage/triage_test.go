package triage

import (
	"context"
	"testing"
	"time"
)

func TestScenarios(t *testing.T) {
	want := map[string]map[string]string{
		"stale-endpoint":    {"region": "eu", "no_upstream": "true"},
		"bad-pod":           {"upstream": "10.0.2.2:8080"},
		"bad-node":          {"node": "node-3"},
		"bad-path":          {"path": "/api/checkout"},
		"p2p-bitrate":       {"p2p": "1", "bitrate": "2000"},
		"region-everywhere": {"region": "eu"},
	}
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			res, err := Run(context.Background(), Options{Scan: sc.scan()})
			if err != nil {
				t.Fatal(err)
			}
			if res.Impact.Onset == nil {
				t.Fatalf("no onset found; series width %vs", res.Series.BucketSeconds)
			}
			truth := sc.start.Add(sc.onset)
			if d := res.Impact.Onset.Sub(truth); d < -2*bucketDur(res) || d > 2*bucketDur(res) {
				t.Errorf("onset %s, truth %s (bucket %vs)", res.Impact.Onset, truth, res.Series.BucketSeconds)
			}
			if len(res.Findings) == 0 {
				t.Fatalf("no findings; impact %+v", res.Impact)
			}
			top := res.Findings[0]
			for _, f := range res.Findings {
				t.Logf("%s=%s share=%.3f rate=%.3f z=%.1f score=%.3f related=%d", f.Dimension, f.Value, f.ErrorShare, f.ErrorRate, f.Significance, f.Score, len(f.Related))
			}
			w := want[sc.name]
			if len(top.Scope) != len(w) {
				t.Fatalf("top finding %v, want scope %v", top.Scope, w)
			}
			for k, v := range w {
				if top.Scope[k] != v {
					t.Fatalf("top finding %v, want scope %v", top.Scope, w)
				}
			}
		})
	}
}

func bucketDur(r *Result) time.Duration {
	return time.Duration(r.Series.BucketSeconds * float64(time.Second))
}

func TestBaselineOnlyHasNoSignificantFinding(t *testing.T) {
	sc := scenarios()[0]
	sc.name, sc.onset, sc.fail, sc.baseErr = "noise", 0, nil, 0.01
	res, err := Run(context.Background(), Options{Scan: sc.scan()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Impact.Onset != nil && res.Impact.Significant {
		t.Errorf("onset %s claimed significant on noise", res.Impact.Onset)
	}
	if len(res.Findings) != 0 {
		t.Errorf("findings on noise: %+v", res.Findings)
	}
}
