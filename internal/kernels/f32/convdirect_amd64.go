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
	K := g.K()
	ohw := g.OH * g.OW
	if convDirectShape(g) < 0 || nb%16 != 0 || nb < 16 || nb > ConvDirectMaxChannels || o0%ConvDirectBlock != 0 || y0 < 0 || y1 > g.OH || y0 >= y1 {
		panic("f32: ConvDirect arguments out of range")
	}
	npix := (y1 - y0) * g.OW
	tileLen := ConvDirectBlock*npix + convDirectTileSlack
	if (wp16 == nil && len(wp) < (o0+nb)*K) || (wp16 != nil && len(wp16) < (o0+nb)*K) ||
		len(x) < g.C*g.H*g.W || len(y) < (o0+nb)*ohw || len(scratch) < tileLen ||
		(z != nil && len(z) < (o0+nb)*ohw) ||
		(bias != nil && len(bias) < o0+nb) {
		panic("f32: ConvDirect operand too short")
	}
	t := scratch[:tileLen]
	in := newDirectInput(g, x, y0, y1, scratch[tileLen:])
	flagsZ := 0
	if clamp {
		flagsZ = 4
	}
	ldT := 16 * npix
	for ob := o0; ob < o0+nb; ob += ConvDirectBlock {
		nbb := min(ConvDirectBlock, o0+nb-ob)
		// With a residual, the transposition clamps after adding it.
		in.block(wp, wp16, bias, ob, nbb, y0, y1, t, ldT, y0, 0, clamp && z == nil, lo, hi)
		// The block is done: into its NCHW planes while its partial sums are in cache.
		for f := 0; f < nbb/16; f++ {
			at := (ob+16*f)*ohw + y0*g.OW
			if z != nil {
				tileToPlanesAddAVX512(&t[f*ldT], &y[at], &z[at], npix, ohw, flagsZ, lo, hi)
			} else {
				tileToPlanesAVX512(&t[f*ldT], &y[at], npix, ohw)
			}
		}
	}
}

func convDirectPoolRun(g *ConvGeom, x, wp []float32, wp16 []uint16, y, bias []float32, o0, nb, py0, py1 int, clamp bool, lo, hi float32, scratch []float32) {
	K := g.K()
	ph, pw := ConvDirectPoolDims(g)
	phw := ph * pw
	if convDirectShape(g) < 0 || nb%16 != 0 || nb < 16 || nb > ConvDirectMaxChannels || o0%ConvDirectBlock != 0 || py0 < 0 || py1 > ph || py0 >= py1 {
		panic("f32: ConvDirectPool arguments out of range")
	}
	p := convDirectPoolRows(g)
	ring := 2*p + 1
	tileLen := ConvDirectBlock*ring*g.OW + convDirectTileSlack
	poolLen := ConvDirectBlock*p*pw + convDirectTileSlack
	if (wp16 == nil && len(wp) < (o0+nb)*K) || (wp16 != nil && len(wp16) < (o0+nb)*K) ||
		len(x) < g.C*g.H*g.W || len(y) < (o0+nb)*phw || len(scratch) < ConvDirectPoolScratchLen(g) ||
		(bias != nil && len(bias) < o0+nb) {
		panic("f32: ConvDirectPool operand too short")
	}
	t, pt, rest := scratch[:tileLen], scratch[tileLen:tileLen+poolLen], scratch[tileLen+poolLen:]
	ldT, ldP := 16*ring*g.OW, 16*p*pw
	row := func(f, r int) *float32 { return &t[f*ldT+(r%ring)*g.OW*16] }
	for ob := o0; ob < o0+nb; ob += ConvDirectBlock {
		nbb := min(ConvDirectBlock, o0+nb-ob)
		next := max(2*py0-1, 0) // the first convolution row not yet in the ring
		for q0 := py0; q0 < py1; q0 += p {
			q1 := min(q0+p, py1)
			// Pooled row q reads convolution rows 2q-1 to 2q+1; those of rows [q0, q1) not yet
			// computed overwrite ring slots no longer needed (the ring holds 2p+1 rows).
			if need := min(2*q1, g.OH); next < need {
				in := newDirectInput(g, x, next, need, rest)
				in.block(wp, wp16, bias, ob, nbb, next, need, t, ldT, 0, ring, clamp, lo, hi)
				next = need
			}
			for f := 0; f < nbb/16; f++ {
				for q := q0; q < q1; q++ {
					// A window row outside the plane repeats one inside it.
					maxPoolTileAVX512(&pt[f*ldP+(q-q0)*pw*16], row(f, max(2*q-1, 0)), row(f, 2*q), row(f, min(2*q+1, g.OH-1)), pw, g.OW)
				}
				tileToPlanesAVX512(&pt[f*ldP], &y[(ob+16*f)*phw+q0*pw], (q1-q0)*pw, phw)
			}
		}
	}
}

