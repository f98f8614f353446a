package accesslog

import (
	"strconv"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/keyindex"
)

// TestMemo: every key put comes back with its own value across the
// memo's growth; an absent key is not found; past cacheMax keys the memo
// is cleared and starts again, so its size stays bounded and what it
// returns stays right.
func TestMemo(t *testing.T) {
	var m memo[string]
	key := func(i int) []byte { return []byte("Mozilla/5.0 (agent " + strconv.Itoa(i) + ")") }
	n := cacheMax + cacheMax/2
	for i := 0; i < n; i++ {
		if _, h, ok := m.get(key(i)); ok {
			t.Fatalf("key %d found before it was put", i)
		} else {
			m.put(h, strconv.Itoa(i))
		}
		if len(m.vals) > cacheMax {
			t.Fatalf("%d values held, more than cacheMax (%d)", len(m.vals), cacheMax)
		}
		if m.idx.Len() != len(m.vals) {
			t.Fatalf("%d keys indexed for %d values", m.idx.Len(), len(m.vals))
		}
	}
	// The keys put since the last clearing are all there, with their values.
	found := 0
	for i := 0; i < n; i++ {
		v, _, ok := m.get(key(i))
		if !ok {
			continue
		}
		found++
		if v != strconv.Itoa(i) {
			t.Fatalf("key %d gives value %q", i, v)
		}
	}
	if found != len(m.vals) || found != n-cacheMax {
		t.Errorf("%d keys found, %d values held; want the %d put after the memo was cleared", found, len(m.vals), n-cacheMax)
	}
}

// TestMemoDerived: the deriver's memos give the same answers as the
// functions they cache, on a first and a second sight of each value.
func TestMemoDerived(t *testing.T) {
	var d deriver
	d.init()
	uas := []string{"curl/8.5.0", "Googlebot/2.1 (+http://www.google.com/bot.html)", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148", "-", ""}
	for round := 0; round < 2; round++ {
		for _, ua := range uas {
			got := d.ua([]byte(ua))
			if fam, prod := UAFamily(ua), UAProduct(ua); string(got.family) != string(fam) || string(got.product) != prod {
				t.Errorf("round %d: ua(%q) = %q %q, want %q %q", round, ua, got.family, got.product, fam, prod)
			}
			if got.familyKey != keyindex.Of(got.family) || got.productKey != keyindex.Of(got.product) || got.h != keyindex.Of([]byte(ua)) {
				t.Errorf("round %d: ua(%q) keys %x %x %x are not their values' keyindex.Of", round, ua, got.familyKey, got.productKey, got.h)
			}
		}
		for _, c := range []struct{ addr, n48, n32 string }{
			{"2001:db8:1234:5678::1", "2001:db8:1234::/48", "2001:db8::/32"},
			{"[2001:db8:abcd::9]", "2001:db8:abcd::/48", "2001:db8::/32"},
		} {
			a, b := d.clientNets([]byte(c.addr))
			if string(a) != c.n48 || string(b) != c.n32 {
				t.Errorf("round %d: clientNets(%q) = %q, %q; want %q, %q", round, c.addr, a, b, c.n48, c.n32)
			}
		}
		if got := string(d.named([]byte("10.0.0.7:8080"), []byte("shop-cart-80"))); got != "10.0.0.7:8080 (shop-cart-80)" {
			t.Errorf("round %d: named = %q", round, got)
		}
	}
}
