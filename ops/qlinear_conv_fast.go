package ops

// Fast paths of QLinearConv for TFLite-rounded nodes with constant weights and quantization and u8
// input (the Coral and TF2 MobileNet models): the VNNI kernels of internal/kernels/q8 compute the
// same int32 accumulators as the generic loops and requantize them with the same fixed-point
// arithmetic, so the output bytes are identical (qlinear_fast_test.go compares both on awkward shapes).
//
// Weights are stored as s8 w' = w - base with a per-channel term f = base - wz, so that
// Σ(x-xz)(w-wz) = Σx·w' + f·Σx - xz·(Σw' + f·K): base = wz when every w-wz fits in s8 (f = 0, the
// int8 per-channel case), otherwise 128 for u8 weights (0 for i8). The constant part goes into the
// requantization's Add with the bias; f·Σx is a column sum of the packed activations (GEMM) or a
// second dot product with ones (depthwise).

import (
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/tensor"
)

const (
	qlFastNone = iota
	qlFastGemm
	qlFastDW
)

// qlFast is the state of the fast paths (zero when the generic loops run).
type qlFast struct {
	kind   int
	wp     []int8  // GEMM: q8.PackA blocks per group; depthwise: [m][12] taps
	f      []int32 // per output channel
	wsum   []int32 // Σ w' per output channel
	rq     []q8.RQ // per output channel; Add is refreshed per Run (bias, zero points)
	rqo    q8.RQOut
	direct bool // GEMM: the input planes are the B matrix (1x1, stride 1, no pad, K%4 == 0)

	geom                 f32.ConvGeom // one group
	k4, glen             int
	tileCols, tcp, tiles int
	msplit, slots        int
	slotLen              int
	dwLd, dwLen          int

	items, used int
}

