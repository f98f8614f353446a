package dnsprobe

import (
	"context"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/sitrep-dev/sitrep/internal/probe/dns/dnstest"
)

// TestCheckStaleCacheRealServers runs the classic migration against real
// servers on loopback: NSD is authoritative for shop.example., unbound caches
// in front of it. The record is cached with a short TTL, changed at the
// authority, and check must report unbound as stale with the remaining TTL
// until the cache runs out, then clear.
func TestCheckStaleCacheRealServers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real servers and waits for a cache to expire")
	}
	const ttl = 8
	nsd := dnstest.StartNSD(t, "shop.example.", dnstest.Zone("shop.example.", 1,
		"www 8 IN A 192.0.2.10", "api 8 IN CNAME lb", "lb 8 IN A 192.0.2.30"))
	ub := dnstest.StartUnbound(t, nsd.Zone, nsd.Addr)
	ctx := context.Background()
	c := NewClient(Options{Timeout: time.Second})
	opts := CheckOptions{
		Name:      "www.shop.example",
		Resolvers: []Resolver{{Label: "unbound", Addr: ub.Addr}},
		Authority: []string{nsd.Addr},
		Expect:    []string{"192.0.2.20"},
	}

	// Fill the cache.
	cached := time.Now()
	if r := c.Resolve(ctx, ub.Addr, "www.shop.example.", dns.TypeA, true); !r.OK() || r.Values[0] != "192.0.2.10" {
		t.Fatalf("warm the cache: %+v", r)
	}
	// A CNAME chain is followed and reported.
	if r := c.Resolve(ctx, ub.Addr, "api.shop.example.", dns.TypeA, true); !r.OK() || len(r.Chain) != 1 || r.Values[0] != "192.0.2.30" {
		t.Fatalf("CNAME chain: %+v", r)
	}

	nsd.SetZone(dnstest.Zone("shop.example.", 2, "www 8 IN A 192.0.2.20"))

	rep, err := c.Check(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Resolvers[0]
	if r.Status != StatusStale || !rep.Problems() {
		t.Fatalf("unbound should be stale after the change: %+v\nfindings: %v", r, rep.Findings)
	}
	want := ttl - time.Since(cached).Seconds()
	if r.ExpiresIn == nil || float64(*r.ExpiresIn) < want-1.5 || float64(*r.ExpiresIn) > want+1 {
		t.Fatalf("remaining TTL: got %v, want %.1f ± 1 s", r.ExpiresIn, want)
	}
	if len(rep.Authority) != 1 || rep.Authority[0].Values[0] != "192.0.2.20" {
		t.Fatalf("authority answer: %+v", rep.Authority)
	}

	// Without --expect the difference from the authority alone flags it.
	noExpect := opts
	noExpect.Expect = nil
	if rep, _ := c.Check(ctx, noExpect); rep.Resolvers[0].Status != StatusStale {
		t.Fatalf("differs from the authority but not flagged: %+v", rep.Resolvers[0])
	}

	// Poll until the cache runs out; it must not clear before the TTL.
	deadline := cached.Add((ttl + 5) * time.Second)
	for {
		rep, err := c.Check(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Problems() {
			if el := time.Since(cached); el < (ttl-1)*time.Second {
				t.Fatalf("cleared after %v, before the %d s TTL ran out", el, ttl)
			}
			if rep.Resolvers[0].Values[0] != "192.0.2.20" {
				t.Fatalf("fresh answer: %+v", rep.Resolvers[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still stale %v after caching: %v", time.Since(cached), rep.Findings)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestFindAuthorityRealServers walks up from a name through unbound to the
// zone's SOA and NS. The NS address is found on port 53 (where a real zone
// would serve); the test server listens elsewhere, which is why check takes
// --authority.
func TestFindAuthorityRealServers(t *testing.T) {
	nsd := dnstest.StartNSD(t, "shop.example.", dnstest.Zone("shop.example.", 1, "www 60 IN A 192.0.2.10"))
	ub := dnstest.StartUnbound(t, nsd.Zone, nsd.Addr)
	c := NewClient(Options{Timeout: time.Second})
	zone, addrs, err := c.FindAuthority(context.Background(), "deep.www.shop.example.", ub.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if zone != "shop.example." || len(addrs) != 1 || addrs[0] != "127.0.0.1:53" {
		t.Fatalf("got zone %q addrs %v", zone, addrs)
	}
}
