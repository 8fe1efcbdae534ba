package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/tensor"
)

// QLinearConv (ONNX): inputs x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale,
// y_zero_point, B (optional i32); attributes auto_pad, dilations, group, kernel_shape, pads, strides.
// 2-D only (x is NCHW). x and y are u8 or i8; w is u8 or i8, per tensor or per output channel.
// acc = sum((x-xz)*(w-wz)) + B in int32, then requantized by x_scale*w_scale/y_scale (see qlinear_common.go).

// qlConvGeom is the geometry shared by Infer and Compile.
type qlConvGeom struct {
	n, c, h, w     int
	m, kh, kw      int
	group          int
	sh, sw, dh, dw int
	pt, pl, pb, pr int
	oh, ow         int
}

func qlConvGeometry(n *graph.Node, xs, ws tensor.Shape) (qlConvGeom, error) {
	var g qlConvGeom
	if len(xs) != 4 || len(ws) != 4 {
		return g, qlErr(n, "only 2-D convolution (4-D x and w) is supported, got x%s w%s", xs, ws)
	}
	g.n, g.c, g.h, g.w = xs[0], xs[1], xs[2], xs[3]
	g.m, g.kh, g.kw = ws[0], ws[2], ws[3]
	g.group = int(n.Int("group", 1))
	st := n.Ints("strides", []int64{1, 1})
	dl := n.Ints("dilations", []int64{1, 1})
	pads := n.Ints("pads", []int64{0, 0, 0, 0})
	if len(st) != 2 || len(dl) != 2 || len(pads) != 4 {
		return g, qlErr(n, "strides/dilations/pads must have 2/2/4 entries")
	}
	g.sh, g.sw, g.dh, g.dw = int(st[0]), int(st[1]), int(dl[0]), int(dl[1])
	g.pt, g.pl, g.pb, g.pr = int(pads[0]), int(pads[1]), int(pads[2]), int(pads[3])
	if g.group < 1 || g.sh < 1 || g.sw < 1 || g.dh < 1 || g.dw < 1 {
		return g, qlErr(n, "group, strides and dilations must be positive")
	}
	if ks := n.Ints("kernel_shape", nil); ks != nil && (len(ks) != 2 || int(ks[0]) != g.kh || int(ks[1]) != g.kw) {
		return g, qlErr(n, "kernel_shape %v does not match w%s", ks, ws)
	}
	if g.c >= 0 && (g.c%g.group != 0 || ws[1]*g.group != g.c || g.m%g.group != 0) {
		return g, qlErr(n, "channels: x has %d, w%s, group %d", g.c, ws, g.group)
	}
	ekh, ekw := (g.kh-1)*g.dh+1, (g.kw-1)*g.dw+1
	switch ap := n.Str("auto_pad", "NOTSET"); ap {
	case "NOTSET", "":
	case "VALID":
		g.pt, g.pl, g.pb, g.pr = 0, 0, 0, 0
	case "SAME_UPPER", "SAME_LOWER":
		padH := max(0, ((g.h+g.sh-1)/g.sh-1)*g.sh+ekh-g.h)
		padW := max(0, ((g.w+g.sw-1)/g.sw-1)*g.sw+ekw-g.w)
		if ap == "SAME_UPPER" {
			g.pt, g.pb, g.pl, g.pr = padH/2, padH-padH/2, padW/2, padW-padW/2
		} else {
			g.pt, g.pb, g.pl, g.pr = padH-padH/2, padH/2, padW-padW/2, padW/2
		}
	default:
		return g, qlErr(n, "auto_pad %q not supported", ap)
	}
	g.oh, g.ow = -1, -1
	if g.h >= 0 {
		g.oh = (g.h+g.pt+g.pb-ekh)/g.sh + 1
	}
	if g.w >= 0 {
		g.ow = (g.w+g.pl+g.pr-ekw)/g.sw + 1
	}
	return g, nil
}

func inferQLinearConv(n *graph.Node) error {
	if len(n.Inputs) < 8 || n.Inputs[0] == nil || n.Inputs[3] == nil {
		return qlErr(n, "needs 8 or 9 inputs")
	}
	g, err := qlConvGeometry(n, n.Inputs[0].Shape, n.Inputs[3].Shape)
	if err != nil {
		return err
	}
	n.Outputs[0].DType = qlZPType(n.Input(7))
	n.Outputs[0].Shape = tensor.Shape{g.n, g.m, g.oh, g.ow}
	return nil
}

