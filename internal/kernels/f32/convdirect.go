package f32

// Direct convolution with output channels as the vector lanes (the layout of MLAS's NCHWc kernels, but
// reading NCHW input and writing NCHW output): for blocks of 16 output channels and runs of up to
// six output pixels of one row, every tap's weights are one vector per block and every input value
// is broadcast, so all 16 lanes work whatever the plane's size. A GEMM over im2col columns puts
// pixels on the lanes instead and leaves a 7×7 plane's 49 columns in 64 lanes; it also packs the
// im2col tiles, which the direct kernel never builds (it reads a zero-padded copy of the input).

// ConvDirectBlock is the number of output channels one kernel call covers at most (four vectors).
const ConvDirectBlock = 64

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

// PadPlanes copies rows [r0, r1) of the padded planes [c0, c1) from x (NCHW, one image's planes of
// H×W) into xp: the geometry's leading pads and zeros around the input (ConvDirectPadded planes).
func PadPlanes(xp, x []float32, g *ConvGeom, c0, c1, r0, r1 int) {
	hp, wp := ConvDirectPadded(g)
	r1 = min(r1, hp)
	if r0 >= r1 || c0 >= c1 {
		return
	}
	if len(xp) < c1*hp*wp || len(x) < c1*g.H*g.W {
		panic("f32: PadPlanes operand too short")
	}
	if padPlanesAsm(xp, x, g, c0, c1, r0, r1) {
		return
	}
	for c := c0; c < c1; c++ {
		src := x[c*g.H*g.W : (c+1)*g.H*g.W]
		dst := xp[c*hp*wp : (c+1)*hp*wp]
		for r := r0; r < r1; r++ {
			row := dst[r*wp : (r+1)*wp]
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
	for c := 0; c < n; c++ {
		var ld, st uint16
		for i := 0; i < 16; i++ {
			j := 16*c + i
			if j < wp {
				st |= 1 << i
				if j >= pl && j < pl+w {
					ld |= 1 << i
				}
			}
		}
		masks[2*c], masks[2*c+1] = ld, st
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

// ConvDirectTileLen is the tile scratch one thread needs (partial sums of a band).
func ConvDirectTileLen(g *ConvGeom, m, threads int) int {
	_, rows := ConvDirectBands(g, m, threads)
	return ConvDirectBlock * rows * g.OW
}

// ConvDirect computes output channels [o0, o0+nb) (nb ≤ 64, a multiple of 16; o0 a multiple of 64)
// over output rows [y0, y1) of one image and group: y holds the group's m output planes (NCHW), xp
// its input planes (ConvDirectInPlace) or else their padded copy (PadPlanes), wp its packed weights (PackConvDirect), bias nil or m values,
// and the result is clamped to [lo, hi] when clamp is set. t is scratch of ConvDirectTileLen floats.
func ConvDirect(g *ConvGeom, xp, wp, y, bias []float32, o0, nb, y0, y1 int, clamp bool, lo, hi float32, t []float32) {
	convDirectRun(g, xp, wp, y, bias, o0, nb, y0, y1, clamp, lo, hi, t)
}

// convDirectChunks cuts a row of ow pixels into runs of at most convDirectMaxNP, as even as
// possible (14 = 5+5+4, not 6+6+2: fewer accumulators hide the FMA latency worse).
func convDirectChunk(ow, maxNP, i int) (x0, np int) {
	n := (ow + maxNP - 1) / maxNP
	base, extra := ow/n, ow%n
	x0 = i*base + min(i, extra)
	np = base
	if i < extra {
		np++
	}
	return x0, np
}
