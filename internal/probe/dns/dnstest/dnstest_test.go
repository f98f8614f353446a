package dnstest

import (
	"testing"

	"github.com/miekg/dns"
)

func TestServersAnswer(t *testing.T) {
	n := StartNSD(t, "shop.example.", Zone("shop.example.", 1, "www 8 IN A 192.0.2.10"))
	u := StartUnbound(t, n.Zone, n.Addr)
	c := new(dns.Client)
	m := new(dns.Msg)
	m.SetQuestion("www.shop.example.", dns.TypeA)
	r, _, err := c.Exchange(m, u.Addr)
	if err != nil || len(r.Answer) != 1 {
		t.Fatalf("unbound: %v %v", r, err)
	}
	n.SetZone(Zone("shop.example.", 2, "www 8 IN A 192.0.2.20"))
	r, _, err = c.Exchange(m, n.Addr)
	if err != nil || r.Answer[0].(*dns.A).A.String() != "192.0.2.20" {
		t.Fatalf("nsd after reload: %v %v", r, err)
	}
	r, _, err = c.Exchange(m, u.Addr)
	if err != nil || r.Answer[0].(*dns.A).A.String() != "192.0.2.10" {
		t.Fatalf("unbound should still serve the cached answer: %v %v", r, err)
	}
}
