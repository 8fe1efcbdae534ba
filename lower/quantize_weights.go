package lower

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Precisions QuantizeWeights accepts. "" means fp32.
const (
	PrecisionFP32 = "fp32"
	PrecisionInt8 = "int8"
)

// QuantizeWeights converts the float layers with constant weights to the given precision; see
// QuantizeWeightsReleasing.
func QuantizeWeights(g *graph.Graph, precision string) error {
	var rel graph.RangeReleaser
	if r, ok := g.Backing.(graph.RangeReleaser); ok {
		rel = r
	}
	return QuantizeWeightsReleasing(g, precision, rel)
}

// QuantizeWeightsReleasing rewrites, for precision "int8", every f32 layer with constant weights into a
// quantized one (fp32 and "" leave g alone). When g carries a calibration (StoreCalibration), the
// layers it covers become statically quantized u8 NHWC ops first (QuantizeStatic); the rest become
// dynamically quantized ones:
//
//	y = Conv(x, w:const f32[M,C/g,kh,kw], b) -> y = DynQConv(x, w':const i8[packed], s:const f32[M], b)
//	y = Gemm(a, w:const, c)  (alpha=beta=1, transA=0, c absent or [N]) -> y = DynQGemm(a, w', s, c)
//	y = MatMul(a, w:const f32[K,N])                                     -> y = DynQGemm(a, w', s)
//
// Weights are quantized symmetric int8 per output channel and packed in the kernels' layout here, so
// the float tensor is read once and no longer referenced (its Value drops out of the graph). Depthwise
// convolutions stay f32 (a few MACs per weight, nothing to gain). rel, when not nil, releases each
// float tensor's pages as it is consumed, so converting a memory-mapped model streams through it.
// Fused activations carry over. Shapes must have been inferred (Optimize) first.
func QuantizeWeightsReleasing(g *graph.Graph, precision string, rel graph.RangeReleaser) error {
	switch precision {
	case "", PrecisionFP32:
		return nil
	case PrecisionInt8:
	default:
		return fmt.Errorf("lower: unknown precision %q (want fp32 or int8)", precision)
	}
	if err := quantizeStaticWith(g, Conversion{Release: rel}); err != nil {
		return err
	}
	return quantizeWeights(g, releasingInt8(rel))
}

func releasingInt8(rel graph.RangeReleaser) int8Weights {
	var release func([]byte)
	if rel != nil {
		release = rel.ReleaseRange
	}
	return int8Weights{
		conv: func(w *graph.Value, cout, k, group int) ([]byte, []float32) {
			q, s := ops.QuantizeConvWeights(w.Const.F32(), cout, k, group, release)
			return int8Bytes(q), s
		},
		gemm: func(w *graph.Value, n, k int, transB bool) ([]byte, []float32) {
			q, s := ops.QuantizeGemmWeights(w.Const.F32(), n, k, transB, release)
			return int8Bytes(q), s
		},
	}
}

// QuantizeWeightsWith is QuantizeWeightsReleasing(g, "int8", c.Release), QuantizeWeightsVirtual
// (c.Virtual) or either with the quantized weights shared through c.Memo.
func QuantizeWeightsWith(g *graph.Graph, c Conversion) error {
	if err := quantizeStaticWith(g, c); err != nil {
		return err
	}
	wts := releasingInt8(c.Release)
	if c.Virtual != nil {
		wts = virtualInt8(c.Virtual)
	}
	if c.Memo == nil {
		return quantizeWeights(g, wts)
	}
	shared := func(w *graph.Value, kind string, build func() ([]byte, []float32)) ([]byte, []float32) {
		r := c.Memo(w.Const, kind, func() [][]byte {
			q, s := build()
			return [][]byte{q, f32Bytes(s)}
		})
		return r[0], bytesF32(r[1])
	}
	return quantizeWeights(g, int8Weights{
		conv: func(w *graph.Value, cout, k, group int) ([]byte, []float32) {
			return shared(w, fmt.Sprintf("int8 conv %d k%d g%d", cout, k, group), func() ([]byte, []float32) { return wts.conv(w, cout, k, group) })
		},
		gemm: func(w *graph.Value, n, k int, transB bool) ([]byte, []float32) {
			return shared(w, fmt.Sprintf("int8 gemm %d k%d t%v", n, k, transB), func() ([]byte, []float32) { return wts.gemm(w, n, k, transB) })
		},
	})
}

func f32Bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

