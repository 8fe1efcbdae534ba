package f32

import "github.com/wanwu-ai/wanwu/tensor"

// Winograd F(2×2, 3×3) with the output channels on the lanes (WinoDirect): the direct path's layout
// with 16 products per 2×2 output tile in place of 36 taps per 2×2 pixels, 2.25 times fewer
// multiply-adds. Per band of output rows:
//
//   - input transform: the band's input rows are zero-padded into a strip (as ConvDirect's) and every
//     channel's 4×4 patches become V_ξ[c][tile] (16 tiles on the lanes, adds only);
//   - products: for each of the 16 points ξ, M_ξ[tile][o] = Σ_c V_ξ[c][tile]·U_ξ[c][o] is a pointwise
//     convolution over the band's tiles, run by the pointwise direct kernels (output channels on the
//     lanes, each V value broadcast);
//   - output transform: per tile and 16 output channels, Aᵀ M A plus the bias, clamped, written into
//     the pixel-major tile that ConvDirect's transposition moves into NCHW (adding a residual there).
//
// U_ξ = G g Gᵀ is computed in float64 and rounded once, and F(2×2)'s transforms only add, subtract and
// halve, so the result stays within the tolerance the direct and GEMM paths meet. The weights take
// 16/9 of W's bytes.

// winoDirectPoints is the number of products per tile, (2+2)².
const winoDirectPoints = 16

// winoDirectTiles is about how many tiles one band holds: its V (64 bytes per channel and tile) and
// one block's M (4 KiB per tile) stay in L2, and each pass's weights are read once per band from L2.
const winoDirectTiles = 64

// winoDirectPassChannels is how many input channels one call of the product kernels takes: a pass's
// 16 KiB of U_ξ and its V rows stay in L1 across the band's tiles.
const winoDirectPassChannels = 64

// WinoDirectPackedLen is the length of W packed by PackWinoDirect for m output channels of c inputs.
func WinoDirectPackedLen(m, c int) int { return winoDirectPoints * m * c }

// PackWinoDirect transforms W (m rows of c·3·3, row-major as ONNX stores it) into U_ξ = G g Gᵀ of
// F(2×2, 3×3) and packs it in blocks of 64 output channels (the last may hold fewer, a multiple of
// 16), each [ξ][c][nb]: a block's point is a pointwise layer packed as PackConvDirect packs it, and
// the block's points follow one another (the next point's weights are the next ones to prefetch).
func PackWinoDirect(dst, w []float32, m, c int) {
	dst = dst[:WinoDirectPackedLen(m, c)]
	w = w[:m*c*9]
	packWinoDirect(m, c, func(i int) float64 { return float64(w[i]) }, func(i int, u float64) { dst[i] = float32(u) })
}

// PackWinoDirect16 is PackWinoDirect for half-precision W (row-major halves as ONNX stores them) and
// half-precision U, which WinoDirect16's kernels widen as they load it: U is computed from the halves
// in float64 and rounded once to a half.
func PackWinoDirect16(dst, w []uint16, m, c int) {
	dst = dst[:WinoDirectPackedLen(m, c)]
	w = w[:m*c*9]
	packWinoDirect(m, c, func(i int) float64 { return float64(tensor.F16ToF32(w[i])) },
		func(i int, u float64) { dst[i] = tensor.F32ToF16(float32(u)) })
}

// packWinoDirect computes every U element from W (get: W's element i, row-major) and stores it (put:
// at its packed index).
func packWinoDirect(m, c int, get func(int) float64, put func(int, float64)) {
	var u [winoDirectPoints]float64
	for o := 0; o < m; o++ {
		o0 := o / ConvDirectBlock * ConvDirectBlock
		nb := min(ConvDirectBlock, m-o0)
		for ci := 0; ci < c; ci++ {
			var f [9]float64
			for k := range f {
				f[k] = get((o*c+ci)*9 + k)
			}
			var tg [4][3]float64 // G·f
			for i := 0; i < 4; i++ {
				for j := 0; j < 3; j++ {
					tg[i][j] = winoG2[i][0]*f[j] + winoG2[i][1]*f[3+j] + winoG2[i][2]*f[6+j]
				}
			}
			for i := 0; i < 4; i++ {
				for j := 0; j < 4; j++ {
					u[4*i+j] = tg[i][0]*winoG2[j][0] + tg[i][1]*winoG2[j][1] + tg[i][2]*winoG2[j][2]
				}
			}
			at := o0*winoDirectPoints*c + ci*nb + o - o0
			for xi := range u {
				put(at+xi*c*nb, u[xi])
			}
		}
	}
}

