// Copyright 2012 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.
//
// Adapted for wanwu from Go's image/jpeg/scan.go: the entropy decoding (sequential,
// progressive spectral selection and successive approximation) is Go's; decoded blocks go to
// a scaled IDCT (streaming) or to a reduced int16 coefficient store (buffered). Progressive
// scans touch only their band of each block, and a block an end-of-band run skips costs no
// memory traffic, so a scan's cost is its entropy-coded data plus a few nanoseconds a block.

package jpegscale

import "fmt"

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

// setup runs at the first SOS: it fixes the scale, the per-component IDCT sizes and
// upsampling ratios (as libjpeg-turbo's jdmaster.c and jdsample.c choose them), the
// streaming or buffered mode, and allocates the sink and working memory.
func (d *decoder) setup(scanComps int) error {
	maxPix := d.opts.MaxPixels
	if maxPix == 0 {
		maxPix = DefaultMaxPixels
	}
	if maxPix > 0 && int64(d.width)*int64(d.height) > maxPix {
		return fmt.Errorf("%w: %dx%d exceeds %d pixels", ErrTooLarge, d.width, d.height, maxPix)
	}
	switch d.nComp {
	case 3:
		if d.isRGB() {
			d.colorConv = convRGB
		} else {
			d.colorConv = convYCbCr
		}
	case 4:
		if !d.adobeTransformValid {
			return UnsupportedError("unknown color model: 4-component JPEG doesn't have Adobe APP14 metadata")
		}
		if d.adobeTransform == adobeTransformUnknown {
			d.colorConv = convCMYK
		} else {
			d.colorConv = convYCCK
		}
	default:
		d.colorConv = convGray
	}
	d.scale = d.opts.Scale
	if d.scale == 0 {
		d.scale = ChooseScale(d.width, d.height, d.opts.MinWidth, d.opts.MinHeight)
	}
	g, err := newGeometry(d.width, d.height, d.nComp, d.sampling(), d.scale)
	if err != nil {
		return err
	}
	d.minSS = 8 / d.scale
	d.fancy = d.minSS > 1
	d.hmax, d.vmax = d.comp[0].h, d.comp[0].v
	d.mxx, d.myy = g.mxx, g.myy
	d.buffered = d.progressive || scanComps < d.nComp
	d.outW, d.outH = g.outW, g.outH
	for i := 0; i < d.nComp; i++ {
		c := &d.comp[i]
		gc := g.comp[i]
		c.ss, c.hr, c.vr, c.dw, c.dh = gc.ss, gc.hr, gc.vr, gc.dw, gc.dh
		c.blocksWide, c.blocksHigh = gc.blocksWide, gc.blocksHigh
		c.stride = c.blocksWide * c.ss
		c.ringRows = 3 * c.v * c.ss
		c.strip = make([]uint8, c.ringRows*c.stride)
		if c.hr != 1 || c.vr != 1 {
			d.rows[i] = make([]uint8, gc.upRow)
		}
		if d.buffered {
			c.coef = newCoefStore(c.ss, c.blocksWide*c.blocksHigh, d.progressive)
		}
	}
	d.sink = d.newSink(d.outW, d.outH)
	d.sinkLo, d.sinkHi = d.sink.Rows()
	d.started = true
	return nil
}

// sampling is the frame's sampling factors.
func (d *decoder) sampling() [4][2]int {
	var s [4][2]int
	for i := range d.nComp {
		s[i] = [2]int{d.comp[i].h, d.comp[i].v}
	}
	return s
}

// scanParams is one SOS header.
type scanParams struct {
	n    int
	comp [maxComponents]struct {
		compIndex uint8
		td        uint8 // DC table selector.
		ta        uint8 // AC table selector.
	}
	zs, ze int32  // spectral selection, zig-zag indices
	ah, al uint32 // successive approximation
}

