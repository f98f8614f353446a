package dnsprobe

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The failure modes below (a server that never answers, SERVFAIL on demand,
// a truncated UDP answer, garbage bytes, an answer to another question) are
// hard or impossible to make a real NSD or unbound produce on cue, so these
// tests use an in-process miekg/dns server (or a raw UDP socket) on loopback.

// fakeServer serves h on a free loopback port over UDP and TCP.
func fakeServer(t *testing.T, udp, tcp dns.HandlerFunc) string {
	t.Helper()
	// The UDP port the kernel picks may be taken for TCP (another test's
	// connection uses it as its ephemeral port): then pick another.
	var (
		pc   net.PacketConn
		l    net.Listener
		addr string
	)
	for attempt := 0; l == nil; attempt++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		addr = pc.LocalAddr().String()
		if l, err = net.Listen("tcp", addr); err != nil {
			pc.Close()
			if attempt == 20 {
				t.Fatalf("no port free for both UDP and TCP: %v", err)
			}
		}
	}
	if tcp == nil {
		tcp = udp
	}
	us := &dns.Server{PacketConn: pc, Handler: udp}
	ts := &dns.Server{Listener: l, Handler: tcp}
	started := make(chan struct{}, 2)
	us.NotifyStartedFunc = func() { started <- struct{}{} }
	ts.NotifyStartedFunc = func() { started <- struct{}{} }
	go us.ActivateAndServe()
	go ts.ActivateAndServe()
	<-started
	<-started
	t.Cleanup(func() { us.Shutdown(); ts.Shutdown() })
	return addr
}

// rawUDP answers every query with reply(query) as raw bytes (nil: no answer).
func rawUDP(t *testing.T, reply func(q []byte) []byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := reply(buf[:n]); out != nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func answerA(ttl uint32, ips ...string) dns.HandlerFunc {
	return func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		for _, ip := range ips {
			rr, _ := dns.NewRR(r.Question[0].Name + " " + itoa(ttl) + " IN A " + ip)
			m.Answer = append(m.Answer, rr)
		}
		w.WriteMsg(m)
	}
}

func itoa(u uint32) string { return strconv.FormatUint(uint64(u), 10) }

func rcode(code int) dns.HandlerFunc {
	return func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(r, code)
		if code == dns.RcodeNameError {
			soa, _ := dns.NewRR("shop.example. 30 IN SOA ns1.shop.example. h.shop.example. 1 2 3 4 60")
			m.Ns = append(m.Ns, soa)
		}
		w.WriteMsg(m)
	}
}

