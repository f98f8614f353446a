package keyindex

import (
	"math/rand/v2"
	"testing"
)

// TestIndex: every stored key comes back with its id across growth,
// absent keys give 0, the index stays at most three quarters full, and
// after Reset nothing is found and keys can be stored again. Random keys,
// and keys made of short values' bytes (small numbers, alike in their low
// bits), which the slot choice must spread as well.
func TestIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for name, key := range map[string]func(i int) uint64{
		"random": func(int) uint64 { return rng.Uint64() },
		"bytes":  func(i int) uint64 { return uint64(i)<<8 | 3<<56 },
	} {
		var x Index
		ks := map[uint64]uint32{}
		for id := uint32(1); id <= 10000; id++ {
			k := key(int(id))
			if _, dup := ks[k]; dup {
				continue
			}
			ks[k] = id
			x.Put(k, id)
		}
		for k, id := range ks {
			if got := x.Get(k); got != id {
				t.Fatalf("%s: Get(%x) = %d, want %d", name, k, got, id)
			}
		}
		for i := 0; i < 1000; i++ {
			k := rng.Uint64()
			if _, ok := ks[k]; !ok && x.Get(k) != 0 {
				t.Fatalf("%s: Get(%x) of an absent key = %d", name, k, x.Get(k))
			}
		}
		if x.Len() != len(ks) || 4*x.n > 3*len(x.slots) {
			t.Errorf("%s: %d slots for %d keys (Len %d): more than three quarters full", name, len(x.slots), len(ks), x.Len())
		}
		x.Reset()
		for k := range ks {
			if x.Get(k) != 0 {
				t.Fatalf("%s: key %x found after Reset", name, k)
			}
		}
		x.Put(42, 7)
		if x.Get(42) != 7 || x.Len() != 1 {
			t.Errorf("%s: after Reset, Put(42, 7) gives Get %d, Len %d", name, x.Get(42), x.Len())
		}
	}
}

// BenchmarkGet: lookups of keys present in an index of 5,000 (a large
// dimension: path, client network).
func BenchmarkGet(b *testing.B) {
	var x Index
	keys := make([]uint64, 5000)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range keys {
		keys[i] = rng.Uint64()
		x.Put(keys[i], uint32(i+1))
	}
	b.ResetTimer()
	var sum uint32
	for i := 0; b.Loop(); i++ {
		sum += x.Get(keys[i%len(keys)])
	}
	if sum == 0 {
		b.Fatal("no key found")
	}
}

// TestOf: values of up to 7 bytes get distinct keys — every value of
// lengths 0–3 over a small alphabet and random values of lengths 4–7, so
// that values differing in one byte or in length only are told apart —
// long values' keys never equal a short value's, and a value's key is the
// same from bytes and from a string, wherever the bytes sit in a buffer.
func TestOf(t *testing.T) {
	seen := map[uint64]string{}
	check := func(v string) {
		t.Helper()
		k := OfString(v)
		if prev, ok := seen[k]; ok && prev != v {
			t.Fatalf("Of(%q) = Of(%q) = %x", v, prev, k)
		}
		seen[k] = v
		buf := []byte("xx" + v + "yyyyyyyy") // bytes after the value, within its capacity
		if got := Of(buf[2 : 2+len(v)]); got != k {
			t.Fatalf("Of of %q in a buffer = %x, of the string %x", v, got, k)
		}
		if long := len(v) >= 8; long != (k>>63 == 1) {
			t.Fatalf("Of(%q) = %x: the top bit must say whether the value is longer than 7 bytes", v, k)
		}
	}
	alphabet := []byte{0, 'a', 'b', '.', 0xff}
	var gen func(prefix []byte, n int)
	gen = func(prefix []byte, n int) {
		check(string(prefix))
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(append(prefix, c), n-1)
		}
	}
	gen(nil, 3)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20000; i++ {
		b := make([]byte, 4+rng.IntN(4))
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		check(string(b))
		check(string(b[:len(b)-1])) // the same bytes, one shorter
	}
	for _, v := range []string{"HTTP/1.1", "HTTP/1.0", "Mozilla/5.0 (X11)", "10.0.0.1:8080", "10.0.0.2:8080"} {
		check(v)
	}
}