// Specified in section B.2.3.
func (d *decoder) processSOS(n int) error {
	if d.nComp == 0 {
		return FormatError("missing SOF marker")
	}
	if n < 6 || 4+2*d.nComp < n || n%2 != 0 {
		return FormatError("SOS has wrong length")
	}
	if err := d.readFull(d.tmp[:n]); err != nil {
		return err
	}
	if d.scans++; d.scans > MaxScans {
		return fmt.Errorf("%w: more than %d scans", ErrTooMuchWork, MaxScans)
	}
	if err := d.ctx.Err(); err != nil {
		return err
	}
	var sp scanParams
	sp.n = int(d.tmp[0])
	if n != 4+2*sp.n {
		return FormatError("SOS length inconsistent with number of components")
	}
	totalHV := 0
	for i := 0; i < sp.n; i++ {
		cs := d.tmp[1+2*i] // Component selector.
		compIndex := -1
		for j, comp := range d.comp[:d.nComp] {
			if cs == comp.c {
				compIndex = j
			}
		}
		if compIndex < 0 {
			return FormatError("unknown component selector")
		}
		sp.comp[i].compIndex = uint8(compIndex)
		for j := 0; j < i; j++ {
			if sp.comp[i].compIndex == sp.comp[j].compIndex {
				return FormatError("repeated component selector")
			}
		}
		totalHV += d.comp[compIndex].h * d.comp[compIndex].v
		sp.comp[i].td = d.tmp[2+2*i] >> 4
		if t := sp.comp[i].td; t > maxTh || (d.baseline && t > 1) {
			return FormatError("bad Td value")
		}
		sp.comp[i].ta = d.tmp[2+2*i] & 0x0f
		if t := sp.comp[i].ta; t > maxTh || (d.baseline && t > 1) {
			return FormatError("bad Ta value")
		}
	}
	if d.nComp > 1 && totalHV > 10 {
		return FormatError("total sampling factors too large")
	}

	// Spectral selection and successive approximation: fixed to 0/63/0/0 for sequential JPEGs
	// (whatever the header says, as Go and libjpeg decode them).
	sp.zs, sp.ze = 0, blockSize-1
	if d.progressive {
		sp.zs = int32(d.tmp[1+2*sp.n])
		sp.ze = int32(d.tmp[2+2*sp.n])
		sp.ah = uint32(d.tmp[3+2*sp.n] >> 4)
		sp.al = uint32(d.tmp[3+2*sp.n] & 0x0f)
		if err := d.checkProgression(&sp); err != nil {
			return err
		}
	}

	if !d.started {
		if err := d.setup(sp.n); err != nil {
			return err
		}
	} else if !d.buffered {
		// A sequential JPEG whose first scan held every component is complete after it.
		return UnsupportedError("extra scan after a complete sequential scan")
	}
	for i := 0; i < sp.n; i++ {
		c := &d.comp[sp.comp[i].compIndex]
		if !c.latched {
			// libjpeg latches a component's quantization table at its first scan.
			for zig := range blockSize {
				c.qt[unzig[zig]] = d.quant[c.tq][zig]
			}
			c.latched = true
		}
	}
	return d.decodeScan(&sp)
}

// checkProgression applies libjpeg's checks of a progressive scan (jdphuff.c
// start_pass_phuff_decoder): the spectral band and successive-approximation bits must be
// consistent (an error in libjpeg too), and every coefficient must be coded in order: first
// with Ah = 0, then refined one bit at a time (Ah = the previous Al), AC only after DC.
// libjpeg only warns about an out-of-order ("bogus") progression and decodes on; we refuse it,
// as TurboJPEG does with TJPARAM_STOPONWARNING, and we also refuse a coefficient's first pass
// coming twice (libjpeg accepts a repeat when the earlier pass had Al = 0): no encoder writes
// either, and both let a small file repeat scans over a large frame.
func (d *decoder) checkProgression(sp *scanParams) error {
	if (sp.zs == 0 && sp.ze != 0) || sp.zs > sp.ze || blockSize <= sp.ze {
		return FormatError("bad spectral selection bounds")
	}
	if sp.zs != 0 && sp.n != 1 {
		return FormatError("progressive AC coefficients for more than one component")
	}
	if sp.ah != 0 && sp.ah != sp.al+1 {
		return FormatError("bad successive approximation values")
	}
	if sp.al > 13 {
		return FormatError("bad successive approximation values")
	}
	for i := 0; i < sp.n; i++ {
		ci := sp.comp[i].compIndex
		cb := &d.coefBits[ci]
		if sp.zs != 0 && cb[0] < 0 {
			return FormatError(fmt.Sprintf("bogus progression: AC scan of component %d before its DC scan", ci))
		}
		for z := sp.zs; z <= sp.ze; z++ {
			if (sp.ah == 0 && cb[z] >= 0) || (sp.ah != 0 && int32(cb[z]) != int32(sp.ah)) {
				return FormatError(fmt.Sprintf("bogus progression: component %d coefficient %d coded with Ah=%d after Al=%d",
					ci, z, sp.ah, cb[z]))
			}
		}
	}
	for i := 0; i < sp.n; i++ {
		cb := &d.coefBits[sp.comp[i].compIndex]
		for z := sp.zs; z <= sp.ze; z++ {
			cb[z] = int8(sp.al)
		}
	}
	return nil
}

