// Copyright 2012 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.
//
// Adapted for wanwu from Go's image/jpeg/scan.go: the entropy decoding (sequential,
// progressive spectral selection and successive approximation) is Go's; decoded blocks go to
// a scaled IDCT (streaming) or to a reduced int16 coefficient store (buffered).

package jpegscale

import "fmt"

// coefStore keeps, for every block of one component, the coefficients the chosen IDCT reads.
type coefStore struct {
	slots [64]int8 // natural index -> slot in vals, or -1 if dropped
	k     int      // slots per block
	vals  []int16
	// nz flags the dropped coefficients that are nonzero: successive-approximation
	// refinement reads a correction bit only for nonzero coefficients, so their values may
	// go but their nonzero-ness must stay. Nil unless progressive and k < 64.
	nz []uint64
}

func (s *coefStore) load(i int, b *block) {
	v := s.vals[i*s.k : i*s.k+s.k]
	var nz uint64
	if s.nz != nil {
		nz = s.nz[i]
	}
	for u := range 64 {
		if sl := s.slots[u]; sl >= 0 {
			b[u] = int32(v[sl])
		} else {
			b[u] = int32(nz >> u & 1) // any nonzero stand-in; never reaches the IDCT
		}
	}
}

func (s *coefStore) save(i int, b *block) {
	v := s.vals[i*s.k : i*s.k+s.k]
	var nz uint64
	for u := range 64 {
		if sl := s.slots[u]; sl >= 0 {
			v[sl] = int16(b[u])
		} else if b[u] != 0 {
			nz |= 1 << u
		}
	}
	if s.nz != nil {
		s.nz[i] = nz
	}
}

