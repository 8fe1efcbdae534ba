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
