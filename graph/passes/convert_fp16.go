package passes

import (
	"fmt"
	"unsafe"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/tensor"
)

// PrecisionFP16 stores layer weights as IEEE half precision (ConvertFP16).
const PrecisionFP16 = "fp16"

// fp16Chunk is how many weights ConvertFP16Releasing converts between two page releases (4 MiB of f32).
const fp16Chunk = 1 << 20

// ConvertFP16 converts the constant weights of f32 layers to half precision; see ConvertFP16Releasing.
func ConvertFP16(g *graph.Graph) error {
	rel, _ := g.Backing.(graph.RangeReleaser)
	return ConvertFP16Releasing(g, rel)
}

// ConvertFP16Releasing replaces the constant f32 weight of every layer whose kernel widens half
// precision as it runs by its IEEE half rounding (round to nearest even), halving the weight bytes:
//
//	y = Conv(x, w:const f32[M,C/g,kh,kw], b) (not depthwise)
//	                     -> y = F16Conv(x, w':const f16[packed], b) {weight_shape=[M,C/g,kh,kw], packed_mr=MR}
//	y = Gemm(a, w:const f32, c)                   -> y = Gemm(a, w':const f16, c)
//	y = MatMul(a, w:const f32)                    -> y = MatMul(a, w':const f16)
//
// Activations, biases and accumulation stay f32 (the kernels widen the weights with VCVTPH2PS before
// the FMAs), so only the weights' rounding (relative error ≤ 2^-11) differs from fp32. Depthwise
// convolutions keep f32 weights (a few KiB each). Conv weights go straight into the micro-kernel's
// packed layout (ops.PackConvWeightsF16), which the F16Conv kernel then uses in place: no plain f16
// copy and no repacked copy ever coexist. Magnitudes beyond the half range (65504) would
// become infinities: such a tensor is left f32. A weight shared by several layers converts once.
// rel, when not nil, releases each f32 tensor's pages chunk by chunk as it is read, so converting a
// memory-mapped model streams through the file. Shapes must have been inferred (Optimize) first.
func ConvertFP16Releasing(g *graph.Graph, rel graph.RangeReleaser) error {
	var release func([]byte)
	if rel != nil {
		release = rel.ReleaseRange
	}
	isOut := map[*graph.Value]bool{}
	for _, v := range g.Outputs {
		isOut[v] = true
	}
	done := map[*graph.Value]*graph.Value{}
	convDone := map[convKey]packedF16{}
	for _, n := range g.Nodes {
		if !fp16Layer(n) {
			continue
		}
		w := n.Inputs[1]
		if isOut[w] {
			continue
		}
		if n.Op == "Conv" {
			convToF16(n, release, convDone)
			continue
		}
		h, ok := done[w]
		if !ok {
			h = toF16Value(w, release)
			done[w] = h
		}
		if h != nil {
			n.Inputs[1] = h
		}
	}
	if err := g.Validate(); err != nil {
		return fmt.Errorf("passes: fp16: %w", err)
	}
	return nil
}

// fp16Layer reports whether n is a layer ConvertFP16Releasing converts: f32 activations and a
// constant f32 weight as input 1, which the op's kernel accepts in f16.
func fp16Layer(n *graph.Node) bool {
	x, w := n.Input(0), n.Input(1)
	if x == nil || x.DType != tensor.F32 || !isF32Const(w) {
		return false
	}
	switch n.Op {
	case "Conv":
		group := int(n.Int("group", 1))
		return len(w.Shape) >= 3 && !(group > 1 && w.Shape[1] == 1) // depthwise stays f32
	case "Gemm", "MatMul":
		return len(w.Shape) >= 1
	}
	return false
}

// convToF16 rewrites Conv n into an F16Conv whose W is rounded to half precision directly in the
// kernel's packed layout (ops.PackConvWeightsF16), so the model's weights exist once, in halves.
func convToF16(n *graph.Node, release func([]byte), done map[convKey]packedF16) {
	w := n.Inputs[1]
	group := int(n.Int("group", 1))
	if group < 1 || w.Shape[0]%group != 0 || w.Shape[1]*group != n.Inputs[0].Shape[1] {
		return // malformed: Compile reports it
	}
	key := convKey{w, group}
	p, seen := done[key]
	if !seen {
		k := tensor.Shape(w.Shape[1:]).NumElements()
		packed, mr, ok := ops.PackConvWeightsF16(w.Const.F32(), w.Shape[0], k, group, release)
		if ok {
			shape := tensor.Shape{len(packed)}
			p.v = &graph.Value{Name: w.Name + "_f16", DType: tensor.F16, Shape: shape,
				Const: &tensor.Tensor{DType: tensor.F16, Shape: shape.Clone(), Data: u16Bytes(packed)}}
			p.mr = mr
		}
		done[key] = p
	}
	if p.v == nil {
		return
	}
	ws := make([]int64, len(w.Shape))
	for i, d := range w.Shape {
		ws[i] = int64(d)
	}
	n.Op = "F16Conv"
	n.SetInts("weight_shape", ws)
	n.SetInt("packed_mr", int64(p.mr))
	n.Inputs[1] = p.v
}

// convKey identifies one packing of a Conv weight (the layout depends on the group count).
type convKey struct {
	w     *graph.Value
	group int
}

// packedF16 is a packed f16 Conv weight (nil v: not convertible) and its row tile.
type packedF16 struct {
	v  *graph.Value
	mr int
}

// toF16Value returns w rounded to half precision as a new constant Value, or nil when some weight is
// outside the half range. w's data is read once, in chunks, each released after it is converted.
func toF16Value(w *graph.Value, release func([]byte)) *graph.Value {
	src := w.Const.F32()
	h := make([]uint16, len(src))
	for lo := 0; lo < len(src); lo += fp16Chunk {
		hi := min(lo+fp16Chunk, len(src))
		tensor.F32sToF16s(h[lo:hi], src[lo:hi])
		if release != nil {
			release(w.Const.Data[4*lo : 4*hi])
		}
	}
	for _, v := range h {
		if v&0x7c00 == 0x7c00 && v&0x3ff == 0 { // ±Inf: a finite f32 weight overflowed the half range
			return nil
		}
	}
	t := &tensor.Tensor{DType: tensor.F16, Shape: w.Shape.Clone(), Data: u16Bytes(h)}
	return &graph.Value{Name: w.Name + "_f16", DType: tensor.F16, Shape: w.Shape.Clone(), Const: t}
}

func u16Bytes(h []uint16) []byte {
	if len(h) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&h[0])), 2*len(h))
}
