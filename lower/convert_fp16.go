package lower

import (
	"fmt"
	"unsafe"

	"github.com/wanwu-ai/wanwu/graph"
	f32k "github.com/wanwu-ai/wanwu/internal/kernels/f32"
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
	return convertFP16(g, releasingFP16(rel))
}

func releasingFP16(rel graph.RangeReleaser) fp16Converter {
	var release func([]byte)
	if rel != nil {
		release = rel.ReleaseRange
	}
	return fp16Converter{
		conv: func(w *graph.Value, k, group int) ([]byte, int, bool) {
			packed, mr, ok := ops.PackConvWeightsF16(w.Const.F32(), w.Shape[0], k, group, release)
			return u16Bytes(packed), mr, ok
		},
		plain: func(w *graph.Value) ([]byte, bool) { return toF16Bytes(w, release) },
	}
}

// Memo shares what a conversion derives from a weight between graphs converted from one source graph
// (a model's programs for several batch sizes): it returns what build returned for the same src and
// kind before, else calls build and keeps its result. kind names the conversion and every parameter
// its result depends on. A nil result (the weight stays as it is) is kept too.
type Memo func(src *tensor.Tensor, kind string, build func() [][]byte) [][]byte

// Conversion says where ConvertFP16With and QuantizeWeightsWith get converted bytes.
type Conversion struct {
	// Release, when not nil, releases each source tensor's pages once it has been read.
	Release graph.RangeReleaser
	// Virtual, when not nil, makes the pass an estimate: converted bytes come from Virtual(n) (a
	// reserved, never-written mapping, say) and no weight is read.
	Virtual func(n int) []byte
	// Memo, when not nil, shares converted weights between graphs (see Memo).
	Memo Memo
}

// memoized is build through c.Memo, or build itself without one.
func (c Conversion) memoized(src *tensor.Tensor, kind string, build func() [][]byte) [][]byte {
	if c.Memo == nil {
		return build()
	}
	return c.Memo(src, kind, build)
}

// ConvertFP16With is ConvertFP16Releasing (c.Release), ConvertFP16Virtual (c.Virtual) or either with
// converted weights shared through c.Memo.
func ConvertFP16With(g *graph.Graph, c Conversion) error {
	var cv fp16Converter
	if c.Virtual != nil {
		cv = virtualFP16(c.Virtual)
	} else {
		cv = releasingFP16(c.Release)
	}
	if c.Memo == nil {
		return convertFP16(g, cv)
	}
	return convertFP16(g, fp16Converter{
		conv: func(w *graph.Value, k, group int) ([]byte, int, bool) {
			r := c.memoized(w.Const, fmt.Sprintf("fp16 PackA16 k%d g%d mr%d", k, group, f32k.MR), func() [][]byte {
				if data, mr, ok := cv.conv(w, k, group); ok && mr == f32k.MR {
					return [][]byte{data}
				}
				return nil
			})
			if r == nil {
				return nil, 0, false
			}
			return r[0], f32k.MR, true
		},
		plain: func(w *graph.Value) ([]byte, bool) {
			r := c.memoized(w.Const, "fp16", func() [][]byte {
				if data, ok := cv.plain(w); ok {
					return [][]byte{data}
				}
				return nil
			})
			if r == nil {
				return nil, false
			}
			return r[0], true
		},
	})
}

// ConvertFP16Virtual is ConvertFP16Releasing for memory estimates (runtime.Estimate): the same rewrite,
// but no weight is read or converted: each f16 tensor's bytes come from virtual(n), e.g. a view of a
// reserved, never-written mapping, so the estimate sees the real sizes (packed lengths included) at
// no memory cost. Tensors the real pass would leave f32 because a weight overflows the half range
// are converted here (they cannot be found without reading): the estimate then errs low by their size.
func ConvertFP16Virtual(g *graph.Graph, virtual func(n int) []byte) error {
	return convertFP16(g, virtualFP16(virtual))
}

func virtualFP16(virtual func(n int) []byte) fp16Converter {
	return fp16Converter{
		conv: func(w *graph.Value, k, group int) ([]byte, int, bool) {
			return virtual(2 * group * f32k.PackedALen(w.Shape[0]/group, k)), f32k.MR, true
		},
		plain: func(w *graph.Value) ([]byte, bool) { return virtual(2 * w.Shape.NumElements()), true },
	}
}

// fp16Converter makes the half-precision bytes of a Conv weight (packed for the micro-kernel, with its
// row tile) and of a Gemm/MatMul weight (plain); ok false leaves the layer f32.
type fp16Converter struct {
	conv  func(w *graph.Value, k, group int) (data []byte, mr int, ok bool)
	plain func(w *graph.Value) (data []byte, ok bool)
}

func convertFP16(g *graph.Graph, cv fp16Converter) error {
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
			convToF16(n, cv, convDone)
			continue
		}
		h, ok := done[w]
		if !ok {
			if data, conv := cv.plain(w); conv {
				h = f16Value(w.Name+"_f16", w.Shape, data)
			}
			done[w] = h
		}
		if h != nil {
			n.Inputs[1] = h
		}
	}
	if err := g.Validate(); err != nil {
		return fmt.Errorf("lower: fp16: %w", err)
	}
	return nil
}

func f16Value(name string, shape tensor.Shape, data []byte) *graph.Value {
	return &graph.Value{Name: name, DType: tensor.F16, Shape: shape.Clone(),
		Const: &tensor.Tensor{DType: tensor.F16, Shape: shape.Clone(), Data: data}}
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
func convToF16(n *graph.Node, cv fp16Converter, done map[convKey]packedF16) {
	w := n.Inputs[1]
	group := int(n.Int("group", 1))
	if group < 1 || w.Shape[0]%group != 0 || w.Shape[1]*group != n.Inputs[0].Shape[1] {
		return // malformed: Compile reports it
	}
	key := convKey{w, group}
	p, seen := done[key]
	if !seen {
		k := tensor.Shape(w.Shape[1:]).NumElements()
		if data, mr, ok := cv.conv(w, k, group); ok {
			p = packedF16{v: f16Value(w.Name+"_f16", tensor.Shape{len(data) / 2}, data), mr: mr}
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
	n.Op, n.Domain = graph.OpF16Conv, graph.ExtDomain
	n.SetInts(graph.AttrWeightShape, ws)
	n.SetInt(graph.AttrPackedMR, int64(p.mr))
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

// toF16Bytes returns w rounded to half precision, or ok false when some weight is outside the half
// range. w's data is read once, in chunks, each released after it is converted.
func toF16Bytes(w *graph.Value, release func([]byte)) (data []byte, ok bool) {
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
			return nil, false
		}
	}
	return u16Bytes(h), true
}

func u16Bytes(h []uint16) []byte {
	if len(h) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&h[0])), 2*len(h))
}
