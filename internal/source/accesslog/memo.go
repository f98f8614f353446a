package accesslog

import (
	"github.com/sitrep-dev/sitrep/internal/keyindex"
)

// memo caches a value derived from a raw field — a user agent's family, an
// upstream's display name, an IPv6 client's networks — so that the work
// is done once per distinct raw value rather than once per line. Keys are
// known by their keyindex.Of alone (a long key by a seeded 63-bit hash),
// as the aggregator knows its dimension values: two of at most cacheMax
// keys share a hash with probability about 6·10⁻¹¹, and a lookup neither
// compares the bytes of a stored key nor chases a pointer to them, which a
// map[string] does on every hit (a user agent is 100 bytes or more). A
// full memo is cleared, which keeps memory bounded on high-cardinality
// inputs.
type memo[V any] struct {
	idx  keyindex.Index // key → index into vals + 1
	vals []V
}

// get returns the value stored for key k, and k's key (keyindex.Of, which
// the aggregator keys k by too) for put.
func (m *memo[V]) get(k []byte) (v V, h uint64, ok bool) {
	h = keyindex.Of(k)
	if i := m.idx.Get(h); i != 0 {
		return m.vals[i-1], h, true
	}
	return v, h, false
}

// put stores v for the key whose hash get returned (the key not present).
func (m *memo[V]) put(h uint64, v V) {
	if len(m.vals) >= cacheMax {
		m.idx.Reset()
		clear(m.vals) // let the values go
		m.vals = m.vals[:0]
	}
	m.vals = append(m.vals, v)
	m.idx.Put(h, uint32(len(m.vals)))
}
