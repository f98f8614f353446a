package triage

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/source/accesslog"
)

const extendedCombined = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_addr $upstream_status "$http_x_region"`

// TestEndToEndAccessLog runs the real access-log reader into the engine on
// a generated nginx log where one upstream pod starts failing: the top
// finding must name it and the onset must be found.
func TestEndToEndAccessLog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	onset := writeBadPodLog(t, path, 30000)
	res, err := Run(context.Background(), Options{Scan: func(ctx context.Context, newSink func() signal.RequestSink) (Inputs, error) {
		st, err := accesslog.Scan(ctx, accesslog.Options{Paths: []string{path}, Format: extendedCombined}, newSink)
		return Inputs{Lines: st.Lines, Malformed: st.Malformed, Sources: st.Sources}, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Inputs.Lines != 30000 || res.Inputs.Malformed != 0 {
		t.Fatalf("inputs %+v", res.Inputs)
	}
	if res.Impact.Onset == nil || res.Impact.Onset.Sub(onset).Abs() > 2*bucketDur(res) {
		t.Fatalf("onset %v, truth %v", res.Impact.Onset, onset)
	}
	if len(res.Findings) == 0 {
		t.Fatal("no finding")
	}
	if got := res.Findings[0].Scope; got["upstream"] != "10.0.0.7:8080" && got["upstream_addr"] != "10.0.0.7:8080" {
		t.Errorf("top finding %v, want the bad pod 10.0.0.7:8080", got)
	}
	if res.Impact.Latency == nil || res.Impact.ClientsAffected == 0 {
		t.Errorf("impact lacks latency or clients: %+v", res.Impact)
	}
}

// TestProfileLog triages the log named by $TRIAGE_PROFILE_LOG (extended
// combined) so that the whole pipeline can be profiled:
//
//	TRIAGE_PROFILE_LOG=/tmp/access.log go test -run ProfileLog -cpuprofile cpu.out ./internal/triage
func TestProfileLog(t *testing.T) {
	p := os.Getenv("TRIAGE_PROFILE_LOG")
	if p == "" {
		t.Skip("set TRIAGE_PROFILE_LOG to an extended combined log")
	}
	res, err := Run(context.Background(), Options{Scan: func(ctx context.Context, ns func() signal.RequestSink) (Inputs, error) {
		st, err := accesslog.Scan(ctx, accesslog.Options{Paths: []string{p}, Format: extendedCombined}, ns)
		return Inputs{Lines: st.Lines}, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d lines, %d findings, stages %+v", res.Inputs.Lines, len(res.Findings), res.Stages)
}

func writeBadPodLog(t *testing.T, path string, n int) time.Time {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	start := time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)
	step := 30 * time.Minute / time.Duration(n)
	onset := start.Add(20 * time.Minute)
	regions := []string{"us", "us", "eu", "ap"}
	paths := []string{"/api/users/%d", "/api/orders/%d", "/", "/api/search?q=%d"}
	writeLines(t, path, func(w io.Writer) {
		for i := 0; i < n; i++ {
			ts := start.Add(time.Duration(i) * step)
			pod := fmt.Sprintf("10.0.%d.%d:8080", rng.IntN(2), 1+rng.IntN(8))
			status := 200
			if rng.Float64() < 0.003 || (!ts.Before(onset) && pod == "10.0.0.7:8080" && rng.Float64() < 0.9) {
				status = 503
			}
			fmt.Fprintf(w, "203.0.%d.%d - - [%s] \"GET %s HTTP/1.1\" %d %d \"-\" \"Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0\" %.3f %s %d \"%s\"\n",
				rng.IntN(100), rng.IntN(250), ts.Format("02/Jan/2006:15:04:05 -0700"), fmt.Sprintf(paths[rng.IntN(len(paths))], rng.IntN(1000)),
				status, 100+rng.IntN(5000), 0.01+rng.Float64()*0.1, pod, status, regions[rng.IntN(len(regions))])
		}
	})
	return onset
}

// writeLines creates path with what write writes to it.
func writeLines(t *testing.T, path string, write func(w io.Writer)) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	write(w)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSameResultWhateverTheWorkers: the same logs give the same result —
// every figure, every estimate — with one worker or several, as on a
// laptop and a large server. Three inputs, a sample far smaller than
// either class of requests, so the pair estimates are drawn.
func TestSameResultWhateverTheWorkers(t *testing.T) {
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.log")
	writeBadPodLog(t, whole, 40000)
	data, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	// Three inputs cut at arbitrary lines: lb-a, lb-b, lb-c.
	var paths []string
	for i, part := range splitLines(data, 3) {
		p := filepath.Join(dir, fmt.Sprintf("lb-%c.log", 'a'+i))
		if err := os.WriteFile(p, part, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	run := func(workers int) []byte {
		res, err := Run(context.Background(), Options{
			Agg: AggOptions{Samples: 700},
			Scan: func(ctx context.Context, newSink func() signal.RequestSink) (Inputs, error) {
				st, err := accesslog.Scan(ctx, accesslog.Options{Paths: paths, Format: extendedCombined, Workers: workers}, newSink)
				return Inputs{Lines: st.Lines, Malformed: st.Malformed, Sources: st.Sources}, err
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Findings) == 0 {
			t.Fatal("no finding: the comparison would prove little")
		}
		res.Stages = nil // timings
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	want := run(1)
	if !bytes.Contains(want, []byte(`"estimated":true`)) {
		t.Fatal("no estimated figure: the sample is not exercised")
	}
	for _, w := range []int{2, 3, 5} {
		if got := run(w); !bytes.Equal(got, want) {
			t.Errorf("%d workers: the result differs from one worker's\n got %s\nwant %s", w, got, want)
		}
	}
}

// splitLines cuts data into n pieces at line boundaries.
func splitLines(data []byte, n int) [][]byte {
	var out [][]byte
	for i := n; i > 0; i-- {
		cut := len(data) / i
		if j := bytes.IndexByte(data[cut:], '\n'); j >= 0 && i > 1 {
			cut += j + 1
		} else {
			cut = len(data)
		}
		out = append(out, data[:cut])
		data = data[cut:]
	}
	return out
}