// setup runs at the first SOS: it fixes the scale, the per-component IDCT sizes and
// upsampling ratios (as libjpeg-turbo's jdmaster.c and jdsample.c choose them), the
// streaming or buffered mode, and allocates the output and working memory.
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
	d.minSS = 8 / d.scale
	d.fancy = d.minSS > 1
	d.hmax, d.vmax = d.comp[0].h, d.comp[0].v
	d.mxx = (d.width + 8*d.hmax - 1) / (8 * d.hmax)
	d.myy = (d.height + 8*d.vmax - 1) / (8 * d.vmax)
	d.buffered = d.progressive || scanComps < d.nComp
	ow, oh := ScaledSize(d.width, d.height, d.scale)
	d.out = &Image{Pix: make([]uint8, ow*oh*3), W: ow, H: oh}
	for i := 0; i < d.nComp; i++ {
		c := &d.comp[i]
		// jdmaster.c: scale chroma up through the IDCT rather than by upsampling, while the
		// IDCT size stays <= 8 and the ratio stays an integer.
		ss := d.minSS
		for ss < 8 && (d.hmax*d.minSS)%(c.h*ss*2) == 0 && (d.vmax*d.minSS)%(c.v*ss*2) == 0 {
			ss *= 2
		}
		c.ss = ss
		if (d.hmax*d.minSS)%(c.h*ss) != 0 || (d.vmax*d.minSS)%(c.v*ss) != 0 {
			return errUnsupportedSubsamplingRatio
		}
		c.hr, c.vr = d.hmax*d.minSS/(c.h*ss), d.vmax*d.minSS/(c.v*ss)
		c.dw = (d.width*c.h*ss + d.hmax*8 - 1) / (d.hmax * 8)
		c.dh = (d.height*c.v*ss + d.vmax*8 - 1) / (d.vmax * 8)
		c.blocksWide, c.blocksHigh = d.mxx*c.h, d.myy*c.v
		c.stride = c.blocksWide * ss
		c.ringRows = 3 * c.v * ss
		c.strip = make([]uint8, c.ringRows*c.stride)
		if c.hr != 1 || c.vr != 1 {
			d.rows[i] = make([]uint8, max(ow, c.dw*c.hr)+8)
		}
		if d.buffered {
			c.coef.slots, c.coef.k = keepSlots(ss)
			n := c.blocksWide * c.blocksHigh
			c.coef.vals = make([]int16, n*c.coef.k)
			if d.progressive && c.coef.k < 64 {
				c.coef.nz = make([]uint64, n)
			}
		}
	}
	d.started = true
	return nil
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
	nComp := int(d.tmp[0])
	if n != 4+2*nComp {
		return FormatError("SOS length inconsistent with number of components")
	}
	var scan [maxComponents]struct {
		compIndex uint8
		td        uint8 // DC table selector.
		ta        uint8 // AC table selector.
	}
	totalHV := 0
	for i := 0; i < nComp; i++ {
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
		scan[i].compIndex = uint8(compIndex)
		for j := 0; j < i; j++ {
			if scan[i].compIndex == scan[j].compIndex {
				return FormatError("repeated component selector")
			}
		}
		totalHV += d.comp[compIndex].h * d.comp[compIndex].v
		scan[i].td = d.tmp[2+2*i] >> 4
		if t := scan[i].td; t > maxTh || (d.baseline && t > 1) {
			return FormatError("bad Td value")
		}
		scan[i].ta = d.tmp[2+2*i] & 0x0f
		if t := scan[i].ta; t > maxTh || (d.baseline && t > 1) {
			return FormatError("bad Ta value")
		}
	}
	if d.nComp > 1 && totalHV > 10 {
		return FormatError("total sampling factors too large")
	}

	// Spectral selection (zigStart..zigEnd) and successive approximation (ah, al); fixed
	// to 0/63/0/0 for sequential JPEGs.
	zigStart, zigEnd, ah, al := int32(0), int32(blockSize-1), uint32(0), uint32(0)
	if d.progressive {
		zigStart = int32(d.tmp[1+2*nComp])
		zigEnd = int32(d.tmp[2+2*nComp])
		ah = uint32(d.tmp[3+2*nComp] >> 4)
		al = uint32(d.tmp[3+2*nComp] & 0x0f)
		if (zigStart == 0 && zigEnd != 0) || zigStart > zigEnd || blockSize <= zigEnd {
			return FormatError("bad spectral selection bounds")
		}
		if zigStart != 0 && nComp != 1 {
			return FormatError("progressive AC coefficients for more than one component")
		}
		if ah != 0 && ah != al+1 {
			return FormatError("bad successive approximation values")
		}
		if al > 13 {
			return FormatError("bad successive approximation values")
		}
	}

	if !d.started {
		if err := d.setup(nComp); err != nil {
			return err
		}
	} else if !d.buffered {
		// A sequential JPEG whose first scan held every component is complete after it.
		return UnsupportedError("extra scan after a complete sequential scan")
	}
	for i := 0; i < nComp; i++ {
		c := &d.comp[scan[i].compIndex]
		if !c.latched {
			// libjpeg latches a component's quantization table at its first scan.
			for zig := range blockSize {
				c.qt[unzig[zig]] = d.quant[c.tq][zig]
			}
			c.latched = true
		}
	}

	// An interleaved scan (nComp > 1) codes MCUs of h*v blocks per component; a
	// non-interleaved one codes the component's blocks in raster order, one block per MCU,
	// covering only the blocks that touch the image (libjpeg's width_in_blocks).
	mcusWide, mcusHigh := d.mxx, d.myy
	if nComp == 1 {
		c := &d.comp[scan[0].compIndex]
		mcusWide = (d.width*c.h + 8*d.hmax - 1) / (8 * d.hmax)
		mcusHigh = (d.height*c.v + 8*d.vmax - 1) / (8 * d.vmax)
	}
	totalMCUs := mcusWide * mcusHigh

	d.bits = bits{}
	d.eobRun = 0
	mcu, expectedRST := 0, uint8(rst0Marker)
	var (
		b  block
		dc [maxComponents]int32
	)
	for my := 0; my < mcusHigh; my++ {
		for mx := 0; mx < mcusWide; mx++ {
			for i := 0; i < nComp; i++ {
				compIndex := scan[i].compIndex
				c := &d.comp[compIndex]
				hi, vi := c.h, c.v
				if nComp == 1 {
					hi, vi = 1, 1
				}
				for j := 0; j < hi*vi; j++ {
					bx, by := hi*mx+j%hi, vi*my+j/hi
					if d.buffered {
						c.coef.load(by*c.blocksWide+bx, &b)
					} else {
						b = block{}
					}
					if ah != 0 {
						if err := d.refine(&b, &d.huff[acTable][scan[i].ta], zigStart, zigEnd, 1<<al); err != nil {
							return err
						}
					} else {
						zig := zigStart
						if zig == 0 {
							zig++
							// Decode the DC coefficient, as specified in section F.2.2.1.
							value, err := d.decodeHuffman(&d.huff[dcTable][scan[i].td])
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
							dc[compIndex] += dcDelta
							b[0] = dc[compIndex] << al
						}
						if zig <= zigEnd && d.eobRun > 0 {
							d.eobRun--
						} else {
							// Decode the AC coefficients, as specified in section F.2.2.2.
							huff := &d.huff[acTable][scan[i].ta]
							for ; zig <= zigEnd; zig++ {
								value, err := d.decodeHuffman(huff)
								if err != nil {
									return err
								}
								val0 := value >> 4
								val1 := value & 0x0f
								if val1 != 0 {
									zig += int32(val0)
									if zig > zigEnd {
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
						}
					}
					if d.buffered {
						c.coef.save(by*c.blocksWide+bx, &b)
					} else {
						d.reconstruct(c, &b, bx, by)
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

// refine decodes a successive approximation refinement block, as specified in
// section G.1.2.
func (d *decoder) refine(b *block, h *huffman, zigStart, zigEnd, delta int32) error {
	if zigStart == 0 {
		if zigEnd != 0 {
			panic("unreachable")
		}
		bit, err := d.decodeBit()
		if err != nil {
			return err
		}
		if bit {
			b[0] |= delta
		}
		return nil
	}
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
