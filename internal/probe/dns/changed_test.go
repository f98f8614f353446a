package dnsprobe

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

func TestCheckChanged(t *testing.T) {
	// Fake resolvers (see client_test.go for why): eu still has the old
	// address cached, us serves the new one; the authority the new one.
	eu := fakeServer(t, answerA(80000, "203.0.113.10"), nil)
	us := fakeServer(t, answerA(300, "198.51.100.20"), nil)
	down := fakeServer(t, rcode(dns.RcodeServerFailure), nil)
	now := time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC)
	c := NewClient(Options{Timeout: time.Second, Now: func() time.Time { return now }})
	changes := []signal.Change{
		{ID: "chg-1", Kind: signal.KindDeploy, Details: map[string]any{"version": "v2"}},
		{ID: "chg-2041", Kind: signal.KindDNS, Details: map[string]any{
			"name": "api.example.com", "type": "A", "old": "203.0.113.10", "new": "198.51.100.20", "ttl": 86400.0, "new_ttl": 300.0}},
		{ID: "chg-3", Kind: signal.KindDNS, Details: map[string]any{"name": "x.example.com", "type": "BOGUS"}},
	}
	evs := c.CheckChanged(context.Background(), ChangedOptions{
		Resolvers: []Resolver{{"eu", eu}, {"us", us}, {"ap", down}},
		Authority: []string{us},
	}, changes)
	if len(evs) != 2 {
		t.Fatalf("want evidence for the two dns changes, got %d", len(evs))
	}
	ev := evs[0]
	if ev.ChangeID != "chg-2041" || ev.StillOld != 1 || ev.Fresh != 1 || ev.LongestRemaining != 80000*time.Second || ev.Report == nil {
		t.Fatalf("%+v", ev)
	}
	text := strings.Join(ev.Lines, "\n")
	for _, want := range []string{
		"dns check api.example.com. A: 1 of 3 resolvers (eu) still serve the old value 203.0.113.10, for up to 22h13m more (until 2026-11-21T11:13:20Z)",
		"dns check api.example.com. A: 1 of 3 resolvers serve the new value 198.51.100.20",
		"resolver ap fails: SERVFAIL",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("evidence lacks %q:\n%s", want, text)
		}
	}
	if evs[1].Error == "" || !strings.Contains(evs[1].Lines[0], "BOGUS") {
		t.Errorf("bad type: %+v", evs[1])
	}
}