// decodeScan decodes the entropy-coded data of one scan.
func (d *decoder) decodeScan(sp *scanParams) error {
	// An interleaved scan (n > 1) codes MCUs of h*v blocks per component; a
	// non-interleaved one codes the component's blocks in raster order, one block per MCU,
	// covering only the blocks that touch the image (libjpeg's width_in_blocks).
	mcusWide, mcusHigh := d.mxx, d.myy
	if sp.n == 1 {
		c := &d.comp[sp.comp[0].compIndex]
		mcusWide = (d.width*c.h + 8*d.hmax - 1) / (8 * d.hmax)
		mcusHigh = (d.height*c.v + 8*d.vmax - 1) / (8 * d.vmax)
	}
	totalMCUs := mcusWide * mcusHigh
	blocksPerMCU := 0
	for i := 0; i < sp.n; i++ {
		c := &d.comp[sp.comp[i].compIndex]
		if sp.n == 1 {
			blocksPerMCU++
		} else {
			blocksPerMCU += c.h * c.v
		}
	}
	if d.visits += int64(totalMCUs) * int64(blocksPerMCU); d.visits > MaxBlockVisits {
		return fmt.Errorf("%w: the scans visit more than %d blocks", ErrTooMuchWork, MaxBlockVisits)
	}

	d.bits = bits{}
	d.eobRun = 0
	mcu, expectedRST := 0, uint8(rst0Marker)
	var (
		b  block
		dc [maxComponents]int32
	)
	refineDC := d.progressive && sp.ah != 0 && sp.zs == 0
	for my := 0; my < mcusHigh; my++ {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		idct := !d.buffered && d.mcuRowNeeded(my)
		for mx := 0; mx < mcusWide; mx++ {
			for i := 0; i < sp.n; i++ {
				compIndex := sp.comp[i].compIndex
				c := &d.comp[compIndex]
				hi, vi := c.h, c.v
				if sp.n == 1 {
					hi, vi = 1, 1
				}
				for j := 0; j < hi*vi; j++ {
					bx, by := hi*mx+j%hi, vi*my+j/hi
					idx := by*c.blocksWide + bx
					switch {
					case !d.progressive:
						b = block{}
						if err := d.decodeBlock(&b, sp, i, &dc[compIndex]); err != nil {
							return err
						}
						if d.buffered {
							c.coef.saveAll(idx, &b)
						} else if idct {
							d.reconstruct(c, &b, bx, by)
						}
					case refineDC:
						bit, err := d.decodeBit()
						if err != nil {
							return err
						}
						if bit {
							sl := c.coef.zslots[0] // DC is always kept
							v := &c.coef.vals[idx*c.coef.k+int(sl)]
							*v |= int16(1) << sp.al
							c.coef.nz[idx] |= 1
						}
					case sp.ah == 0:
						// A first pass: the band is still zero (checkProgression), so a block in
						// an end-of-band run is left as it is.
						if sp.zs > 0 && d.eobRun > 0 {
							d.eobRun--
							continue
						}
						b = block{}
						if err := d.decodeBlock(&b, sp, i, &dc[compIndex]); err != nil {
							return err
						}
						c.coef.saveBand(idx, &b, sp.zs, sp.ze)
					default: // AC refinement
						if d.eobRun > 0 && c.coef.nz[idx]&bandMask(sp.zs, sp.ze) == 0 {
							d.eobRun-- // nothing nonzero to correct
							continue
						}
						c.coef.loadBand(idx, &b, sp.zs, sp.ze)
						if err := d.refine(&b, &d.huff[acTable][sp.comp[i].ta], sp.zs, sp.ze, 1<<sp.al); err != nil {
							return err
						}
						c.coef.saveBand(idx, &b, sp.zs, sp.ze)
					}
				}
			}
			mcu++
			if d.ri > 0 && mcu%d.ri == 0 && mcu < totalMCUs {
				// The RST[0-7] marker should follow; findRST resynchronizes on corrupt input.
				if err := d.readFull(d.tmp[:2]); err != nil {
					return err
				} else if d.tmp[0] != 0xff || d.tmp[1] != expectedRST {
					if err := d.findRST(expectedRST); err != nil {
						return err
					}
				}
				expectedRST++
				if expectedRST == rst7Marker+1 {
					expectedRST = rst0Marker
				}
				d.bits = bits{}
				dc = [maxComponents]int32{}
				d.eobRun = 0
			}
		}
		if !d.buffered {
			// For a streaming scan every MCU row is a strip of the output (a one-component
			// image's MCU is one block, so its block rows are MCU rows too).
			d.stripDone(my)
		}
	}
	if !d.buffered {
		d.done = true
	}
	return nil
}

