// Copyright 2012 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.
//
// The buffered decoder's reduced int16 coefficient store, split from scan.go (whose
// header describes the adaptation of Go's image/jpeg/scan.go): only the coefficients the
// chosen IDCT reads are kept, and progressive scans load and save only their band.

package jpegscale

// coefStore keeps, for every block of one component, the coefficients the chosen IDCT reads.
type coefStore struct {
	slots  [64]int8 // natural index -> slot in vals, or -1 if dropped
	zslots [64]int8 // the same by zig-zag index
	k      int      // slots per block
	vals   []int16
	// nz flags, by zig-zag index, the nonzero coefficients of each block (progressive only):
	// successive-approximation refinement reads a correction bit only for nonzero
	// coefficients, so the nonzero-ness of the dropped ones must stay, and a refinement's
	// end-of-band run can skip a block without looking at it when its band is all zero.
	nz []uint64
}

func newCoefStore(ss, blocks int, progressive bool) coefStore {
	var s coefStore
	s.slots, s.k = keepSlots(ss)
	for z := range 64 {
		s.zslots[z] = s.slots[unzig[z]]
	}
	s.vals = make([]int16, blocks*s.k)
	if progressive {
		s.nz = make([]uint64, blocks)
	}
	return s
}

// coefStoreBytes is what newCoefStore allocates.
func coefStoreBytes(ss, blocks int, progressive bool) int64 {
	_, k := keepSlots(ss)
	n := heapBytes(int64(blocks) * int64(k) * 2)
	if progressive {
		n += heapBytes(int64(blocks) * 8)
	}
	return n
}

// load fills b (natural order) with block i's kept coefficients; dropped ones read 0 (the
// reduced IDCTs never read them).
func (s *coefStore) load(i int, b *block) {
	v := s.vals[i*s.k : i*s.k+s.k]
	for u := range 64 {
		if sl := s.slots[u]; sl >= 0 {
			b[u] = int32(v[sl])
		} else {
			b[u] = 0
		}
	}
}

// saveAll stores a whole block (sequential scans).
func (s *coefStore) saveAll(i int, b *block) {
	v := s.vals[i*s.k : i*s.k+s.k]
	for u := range 64 {
		if sl := s.slots[u]; sl >= 0 {
			v[sl] = int16(b[u])
		}
	}
}

// loadBand fills b[unzig[z]] for z in [zs, ze] with block i's coefficients; a dropped nonzero
// coefficient reads 1 (any nonzero stand-in: refinement only asks whether it is zero and adds
// to its magnitude, which is then dropped again).
func (s *coefStore) loadBand(i int, b *block, zs, ze int32) {
	v := s.vals[i*s.k : i*s.k+s.k]
	nz := s.nz[i]
	for z := zs; z <= ze; z++ {
		u := unzig[z]
		if sl := s.zslots[z]; sl >= 0 {
			b[u] = int32(v[sl])
		} else {
			b[u] = int32(nz >> z & 1)
		}
	}
}

// saveBand stores b's band [zs, ze] into block i and updates its nonzero flags.
func (s *coefStore) saveBand(i int, b *block, zs, ze int32) {
	v := s.vals[i*s.k : i*s.k+s.k]
	nz := s.nz[i] &^ bandMask(zs, ze)
	for z := zs; z <= ze; z++ {
		c := b[unzig[z]]
		if sl := s.zslots[z]; sl >= 0 {
			v[sl] = int16(c)
		}
		if c != 0 {
			nz |= 1 << z
		}
	}
	s.nz[i] = nz
}

// bandMask has bits zs..ze set.
func bandMask(zs, ze int32) uint64 {
	return (^uint64(0) >> (63 - ze)) &^ (1<<zs - 1)
}
