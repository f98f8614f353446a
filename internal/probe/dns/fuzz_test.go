package dnsprobe

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// FuzzParseResponse feeds arbitrary bytes to the response decoder, as a
// hostile or broken server could: it must never panic, and what it accepts
// must be consistent.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		"www.shop.example. 300 IN A 192.0.2.10",
		"www.shop.example. 300 IN CNAME lb.shop.example.\nlb.shop.example. 60 IN A 192.0.2.20",
		"www.shop.example. 300 IN AAAA 2001:db8::1",
	} {
		m := new(dns.Msg)
		m.SetQuestion("www.shop.example.", dns.TypeA)
		m.Response = true
		for _, line := range strings.Split(s, "\n") {
			rr, err := dns.NewRR(line)
			if err != nil {
				f.Fatal(err)
			}
			m.Answer = append(m.Answer, rr)
		}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		qname, qtype := "www.shop.example.", dns.TypeA
		// Ask the question the message says it answers, so that the chain
		// logic runs on fuzzed answers too.
		if m := new(dns.Msg); m.Unpack(raw) == nil && len(m.Question) > 0 {
			qname, qtype = m.Question[0].Name, m.Question[0].Qtype
		}
		r, err := ParseResponse(raw, qname, qtype)
		if err != nil {
			if r != nil {
				t.Fatal("a response and an error")
			}
			return
		}
		if r.Truncated {
			return
		}
		if len(r.Chain) > maxChain {
			t.Fatalf("chain of %d links", len(r.Chain))
		}
		for _, rec := range r.Records {
			if rec.Type != dns.TypeToString[qtype] {
				t.Fatalf("record of type %s for a %s question", rec.Type, dns.TypeToString[qtype])
			}
		}
		_ = r.TTL()
		_ = r.Values()
	})
}

// FuzzParseConfig checks that no config file crashes the loader.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"resolvers:\n  default:\n    - eu=127.0.0.1\n",
		"resolvers:\n  x:\n    - label: a\n      addr: ::1\n",
		"resolvers: {a: [{label: b, addr: \"[::1]:5\"}]}\n",
		"other: 1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data, "fuzz.yaml")
		if err != nil {
			return
		}
		for _, set := range cfg.Order {
			for _, r := range cfg.Resolvers[set] {
				if r.Label == "" || r.Addr == "" {
					t.Fatalf("set %s: empty resolver %+v", set, r)
				}
			}
		}
	})
}

// FuzzParseResolvConf checks that no resolv.conf crashes the reader.
func FuzzParseResolvConf(f *testing.F) {
	f.Add("nameserver 127.0.0.53\noptions edns0\n")
	f.Add("nameserver fe80::1%eth0\nnameserver 10.0.0.1\n")
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseResolvConf(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.Addr == "" || r.Label == "" {
				t.Fatalf("empty resolver %+v", r)
			}
		}
	})
}
