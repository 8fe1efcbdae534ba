package ops

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/tensor"
)

// F16Conv is a Conv whose W is a constant already packed in half precision by
// lower.ConvertFP16Releasing (PackConvWeightsF16): input 1 is f16[n] in the PackedA16 layout for
// the row tile in attribute packed_mr, one block per group; weight_shape is W's ONNX shape. Every
// other attribute and input is Conv's. The kernel runs straight on that memory (no second copy).

func init() {
	RegisterIn(graph.ExtDomain, graph.OpF16Conv, &Def{Infer: inferF16Conv, Compile: compileF16Conv,
		CompileWith: compileF16ConvWith, MACs: loweredConvMACs})
}

// f16ConvAsConv returns a Conv node equivalent to n for shape inference and compilation, and the
// packed halves.
func f16ConvAsConv(n *graph.Node) (*graph.Node, *tensor.Tensor, int, error) {
	ws, w := n.Ints(graph.AttrWeightShape, nil), n.Input(1)
	mr := int(n.Int(graph.AttrPackedMR, 0))
	if len(ws) < 3 || w == nil || w.DType != tensor.F16 || !w.IsConst() || mr < 1 {
		return nil, nil, 0, fmt.Errorf("ops: node %q (F16Conv): needs a constant f16 W, weight_shape and packed_mr", n.Name)
	}
	c := *n
	c.Op, c.Domain = "Conv", ""
	c.Inputs = append([]*graph.Value(nil), n.Inputs...)
	shape := make(tensor.Shape, len(ws))
	for i, d := range ws {
		shape[i] = int(d)
	}
	c.Inputs[1] = &graph.Value{Name: w.Name, DType: tensor.F16, Shape: shape}
	return &c, w.Const, mr, nil
}

func inferF16Conv(n *graph.Node) error {
	c, _, _, err := f16ConvAsConv(n)
	if err != nil {
		return err
	}
	return inferConv(c)
}

func compileF16Conv(n *graph.Node) (Kernel, error) {
	return compileF16ConvWith(n, CompileOptions{Winograd: true})
}

func compileF16ConvWith(n *graph.Node, o CompileOptions) (Kernel, error) {
	c, pre, mr, err := f16ConvAsConv(n)
	if err != nil {
		return nil, err
	}
	ws := c.Inputs[1].Shape
	groups := int(n.Int("group", 1))
	if groups < 1 || ws[0]%groups != 0 || (groups > 1 && ws[1] == 1) {
		return nil, fmt.Errorf("ops: node %q (F16Conv): weight_shape %s and group %d are not a packed (non-depthwise) convolution", n.Name, ws, groups)
	}
	kk := tensor.Shape(ws[1:]).NumElements()
	if want := groups * f32.RoundUp(ws[0]/groups, mr) * kk; len(pre.F16()) != want {
		return nil, fmt.Errorf("ops: node %q (F16Conv): W has %d halves, want %d", n.Name, len(pre.F16()), want)
	}
	return compileConvPacked(c, pre, mr, o)
}

// PackConvWeightsF16 rounds a Conv weight w (cout rows of k = Cin/group·kh·kw values; group blocks of
// cout/group rows) to half precision straight into the PackedA16 layout of the current micro-kernel,
// one block per group, concatenated, for F16Conv; mr is that layout's row tile. release, when not nil,
// is called on each ~4 MiB of w once it has been read. ok is false (and packed nil) when a weight
// overflows the half range.
func PackConvWeightsF16(w []float32, cout, k, group int, release func([]byte)) (packed []uint16, mr int, ok bool) {
	mg := cout / group
	glen := f32.PackedALen(mg, k)
	packed = make([]uint16, group*glen)
	ok = true
	done := 0
	for oc := 0; oc < cout; oc++ {
		if !f32.PackRowA16(packed[oc/mg*glen:(oc/mg+1)*glen], mg, k, oc%mg, w[oc*k:(oc+1)*k]) {
			ok = false
		}
		if release != nil && ((oc+1)*k*4-done >= releaseChunk || oc == cout-1) {
			release(f32Bytes(w[done/4 : (oc+1)*k]))
			done = (oc + 1) * k * 4
		}
	}
	if !ok {
		return nil, 0, false
	}
	return packed, f32.MR, true
}

// loweredConvMACs counts an F16Conv or DynQConv, whose weight input lost its shape to packing: the
// f32 shape is in AttrWeightShape.
func loweredConvMACs(n *graph.Node) int64 {
	if pooledConv(n) {
		if c, _, _, err := f16ConvAsConv(n); err == nil {
			return pooledConvMACs(c, c.Inputs[1])
		}
		return 0
	}
	outN, ws := outElems(n), n.Ints(graph.AttrWeightShape, nil)
	if outN < 0 || len(ws) < 2 {
		return 0
	}
	k := int64(1)
	for _, d := range ws[1:] {
		k *= d
	}
	return outN * k
}
