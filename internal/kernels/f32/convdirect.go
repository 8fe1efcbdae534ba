package f32

// Direct convolution with output channels as the vector lanes (the layout of MLAS's NCHWc kernels, but
// reading NCHW input and writing NCHW output): for blocks of 16 output channels and runs of up to
// six output pixels of one row, every tap's weights are one vector per block and every input value
// is broadcast, so all 16 lanes work whatever the plane's size. A GEMM over im2col columns puts
// pixels on the lanes instead and leaves a 7×7 plane's 49 columns in 64 lanes; it also packs the
// im2col tiles, which the direct kernel never builds (it reads a zero-padded copy of the input).

// ConvDirectBlock is the number of output channels one kernel call covers at most (four vectors).
const ConvDirectBlock = 64

// ConvDirectMaxChannels is the most output channels one ConvDirect call computes: its blocks share
// the band's padded input.
const ConvDirectMaxChannels = 4 * ConvDirectBlock

// convDirectPassTaps is how many (input channel, tap) pairs one pass accumulates before the partial
// sums go back to the tile: 16 channels of 3×3 weights for 64 outputs are 36 KiB, which stay in L1
// while the pass walks the rows of its band.
const convDirectPassTaps = 144

// convDirectBandPixels bounds the output pixels of one band (a unit of work): its partial sums,
// 64 channels by 256 pixels, are 64 KiB.
const convDirectBandPixels = 256

// ConvDirectPackedLen is the length of W packed by PackConvDirect for m output channels.
func ConvDirectPackedLen(m int, g *ConvGeom) int { return m * g.K() }

// PackConvDirect packs W (m rows of C·KH·KW, row-major as ONNX stores it) for ConvDirect: blocks of
// 64 output channels (the last may hold fewer, a multiple of 16), each [C][KH][KW][nf·16].
func PackConvDirect(dst, w []float32, m int, g *ConvGeom) {
	packConvDirect(dst, w, m, g)
}

func packConvDirect[T float32 | uint16](dst, w []T, m int, g *ConvGeom) {
	K := g.K()
	taps := g.KH * g.KW
	for o0 := 0; o0 < m; o0 += ConvDirectBlock {
		nb := min(ConvDirectBlock, m-o0)
		blk := dst[o0*K : (o0+nb)*K]
		for c := 0; c < g.C; c++ {
			for t := 0; t < taps; t++ {
				d := blk[(c*taps+t)*nb : (c*taps+t+1)*nb]
				for j := range d {
					d[j] = w[(o0+j)*K+c*taps+t]
				}
			}
		}
	}
}

// ConvDirectPadded is the zero-padded input plane ConvDirect reads: every window of every output
// pixel lies inside it.
func ConvDirectPadded(g *ConvGeom) (hp, wp int) {
	return (g.OH-1)*g.SH + g.KH, (g.OW-1)*g.SW + g.KW
}

// ConvDirectInPlace reports whether ConvDirect reads the input as it is (no padding, every window
// inside the plane) rather than a PadPlanes copy.
func ConvDirectInPlace(g *ConvGeom) bool {
	hp, wp := ConvDirectPadded(g)
	return g.PT == 0 && g.PL == 0 && hp <= g.H && wp <= g.W
}

// convDirectSource is the row and plane stride of what ConvDirect reads.
func convDirectSource(g *ConvGeom) (ld, plane int) {
	if ConvDirectInPlace(g) {
		return g.W, g.H * g.W
	}
	hp, wp := ConvDirectPadded(g)
	return wp, hp * wp
}

// padRows copies rows [r0, r1) of the zero-padded planes [c0, c1) of x (NCHW, one image's planes of
// H×W; ConvDirectPadded planes: the geometry's leading pads, zeros around the input) into dst as
// c1-c0 planes of r1-r0 rows: the strip of input one pass of ConvDirect over a band of rows reads.
func padRows(dst, x []float32, g *ConvGeom, c0, c1, r0, r1 int) {
	_, wp := ConvDirectPadded(g)
	rows := r1 - r0
	if rows <= 0 || c0 >= c1 {
		return
	}
	if len(dst) < (c1-c0)*rows*wp || len(x) < c1*g.H*g.W {
		panic("f32: padRows operand too short")
	}
	if padRowsAsm(dst, x, g, c0, c1, r0, r1) {
		return
	}
	for c := c0; c < c1; c++ {
		src := x[c*g.H*g.W : (c+1)*g.H*g.W]
		plane := dst[(c-c0)*rows*wp : (c-c0+1)*rows*wp]
		for r := r0; r < r1; r++ {
			row := plane[(r-r0)*wp : (r-r0+1)*wp]
			iy := r - g.PT
			if iy < 0 || iy >= g.H {
				clear(row)
				continue
			}
			x0 := min(g.PL, wp)
			clear(row[:x0])
			n := min(g.W, wp-g.PL)
			if n > 0 {
				copy(row[g.PL:g.PL+n], src[iy*g.W:iy*g.W+n])
				clear(row[g.PL+n:])
			} else {
				clear(row[x0:])
			}
		}
	}
}

