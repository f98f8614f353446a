// Package keyindex maps 64-bit keys to small non-zero ids: the index the
// triage's hot paths look values up in, by a key (a value's bytes when
// short, else a seeded hash) rather than by the value's bytes.
//
// It is open addressing with linear probing, at most three quarters full,
// the slot chosen by the key's high bits after a multiplication (Fibonacci
// hashing), so that keys made of a short value's bytes, whose low bits are
// few and alike, spread as well as hashes do. A large index is read at
// random once per request, so its size in the cache counts more than a
// second probe within a cache line: 5,000 keys take 8,192 slots (128 KiB).
package keyindex

import "math/bits"

// Index maps keys to ids. The zero Index is empty and ready to use.
type Index struct {
	slots []slot
	n     int
	shift uint8 // 64 - log2(len(slots))
}

type slot struct {
	key uint64
	id  uint32 // 0: empty
}

// fibMul spreads keys over the slots (2⁶⁴/φ).
const fibMul = 0x9e3779b97f4a7c15

// Get returns the id stored for key k, or 0.
func (x *Index) Get(k uint64) uint32 {
	if len(x.slots) == 0 {
		return 0
	}
	mask := uint64(len(x.slots) - 1)
	for i := (k * fibMul) >> x.shift; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.id == 0 || s.key == k {
			return s.id
		}
	}
}

// Put stores id (not 0) for key k, which must not be present yet.
func (x *Index) Put(k uint64, id uint32) {
	if 4*(x.n+1) > 3*len(x.slots) {
		old := x.slots
		x.slots = make([]slot, max(32, 2*len(old)))
		x.shift = uint8(64 - bits.TrailingZeros(uint(len(x.slots))))
		x.n = 0
		for _, s := range old {
			if s.id != 0 {
				x.Put(s.key, s.id)
			}
		}
	}
	mask := uint64(len(x.slots) - 1)
	i := (k * fibMul) >> x.shift
	for x.slots[i].id != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = slot{key: k, id: id}
	x.n++
}

// Len returns the number of keys stored.
func (x *Index) Len() int { return x.n }

// Reset empties the index, keeping its slots for the keys to come.
func (x *Index) Reset() {
	clear(x.slots)
	x.n = 0
}