func bytesF32(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// QuantizeWeightsVirtual is QuantizeWeightsReleasing(g, "int8", ...) for memory estimates
// (runtime.Estimate): the same rewrite, but no weight is read or quantized: each packed int8 tensor's
// bytes come from virtual(n), e.g. a view of a reserved, never-written mapping, so the estimate sees the
// real sizes at no memory cost (the DynQ kernels' Compile only views the packing).
func QuantizeWeightsVirtual(g *graph.Graph, virtual func(n int) []byte) error {
	if err := quantizeStaticWith(g, Conversion{Virtual: virtual}); err != nil {
		return err
	}
	return quantizeWeights(g, virtualInt8(virtual))
}

func virtualInt8(virtual func(n int) []byte) int8Weights {
	return int8Weights{
		conv: func(w *graph.Value, cout, k, group int) ([]byte, []float32) {
			return virtual(group * q8.PackedALen(cout/group, k)), make([]float32, cout)
		},
		gemm: func(w *graph.Value, n, k int, transB bool) ([]byte, []float32) {
			return virtual(q8.PackedGemvLen(n, k)), make([]float32, n)
		},
	}
}

// int8Weights makes the packed int8 weights (in the DynQ kernels' layout) and per-output-channel scales
// of a layer the pass converts.
type int8Weights struct {
	conv func(w *graph.Value, cout, k, group int) (packed []byte, scales []float32)
	gemm func(w *graph.Value, n, k int, transB bool) (packed []byte, scales []float32)
}

func quantizeWeights(g *graph.Graph, wts int8Weights) error {
	for _, n := range g.Nodes {
		switch n.Op {
		case "Conv":
			quantizeConv(n, wts)
		case "Gemm", "MatMul":
			quantizeGemm(n, wts)
		}
	}
	return g.Validate()
}

func isF32Const(v *graph.Value) bool {
	return v != nil && v.Const != nil && v.DType == tensor.F32 && v.Const.DType == tensor.F32
}

func quantizeConv(n *graph.Node, wts int8Weights) {
	x, w := n.Input(0), n.Input(1)
	if x == nil || x.DType != tensor.F32 || len(x.Shape) != 4 || !isF32Const(w) || len(w.Shape) != 4 {
		return
	}
	if b := n.Input(2); b != nil && b.DType != tensor.F32 {
		return
	}
	group := int(n.Int("group", 1))
	cout, cg := w.Shape[0], w.Shape[1]
	if group < 1 || cout%group != 0 || (cg == 1 && group > 1) {
		return // depthwise (or malformed: Compile reports it) stays f32
	}
	k := cg * w.Shape[2] * w.Shape[3]
	packed, scales := wts.conv(w, cout, k, group)
	ws := []int64{int64(cout), int64(cg), int64(w.Shape[2]), int64(w.Shape[3])}
	n.Op, n.Domain = graph.OpDynQConv, graph.ExtDomain
	n.SetInts(graph.AttrWeightShape, ws)
	n.SetInts("kernel_shape", ws[2:])
	n.Inputs = []*graph.Value{x, i8Value(w.Name+"_q8", packed), f32Value(w.Name+"_scale", scales), n.Input(2)}
	if n.Inputs[3] == nil {
		n.Inputs = n.Inputs[:3]
	}
}

func quantizeGemm(n *graph.Node, wts int8Weights) {
	a, w := n.Input(0), n.Input(1)
	if a == nil || a.DType != tensor.F32 || len(a.Shape) < 1 || !isF32Const(w) || len(w.Shape) != 2 {
		return
	}
	var bias *graph.Value
	transB := false
	kk, nn := w.Shape[0], w.Shape[1]
	if n.Op == "Gemm" {
		if len(a.Shape) != 2 || n.Int("transA", 0) != 0 || n.Float("alpha", 1) != 1 {
			return
		}
		transB = n.Int("transB", 0) != 0
		if transB {
			kk, nn = nn, kk
		}
		if c := n.Input(2); c != nil {
			if n.Float("beta", 1) != 1 || c.DType != tensor.F32 || c.Shape.NumElements() != nn ||
				(len(c.Shape) == 2 && c.Shape[0] != 1) || len(c.Shape) > 2 {
				return
			}
			bias = c
		}
	} else if len(a.Shape) < 2 {
		return
	}
	if a.Shape[len(a.Shape)-1] != kk {
		return
	}
	packed, scales := wts.gemm(w, nn, kk, transB)
	act := n.Attrs
	n.Op, n.Domain = graph.OpDynQGemm, graph.ExtDomain
	n.Attrs = map[string]graph.Attr{}
	for name, at := range act {
		if strings.HasPrefix(name, graph.AttrActivation) {
			n.Attrs[name] = at
		}
	}
	n.SetInt(graph.AttrN, int64(nn))
	n.SetInt(graph.AttrK, int64(kk))
	n.Inputs = []*graph.Value{a, i8Value(w.Name+"_q8", packed), f32Value(w.Name+"_scale", scales)}
	if bias != nil {
		n.Inputs = append(n.Inputs, bias)
	}
}

func i8Value(name string, data []byte) *graph.Value {
	t := &tensor.Tensor{DType: tensor.I8, Shape: tensor.Shape{len(data)}, Data: data}
	return &graph.Value{Name: name, DType: tensor.I8, Shape: tensor.Shape{len(data)}, Const: t}
}

// f32Value wraps v (not copied: it may be shared with other graphs through a Memo).
func f32Value(name string, v []float32) *graph.Value {
	t := &tensor.Tensor{DType: tensor.F32, Shape: tensor.Shape{len(v)}, Data: f32Bytes(v)}
	return &graph.Value{Name: name, DType: tensor.F32, Shape: tensor.Shape{len(v)}, Const: t}
}

func int8Bytes(q []int8) []byte {
	if len(q) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&q[0])), len(q))
}