const (
	qlTileN = 256 // output pixels per GEMM tile (accumulators live on the stack)
	qlTileM = 16  // output channels per GEMM tile
)

type qlConvKernel struct {
	g         qlConvGeom
	cg, mg, k int // input channels per group, output channels per group, K = cg*kh*kw
	xType     tensor.DType
	depthwise bool // cg == 1: direct loop instead of GEMM
	direct    bool // 1x1, stride 1, no pad, u8 input: the input is already the K×N matrix
	constW    bool
	constQ    bool
	wq        []int16 // (w - wz) as [M][K]
	rowSum    []int32
	out       qlOut
	xs        []float32
	xz        []int32
	ws        []float32
	wz        []int32
	ys        []float32
	yz        []int32
	tfl       bool
	perTensor bool
	n         *graph.Node

	// per-Run state read by Do (set before Pool.For)
	x, y  *tensor.Tensor
	bias  []int32
	col   []uint8
	batch int
	xzp   int32
	task  qlGemmTask

	fast    qlFast // VNNI paths (qlinear_conv_fast.go) when fast.kind != qlFastNone
	scratch []byte
}

func compileQLinearConv(n *graph.Node) (Kernel, error) {
	return compileQLinearConvWith(n, CompileOptions{})
}

func compileQLinearConvWith(n *graph.Node, o CompileOptions) (Kernel, error) {
	if err := inferQLinearConv(n); err != nil {
		return nil, err
	}
	x, w := n.Inputs[0], n.Inputs[3]
	g, _ := qlConvGeometry(n, x.Shape, w.Shape)
	if !x.Shape.Known() {
		return nil, qlErr(n, "input shape %s not concrete", x.Shape)
	}
	if !qlIsQ8(x.DType) || !qlIsQ8(w.DType) || !qlIsQ8(n.Outputs[0].DType) {
		return nil, qlErr(n, "x %s, w %s, y %s: want u8/i8", x.DType, w.DType, n.Outputs[0].DType)
	}
	if b := n.Input(8); b != nil && (b.DType != tensor.I32 || b.Shape.NumElements() != g.m) {
		return nil, qlErr(n, "bias must be i32[%d], got %s%s", g.m, b.DType, b.Shape)
	}
	k := &qlConvKernel{g: g, xType: x.DType, tfl: qlTFLite(n), n: n}
	k.cg, k.mg = g.c/g.group, g.m/g.group
	k.k = k.cg * g.kh * g.kw
	k.depthwise = k.cg == 1
	k.direct = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt+g.pl+g.pb+g.pr == 0 && x.DType == tensor.U8
	k.wq = make([]int16, g.m*k.k)
	k.rowSum = make([]int32, g.m)
	k.xs, k.xz = make([]float32, 1), make([]int32, 1)
	k.ws, k.wz = make([]float32, g.m), make([]int32, g.m)
	k.ys, k.yz = make([]float32, 1), make([]int32, 1)
	k.out.tfl = k.tfl
	k.out.rq = make([]q8.Requant, g.m)
	k.out.scale = make([]float32, g.m)
	k.perTensor = n.Inputs[4] != nil && n.Inputs[4].Shape.NumElements() == 1
	k.constW = w.Const != nil && qlConstQ(n, 5)
	k.constQ = qlConstQ(n, 1, 2, 4, 5, 6, 7)
	if k.constQ {
		in := make([]*tensor.Tensor, len(n.Inputs))
		for i, v := range n.Inputs {
			if v != nil {
				in[i] = v.Const
			}
		}
		if err := k.prepQ(in); err != nil {
			return nil, err
		}
		if k.constW {
			k.packW(w.Const)
			k.setupFast(w.Const, o.slots())
			if k.fast.kind != qlFastNone {
				k.wq = nil // the fast path's packing replaces the generic one
			}
		}
	}
	return k, nil
}