// setupFast decides and prepares a fast path at Compile (all quantization inputs and w constant).
func (k *qlConvKernel) setupFast(w *tensor.Tensor, slots int) {
	g := k.g
	if qlFastOff || !k.tfl || !k.constW || !k.constQ || k.xType != tensor.U8 {
		return
	}
	fs := &k.fast
	dw := k.depthwise && k.mg == 1 && g.kh == 3 && g.kw == 3 && g.dh == 1 && g.dw == 1 && g.sh == g.sw && (g.sh == 1 || g.sh == 2)
	if k.depthwise && !dw {
		return
	}
	fs.rq = make([]q8.RQ, g.m)
	for m := range fs.rq {
		r := k.out.rq[m]
		if r.Mult < 0 || r.Shift < -31 || r.Shift > 31 {
			return
		}
		fs.rq[m] = q8.NewRQ(r, 0)
	}
	fs.rqo = q8.RQOut{ZP: k.out.zp, Lo: k.out.lo, Hi: k.out.hi}

	// base per channel: wz where w-wz fits in s8 everywhere, else the dtype's midpoint.
	fit := true
	for m := 0; m < g.m && fit; m++ {
		for i := 0; i < k.k; i++ {
			if d := qlGet(w.DType, w.Data, m*k.k+i) - k.wz[m]; d < -128 || d > 127 {
				fit = false
				break
			}
		}
	}
	var mid int32
	if w.DType == tensor.U8 {
		mid = 128
	}
	base := func(m int) int32 {
		if fit {
			return k.wz[m]
		}
		return mid
	}
	fs.f, fs.wsum = make([]int32, g.m), make([]int32, g.m)
	for m := range fs.f {
		fs.f[m] = base(m) - k.wz[m]
	}
	if !dw {
		for m := range fs.f { // the GEMM's column term is shared by all rows
			if fs.f[m] != fs.f[0] {
				return
			}
		}
	}
	wp := make([]int8, g.m*k.k)
	for m := 0; m < g.m; m++ {
		for i := 0; i < k.k; i++ {
			v := int8(qlGet(w.DType, w.Data, m*k.k+i) - base(m))
			wp[m*k.k+i] = v
			fs.wsum[m] += int32(v)
		}
	}
	fs.slots = slots
	if dw {
		fs.kind = qlFastDW
		fs.wp = make([]int8, g.m*12)
		for m := 0; m < g.m; m++ {
			for ky := 0; ky < 3; ky++ {
				copy(fs.wp[m*12+ky*4:m*12+ky*4+3], wp[m*9+ky*3:m*9+ky*3+3])
			}
		}
		fs.dwLd = (g.ow-1)*g.sw + 3
		fs.dwLen = q8.RoundUp(q8.DWSrcLen(fs.dwLd, g.oh, g.ow, g.sh), 64)
		fs.slotLen = fs.dwLen
		return
	}
	fs.kind = qlFastGemm
	fs.geom = f32.ConvGeom{C: k.cg, H: g.h, W: g.w, KH: g.kh, KW: g.kw, SH: g.sh, SW: g.sw,
		PT: g.pt, PL: g.pl, DH: g.dh, DW: g.dw, OH: g.oh, OW: g.ow}
	fs.k4 = q8.K4(k.k)
	fs.glen = q8.PackedALen(k.mg, k.k)
	fs.wp = make([]int8, g.group*fs.glen)
	for gi := 0; gi < g.group; gi++ {
		q8.PackA(fs.wp[gi*fs.glen:], wp[gi*k.mg*k.k:], k.k, k.mg, k.k)
	}
	fs.direct = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt+g.pl+g.pb+g.pr == 0 && k.k%4 == 0
	ohw := g.oh * g.ow
	fs.tileCols = min(q8.RoundUp(ohw, q8.NR), max(q8.NR, dynqPanelBytes/(fs.k4*4)/q8.NR*q8.NR), 1024)
	fs.tcp = q8.RoundUp(fs.tileCols, q8.NR)
	fs.tiles = (ohw + fs.tileCols - 1) / fs.tileCols
	fs.msplit = 1
	if per := g.n * g.group * fs.tiles; per < fs.slots {
		fs.msplit = min((fs.slots+per-1)/per, (k.mg+q8.MR-1)/q8.MR)
	}
	panel := fs.k4 * 4 * fs.tcp
	fs.slotLen = q8.RoundUp(panel, 64) + q8.RoundUp(fs.tcp*4, 64)
	if !fs.direct {
		fs.slotLen += q8.RoundUp(panel, 64)
	}
}

// runFast runs the prepared fast path over the whole batch.
func (k *qlConvKernel) runFast(ctx *Ctx) {
	fs := &k.fast
	xz := k.xz[0]
	for m := range fs.rq {
		var b int32
		if k.bias != nil {
			b = k.bias[m]
		}
		taps := int32(k.k)
		fs.rq[m].Add = b - xz*(fs.wsum[m]+fs.f[m]*taps)
	}
	threads := max(ctx.Pool.Threads(), 1)
	if fs.kind == qlFastDW {
		fs.items = k.g.n * k.g.m
	} else {
		fs.items = k.g.n * k.g.group * fs.tiles * fs.msplit
	}
	fs.used = min(fs.slots, fs.items, threads)
	ctx.Pool.For(fs.used, 1, (*qlFastTask)(k))
}

type qlFastTask qlConvKernel

func (t *qlFastTask) Do(lo, hi int) {
	k := (*qlConvKernel)(t)
	fs := &k.fast
	for s := lo; s < hi; s++ {
		work := k.scratch[s*fs.slotLen : (s+1)*fs.slotLen]
		for it := s * fs.items / fs.used; it < (s+1)*fs.items/fs.used; it++ {
			if fs.kind == qlFastDW {
				k.dwItem(it, work)
			} else {
				k.gemmItem(it, work)
			}
		}
	}
}

