package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The bar waits a second, then shows the share, bytes, rate and ETA; a
// second pass over the logs (its count starts again) is labelled and timed
// from its own start, so its rate and ETA are not the first pass's.
func TestProgressBarPasses(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	now := t0
	var out bytes.Buffer
	p := &progressBar{w: &out, now: func() time.Time { return now }, start: t0}

	p.update(100<<20, 1000<<20)
	if out.Len() != 0 {
		t.Fatalf("drawn before a second had passed: %q", out.String())
	}
	now = t0.Add(2 * time.Second)
	p.update(400<<20, 1000<<20)
	if got := out.String(); !strings.Contains(got, " 40% ") || !strings.Contains(got, "200.0 MiB/s") || !strings.Contains(got, "eta 3s") || strings.Contains(got, "pass") {
		t.Fatalf("first pass drawn as %q", got)
	}

	// The first pass ends at 5 s; the second starts from zero.
	now = t0.Add(5 * time.Second)
	p.update(1000<<20, 1000<<20)
	p.update(0, 1000<<20)
	out.Reset()
	now = t0.Add(7 * time.Second)
	p.update(500<<20, 1000<<20)
	got := out.String()
	if !strings.Contains(got, "pass 2") || !strings.Contains(got, " 50% ") || !strings.Contains(got, "250.0 MiB/s") || !strings.Contains(got, "eta 2s") {
		t.Fatalf("second pass drawn as %q, want pass 2 at 50%%, 250 MiB/s, eta 2s", got)
	}

	p.clear()
	if !strings.HasSuffix(out.String(), "\r") {
		t.Errorf("clear left %q", out.String())
	}
}

// Every redraw covers the longest line drawn before, and clear blanks it
// all: a shorter line must not leave the tail of a longer one.
func TestProgressBarClearsLongerLines(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	now := t0.Add(2 * time.Second)
	var out bytes.Buffer
	p := &progressBar{w: &out, now: func() time.Time { return now }, start: t0}
	p.update(900<<30, 1000<<30) // a long line: GiB figures, an ETA
	long := len(strings.TrimPrefix(out.String(), "\r"))
	out.Reset()
	now = now.Add(time.Second)
	p.update(950<<30, 0) // a short line: no total, no bar
	if got := len(strings.TrimPrefix(out.String(), "\r")); got < long {
		t.Errorf("redraw is %d columns after a %d-column line: %q", got, long, out.String())
	}
	out.Reset()
	p.clear()
	if got := strings.Count(out.String(), " "); got < long {
		t.Errorf("clear blanks %d columns of %d", got, long)
	}
}
