package ops

// DynQGemm is a fully connected layer computed in int8 with dynamic activation quantization (graph/passes
// QuantizeWeights creates it from Gemm, or MatMul with a constant 2-D B):
//
//	inputs:  A f32 [..., K], W i8 const in q8.PackGemv layout, S f32[N] weight scales, B f32[N] bias
//	         (optional)
//	attrs:   n = N, k = K, fused activation
//	output:  f32 [..., N]: Y = sa·S[j]·(acc - zp·Σw_j) + B[j]
//
// A is quantized per tensor (u8, min/max of this run); every row of A is a GEMV over the packed
// weights, split across threads by column groups, so a 54k-class head streams its int8 weights once.

import (
	"fmt"
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/tensor"
)

func init() {
	RegisterIn(graph.ExtDomain, graph.OpDynQGemm, &Def{Infer: inferDynQGemm, MACs: dynqGemmMACs,
		Compile:     func(n *graph.Node) (Kernel, error) { return compileDynQGemm(n, CompileOptions{}) },
		CompileWith: compileDynQGemm})
}

func inferDynQGemm(n *graph.Node) error {
	a := n.Input(0)
	if a == nil || n.Input(1) == nil || n.Input(2) == nil || len(n.Outputs) < 1 || n.Outputs[0] == nil {
		return fmt.Errorf("ops: node %q (DynQGemm): needs A, W, S and one output", n.Name)
	}
	nn, kk := int(n.Int(graph.AttrN, 0)), int(n.Int(graph.AttrK, 0))
	if nn <= 0 || kk <= 0 {
		return fmt.Errorf("ops: node %q (DynQGemm): attributes n=%d k=%d must be positive", n.Name, nn, kk)
	}
	n.Outputs[0].DType = tensor.F32
	if a.Shape == nil {
		n.Outputs[0].Shape = nil
		return nil
	}
	if len(a.Shape) < 1 || (a.Shape[len(a.Shape)-1] >= 0 && a.Shape[len(a.Shape)-1] != kk) {
		return fmt.Errorf("ops: node %q (DynQGemm): A %s does not end in k=%d", n.Name, a.Shape, kk)
	}
	out := a.Shape.Clone()
	out[len(out)-1] = nn
	n.Outputs[0].Shape = out
	return nil
}

type dynqGemmKernel struct {
	n, k, rows int
	groups     int
	w          []int8
	wscale     []float32
	wsum       []int32
	act        Activation
	clamp      bool
	lo, hi     float32
	xlen       int
	mm         [][2]float32

	phase   int
	a, y    []float32
	bias    []float32
	xq      []uint8
	acc     []int32
	s, off  []float32
	inv     float32
	zp      uint8
	chunks  int
	row     int
	scale   float32
	spanLen int
}

// compileDynQGemm compiles n; the weight's column sums come from o.Weights (nil: computed here), so programs
// sharing a store, and a compiled model file, compute them once.
func compileDynQGemm(n *graph.Node, o CompileOptions) (Kernel, error) {
	if err := inferDynQGemm(n); err != nil {
		return nil, err
	}
	a, w, sc := n.Input(0), n.Input(1), n.Input(2)
	if a.DType != tensor.F32 || !a.Shape.Known() {
		return nil, fmt.Errorf("ops: node %q (DynQGemm): A must be f32 with a known shape", n.Name)
	}
	k := &dynqGemmKernel{n: int(n.Int(graph.AttrN, 0)), k: int(n.Int(graph.AttrK, 0))}
	k.rows = a.Shape.NumElements() / k.k
	k.groups = (k.n + q8.GV - 1) / q8.GV
	if !w.IsConst() || w.DType != tensor.I8 || len(w.Const.Data) != q8.PackedGemvLen(k.n, k.k) {
		return nil, fmt.Errorf("ops: node %q (DynQGemm): W must be a constant i8 packing of %d bytes", n.Name, q8.PackedGemvLen(k.n, k.k))
	}
	if !sc.IsConst() || sc.DType != tensor.F32 || sc.Const.NumElements() != k.n {
		return nil, fmt.Errorf("ops: node %q (DynQGemm): S must be constant f32[%d]", n.Name, k.n)
	}
	if b := n.Input(3); b != nil && (b.DType != tensor.F32 || b.Shape.NumElements() != k.n) {
		return nil, fmt.Errorf("ops: node %q (DynQGemm): bias %s%s, want f32[%d]", n.Name, b.DType, b.Shape, k.n)
	}
	var err error
	if k.act, err = ActivationOf(n); err != nil {
		return nil, err
	}
	k.clamp, k.lo, k.hi = k.act.ClampBounds()
	if !k.clamp {
		k.lo, k.hi = float32(math.Inf(-1)), float32(math.Inf(1))
	}
	k.w, k.wscale = w.Const.I8(), sc.Const.F32()
	k.wsum = bytesAsI32(packedWeights(o, w.Const, fmt.Sprintf("q8.GemvSums %dx%d", k.n, k.k), 4*k.n, func(dst []byte) {
		q8.GemvSums(bytesAsI32(dst), k.w, k.n, k.k)
	}))
	k.s, k.off = make([]float32, k.n), make([]float32, k.n)
	k.xlen = q8.RoundUp(q8.GemvXLen(k.k), 64)
	k.mm = make([][2]float32, 64)
	return k, nil
}

