package ops

// Q8Conv is a statically quantized 2-D convolution on NHWC u8 activations (graph/passes
// QuantizeStatic creates it from an f32 Conv whose input and output ranges were calibrated):
//
//	inputs:  X u8 [N,H,W,C] (C a multiple of 4; channels past the source's are ignored),
//	         W i8 const (q8.PackConv layout over k = (ky·KW+kx)·C + c),
//	         B i32 const [panels·32] accumulator start per output channel (the bias in accumulator
//	         units minus x_zp·Σw), S f32 const [panels·32] requantization multipliers
//	         (x_scale·w_scale/y_scale), R u8 optional: a residual added before the activation, same
//	         shape and layout as Y
//	attrs:   kernel_shape, strides, pads (explicit, 4 values), dilations, out_channels M,
//	         x_zp (the padding byte), y_zp, y_lo/y_hi (the activation clamp as output bytes),
//	         r_zp, r_scale (r_scale/y_scale) when R is given
//	output:  Y u8 [N,OH,OW,RoundUp(M,4)]: y = clamp(roundEven(acc·S + (r−r_zp)·r_scale) + y_zp)
//
// Every output pixel is a row of an im2col matrix (a 1×1 stride-1 unpadded convolution reads X itself)
// times the packed weights, through q8.ConvTile, which requantizes in registers: activations stay u8
// from layer to layer, with no range pass and no float tensor in between.

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/tensor"
)

func init() {
	RegisterIn(graph.ExtDomain, graph.OpQ8Conv, &Def{Infer: inferQ8Conv, Compile: compileQ8Conv, CompileWith: compileQ8ConvWith, MACs: q8ConvMACs})
}

// q8BlockBytes bounds one slot's im2col block so it stays in L2 beside the weight panel;
// q8WholeBytes is the largest im2col matrix kept whole instead (see compileQ8Conv).
const (
	q8BlockBytes = 192 << 10
	q8WholeBytes = 320 << 10
)

// q8Window reads a Q8 op's explicit 2-D window over an NHWC input [N,H,W,C].
func q8Window(n *graph.Node, x tensor.Shape, out int) (q8.Geom, error) {
	ks, st, pd, dl := n.Ints("kernel_shape", nil), n.Ints("strides", []int64{1, 1}), n.Ints("pads", []int64{0, 0, 0, 0}), n.Ints("dilations", []int64{1, 1})
	if len(ks) != 2 || len(st) != 2 || len(pd) != 4 || len(dl) != 2 || len(x) != 4 {
		return q8.Geom{}, fmt.Errorf("ops: node %q (%s): needs a 4-D NHWC input and 2-D kernel_shape, strides, pads, dilations", n.Name, n.Op)
	}
	g := q8.Geom{N: x[0], H: x[1], W: x[2], C: x[3], KH: int(ks[0]), KW: int(ks[1]), SH: int(st[0]), SW: int(st[1]),
		PT: int(pd[0]), PL: int(pd[1]), DH: int(dl[0]), DW: int(dl[1])}
	if g.KH < 1 || g.KW < 1 || g.SH < 1 || g.SW < 1 || g.DH < 1 || g.DW < 1 || g.PT < 0 || g.PL < 0 || pd[2] < 0 || pd[3] < 0 {
		return g, fmt.Errorf("ops: node %q (%s): kernel, strides and dilations must be positive, pads not negative", n.Name, n.Op)
	}
	if g.H < 0 || g.W < 0 {
		g.OH, g.OW = -1, -1
		return g, nil
	}
	spanH := g.H + g.PT + int(pd[2]) - (g.KH-1)*g.DH - 1
	spanW := g.W + g.PL + int(pd[3]) - (g.KW-1)*g.DW - 1
	if spanH < 0 || spanW < 0 {
		return g, fmt.Errorf("ops: node %q (%s): window larger than the padded input %dx%d", n.Name, n.Op, g.H, g.W)
	}
	g.OH, g.OW = spanH/g.SH+1, spanW/g.SW+1
	_ = out
	return g, nil
}

func inferQ8Conv(n *graph.Node) error {
	x := n.Input(0)
	if x == nil || n.Input(1) == nil || n.Input(2) == nil || n.Input(3) == nil || len(n.Outputs) < 1 || n.Outputs[0] == nil {
		return fmt.Errorf("ops: node %q (Q8Conv): needs X, W, B, S and one output", n.Name)
	}
	m := int(n.Int(graph.AttrOutChannels, 0))
	if m <= 0 {
		return fmt.Errorf("ops: node %q (Q8Conv): out_channels must be positive", n.Name)
	}
	n.Outputs[0].DType = tensor.U8
	if x.Shape == nil {
		n.Outputs[0].Shape = nil
		return nil
	}
	g, err := q8Window(n, x.Shape, m)
	if err != nil {
		return err
	}
	n.Outputs[0].Shape = tensor.Shape{g.N, g.OH, g.OW, q8.RoundUp(m, 4)}
	return nil
}

