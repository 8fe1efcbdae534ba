//go:build amd64 && gc && !purego

package f32

import "unsafe"

//go:noescape
func winoDirectInAVX512(v, pad *float32, ldXi, vplane, wp, pplane, tw, trows, chans int)

//go:noescape
func winoDirectOutAVX512(t, m *float32, ldXi, tw, trows, ow int, bias *float32, flags int, lo, hi float32)

// WinoDirectSupported reports whether WinoDirect runs geometry g with m output channels here: a 3×3
// stride-1 undilated window, whole 16-channel blocks, the AVX-512 rung.
func WinoDirectSupported(g *ConvGeom, m int) bool {
	return dwPlaneRung() && g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1 &&
		m%16 == 0 && m > 0 && g.C > 0 && g.OH > 0 && g.OW > 0 && (g.OW+1)/2*2+2 <= 16*64
}

// winoDirectPointwise is the pointwise direct kernels' index in the kernel table.
var winoDirectPointwise = func() int {
	for i, sh := range convDirectShapes {
		if sh[0] == 1 && sh[1] == 1 {
			return i
		}
	}
	panic("f32: no pointwise direct kernels")
}()

func winoDirectRun(g *ConvGeom, x, up []float32, up16 []uint16, y, z, bias []float32, o0, nb, y0, y1 int, clamp bool, lo, hi float32, scratch []float32) {
	if !WinoDirectSupported(g, 16) || nb%16 != 0 || nb < 16 || nb > ConvDirectMaxChannels || o0%ConvDirectBlock != 0 ||
		y0 < 0 || y0%2 != 0 || y1 > g.OH || y0 >= y1 {
		panic("f32: WinoDirect arguments out of range")
	}
	ohw := g.OH * g.OW
	t := newWinoDirectGeom(g, y0, y1)
	sLen, vLen, mLen, tLen := winoDirectLens(g, y1-y0)
	if (up16 == nil && len(up) < WinoDirectPackedLen(o0+nb, g.C)) || (up16 != nil && len(up16) < WinoDirectPackedLen(o0+nb, g.C)) || len(x) < g.C*g.H*g.W || len(y) < (o0+nb)*ohw ||
		len(scratch) < sLen+vLen+mLen+tLen || (z != nil && len(z) < (o0+nb)*ohw) || (bias != nil && len(bias) < o0+nb) {
		panic("f32: WinoDirect operand too short")
	}
	strip, rest := scratch[:sLen], scratch[sLen:]
	v, rest := rest[:vLen], rest[vLen:]
	mm, tile := rest[:mLen], rest[mLen:mLen+tLen]

	// Input transform: every channel's tiles of the band, V_ξ[c][tile] at v[ξ·C·nt + c·nt + tile].
	r0 := 2 * t.ty0
	padRows(strip, x, &t.pad, 0, g.C, r0, r0+t.prows)
	ldV := winoDirectSkew(g.C * t.nt)
	winoDirectInAVX512(&v[0], &strip[0], ldV, t.nt, t.wp, t.prows*t.wp, t.tw, t.trows, g.C)

	kerns := &convDirectKernels[winoDirectPointwise]
	var u0 unsafe.Pointer // the packed U
	wsize := 4
	if up16 != nil {
		kerns = &convDirectKernels16[winoDirectPointwise] // widening the halves as they load them
		u0, wsize = unsafe.Pointer(unsafe.SliceData(up16)), 2
	} else {
		u0 = unsafe.Pointer(unsafe.SliceData(up))
	}
	nchunks, base, extra := convDirectChunks(t.nt, convDirectMaxNP)
	npix := (y1 - y0) * g.OW
	ldTile := 16*2*t.trows*g.OW + convDirectTileSlack
	var zeros [16]float32
	flagsOut, flagsZ := 0, 0
	if bias != nil {
		flagsOut |= 2
	}
	if clamp {
		if z == nil {
			flagsOut |= 4
		} else {
			flagsZ = 4
		}
	}
	for ob := o0; ob < o0+nb; ob += ConvDirectBlock {
		nbb := min(ConvDirectBlock, o0+nb-ob)
		nf := nbb / 16
		ldM := 16 * t.nt // between M's 16-channel vectors f
		ldXi := winoDirectSkew(nf * ldM)
		for xi := 0; xi < winoDirectPoints; xi++ {
			uxi := unsafe.Add(u0, (ob*winoDirectPoints+xi*nbb)*g.C*wsize) // the block's U_ξ: [c][nbb]
			mxi := mm[xi*ldXi:]
			for c0 := 0; c0 < g.C; c0 += winoDirectPassChannels {
				cb := min(winoDirectPassChannels, g.C-c0)
				flags := 0
				if c0 > 0 {
					flags = 1
				}
				wc := unsafe.Add(uxi, c0*nbb*wsize)
				// The calls prefetch the next pass's (or point's) weights, as ConvDirect's do.
				pass := uintptr(wsize * cb * nbb)
				pf, pfStep, pfEnd := uintptr(wc)+pass, uintptr(64*cb), uintptr(wc)+2*pass
				in := v[xi*ldV+c0*t.nt:]
				j := 0
				for i := 0; i < nchunks; i++ {
					np := base
					if i < extra {
						np++
					}
					kerns[nf-1][np-1](&in[j], (*float32)(wc), &mxi[16*j], t.nt, t.nt, cb, 1, ldM, nil, flags, 0, 0, pf)
					if pf += pfStep; pf >= pfEnd {
						pf = uintptr(wc)
					}
					j += np
				}
			}
		}
		// Output transform into the pixel-major tile, then into the NCHW planes while it is in cache.
		for f := 0; f < nf; f++ {
			bp := &zeros[0]
			if bias != nil {
				bp = &bias[ob+16*f]
			}
			tf := tile[f*ldTile:]
			winoDirectOutAVX512(&tf[0], &mm[f*ldM], ldXi, t.tw, t.trows, g.OW, bp, flagsOut, lo, hi)
			at := (ob+16*f)*ohw + y0*g.OW
			if z != nil {
				tileToPlanesAddAVX512(&tf[0], &y[at], &z[at], npix, ohw, flagsZ, lo, hi)
			} else {
				tileToPlanesAVX512(&tf[0], &y[at], npix, ohw)
			}
		}
	}
}
