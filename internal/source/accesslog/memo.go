package accesslog

import (
	"hash/maphash"
	"math/bits"
)

// memoSeed seeds the hash of memo keys, once per process.
var memoSeed = maphash.MakeSeed()

// memo caches a value derived from a raw field — a user agent's family, an
// upstream's display name, an IPv6 client's networks — so that the work
// is done once per distinct raw value rather than once per line. Keys are
// known by a seeded 64-bit hash of their bytes alone, as the aggregator
// knows its dimension values: two of at most cacheMax keys share a hash
// with probability about 3·10⁻¹¹, and a lookup neither compares the bytes
// of a stored key nor chases a pointer to them, which a map[string] does
// on every hit (a user agent is 100 bytes or more). A full memo is
// cleared, which keeps memory bounded on high-cardinality inputs.
type memo[V any] struct {
	slots []memoSlot // open addressing, linear probing, at most half full
	shift uint8      // 64 - log2(len(slots))
	vals  []V
}

type memoSlot struct {
	hash uint64
	i    uint32 // index into vals + 1; 0: empty
}

// get returns the value stored for key k, and k's hash for put.
func (m *memo[V]) get(k []byte) (v V, h uint64, ok bool) {
	h = maphash.Bytes(memoSeed, k)
	if len(m.slots) == 0 {
		return v, h, false
	}
	mask := uint64(len(m.slots) - 1)
	for i := (h * fibMul) >> m.shift; ; i = (i + 1) & mask {
		s := &m.slots[i]
		if s.i == 0 {
			return v, h, false
		}
		if s.hash == h {
			return m.vals[s.i-1], h, true
		}
	}
}

// put stores v for the key whose hash get returned (the key not present).
func (m *memo[V]) put(h uint64, v V) {
	if len(m.vals) >= cacheMax {
		clear(m.slots)
		clear(m.vals) // let the values go
		m.vals = m.vals[:0]
	}
	if 2*(len(m.vals)+1) > len(m.slots) {
		old := m.slots
		m.slots = make([]memoSlot, max(64, 2*len(old)))
		m.shift = uint8(64 - bits.TrailingZeros(uint(len(m.slots))))
		for _, s := range old {
			if s.i != 0 {
				m.insert(s)
			}
		}
	}
	m.vals = append(m.vals, v)
	m.insert(memoSlot{hash: h, i: uint32(len(m.vals))})
}

func (m *memo[V]) insert(s memoSlot) {
	mask := uint64(len(m.slots) - 1)
	i := (s.hash * fibMul) >> m.shift
	for m.slots[i].i != 0 {
		i = (i + 1) & mask
	}
	m.slots[i] = s
}

// fibMul spreads hashes over a memo's slots (Fibonacci hashing: 2⁶⁴/φ).
const fibMul = 0x9e3779b97f4a7c15
