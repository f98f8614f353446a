package main

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/source/accesslog"
)

// extended is the nginx log_format the combined file is written in.
const extended = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_addr $upstream_status "$http_x_region"`

type regionSink struct {
	mu      *sync.Mutex
	regions map[string]int
	noUp    map[string]int
	minT    *int64
}

func (s regionSink) Add(r *signal.Request) {
	reg, _ := r.Lookup("region")
	nu, _ := r.Lookup("no_upstream")
	s.mu.Lock()
	s.regions[string(reg)]++
	s.noUp[string(nu)]++
	if *s.minT == 0 || r.Time < *s.minT {
		*s.minT = r.Time
	}
	s.mu.Unlock()
}

// The benchmark is only meaningful if sitrep's reader parses every line of
// both files, with the dimensions the incident is about.
func TestFilesParseWithSitrepReader(t *testing.T) {
	const n = 3000
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)
	if err := newGen(1, t0, 2000, 0.7, n).run(dir, true, true); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, format string }{
		{"access.log", extended},
		{"access.jsonl", "json"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var mu sync.Mutex
			var minT int64
			sink := regionSink{&mu, map[string]int{}, map[string]int{}, &minT}
			st, err := accesslog.Scan(context.Background(), accesslog.Options{
				Paths:  []string{filepath.Join(dir, tc.file)},
				Format: tc.format,
			}, func() signal.RequestSink { return sink })
			if err != nil {
				t.Fatal(err)
			}
			if st.Lines != n || st.Malformed != 0 {
				t.Fatalf("lines=%d malformed=%d (samples %+v), want %d and 0", st.Lines, st.Malformed, st.Samples, n)
			}
			if sink.regions["eu"] == 0 || sink.regions["us"] == 0 || sink.regions["ap"] == 0 {
				t.Errorf("region values = %v, want eu, us and ap", sink.regions)
			}
			if sink.noUp["true"] == 0 || sink.noUp["false"] == 0 {
				t.Errorf("no_upstream values = %v, want both true and false", sink.noUp)
			}
			if minT < t0.UnixNano() || minT > t0.Add(time.Second).UnixNano() {
				t.Errorf("first request time = %v, want %v", time.Unix(0, minT).UTC(), t0)
			}
		})
	}
}
