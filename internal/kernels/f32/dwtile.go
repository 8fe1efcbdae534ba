package f32

// Depthwise convolution with 16 channels on the vector lanes, for small planes: the plane kernels
// (DepthwisePlan) put a row's pixels on the lanes, which leaves 9 of 16 lanes idle on a 7×7 plane and
// pays a row's set-up per 7 pixels (MobileNetV2's 7×7 and 14×14 layers ran at 50-55 ns a plane, twice
// ONNX Runtime's NCHWc kernels). Here a run of 16 input planes is transposed into a zero-padded
// pixel-major tile, every output pixel of the 16 channels is k·k FMAs on full vectors, and the result
// is transposed back into the 16 NCHW output planes.

// DepthwiseTile is the plan of the tiled depthwise kernel for one geometry.
type DepthwiseTile struct {
	g        ConvGeom
	hp, ldt  int     // the padded tile: rows and pixels a row (every window and every input pixel inside)
	off      []int32 // byte offset in the tile of each input pixel
	bandRows int     // output rows per band: a band's input rows stay in L1
}

// dwTileBandBytes bounds the input rows of a band (its part of the tile): bands keep the scratch small
// on large planes, but each band transposes its halo rows again and restarts the 16 planes' streams
// (BenchmarkDepthwiseTile, 144@56×56: 32 KiB bands 1.27× the time of one whole-plane band, 128 KiB
// about 1.1×).
const dwTileBandBytes = 32 << 10

// NewDepthwiseTile returns the plan for g, or nil where this CPU or g has no tiled kernel (square 3×3
// or 5×5 windows, equal strides, undilated).
func NewDepthwiseTile(g *ConvGeom) *DepthwiseTile {
	if !dwTileRung() || g.KH != g.KW || (g.KW != 3 && g.KW != 5) || g.SH != g.SW || g.DH != 1 || g.DW != 1 ||
		g.OH <= 0 || g.OW <= 0 || g.PT < 0 || g.PL < 0 {
		return nil
	}
	d := &DepthwiseTile{g: *g}
	hp, wp := ConvDirectPadded(g)
	d.hp, d.ldt = max(hp, g.PT+g.H), max(wp, g.PL+g.W)
	d.off = make([]int32, g.H*g.W)
	for iy := 0; iy < g.H; iy++ {
		for ix := 0; ix < g.W; ix++ {
			d.off[iy*g.W+ix] = int32(64 * ((iy+g.PT)*d.ldt + ix + g.PL))
		}
	}
	rows := dwTileBandBytes / (64 * d.ldt) // input rows
	d.bandRows = min(g.OH, max(1, (rows-g.KH)/g.SH+1))
	return d
}

// bandTileRows is the tile rows one band of bandRows output rows reads.
func (d *DepthwiseTile) bandTileRows() int { return (d.bandRows-1)*d.g.SH + d.g.KH }

// ScratchLen is the scratch one thread's Run needs: a band's input rows of the tile and its output
// pixels, with room for the last transposition's whole run of 16.
func (d *DepthwiseTile) ScratchLen() int {
	return 16*d.bandTileRows()*d.ldt + 16*d.bandRows*d.g.OW + 16*16
}

// PackDepthwiseTile packs depthwise weights w (c channels of k·k, as ONNX stores them; c a multiple of
// 16) for Run: per run of 16 channels, [k·k][16].
func PackDepthwiseTile(dst, w []float32, c, kk int) {
	for c0 := 0; c0 < c; c0 += 16 {
		for t := 0; t < kk; t++ {
			for j := 0; j < 16; j++ {
				dst[c0*kk+t*16+j] = w[(c0+j)*kk+t]
			}
		}
	}
}

// Run computes output rows [r0, r1) of channels [c0, c1) (multiples of 16) of one image: y holds its output planes
// (OH×OW each), x its input planes (H×W), w the weights packed by PackDepthwiseTile, bias nil or one
// per channel; the result is clamped to [lo, hi] when clamp is set. scratch holds ScratchLen floats.
// Each 16 channels go by in bands of output rows: the input rows a band reads are transposed into the
// tile (those the previous band read too are moved up), the kernel writes the band's pixels, which
// are transposed into the output planes.
func (d *DepthwiseTile) Run(y, x, w, bias []float32, c0, c1, r0, r1 int, clamp bool, lo, hi float32, scratch []float32) {
	g := &d.g
	hw, ohw, kk := g.H*g.W, g.OH*g.OW, g.KH*g.KW
	tin := 16 * d.bandTileRows() * d.ldt
	if c0%16 != 0 || c1%16 != 0 || c0 < 0 || c0 > c1 || r0 < 0 || r1 > g.OH || len(x) < c1*hw || len(y) < c1*ohw || len(w) < c1*kk ||
		(bias != nil && len(bias) < c1) || len(scratch) < d.ScratchLen() {
		panic("f32: DepthwiseTile.Run operands out of range")
	}
	t, out := scratch[:tin], scratch[tin:d.ScratchLen()]
	clear(t) // the padding columns, which no transposition writes
	var zero [16]float32
	for c := c0; c < c1; c += 16 {
		b := zero[:]
		if bias != nil {
			b = bias[c : c+16]
		}
		kept0, kept1 := 0, 0 // tile rows the buffer holds from the previous band
		for oy0 := r0; oy0 < r1; oy0 += d.bandRows {
			oy1 := min(r1, oy0+d.bandRows)
			tr0, tr1 := oy0*g.SH, (oy1-1)*g.SH+g.KH // the band's tile rows
			// Rows the previous band read too (the window's overlap) move up instead of being
			// transposed again.
			from := tr0
			if kept1 > tr0 {
				copy(t[:16*(kept1-tr0)*d.ldt], t[16*(tr0-kept0)*d.ldt:16*(kept1-kept0)*d.ldt])
				from = kept1
			}
			kept0, kept1 = tr0, tr1
			iy0, iy1 := max(0, from-g.PT), min(g.H, tr1-g.PT)
			// Padding rows in the band: zero (an earlier band left input rows there).
			for tr := from; tr < tr1; tr++ {
				if iy := tr - g.PT; iy < 0 || iy >= g.H {
					clear(t[16*(tr-tr0)*d.ldt : 16*(tr-tr0+1)*d.ldt])
				}
			}
			dwTileBand(d, y[c*ohw+oy0*g.OW:], x[c*hw:], w[c*kk:], b, iy0, iy1, tr0, oy0, oy1, clamp, lo, hi, t, out)
		}
	}
}