func (k *qlConvKernel) prepQ(in []*tensor.Tensor) error {
	if err := qlReadQ(in[1], in[2], k.xs, k.xz); err != nil {
		return qlErr(k.n, "x: %v", err)
	}
	if err := qlReadQ(in[4], in[5], k.ws, k.wz); err != nil {
		return qlErr(k.n, "w: %v", err)
	}
	if err := qlReadQ(in[6], qlAt(in, 7), k.ys, k.yz); err != nil {
		return qlErr(k.n, "y: %v", err)
	}
	lo, hi := qlRange(k.n.Outputs[0].DType)
	k.out.zp = k.yz[0]
	var err error
	if k.out.lo, k.out.hi, err = qlActRange(k.n, k.ys[0], k.yz[0], lo, hi); err != nil {
		return err
	}
	for m := range k.ws {
		if k.tfl {
			// TFLite's per-tensor path multiplies the scales in float first
			// (GetQuantizedConvolutionMultipler); the per-channel path in double.
			var real float64
			if k.perTensor {
				real = float64(k.xs[0]*k.ws[m]) / float64(k.ys[0])
			} else {
				real = float64(k.xs[0]) * float64(k.ws[m]) / float64(k.ys[0])
			}
			k.out.rq[m] = q8.NewRequant(real)
		} else {
			k.out.scale[m] = k.xs[0] * k.ws[m] / k.ys[0]
		}
	}
	return nil
}

func (k *qlConvKernel) packW(w *tensor.Tensor) {
	for m := 0; m < k.g.m; m++ {
		row := k.wq[m*k.k : (m+1)*k.k]
		for i := range row {
			row[i] = int16(qlGet(w.DType, w.Data, m*k.k+i) - k.wz[m])
		}
	}
	q8.RowSums(k.g.m, k.k, k.wq, k.rowSum)
}

func (k *qlConvKernel) ScratchBytes() int {
	if k.fast.kind != qlFastNone {
		return k.fast.slots * k.fast.slotLen
	}
	if k.depthwise || k.direct {
		return 0
	}
	return k.k * k.g.oh * k.g.ow // im2col of one group of one image, u8
}

func (k *qlConvKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	if !k.constQ {
		if err := k.prepQ(in); err != nil {
			return err
		}
	}
	if !k.constW || !k.constQ { // packed at Compile only when W and its quantization were constants
		k.packW(in[3])
	}
	k.x, k.y = in[0], out[0]
	k.bias = nil
	if b := qlAt(in, 8); b != nil {
		k.bias = b.I32()
	}
	if k.fast.kind != qlFastNone {
		k.scratch = ctx.Scratch
		k.runFast(ctx)
		return nil
	}
	k.xzp = k.xz[0]
	if k.xType == tensor.I8 {
		k.xzp += 128 // im2col stores x+128 as u8
	}
	g := k.g
	npix := g.oh * g.ow
	for b := 0; b < g.n; b++ {
		k.batch = b
		if k.depthwise {
			ctx.Pool.For(g.m, 1, (*qlDWTask)(k))
			continue
		}
		for gi := 0; gi < g.group; gi++ {
			if k.direct {
				k.col = k.x.Data[(b*g.c+gi*k.cg)*g.h*g.w:]
			} else {
				k.col = ctx.Scratch[:k.k*npix]
				k.im2col(b, gi)
			}
			mt := (k.mg + qlTileM - 1) / qlTileM
			nt := (npix + qlTileN - 1) / qlTileN
			// The task lives in the kernel: a pointer to a local would escape through the interface.
			k.task = qlGemmTask{k: k, group: gi, nt: nt}
			ctx.Pool.For(mt*nt, 1, &k.task)
		}
	}
	return nil
}

// im2col writes group gi of image b as a K×(oh*ow) u8 matrix; padding holds the zero point so that
// the row-sum correction cancels it exactly.
func (k *qlConvKernel) im2col(b, gi int) {
	g := k.g
	npix := g.oh * g.ow
	pad := uint8(k.xzp)
	flip := uint8(0)
	if k.xType == tensor.I8 {
		flip = 0x80
	}
	for c := 0; c < k.cg; c++ {
		plane := k.x.Data[(b*g.c+gi*k.cg+c)*g.h*g.w:][:g.h*g.w]
		for ky := 0; ky < g.kh; ky++ {
			for kx := 0; kx < g.kw; kx++ {
				row := k.col[((c*g.kh+ky)*g.kw+kx)*npix:][:npix]
				for oy := 0; oy < g.oh; oy++ {
					iy := oy*g.sh - g.pt + ky*g.dh
					dst := row[oy*g.ow : (oy+1)*g.ow]
					if iy < 0 || iy >= g.h {
						for i := range dst {
							dst[i] = pad
						}
						continue
					}
					src := plane[iy*g.w : (iy+1)*g.w]
					for ox := range dst {
						ix := ox*g.sw - g.pl + kx*g.dw
						if ix < 0 || ix >= g.w {
							dst[ox] = pad
						} else {
							dst[ox] = src[ix] ^ flip
						}
					}
				}
			}
		}
	}
}

