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

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"unsafe"
)

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

// seed seeds the hash of long values; one per process, so that every
// index of a run keys a value alike (the reader and the aggregator share
// keys, and aggregators merge by key).
var seed = maphash.MakeSeed()

// Of identifies a value by 64 bits. A value of up to 7 bytes is its bytes
// and its length, exactly (top bit clear); a longer one is a 63-bit seeded
// hash (top bit set). Two distinct long values share a key with
// probability about n²/2⁶⁴ — 1.4·10⁻¹² for 5,000 values — so an index
// keyed by Of need not compare the bytes again.
func Of(v []byte) uint64 {
	n := len(v)
	switch {
	case n >= 8:
		return maphash.Bytes(seed, v) | 1<<63
	case n >= 4:
		// Two overlapping loads: the bytes in order, whatever n.
		lo := uint64(binary.LittleEndian.Uint32(v))
		hi := uint64(binary.LittleEndian.Uint32(v[n-4:]))
		return lo | hi<<(8*(n-4)) | uint64(n)<<56
	case n > 0:
		return uint64(v[0]) | uint64(v[n/2])<<8 | uint64(v[n-1])<<16 | uint64(n)<<56
	}
	return 0
}

// OfString is Of of a string.
func OfString(s string) uint64 {
	return Of(unsafe.Slice(unsafe.StringData(s), len(s)))
}