// winoDirectGeom is the band's tiling: tw tiles a row, tile rows [ty0, ty1), and the padded strip
// the input transform reads (wp floats a row, rows 2·ty0 to 2·ty1+2 of the padded plane).
type winoDirectGeom struct {
	tw, ty0, ty1, trows, nt int
	wp, prows               int
	pad                     ConvGeom // g with its output rounded up to whole tiles: what padRows pads
}

func newWinoDirectGeom(g *ConvGeom, y0, y1 int) winoDirectGeom {
	var t winoDirectGeom
	t.tw = (g.OW + 1) / 2
	t.ty0, t.ty1 = y0/2, (y1+1)/2
	t.trows = t.ty1 - t.ty0
	t.nt = t.trows * t.tw
	t.pad = *g
	t.pad.OW, t.pad.OH = 2*t.tw, 2*((g.OH+1)/2)
	_, t.wp = ConvDirectPadded(&t.pad)
	t.prows = 2*t.trows + 2
	return t
}

// winoDirectSlack is room after the strip (the input transform's last group reads up to 34 floats
// past its row's first tile) and after each output tile (an odd plane's last tile writes a pixel
// past its rows).
const winoDirectSlack = 64

// winoDirectLens are the scratch parts of one WinoDirect call over output rows [y0, y1): the strip,
// V, one block's M, and the block's output tile.
func winoDirectLens(g *ConvGeom, rows int) (strip, v, m, tile int) {
	t := newWinoDirectGeom(g, 0, min(rows, g.OH))
	strip = g.C*t.prows*t.wp + winoDirectSlack
	v = winoDirectPoints * winoDirectSkew(g.C*t.nt)
	m = winoDirectPoints * winoDirectSkew(ConvDirectBlock*t.nt)
	tile = ConvDirectBlock/16*(16*2*t.trows*g.OW+convDirectTileSlack) + winoDirectSlack
	return
}

// winoDirectSkew is the distance between two points' planes of n floats in V and in M: one cache
// line more, so that the 16 planes a transform reads or writes at once do not fall into one L1 set
// when n·4 bytes is a multiple of 4 KiB (ResNet-50's 128@28×28 in bands of 4 tile rows: 28 KiB, and
// its 28×28 layers 0.75 against 0.61 ms with the line).
func winoDirectSkew(n int) int { return n + 16 }

// WinoDirectScratchLen is the scratch one thread needs for WinoDirect over bands of WinoDirectBands
// rows.
func WinoDirectScratchLen(g *ConvGeom, m, threads int) int {
	_, rows := WinoDirectBands(g, m, threads)
	s, v, mm, t := winoDirectLens(g, rows)
	return s + v + mm + t
}

// WinoDirectBands is how many bands of output rows (an even number of rows each, but the last)
// WinoDirect's calls take: about winoDirectTiles tiles each, and enough bands × 64-channel blocks to
// keep threads threads busy.
func WinoDirectBands(g *ConvGeom, m, threads int) (bands, rows int) {
	tw, th := (g.OW+1)/2, (g.OH+1)/2
	trows := max(1, min(th, winoDirectTiles/max(tw, 1)))
	bands = (th + trows - 1) / trows
	blocks := (m + ConvDirectBlock - 1) / ConvDirectBlock
	if want := 2 * threads; threads > 1 && blocks*bands < want {
		bands = min(th, (want+blocks-1)/blocks)
	}
	trows = (th + bands - 1) / bands
	bands = (th + trows - 1) / trows
	return bands, 2 * trows
}

// WinoDirect computes output channels [o0, o0+nb) (nb ≤ ConvDirectMaxChannels, a multiple of 16; o0
// a multiple of 64) over output rows [y0, y1) (y0 even) of one image and group of a 3×3 stride-1
// convolution, as ConvDirect does (y the group's m NCHW output planes, x its input planes, up its
// PackWinoDirect weights, z nil or a residual laid out as y, bias nil or m values, clamped to [lo, hi]
// when clamp is set, after the residual). scratch holds WinoDirectScratchLen floats.
func WinoDirect(g *ConvGeom, x, up, y, z, bias []float32, o0, nb, y0, y1 int, clamp bool, lo, hi float32, scratch []float32) {
	winoDirectRun(g, x, up, nil, y, z, bias, o0, nb, y0, y1, clamp, lo, hi, scratch)
}

// WinoDirect16 is WinoDirect with U in half precision (PackWinoDirect16), widened as the product
// kernels load it.
func WinoDirect16(g *ConvGeom, x []float32, up []uint16, y, z, bias []float32, o0, nb, y0, y1 int, clamp bool, lo, hi float32, scratch []float32) {
	winoDirectRun(g, x, nil, up, y, z, bias, o0, nb, y0, y1, clamp, lo, hi, scratch)
}