func TestResolveFailureModes(t *testing.T) {
	ctx := context.Background()
	c := NewClient(Options{Timeout: 150 * time.Millisecond, Attempts: 2})

	truncated := func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Truncated = true
		w.WriteMsg(m)
	}
	tests := []struct {
		name     string
		addr     func(t *testing.T) string
		wantKind string
		wantVals []string
		wantTCP  bool
		wantTTL  uint32
	}{
		{"ok", func(t *testing.T) string { return fakeServer(t, answerA(120, "192.0.2.2", "192.0.2.1"), nil) }, "", []string{"192.0.2.1", "192.0.2.2"}, false, 120},
		{"servfail", func(t *testing.T) string { return fakeServer(t, rcode(dns.RcodeServerFailure), nil) }, ErrKindServfail, nil, false, 0},
		{"refused", func(t *testing.T) string { return fakeServer(t, rcode(dns.RcodeRefused), nil) }, ErrKindRefused, nil, false, 0},
		{"nxdomain with negative TTL", func(t *testing.T) string { return fakeServer(t, rcode(dns.RcodeNameError), nil) }, ErrKindNXDomain, nil, false, 30},
		{"nodata", func(t *testing.T) string { return fakeServer(t, answerA(60), nil) }, ErrKindNoData, nil, false, 0},
		{"timeout", func(t *testing.T) string { return rawUDP(t, func([]byte) []byte { return nil }) }, ErrKindTimeout, nil, false, 0},
		{"truncated then TCP", func(t *testing.T) string { return fakeServer(t, truncated, answerA(300, "192.0.2.9")) }, "", []string{"192.0.2.9"}, true, 300},
		{"truncated over TCP too", func(t *testing.T) string { return fakeServer(t, truncated, truncated) }, ErrKindMalformed, nil, true, 0},
		{"garbage", func(t *testing.T) string {
			return rawUDP(t, func(q []byte) []byte { return append([]byte{q[0], q[1], 0x81, 0x80, 0, 1, 0, 1}, "garbage"...) })
		}, ErrKindMalformed, nil, false, 0},
		{"answer to another question", func(t *testing.T) string {
			return rawUDP(t, func(q []byte) []byte {
				m := new(dns.Msg)
				m.Unpack(q)
				m.Response = true
				m.Question[0].Name = "evil.example."
				b, _ := m.Pack()
				return b
			})
		}, ErrKindMalformed, nil, false, 0},
		{"connection refused", func(t *testing.T) string { return closedPort(t) }, "", nil, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := tt.addr(t)
			start := time.Now()
			r := c.Resolve(ctx, addr, "www.shop.example.", dns.TypeA, true)
			if tt.name == "connection refused" {
				// Over UDP a closed port shows as ICMP refused or as a timeout.
				if r.ErrorKind != ErrKindNetwork && r.ErrorKind != ErrKindTimeout {
					t.Fatalf("closed port: %+v", r)
				}
				return
			}
			if r.ErrorKind != tt.wantKind {
				t.Fatalf("error kind: got %q (%s), want %q", r.ErrorKind, r.Error, tt.wantKind)
			}
			if strings.Join(r.Values, ",") != strings.Join(tt.wantVals, ",") {
				t.Fatalf("values: got %v, want %v", r.Values, tt.wantVals)
			}
			if r.OverTCP != tt.wantTCP || r.TTL != tt.wantTTL {
				t.Fatalf("tcp=%v ttl=%d, want tcp=%v ttl=%d", r.OverTCP, r.TTL, tt.wantTCP, tt.wantTTL)
			}
			if tt.wantKind == ErrKindTimeout && time.Since(start) > 2*time.Second {
				t.Fatalf("timeout took %v with a 150 ms timeout and 2 attempts", time.Since(start))
			}
			if r.Error == "" && tt.wantKind != "" {
				t.Fatal("failure without an error text")
			}
		})
	}
}

func closedPort(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// TestResolveFollowsChainAcrossQueries: an authoritative server answers a
// CNAME to an out-of-zone target without the target's records; Resolve asks
// again for the target.
func TestResolveFollowsChainAcrossQueries(t *testing.T) {
	addr := fakeServer(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0].Name
		switch q {
		case "www.shop.example.":
			rr, _ := dns.NewRR("www.shop.example. 300 IN CNAME lb.cdn.example.")
			m.Answer = append(m.Answer, rr)
		case "lb.cdn.example.":
			rr, _ := dns.NewRR("lb.cdn.example. 20 IN A 198.51.100.7")
			m.Answer = append(m.Answer, rr)
		}
		w.WriteMsg(m)
	}, nil)
	c := NewClient(Options{Timeout: time.Second})
	r := c.Resolve(context.Background(), addr, "WWW.shop.example", dns.TypeA, false)
	if !r.OK() || len(r.Chain) != 1 || r.Chain[0].Value != "lb.cdn.example." || r.Values[0] != "198.51.100.7" || r.TTL != 20 {
		t.Fatalf("%+v", r)
	}
}