// dwItem computes output channel it%m of image it/m: pad the input plane with the zero point, then
// one vector pass per plane.
func (k *qlConvKernel) dwItem(it int, work []byte) {
	g := k.g
	fs := &k.fast
	b, m := it/g.m, it%g.m
	hw := g.h * g.w
	plane := k.x.Data[(b*g.c+m)*hw : (b*g.c+m+1)*hw]
	ld := fs.dwLd
	rows := (g.oh-1)*g.sh + 3
	pad := work[:fs.dwLen]
	zp := uint8(k.xz[0])
	xlo, xhi := g.pl, min(g.pl+g.w, ld) // padded columns holding input columns
	for r := 0; r < rows; r++ {
		dst := pad[r*ld : (r+1)*ld]
		iy := r - g.pt
		if iy < 0 || iy >= g.h {
			for i := range dst {
				dst[i] = zp
			}
			continue
		}
		for i := 0; i < xlo; i++ {
			dst[i] = zp
		}
		copy(dst[xlo:xhi], plane[iy*g.w:iy*g.w+xhi-xlo])
		for i := xhi; i < ld; i++ {
			dst[i] = zp
		}
	}
	npix := g.oh * g.ow
	y := k.y.Data[(b*g.m+m)*npix : (b*g.m+m+1)*npix]
	q8.DW3x3RQ(y, pad, ld, g.oh, g.ow, g.sh, (*[12]int8)(fs.wp[m*12:m*12+12]), fs.f[m], &fs.rq[m], &fs.rqo)
}

// gemmItem computes one (image, group, pixel tile, row split) item: pack the tile's activations
// (im2col first unless direct), their column sums when f != 0, then fused GEMM+requant tiles.
func (k *qlConvKernel) gemmItem(it int, work []byte) {
	g := k.g
	fs := &k.fast
	mp := it % fs.msplit
	it /= fs.msplit
	t := it % fs.tiles
	it /= fs.tiles
	gi := it % g.group
	b := it / g.group
	blocks := (k.mg + q8.MR - 1) / q8.MR
	bl0, bl1 := mp*blocks/fs.msplit, (mp+1)*blocks/fs.msplit
	if bl0 >= bl1 {
		return
	}
	hw, ohw := g.h*g.w, g.oh*g.ow
	j0 := t * fs.tileCols
	nc := min(fs.tileCols, ohw-j0)
	k4 := fs.k4
	plen := q8.RoundUp(k4*4*fs.tcp, 64)
	panel := work[:plen]
	csum := bytesAsI32(work[plen : plen+fs.tcp*4])
	xg := k.x.Data[(b*g.c+gi*k.cg)*hw:]
	if fs.direct {
		full := nc &^ (q8.NR - 1)
		if full > 0 {
			q8.PackB(panel, xg[j0:], hw, k4, full)
		}
		if full < nc {
			q8.PackBPad(panel[full*k4*4:], xg[j0+full:], hw, k.k, k4, nc-full)
		}
	} else {
		cols := work[plen+q8.RoundUp(fs.tcp*4, 64):]
		im2colU8(cols, fs.tcp, xg, &fs.geom, uint8(k.xz[0]), j0, nc, k4*4)
		q8.PackB(panel, cols, fs.tcp, k4, nc)
	}
	nb := (nc + q8.NR - 1) / q8.NR
	f := fs.f[0]
	if f != 0 {
		q8.ColSums(csum, panel, k4, nb, f)
	} else {
		clear(csum[:nb*q8.NR])
	}
	wg := fs.wp[gi*fs.glen:]
	y := k.y.Data[(b*g.m+gi*k.mg)*ohw+j0:]
	for bl := bl0; bl < bl1; bl++ {
		m0 := bl * q8.MR
		rows := min(q8.MR, k.mg-m0)
		a := wg[m0*k4*4:]
		for jb := 0; jb < nc; jb += q8.NR {
			q8.TileRQ(y[m0*ohw+jb:], ohw, a, panel[jb*k4*4:], k4, csum[jb:], fs.rq[gi*k.mg+m0:], &fs.rqo, rows, min(q8.NR, nc-jb))
		}
	}
}

// qlFastOff makes QLinearConv Compile and QLinearAdd Run choose the generic loops (tests compare both).
var qlFastOff bool