// padMasks fills masks with the padPlaneAVX512 chunk masks of a row: per 16-float chunk, the lanes
// that come from the input row (the rest are zeros) and the lanes inside the padded row.
func padMasks(masks []uint16, w, wp, pl int) []uint16 {
	n := (wp + 15) / 16
	masks = masks[:2*n]
	// Lanes [lo, hi) of a chunk as a bit mask; a chunk's lanes are columns 16c to 16c+15.
	span := func(c, from, to int) uint16 {
		lo, hi := min(max(from-16*c, 0), 16), min(max(to-16*c, 0), 16)
		return uint16((1<<hi)-1) &^ uint16((1<<lo)-1)
	}
	for c := 0; c < n; c++ {
		masks[2*c], masks[2*c+1] = span(c, pl, min(pl+w, wp)), span(c, 0, wp)
	}
	return masks
}

// ConvDirectBands is how many bands of output rows the direct path cuts a plane into so that
// blocks × bands units keep `threads` threads busy and each band's partial sums stay small.
func ConvDirectBands(g *ConvGeom, m, threads int) (bands, rows int) {
	rows = max(1, min(g.OH, convDirectBandPixels/max(g.OW, 1)))
	bands = (g.OH + rows - 1) / rows
	blocks := (m + ConvDirectBlock - 1) / ConvDirectBlock
	if want := 2 * threads; threads > 1 && blocks*bands < want {
		bands = min(g.OH, (want+blocks-1)/blocks)
	}
	rows = (g.OH + bands - 1) / bands
	bands = (g.OH + rows - 1) / rows
	return bands, rows
}

// convDirectPassChannels is how many input channels one pass of ConvDirect accumulates. Rows of 56
// output pixels and more take twice convDirectPassTaps: fewer passes reload the band's partial sums
// fewer times, and their longer rows reuse each pass's weights enough (BenchmarkConvDirectVsGEMM's
// direct time, 288 against 144 taps, one thread: 64@56×56 0.95, 64@112×112 1.00, 128@28×28 0.99;
// BenchmarkConvDirect's 512@7×7 took 1.09× the time with them).
func convDirectPassChannels(g *ConvGeom) int {
	taps := convDirectPassTaps
	if g.OW >= 56 {
		taps *= 2
	}
	cstep := max(1, taps/(g.KH*g.KW))
	if g.C <= 2*cstep {
		return g.C
	}
	return cstep
}

// convDirectTileSlack is room after a tile's last pixel: the transposition into NCHW reads whole runs
// of 16 pixels.
const convDirectTileSlack = 16 * 16

// How ConvDirect reads the input rows of a band: in place (every window lies inside the input), from
// a zero-padded strip of all the input channels' rows padded once per call, or, where that strip would
// be large, from a strip of one pass's channels padded before each pass of each block.
const (
	stripNone = iota
	stripAll
	stripPass
)

// convDirectStripMax bounds the all-channel strip (floats): 1 MiB, beyond which padding a pass's
// channels again for every block costs less than missing the cache on a larger strip.
const convDirectStripMax = 256 << 10

// convDirectStrip is how ConvDirect reads the input for bands of rows output rows.
func convDirectStrip(g *ConvGeom, rows int) int {
	if ConvDirectInPlace(g) {
		return stripNone
	}
	_, wp := ConvDirectPadded(g)
	if g.C*((rows-1)*g.SH+g.KH)*wp <= convDirectStripMax {
		return stripAll
	}
	return stripPass
}

// ConvDirectScratchLen is the scratch one thread needs for ConvDirect over bands of ConvDirectBands
// rows: the partial sums of one 64-channel block over a band (pixel-major per 16 channels) and,
// unless the input is read in place, the zero-padded strip of input rows it reads.
func ConvDirectScratchLen(g *ConvGeom, m, threads int) int {
	_, rows := ConvDirectBands(g, m, threads)
	n := ConvDirectBlock*rows*g.OW + convDirectTileSlack
	_, wp := ConvDirectPadded(g)
	plane := ((rows-1)*g.SH + g.KH) * wp
	switch convDirectStrip(g, rows) {
	case stripAll:
		n += g.C * plane
	case stripPass:
		n += convDirectPassChannels(g) * plane
	}
	return n
}