// directInput is the input rows one band of output rows reads, as the kernels see them: in place, or
// zero-padded into a strip of scratch (convDirectStrip).
type directInput struct {
	g           *ConvGeom
	x           []float32
	mode, cstep int
	r0, r1      int       // the padded input rows the band reads
	src         []float32 // channel c's row r at src[origin + c*plane + r*ld]
	origin      int
	ld, plane   int
	strip       []float32 // stripPass: one pass's channels, padded pass by pass
	nchunks     int
	base, extra int
}

// directInputLen is the scratch newDirectInput takes for bands of rows output rows.
func directInputLen(g *ConvGeom, rows int) int {
	_, wp := ConvDirectPadded(g)
	plane := ((rows-1)*g.SH + g.KH) * wp
	switch convDirectStrip(g, rows) {
	case stripAll:
		return g.C * plane
	case stripPass:
		return convDirectPassChannels(g) * plane
	}
	return 0
}

// newDirectInput prepares the input of output rows [y0, y1), padding every channel's rows into
// scratch now where the strip holds them all.
func newDirectInput(g *ConvGeom, x []float32, y0, y1 int, scratch []float32) directInput {
	d := directInput{g: g, x: x, mode: convDirectStrip(g, y1-y0), cstep: convDirectPassChannels(g)}
	d.r0, d.r1 = y0*g.SH, (y1-1)*g.SH+g.KH
	d.src, d.ld, d.plane = x, g.W, g.H*g.W
	if d.mode != stripNone {
		_, d.ld = ConvDirectPadded(g)
		d.plane = (d.r1 - d.r0) * d.ld
		n := d.plane * g.C
		if d.mode == stripPass {
			n = d.plane * d.cstep
		}
		if len(scratch) < n {
			panic("f32: ConvDirect scratch too short")
		}
		d.strip = scratch[:n]
		d.src, d.origin = d.strip, -d.r0*d.ld
	}
	if d.mode == stripAll {
		padRows(d.strip, x, g, 0, g.C, d.r0, d.r1)
	}
	d.nchunks, d.base, d.extra = convDirectChunks(g.OW, convDirectMaxNP)
	return d
}

// block accumulates output channels [ob, ob+nbb) (one block) over output rows [y0, y1) of the band
// into the tile t: row oy's pixel-major partial sums of 16 channels f at t[f*ldT + 16*OW*slot:],
// slot = oy - rowBase, taken modulo ring when ring > 0 (a ring of rows: ConvDirectPool). The input
// channels go by in passes; the last adds bias and clamps when clamp is set.
func (d *directInput) block(wp []float32, wp16 []uint16, bias []float32, ob, nbb, y0, y1 int, t []float32, ldT, rowBase, ring int, clamp bool, lo, hi float32) {
	g := d.g
	taps := g.KH * g.KW
	K := g.K()
	nf := nbb / 16
	kerns := &convDirectKernels[convDirectShape(g)][nf-1]
	var wc0 unsafe.Pointer // the block's weights
	wsize := 4
	if wp16 != nil {
		kerns = &convDirectKernels16[convDirectShape(g)][nf-1] // the kernels widen the halves as they load them
		wc0, wsize = unsafe.Pointer(&wp16[ob*K]), 2
	} else {
		wc0 = unsafe.Pointer(&wp[ob*K])
	}
	var bp *float32
	flagsLast := 0
	if bias != nil {
		bp = &bias[ob]
		flagsLast |= 2
	}
	if clamp {
		flagsLast |= 4
	}
	for c0 := 0; c0 < g.C; c0 += d.cstep {
		cb := min(d.cstep, g.C-c0)
		flags := 0
		if c0 > 0 {
			flags = 1
		}
		if c0+cb == g.C {
			flags |= flagsLast
		}
		first := d.origin + c0*d.plane
		if d.mode == stripPass {
			padRows(d.strip, d.x, g, c0, c0+cb, d.r0, d.r1)
			first = d.origin
		}
		wc := unsafe.Add(wc0, c0*taps*nbb*wsize) // the pass's weights
		pass := cb * taps * nbb * wsize
		// Each call prefetches cb·taps lines from pf: the first calls of a pass walk the weights
		// after it (the next pass's, or the next block's after the last), so they are in cache
		// before their first call; once those are covered, pf points at this pass's own (L1
		// hits), so the prefetches never run further ahead and evict what the pass is using.
		// (An address for PREFETCHT0 only, which never faults: it may lie past the weights.)
		pf, pfStep, pfEnd := uintptr(wc)+uintptr(pass), uintptr(64*cb*taps), uintptr(wc)+uintptr(2*pass)
		for oy := y0; oy < y1; oy++ {
			in := d.src[first+oy*g.SH*d.ld:]
			slot := oy - rowBase
			if ring > 0 {
				slot %= ring
			}
			tr := t[slot*g.OW*16:]
			x0 := 0
			for i := 0; i < d.nchunks; i++ {
				np := d.base
				if i < d.extra {
					np++
				}
				kerns[np-1]((*float32)(unsafe.Pointer(&in[x0*g.SW])), (*float32)(wc),
					&tr[x0*16], d.ld, d.plane, cb, g.KH, ldT, bp, flags, lo, hi, pf)
				if pf += pfStep; pf >= pfEnd {
					pf = uintptr(wc)
				}
				x0 += np
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