func TestCheckJudgesResolvers(t *testing.T) {
	oldSrv := fakeServer(t, answerA(3600, "192.0.2.10"), nil)
	newSrv := fakeServer(t, answerA(60, "192.0.2.20"), nil)
	failSrv := fakeServer(t, rcode(dns.RcodeServerFailure), nil)
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	c := NewClient(Options{Timeout: time.Second, Now: func() time.Time { return now }})
	rep, err := c.Check(context.Background(), CheckOptions{
		Name: "www.shop.example",
		Resolvers: []Resolver{
			{Label: "eu", Addr: oldSrv}, {Label: "us", Addr: newSrv}, {Label: "ap", Addr: failSrv},
		},
		Authority: []string{newSrv},
		Expect:    []string{"192.0.2.20"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ResolverResult{}
	for _, r := range rep.Resolvers {
		got[r.Resolver] = r
	}
	if got["eu"].Status != StatusStale || *got["eu"].ExpiresIn != 3600 || !got["eu"].ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Errorf("eu: %+v", got["eu"])
	}
	if got["us"].Status != StatusOK || got["ap"].Status != StatusFailing {
		t.Errorf("us %+v ap %+v", got["us"], got["ap"])
	}
	if !rep.Disagree || rep.Stale != 1 || rep.Failing != 1 || !rep.Problems() {
		t.Errorf("report: %+v", rep)
	}
	text := strings.Join(rep.Findings, "\n")
	for _, want := range []string{"resolver eu is stale: serves 192.0.2.10, not 192.0.2.20, for 1h more", "resolver ap fails: SERVFAIL", "resolvers disagree"} {
		if !strings.Contains(text, want) {
			t.Errorf("findings lack %q:\n%s", want, text)
		}
	}
}

func TestCheckRejectsBadInput(t *testing.T) {
	c := NewClient(Options{})
	if _, err := c.Check(context.Background(), CheckOptions{Name: "x.example"}); err == nil {
		t.Error("no resolvers: want an error")
	}
	if _, err := c.Check(context.Background(), CheckOptions{Resolvers: []Resolver{{Addr: "127.0.0.1:1"}}}); err == nil {
		t.Error("no name: want an error")
	}
}

func TestParseResponseErrors(t *testing.T) {
	if _, err := ParseResponse([]byte{1, 2, 3}, "a.example.", dns.TypeA); !errors.Is(err, ErrMalformed) {
		t.Errorf("short: %v", err)
	}
	q := new(dns.Msg)
	q.SetQuestion("a.example.", dns.TypeA)
	b, _ := q.Pack()
	if _, err := ParseResponse(b, "a.example.", dns.TypeA); !errors.Is(err, ErrMalformed) {
		t.Errorf("a query, not a response: %v", err)
	}
	// A CNAME loop is malformed.
	m := new(dns.Msg)
	m.SetQuestion("a.example.", dns.TypeA)
	m.Response = true
	x, _ := dns.NewRR("a.example. 1 IN CNAME b.example.")
	y, _ := dns.NewRR("b.example. 1 IN CNAME a.example.")
	m.Answer = []dns.RR{x, y}
	b, _ = m.Pack()
	if _, err := ParseResponse(b, "a.example.", dns.TypeA); !errors.Is(err, ErrMalformed) {
		t.Errorf("cname loop: %v", err)
	}
}

func TestFormatTTL(t *testing.T) {
	for s, want := range map[uint32]string{0: "0s", 59: "59s", 300: "5m", 330: "5m30s", 3600: "1h", 5400: "1h30m", 86400: "24h", 172800: "2d", 190800: "2d5h"} {
		if got := FormatTTL(s); got != want {
			t.Errorf("FormatTTL(%d) = %q, want %q", s, got, want)
		}
	}
}

// TestCheckCNAMEChainStale: the record moved by changing a CNAME (the usual
// load-balancer move). The stale element is the CNAME, so the time until
// the cache runs out is the CNAME's remaining TTL, not the A record's.
func TestCheckCNAMEChainStale(t *testing.T) {
	chain := func(lb string, cnameTTL uint32, ip string) dns.HandlerFunc {
		return func(w dns.ResponseWriter, r *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(r)
			c, _ := dns.NewRR("api.shop.example. " + itoa(cnameTTL) + " IN CNAME " + lb)
			a, _ := dns.NewRR(lb + " 20 IN A " + ip)
			m.Answer = []dns.RR{c, a}
			w.WriteMsg(m)
		}
	}
	cache := fakeServer(t, chain("old-lb.shop.example.", 3000, "192.0.2.10"), nil)
	auth := fakeServer(t, chain("new-lb.shop.example.", 3600, "192.0.2.20"), nil)
	c := NewClient(Options{Timeout: time.Second})
	for _, tc := range []struct {
		name string
		opts CheckOptions
	}{
		{"against the authority", CheckOptions{Authority: []string{auth}}},
		{"with --expect only", CheckOptions{NoAuthority: true, Expect: []string{"192.0.2.20"}}},
		{"expecting the new CNAME target", CheckOptions{NoAuthority: true, Expect: []string{"New-LB.shop.example"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.Name, o.Resolvers = "api.shop.example", []Resolver{{"cache", cache}}
			rep, err := c.Check(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			r := rep.Resolvers[0]
			if r.Status != StatusStale || r.ExpiresIn == nil || *r.ExpiresIn != 3000 {
				t.Fatalf("want stale for the CNAME's 3000 s: %+v (findings %v)", r, rep.Findings)
			}
		})
	}
	// Expecting the target the cache already follows is fresh.
	if rep, _ := c.Check(context.Background(), CheckOptions{Name: "api.shop.example", Resolvers: []Resolver{{"cache", cache}}, NoAuthority: true, Expect: []string{"old-lb.shop.example."}}); rep.Resolvers[0].Status != StatusOK {
		t.Fatalf("expected CNAME target present: %+v", rep.Resolvers[0])
	}
	// Same final address through a different chain is still a difference.
	same := fakeServer(t, chain("old-lb.shop.example.", 3000, "192.0.2.20"), nil)
	rep, _ := c.Check(context.Background(), CheckOptions{Name: "api.shop.example", Resolvers: []Resolver{{"cache", same}}, Authority: []string{auth}})
	if rep.Resolvers[0].Status != StatusStale || !strings.Contains(rep.Resolvers[0].Reason, "→ old-lb.shop.example. → 192.0.2.20") {
		t.Fatalf("chain difference not flagged: %+v", rep.Resolvers[0])
	}
}

// TestCheckNegativeCacheStale: a resolver that cached NXDOMAIN before the
// record was created is stale for the negative-caching TTL.
func TestCheckNegativeCacheStale(t *testing.T) {
	nx := fakeServer(t, rcode(dns.RcodeNameError), nil)
	c := NewClient(Options{Timeout: time.Second})
	rep, err := c.Check(context.Background(), CheckOptions{Name: "www.shop.example", Resolvers: []Resolver{{"cache", nx}}, NoAuthority: true, Expect: []string{"192.0.2.20"}})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Resolvers[0]
	if r.Status != StatusStale || *r.ExpiresIn != 30 || !strings.Contains(r.Reason, "NXDOMAIN (cached negative answer)") {
		t.Fatalf("%+v", r)
	}
}

// TestCheckMaxTTL: before a switch, a resolver still holding the record
// with its old, long TTL is not ready.
func TestCheckMaxTTL(t *testing.T) {
	long := fakeServer(t, answerA(3600, "192.0.2.10"), nil)
	short := fakeServer(t, answerA(45, "192.0.2.10"), nil)
	c := NewClient(Options{Timeout: time.Second})
	rep, err := c.Check(context.Background(), CheckOptions{Name: "www.shop.example", NoAuthority: true, MaxTTL: 60,
		Resolvers: []Resolver{{"long", long}, {"short", short}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Resolvers[0]; r.Status != StatusStale || *r.ExpiresIn != 3600 || !strings.Contains(r.Reason, "TTL 1h left, above 1m") {
		t.Errorf("long: %+v", r)
	}
	if r := rep.Resolvers[1]; r.Status != StatusOK {
		t.Errorf("short: %+v", r)
	}
}