type q8ConvKernel struct {
	g              q8.Geom
	m, mp, k, k4   int
	panels         int
	direct         bool // 1×1, stride 1, no padding: A is X
	w              []int8
	bias           []int32
	scale          []float32
	epi            q8.Epi // template: clamp, zero points, residual scale
	hasRes         bool
	xzp            uint8
	pixels, pb     int // output pixels; rows per block (a multiple of q8.CM)
	blocks, psplit int
	slots, slotLen int

	// Run state, read by Do.
	x, y, res []uint8
	work      []byte
	items     int
	used      int
}

func compileQ8Conv(n *graph.Node) (Kernel, error) { return compileQ8ConvWith(n, CompileOptions{}) }

func compileQ8ConvWith(n *graph.Node, o CompileOptions) (Kernel, error) {
	if err := inferQ8Conv(n); err != nil {
		return nil, err
	}
	x, w, b, s := n.Input(0), n.Input(1), n.Input(2), n.Input(3)
	if x.DType != tensor.U8 || !x.Shape.Known() || len(x.Shape) != 4 || x.Shape[3]%4 != 0 {
		return nil, fmt.Errorf("ops: node %q (Q8Conv): X must be u8 NHWC with a known shape and channels a multiple of 4, got %s%s", n.Name, x.DType, x.Shape)
	}
	k := &q8ConvKernel{m: int(n.Int(graph.AttrOutChannels, 0))}
	var err error
	if k.g, err = q8Window(n, x.Shape, k.m); err != nil {
		return nil, err
	}
	g := &k.g
	k.mp = q8.RoundUp(k.m, 4)
	k.k = g.K()
	k.k4 = k.k / 4
	k.panels = (k.m + q8.CN - 1) / q8.CN
	if !w.IsConst() || w.DType != tensor.I8 || len(w.Const.Data) != q8.PackedConvLen(k.m, k.k) {
		return nil, fmt.Errorf("ops: node %q (Q8Conv): W must be a constant i8 packing of %d bytes", n.Name, q8.PackedConvLen(k.m, k.k))
	}
	if !b.IsConst() || b.DType != tensor.I32 || b.Const.NumElements() != k.panels*q8.CN {
		return nil, fmt.Errorf("ops: node %q (Q8Conv): B must be constant i32[%d]", n.Name, k.panels*q8.CN)
	}
	if !s.IsConst() || s.DType != tensor.F32 || s.Const.NumElements() != k.panels*q8.CN {
		return nil, fmt.Errorf("ops: node %q (Q8Conv): S must be constant f32[%d]", n.Name, k.panels*q8.CN)
	}
	k.pixels = g.N * g.OH * g.OW
	if r := n.Input(4); r != nil {
		if r.DType != tensor.U8 || !r.Shape.Equal(tensor.Shape{g.N, g.OH, g.OW, k.mp}) {
			return nil, fmt.Errorf("ops: node %q (Q8Conv): residual %s%s, want u8%s", n.Name, r.DType, r.Shape, tensor.Shape{g.N, g.OH, g.OW, k.mp})
		}
		k.hasRes = true
		k.epi.ResScale = n.Float(graph.AttrRScale, 1)
		k.epi.ResZP = int32(n.Int(graph.AttrRZP, 0))
		k.epi.LdR = k.mp
	}
	zp, lo, hi := n.Int(graph.AttrYZP, 0), n.Int(graph.AttrYLo, 0), n.Int(graph.AttrYHi, 255)
	xzp := n.Int(graph.AttrXZP, 0)
	if zp < 0 || zp > 255 || lo < 0 || hi > 255 || lo > hi || xzp < 0 || xzp > 255 {
		return nil, fmt.Errorf("ops: node %q (Q8Conv): zero points and clamp must be bytes with y_lo <= y_hi", n.Name)
	}
	k.xzp = uint8(xzp)
	k.epi.ZP, k.epi.Lo, k.epi.Hi = int32(zp), float32(lo-zp), float32(hi-zp)
	k.w, k.bias, k.scale = w.Const.I8(), b.Const.I32(), s.Const.F32()
	k.direct = g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PT == 0 && g.PL == 0 && g.OH == g.H && g.OW == g.W

	// Blocks of output pixels small enough that their im2col rows stay in L2; as few as that allows, so
	// the weights stream as few times as possible, and balanced.
	maxRows := max(q8.CM, q8BlockBytes/k.k/q8.CM*q8.CM)
	if q8.RoundUp(k.pixels, q8.CM)*k.k <= q8WholeBytes {
		// A small plane (the last stages): one block, so each weight is read from memory once; the
		// threads split the output channels instead.
		maxRows = q8.RoundUp(k.pixels, q8.CM)
	}
	k.blocks = (k.pixels + maxRows - 1) / maxRows
	k.pb = q8.RoundUp((k.pixels+k.blocks-1)/k.blocks, q8.CM)
	k.blocks = (k.pixels + k.pb - 1) / k.pb
	k.slots = o.slots()
	// Too few blocks to keep every thread busy (small planes): split the output channels too.
	k.psplit = 1
	for k.blocks*k.psplit < 3*k.slots && k.psplit*2 <= k.panels {
		k.psplit *= 2
	}
	if k.direct {
		k.slotLen = q8.RoundUp(q8.CM*k.k, 64) // the last partial block, copied
	} else {
		k.slotLen = q8.RoundUp(k.pb*k.k, 64)
	}
	return k, nil
}

