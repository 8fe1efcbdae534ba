package passes

import (
	"fmt"
	"unsafe"

	"github.com/wanwu-ai/wanwu/graph"
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
//	y = Conv(x, w:const f32, b)   (not depthwise) -> y = Conv(x, w':const f16, b)
//	y = Gemm(a, w:const f32, c)                   -> y = Gemm(a, w':const f16, c)
//	y = MatMul(a, w:const f32)                    -> y = MatMul(a, w':const f16)
//
// Activations, biases and accumulation stay f32 (the kernels widen the weights with VCVTPH2PS before
// the FMAs), so only the weights' rounding (relative error ≤ 2^-11) differs from fp32. Depthwise
// convolutions keep f32 weights (a few KiB each). Magnitudes beyond the half range (65504) would
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
	for _, n := range g.Nodes {
		if !fp16Layer(n) {
			continue
		}
		w := n.Inputs[1]
		if isOut[w] {
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
