package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func generate(t *testing.T, n int64, seed uint64) (combined, jsonl []byte) {
	t.Helper()
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)
	if err := newGen(seed, t0, 2000, 0.7, n).run(dir, true, true); err != nil {
		t.Fatal(err)
	}
	c, err := os.ReadFile(filepath.Join(dir, "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := os.ReadFile(filepath.Join(dir, "access.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return c, j
}

// The benchmark compares runs across machines and commits: the same seed
// must write the same bytes.
func TestDeterministic(t *testing.T) {
	c1, j1 := generate(t, 2000, 7)
	c2, j2 := generate(t, 2000, 7)
	if !bytes.Equal(c1, c2) || !bytes.Equal(j1, j2) {
		t.Fatal("same seed wrote different files")
	}
	c3, _ := generate(t, 2000, 8)
	if bytes.Equal(c1, c3) {
		t.Fatal("different seeds wrote the same file")
	}
}

// Both files carry the same requests, and the incident is where -onset puts
// it: after 70% of the run, eu requests fail without an upstream.
func TestSameRequestsAndIncident(t *testing.T) {
	const n = 5000
	c, j := generate(t, n, 1)
	cl := strings.Split(strings.TrimSuffix(string(c), "\n"), "\n")
	jl := strings.Split(strings.TrimSuffix(string(j), "\n"), "\n")
	if len(cl) != n || len(jl) != n {
		t.Fatalf("lines: combined %d, json %d, want %d", len(cl), len(jl), n)
	}
	var euFailBefore, euFailAfter, euAfter int
	for i := range jl {
		var r struct {
			RemoteAddr   string `json:"remote_addr"`
			Status       int    `json:"status"`
			UpstreamAddr string `json:"upstream_addr"`
			Region       string `json:"region"`
		}
		if err := json.Unmarshal([]byte(jl[i]), &r); err != nil {
			t.Fatalf("json line %d: %v", i+1, err)
		}
		if !strings.HasPrefix(cl[i], r.RemoteAddr+" - - [") || !strings.HasSuffix(cl[i], ` "`+r.Region+`"`) {
			t.Fatalf("line %d differs between files:\n%s\n%s", i+1, cl[i], jl[i])
		}
		if r.Region != "eu" {
			continue
		}
		fail := r.Status >= 500 && r.UpstreamAddr == "-"
		if i < n*7/10 {
			if fail {
				euFailBefore++
			}
		} else {
			euAfter++
			if fail {
				euFailAfter++
			}
		}
	}
	if euFailBefore != 0 {
		t.Errorf("%d eu requests failed without an upstream before the onset", euFailBefore)
	}
	if share := float64(euFailAfter) / float64(euAfter); share < 0.8 {
		t.Errorf("after the onset %.0f%% of eu requests fail without an upstream, want most", share*100)
	}
}

// -incident slow-pod: from the onset one pod answers in 2–3 s; no request
// fails without an upstream, and no other pod is slow.
func TestSlowPodIncident(t *testing.T) {
	const n = 6000
	dir := t.TempDir()
	g := newGen(1, time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC), 2000, 0.5, n)
	g.slowPod = true
	if err := g.run(dir, false, true); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "access.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	slowPod := g.upstreams["us"][0]
	var slowAfter, podAfter, slowElse int
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var r struct {
			RequestTime  float64 `json:"request_time"`
			UpstreamAddr string  `json:"upstream_addr"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if r.UpstreamAddr == "-" {
			t.Fatalf("line %d never reached an upstream: %s", i+1, line)
		}
		switch {
		case r.UpstreamAddr == slowPod && i >= n/2:
			podAfter++
			if r.RequestTime >= 2 {
				slowAfter++
			}
		case r.RequestTime >= 2:
			slowElse++
		}
	}
	if podAfter == 0 || slowAfter != podAfter {
		t.Errorf("%d of %d requests to %s after the onset took ≥ 2 s, want all", slowAfter, podAfter, slowPod)
	}
	if slowElse > n/1000 {
		t.Errorf("%d other requests took ≥ 2 s", slowElse)
	}
}