func (k *q8ConvKernel) ScratchBytes() int { return k.slots * k.slotLen }

func (k *q8ConvKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.y = in[0].Data, out[0].Data
	k.res = nil
	if k.hasRes {
		k.res = in[4].Data
	}
	k.work = ctx.Scratch
	k.items = k.blocks * k.psplit
	k.used = min(k.slots, k.items, max(ctx.Pool.Threads(), 1))
	ctx.Pool.For(k.used, 1, k)
	return nil
}

func (k *q8ConvKernel) Do(lo, hi int) {
	for s := lo; s < hi; s++ {
		work := k.work[s*k.slotLen : (s+1)*k.slotLen]
		done := -1 // the block whose im2col rows work holds
		for it := s * k.items / k.used; it < (s+1)*k.items/k.used; it++ {
			blk, ps := it/k.psplit, it%k.psplit
			if !k.direct && blk != done {
				p0, p1 := blk*k.pb, min(k.pixels, (blk+1)*k.pb)
				q8.Im2col(work, k.k, k.x, &k.g, k.xzp, p0, p1)
				done = blk
			}
			k.block(blk, ps*k.panels/k.psplit, (ps+1)*k.panels/k.psplit, work)
		}
	}
}

// block runs output pixels [blk·pb, …) against panels [pa, pz).
func (k *q8ConvKernel) block(blk, pa, pz int, work []byte) {
	p0, p1 := blk*k.pb, min(k.pixels, (blk+1)*k.pb)
	rows := p1 - p0
	a, lda := work, k.k
	full, rest := rows/q8.CM, rows%q8.CM
	if k.direct {
		a, lda = k.x[p0*k.k:], k.k
	} else if rest > 0 {
		full, rest = full+1, 0 // the im2col block is padded to whole tiles
	}
	for pan := pa; pan < pz; pan++ {
		e := k.epi
		e.Bias, e.Scale = &k.bias[pan*q8.CN], &k.scale[pan*q8.CN]
		cols := min(q8.CN, k.mp-pan*q8.CN)
		e.Mask = uint32(1<<cols - 1)
		wp := k.w[pan*q8.CN*k.k:]
		y := k.y[p0*k.mp+pan*q8.CN:]
		if full > 0 {
			e.LastRows = q8.CM
			if !k.direct && rows%q8.CM != 0 {
				e.LastRows = rows % q8.CM
			}
			if k.res != nil {
				e.Res = &k.res[p0*k.mp+pan*q8.CN]
			}
			q8.ConvTile(a, lda, wp, k.k4, y, k.mp, full, &e)
		}
		if rest > 0 {
			// The direct path's last rows: copy them so the tile's CM row reads stay inside memory.
			r0 := full * q8.CM
			if pan == pa {
				copy(work[:rest*k.k], k.x[(p0+r0)*k.k:(p0+rows)*k.k])
			}
			e.LastRows = rest
			if k.res != nil {
				e.Res = &k.res[(p0+r0)*k.mp+pan*q8.CN]
			}
			q8.ConvTile(work, k.k, wp, k.k4, y[r0*k.mp:], k.mp, 1, &e)
		}
	}
}

// q8ConvMACs: NHWC, no groups; X's channels may be padded past the source's (counted: the kernel
// runs them).
func q8ConvMACs(n *graph.Node) int64 {
	x, ks, out := n.Input(0), n.Ints("kernel_shape", nil), n.Outputs[0]
	if outElems(n) < 0 || x == nil || len(x.Shape) != 4 || len(ks) != 2 || len(out.Shape) != 4 {
		return 0
	}
	return int64(out.Shape[0]*out.Shape[1]*out.Shape[2]) * n.Int(graph.AttrOutChannels, 0) * ks[0] * ks[1] * dimOf(x, 3)
}