// decodeBlock decodes the DC (when the band starts at 0) and AC coefficients [zs, ze] of one
// block of scan component i into b (zero on entry), as specified in sections F.2.2 and G.1.2.1.
func (d *decoder) decodeBlock(b *block, sp *scanParams, i int, dc *int32) error {
	zig := sp.zs
	al := sp.al
	if zig == 0 {
		zig++
		// Decode the DC coefficient, as specified in section F.2.2.1.
		value, err := d.decodeHuffman(&d.huff[dcTable][sp.comp[i].td])
		if err != nil {
			return err
		}
		if value > 16 {
			return UnsupportedError("excessive DC component")
		}
		dcDelta, err := d.receiveExtend(value)
		if err != nil {
			return err
		}
		*dc += dcDelta
		b[0] = *dc << al
	}
	if zig > sp.ze {
		return nil
	}
	if d.eobRun > 0 {
		d.eobRun--
		return nil
	}
	// Decode the AC coefficients, as specified in section F.2.2.2.
	huff := &d.huff[acTable][sp.comp[i].ta]
	for ; zig <= sp.ze; zig++ {
		value, err := d.decodeHuffman(huff)
		if err != nil {
			return err
		}
		val0 := value >> 4
		val1 := value & 0x0f
		if val1 != 0 {
			zig += int32(val0)
			if zig > sp.ze {
				break
			}
			ac, err := d.receiveExtend(val1)
			if err != nil {
				return err
			}
			b[unzig[zig]] = ac << al
		} else {
			if val0 != 0x0f {
				d.eobRun = uint16(1 << val0)
				if val0 != 0 {
					bits, err := d.decodeBits(int32(val0))
					if err != nil {
						return err
					}
					d.eobRun |= uint16(bits)
				}
				d.eobRun--
				break
			}
			zig += 0x0f
		}
	}
	return nil
}

// mcuRowNeeded reports whether output rows of MCU row m, or of the rows next to it that
// upsampling reads as context, are in the sink's range.
func (d *decoder) mcuRowNeeded(m int) bool {
	rowsPer := d.vmax * d.minSS
	return (m+2)*rowsPer > d.sinkLo && (m-1)*rowsPer < d.sinkHi
}

// refine decodes a successive approximation refinement block, as specified in
// section G.1.2.
func (d *decoder) refine(b *block, h *huffman, zigStart, zigEnd, delta int32) error {
	zig := zigStart
	if d.eobRun == 0 {
	loop:
		for ; zig <= zigEnd; zig++ {
			z := int32(0)
			value, err := d.decodeHuffman(h)
			if err != nil {
				return err
			}
			val0 := value >> 4
			val1 := value & 0x0f
			switch val1 {
			case 0:
				if val0 != 0x0f {
					d.eobRun = uint16(1 << val0)
					if val0 != 0 {
						bits, err := d.decodeBits(int32(val0))
						if err != nil {
							return err
						}
						d.eobRun |= uint16(bits)
					}
					break loop
				}
			case 1:
				z = delta
				bit, err := d.decodeBit()
				if err != nil {
					return err
				}
				if !bit {
					z = -z
				}
			default:
				return FormatError("unexpected Huffman code")
			}
			zig, err = d.refineNonZeroes(b, zig, zigEnd, int32(val0), delta)
			if err != nil {
				return err
			}
			if zig > zigEnd {
				return FormatError("too many coefficients")
			}
			if z != 0 {
				b[unzig[zig]] = z
			}
		}
	}
	if d.eobRun > 0 {
		d.eobRun--
		if _, err := d.refineNonZeroes(b, zig, zigEnd, -1, delta); err != nil {
			return err
		}
	}
	return nil
}

// refineNonZeroes refines non-zero entries of b in zig-zag order. If nz >= 0,
// the first nz zero entries are skipped over.
func (d *decoder) refineNonZeroes(b *block, zig, zigEnd, nz, delta int32) (int32, error) {
	for ; zig <= zigEnd; zig++ {
		u := unzig[zig]
		if b[u] == 0 {
			if nz == 0 {
				break
			}
			nz--
			continue
		}
		bit, err := d.decodeBit()
		if err != nil {
			return 0, err
		}
		if !bit {
			continue
		}
		if b[u] >= 0 {
			b[u] += delta
		} else {
			b[u] -= delta
		}
	}
	return zig, nil
}

// findRST advances past the next RST restart marker that matches expectedRST; any other
// marker than 0x00, 0xFF or expectedRST is an error (Go's simplification of libjpeg's
// jdmarker.c next_marker).
func (d *decoder) findRST(expectedRST uint8) error {
	for {
		i := 0
		if d.tmp[0] == 0xff {
			if d.tmp[1] == expectedRST {
				return nil
			} else if d.tmp[1] == 0xff {
				i = 1
			} else if d.tmp[1] != 0x00 {
				return FormatError("bad RST marker")
			}
		} else if d.tmp[1] == 0xff {
			d.tmp[0] = 0xff
			i = 1
		}
		if err := d.readFull(d.tmp[i:2]); err != nil {
			return err
		}
	}
}