// ConvDirect computes output channels [o0, o0+nb) (nb ≤ ConvDirectMaxChannels, a multiple of 16; o0 a
// multiple of 64)
// over output rows [y0, y1) of one image and group: y holds the group's m output planes (NCHW), x its
// input planes (NCHW), wp its packed weights (PackConvDirect), z nil or a residual laid out as y that
// is added, bias nil or m values, and the result is clamped to [lo, hi] when clamp is set (after the
// residual). scratch holds ConvDirectScratchLen floats (for bands of
// at most the rows it was sized for).
//
// The input rows the band reads are zero-padded into scratch (convDirectStrip) unless every window
// lies inside the input. Then, per 64-channel block, the input channels go by in passes of a few (a
// pass's weights stay in L1 while it walks the band), adding into the band's partial sums, held with
// the 16 channels of a vector per pixel; the last pass adds bias and clamps, and the block's sums are
// transposed into its NCHW planes 16 pixels at a time.
func ConvDirect(g *ConvGeom, x, wp, y, z, bias []float32, o0, nb, y0, y1 int, clamp bool, lo, hi float32, scratch []float32) {
	convDirectRun(g, x, wp, nil, y, z, bias, o0, nb, y0, y1, clamp, lo, hi, scratch)
}

// ConvDirect16 is ConvDirect with the weights in half precision (PackConvDirect16), which the kernels
// widen as they load each tap's vectors (no widened copy: the scratch is ConvDirectScratchLen's).
func ConvDirect16(g *ConvGeom, x []float32, wp []uint16, y, z, bias []float32, o0, nb, y0, y1 int, clamp bool, lo, hi float32, scratch []float32) {
	convDirectRun(g, x, nil, wp, y, z, bias, o0, nb, y0, y1, clamp, lo, hi, scratch)
}

// PackConvDirect16 is PackConvDirect for weights in half precision (w row-major as ONNX stores them).
func PackConvDirect16(dst, w []uint16, m int, g *ConvGeom) {
	packConvDirect(dst, w, m, g)
}

// convDirectChunks cuts a row of ow pixels into n runs of at most maxNP, as even as possible (14 =
// 5+5+4, not 6+6+2: fewer accumulators hide the FMA latency worse): the first extra runs hold base+1
// pixels, the others base. Computed once per call: integer divisions per kernel call cost ~5 % of a
// 3×3 pass.
func convDirectChunks(ow, maxNP int) (n, base, extra int) {
	n = (ow + maxNP - 1) / maxNP
	return n, ow / n, ow % n
}

// ConvDirectPool is ConvDirect followed by a 3×3 max pool of stride 2 padded by one on every side
// (ResNet's stem: Conv, ReLU, MaxPool): it writes pooled rows [py0, py1) of output channels
// [o0, o0+nb) into y, the group's m pooled planes (ConvDirectPoolDims). The convolution's rows go
// through a ring of rows in scratch, each computed once per call (a call's first pooled row needs one
// row above it), pooled from the ring's pixel-major vectors (the channels on the lanes: no permutes)
// and only the pooled quarter is transposed into NCHW: the full-resolution output (3.2 MB in
// ResNet-50) is never written. scratch holds ConvDirectPoolScratchLen floats.
func ConvDirectPool(g *ConvGeom, x, wp, y, bias []float32, o0, nb, py0, py1 int, clamp bool, lo, hi float32, scratch []float32) {
	convDirectPoolRun(g, x, wp, nil, y, bias, o0, nb, py0, py1, clamp, lo, hi, scratch)
}

// ConvDirectPool16 is ConvDirectPool with half-precision weights (PackConvDirect16).
func ConvDirectPool16(g *ConvGeom, x []float32, wp []uint16, y, bias []float32, o0, nb, py0, py1 int, clamp bool, lo, hi float32, scratch []float32) {
	convDirectPoolRun(g, x, nil, wp, y, bias, o0, nb, py0, py1, clamp, lo, hi, scratch)
}

// ConvDirectPoolDims is the pooled plane ConvDirectPool writes for g's output plane.
func ConvDirectPoolDims(g *ConvGeom) (ph, pw int) { return (g.OH-1)/2 + 1, (g.OW-1)/2 + 1 }

// convDirectPoolRows is how many pooled rows ConvDirectPool produces per step: the convolution rows
// they need (twice as many) within convDirectBandPixels, as ConvDirect's bands.
func convDirectPoolRows(g *ConvGeom) int { return max(1, convDirectBandPixels/(2*max(g.OW, 1))) }

// ConvDirectPoolScratchLen is the scratch of one ConvDirectPool call: the ring of convolution rows
// of one 64-channel block, the block's pooled rows of a step, and the padded input of a step.
func ConvDirectPoolScratchLen(g *ConvGeom) int {
	p := convDirectPoolRows(g)
	ring := 2*p + 1
	_, pw := ConvDirectPoolDims(g)
	n := ConvDirectBlock*ring*g.OW + convDirectTileSlack + ConvDirectBlock*p*pw + convDirectTileSlack
	strip := 0
	for rows := 1; rows <= ring; rows++ { // the strip's mode, and so its size, depends on the rows
		strip = max(strip, directInputLen(g, rows))
	}
	return n + strip
}
