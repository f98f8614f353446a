package guard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	dnsprobe "github.com/sitrep-dev/sitrep/internal/probe/dns"
	"github.com/sitrep-dev/sitrep/internal/probe/dns/dnstest"
)

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

type fakeCounter struct {
	tr  Traffic
	err error
}

func (f fakeCounter) CountSince(context.Context, []string, time.Time) (Traffic, error) {
	return f.tr, f.err
}

func TestGuardLogs(t *testing.T) {
	last := now.Add(-3 * time.Minute)
	tests := []struct {
		name    string
		counter fakeCounter
		refuse  bool
		reason  string
	}{
		{"recent traffic", fakeCounter{tr: Traffic{Requests: 1234, Total: 9000, Last: last}}, true,
			"the old endpoint's access logs show 1234 requests in the last hour (since 2026-11-20T11:00:00Z), the latest at 2026-11-20T11:57:00Z"},
		{"idle", fakeCounter{tr: Traffic{Total: 10, Last: now.Add(-2 * time.Hour)}}, false,
			"no requests in the last hour (last request: 2026-11-20T10:00:00Z)"},
		{"untimed lines", fakeCounter{tr: Traffic{Untimed: 3, Total: 3}}, true, "3 requests in the access logs have no time"},
		{"unreadable", fakeCounter{err: errors.New("open x.log: permission denied")}, true, "could not be read (open x.log: permission denied)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(context.Background(), Options{Old: "203.0.113.10", Logs: []string{"x.log"}, Counter: tt.counter, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			if res.Refuse != tt.refuse || !strings.Contains(strings.Join(res.Reasons, "\n"), tt.reason) {
				t.Fatalf("refuse=%v reasons=%q", res.Refuse, res.Reasons)
			}
		})
	}
}

func TestGuardBadOptions(t *testing.T) {
	for _, o := range []Options{{}, {Old: "x"}, {Old: "x", Logs: []string{"a"}}, {Old: "x", Name: "a.example"}} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("%+v: want an error", o)
		}
	}
}

// TestAccessLogsCount reads a real combined-format log with the access-log
// reader: only requests within the window count.
func TestAccessLogsCount(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i, ago := range []time.Duration{3 * time.Hour, 90 * time.Minute, 50 * time.Minute, 10 * time.Minute, time.Minute} {
		ts := now.Add(-ago).Format("02/Jan/2006:15:04:05 -0700")
		fmt.Fprintf(&b, "192.0.2.%d - - [%s] \"GET /api/%d HTTP/1.1\" 200 512 \"-\" \"curl/8.0\"\n", i+1, ts, i)
	}
	p := filepath.Join(dir, "old-lb.log")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := AccessLogs{}.CountSince(context.Background(), []string{p}, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Requests != 3 || tr.Total != 5 || !tr.Last.Equal(now.Add(-time.Minute)) {
		t.Fatalf("%+v", tr)
	}
}

// TestGuardRealServers: after a switch at the authority (NSD), the caching
// resolver (unbound) still returns the old address; the guard refuses with
// the time until the cache runs out, then allows once it has.
func TestGuardRealServers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real servers and waits for a cache to expire")
	}
	const ttl = 6
	nsd := dnstest.StartNSD(t, "shop.example.", dnstest.Zone("shop.example.", 1, "www 6 IN A 192.0.2.10"))
	ub := dnstest.StartUnbound(t, nsd.Zone, nsd.Addr)
	c := dnsprobe.NewClient(dnsprobe.Options{Timeout: time.Second})
	ctx := context.Background()
	cached := time.Now()
	if r := c.Resolve(ctx, ub.Addr, "www.shop.example.", dns.TypeA, true); !r.OK() {
		t.Fatalf("warm the cache: %+v", r)
	}
	nsd.SetZone(dnstest.Zone("shop.example.", 2, "www 6 IN A 192.0.2.20"))

	idle := fakeCounter{tr: Traffic{Total: 1, Last: time.Now().Add(-2 * time.Hour)}}
	opts := Options{
		Old: "192.0.2.10", Name: "www.shop.example", Type: dns.TypeA, Expect: []string{"192.0.2.20"},
		Resolvers: []dnsprobe.Resolver{{Label: "unbound", Addr: ub.Addr}}, Authority: []string{nsd.Addr},
		Client: c, Logs: []string{"old.log"}, Counter: idle,
	}
	res, err := Run(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Refuse || len(res.Holders) != 1 {
		t.Fatalf("guard should refuse while unbound returns the old address: %+v", res.Reasons)
	}
	want := ttl - time.Since(cached).Seconds()
	if got := float64(res.Holders[0].TTL); got < want-1.5 || got > want+1 {
		t.Fatalf("holder TTL %v, want %.1f ± 1 s", got, want)
	}
	if !strings.Contains(res.Reasons[0], "1 of 1 resolvers still return 192.0.2.10 for www.shop.example. (unbound for ") {
		t.Fatalf("reason: %q", res.Reasons[0])
	}

	deadline := cached.Add((ttl + 5) * time.Second)
	for {
		res, err := Run(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Refuse {
			if el := time.Since(cached); el < (ttl-1)*time.Second {
				t.Fatalf("allowed after %v, before the %d s TTL ran out", el, ttl)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still refusing %v after caching: %v", time.Since(cached), res.Reasons)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