type qlGemmTask struct {
	k     *qlConvKernel
	group int
	nt    int
}

func (t *qlGemmTask) Do(lo, hi int) {
	k := t.k
	g := k.g
	npix := g.oh * g.ow
	var acc [qlTileM * qlTileN]int32
	yb := k.y.Data[k.batch*g.m*npix:]
	for tile := lo; tile < hi; tile++ {
		m0 := (tile / t.nt) * qlTileM
		n0 := (tile % t.nt) * qlTileN
		mm := min(qlTileM, k.mg-m0)
		nn := min(qlTileN, npix-n0)
		gm0 := t.group*k.mg + m0
		q8.Gemm(mm, nn, k.k, k.wq[gm0*k.k:], k.k, k.col[n0:], npix, acc[:], qlTileN)
		for i := 0; i < mm; i++ {
			m := gm0 + i
			corr := -k.xzp * k.rowSum[m]
			if k.bias != nil {
				corr += k.bias[m]
			}
			dst := yb[m*npix+n0 : m*npix+n0+nn]
			for j, a := range acc[i*qlTileN : i*qlTileN+nn] {
				dst[j] = byte(k.out.apply(a+corr, m))
			}
		}
	}
}

// qlDWTask runs depthwise output channels [lo, hi) of the current image directly.
type qlDWTask qlConvKernel

func (t *qlDWTask) Do(lo, hi int) {
	k := (*qlConvKernel)(t)
	g := k.g
	npix := g.oh * g.ow
	xz := k.xz[0]
	for m := lo; m < hi; m++ {
		c := m / k.mg // cg == 1: group index is the input channel
		plane := k.x.Data[(k.batch*g.c+c)*g.h*g.w:][:g.h*g.w]
		w := k.wq[m*k.k : (m+1)*k.k]
		dst := k.y.Data[(k.batch*g.m+m)*npix:][:npix]
		var bias int32
		if k.bias != nil {
			bias = k.bias[m]
		}
		for oy := 0; oy < g.oh; oy++ {
			for ox := 0; ox < g.ow; ox++ {
				acc := bias
				for ky := 0; ky < g.kh; ky++ {
					iy := oy*g.sh - g.pt + ky*g.dh
					if iy < 0 || iy >= g.h {
						continue
					}
					row := plane[iy*g.w : (iy+1)*g.w]
					wr := w[ky*g.kw : (ky+1)*g.kw]
					ix := ox*g.sw - g.pl
					for kx, wv := range wr {
						if ix >= 0 && ix < g.w {
							var xv int32
							if k.xType == tensor.I8 {
								xv = int32(int8(row[ix]))
							} else {
								xv = int32(row[ix])
							}
							acc += (xv - xz) * int32(wv)
						}
						ix += g.dw
						_ = kx
					}
				}
				dst[oy*g.ow+ox] = byte(k.out.apply(acc, m))
			}
		}
	}
}

func init() {
	Register("QLinearConv", &Def{Infer: inferQLinearConv, Compile: compileQLinearConv, CompileWith: compileQLinearConvWith, MACs: qlinearConvMACs})
}

// PackedBytes is the weight copy the kernel keeps (runtime.PackedWeights): the fast path's s8 panels or
// the generic path's int16 rows.
func (k *qlConvKernel) PackedBytes() int {
	if k.fast.kind != qlFastNone {
		return len(k.fast.wp)
	}
	return 2 * len(k.wq)
}

// PackedInputs reports that W (input 3) is not read after Compile once it was packed there
// (ops.InputsPacker), so the runtime can drop the importer's copy.
func (k *qlConvKernel) PackedInputs() []int {
	if k.constW && k.constQ {
		return []int{3}
	}
	return nil
}

func qlinearConvMACs(n *graph.Node) int64 { return weightMACs(n, n.Input(3)) }