func (k *dynqGemmKernel) ScratchBytes() int { return k.xlen + k.groups*q8.GV*4 }

func (k *dynqGemmKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.a, k.y = in[0].F32(), out[0].F32()
	k.bias = nil
	if len(in) > 3 && in[3] != nil {
		k.bias = in[3].F32()
	}
	k.acc = bytesAsI32(ctx.Scratch[:k.groups*q8.GV*4])
	k.xq = ctx.Scratch[k.groups*q8.GV*4 : k.groups*q8.GV*4+k.xlen]
	k.chunks = min(dynqChunks(len(k.a)), len(k.mm))
	k.phase = 1
	ctx.Pool.For(k.chunks, 1, k)
	lo, hi := k.mm[0][0], k.mm[0][1]
	for _, m := range k.mm[1:k.chunks] {
		lo, hi = min(lo, m[0]), max(hi, m[1])
	}
	scale, zp := q8.Params(lo, hi)
	k.inv, k.zp, k.scale = 1/scale, zp, scale
	k.phase = 2
	ctx.Pool.For(k.n, 4096, k) // per-output dequantization constants
	clear(k.xq[k.k:])
	k.phase = 3
	for r := 0; r < k.rows; r++ {
		k.row = r
		q8.Quantize(k.xq[:k.k], k.a[r*k.k:(r+1)*k.k], k.inv, k.zp)
		ctx.Pool.For(k.groups, 4, k)
	}
	return nil
}

func (k *dynqGemmKernel) Do(lo, hi int) {
	switch k.phase {
	case 1:
		for c := lo; c < hi; c++ {
			a, b := c*len(k.a)/k.chunks, (c+1)*len(k.a)/k.chunks
			k.mm[c][0], k.mm[c][1] = q8.MinMax(k.a[a:b])
		}
	case 2:
		for j := lo; j < hi; j++ {
			s := float64(k.scale) * float64(k.wscale[j])
			off := -s * float64(k.zp) * float64(k.wsum[j])
			if k.bias != nil {
				off += float64(k.bias[j])
			}
			k.s[j], k.off[j] = float32(s), float32(off)
		}
	case 3:
		acc := k.acc[lo*q8.GV : hi*q8.GV]
		q8.Gemv(acc, k.xq, k.w, k.k, lo, hi)
		j0, j1 := lo*q8.GV, min(hi*q8.GV, k.n)
		y := k.y[k.row*k.n+j0 : k.row*k.n+j1]
		q8.DequantVec(y, acc, k.s[j0:j1], k.off[j0:j1], k.lo, k.hi)
		if !k.clamp && k.act.Kind != ActNone {
			k.act.Apply(y)
		}
	}
}

func dynqGemmMACs(n *graph.Node) int64 {
	outN := outElems(n)
	if outN < 0 {
		return 0
	}
	return outN * n.Int(graph.AttrK, 0)
}
