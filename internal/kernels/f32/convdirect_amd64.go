//go:build amd64 && gc && !purego

package f32

import "unsafe"

type convDirectFunc func(in, w, t *float32, ldIn, plane, cb, kh, ldT int, bias *float32, flags int, lo, hi float32, pf uintptr)

// convDirectShape is the kernel table's index for g, or -1.
func convDirectShape(g *ConvGeom) int {
	if g.KH != g.KW || g.SH != g.SW || g.DH != 1 || g.DW != 1 {
		return -1
	}
	for i, sh := range convDirectShapes {
		if sh[0] == g.KW && sh[1] == g.SW {
			return i
		}
	}
	return -1
}

// ConvDirectSupported reports whether ConvDirect runs geometry g with m output channels here: the
// AVX-512 rung, a generated window and stride, and whole 16-channel blocks.
func ConvDirectSupported(g *ConvGeom, m int) bool {
	return dwPlaneRung() && convDirectShape(g) >= 0 && m%16 == 0 && m > 0 && g.C > 0 && g.OH > 0 && g.OW > 0
}

func convDirectRun(g *ConvGeom, x, wp []float32, wp16 []uint16, y, z, bias []float32, o0, nb, y0, y1 int, clamp bool, lo, hi float32, scratch []float32) {
	si := convDirectShape(g)
	taps := g.KH * g.KW
	K := g.K()
	ohw := g.OH * g.OW
	if si < 0 || nb%16 != 0 || nb < 16 || nb > ConvDirectMaxChannels || o0%ConvDirectBlock != 0 || y0 < 0 || y1 > g.OH || y0 >= y1 {
		panic("f32: ConvDirect arguments out of range")
	}
	npix := (y1 - y0) * g.OW
	tileLen := ConvDirectBlock*npix + convDirectTileSlack
	mode, cstep := convDirectStrip(g, y1-y0), convDirectPassChannels(g)
	// The input rows the band reads (padded coordinates) and the planes the kernels read them from.
	r0, r1 := y0*g.SH, (y1-1)*g.SH+g.KH
	ld, plane := g.W, g.H*g.W
	stripLen := 0
	if mode != stripNone {
		_, ld = ConvDirectPadded(g)
		plane = (r1 - r0) * ld
		stripLen = plane * g.C
		if mode == stripPass {
			stripLen = plane * cstep
		}
	}
	if (wp16 == nil && len(wp) < (o0+nb)*K) || (wp16 != nil && len(wp16) < (o0+nb)*K) ||
		len(x) < g.C*g.H*g.W || len(y) < (o0+nb)*ohw || len(scratch) < tileLen+stripLen ||
		(z != nil && len(z) < (o0+nb)*ohw) ||
		(bias != nil && len(bias) < o0+nb) {
		panic("f32: ConvDirect operand too short")
	}
	t := scratch[:tileLen]
	strip := scratch[tileLen : tileLen+stripLen]
	src, origin := x, 0 // channel c's row r0 at src[origin + c*plane] (the strip's at -r0*ld + ...)
	if mode != stripNone {
		src, origin = strip, -r0*ld
	}
	if mode == stripAll {
		padRows(strip, x, g, 0, g.C, r0, r1)
	}
	flagsLast := 0
	if bias != nil {
		flagsLast |= 2
	}
	if clamp && z == nil {
		flagsLast |= 4 // with a residual, the transposition clamps after adding it
	}
	flagsZ := 0
	if clamp {
		flagsZ = 4
	}
	ldT := 16 * npix
	nchunks, base, extra := convDirectChunks(g.OW, convDirectMaxNP)
	for ob := o0; ob < o0+nb; ob += ConvDirectBlock {
		nbb := min(ConvDirectBlock, o0+nb-ob)
		nf := nbb / 16
		kerns := &convDirectKernels[si][nf-1]
		if wp16 != nil {
			kerns = &convDirectKernels16[si][nf-1] // the kernels widen the halves as they load them
		}
		var wblk []float32
		var wblk16 []uint16
		if wp16 != nil {
			wblk16 = wp16[ob*K:]
		} else {
			wblk = wp[ob*K:]
		}
		var bp *float32
		if bias != nil {
			bp = &bias[ob]
		}
		for c0 := 0; c0 < g.C; c0 += cstep {
			cb := min(cstep, g.C-c0)
			flags := 0
			if c0 > 0 {
				flags = 1
			}
			if c0+cb == g.C {
				flags |= flagsLast
			}
			first := origin + c0*plane
			if mode == stripPass {
				padRows(strip, x, g, c0, c0+cb, r0, r1)
				first = origin
			}
			var wc unsafe.Pointer // the pass's weights
			pass := 4 * cb * taps * nbb
			if wp16 != nil {
				wc = unsafe.Pointer(&wblk16[c0*taps*nbb])
				pass /= 2
			} else {
				wc = unsafe.Pointer(&wblk[c0*taps*nbb])
			}
			// Each call prefetches cb·taps lines from pf: the first calls of a pass walk the weights
			// after it (the next pass's, or the next block's after the last), so they are in cache
			// before their first call; once those are covered, pf points at this pass's own (L1
			// hits), so the prefetches never run further ahead and evict what the pass is using.
			// (An address for PREFETCHT0 only, which never faults: it may lie past the weights.)
			pf, pfStep, pfEnd := uintptr(wc)+uintptr(pass), uintptr(64*cb*taps), uintptr(wc)+uintptr(2*pass)
			for oy := y0; oy < y1; oy++ {
				in := src[first+oy*g.SH*ld:]
				tr := t[(oy-y0)*g.OW*16:]
				x0 := 0
				for i := 0; i < nchunks; i++ {
					np := base
					if i < extra {
						np++
					}
					kerns[np-1]((*float32)(unsafe.Pointer(&in[x0*g.SW])), (*float32)(wc),
						&tr[x0*16], ld, plane, cb, g.KH, ldT, bp, flags, lo, hi, pf)
					if pf += pfStep; pf >= pfEnd {
						pf = uintptr(wc)
					}
					x0 += np
				}
			}
		}
		// The block is done: into its NCHW planes while its partial sums are in cache.
		for f := 0; f < nf; f++ {
			at := (ob+16*f)*ohw + y0*g.OW
			if z != nil {
				tileToPlanesAddAVX512(&t[f*ldT], &y[at], &z[at], npix, ohw, flagsZ, lo, hi)
			} else {
				tileToPlanesAVX512(&t[f*ldT], &y[at], npix, ohw)
			}
		}
	}
}

// padRowsAsm is padRows on the AVX-512 rung: one masked load and store per 16 floats, where Go's
// copy and clear per row cost more than the bytes (a 56-float row is three calls).
func padRowsAsm(dst, x []float32, g *ConvGeom, c0, c1, r0, r1 int) bool {
	if !dwPlaneRung() {
		return false
	}
	_, wp := ConvDirectPadded(g)
	var buf [2 * 64]uint16
	if wp > 16*64 {
		return false
	}
	masks := padMasks(buf[:], g.W, wp, g.PL)
	rows := r1 - r0
	for c := c0; c < c1; c++ {
		padPlaneAVX512(&dst[(c-c0)*rows*wp], &x[c*g.H*g.W], g.H, g.W, r0, r1, wp, g.PT, g.PL, &masks[0], len(masks)/2)
	}
	return true
}
