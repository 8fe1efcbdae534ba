package tflite

import (
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/wanwu-ai/wanwu/graph"
	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
	"github.com/wanwu-ai/wanwu/tensor"
)

// opc is one TFLite operator being converted.
type opc struct {
	op   *fb.Operator
	in   []*tinfo // nil where the optional input is absent (index -1)
	out  []*tinfo
	opts flatbuffers.Table
	hasO bool
}

type converter func(b *builder, o *opc) error

var converters map[fb.BuiltinOperator]converter

func init() {
	converters = map[fb.BuiltinOperator]converter{
		fb.BuiltinOperatorCONV_2D:                      convConv,
		fb.BuiltinOperatorDEPTHWISE_CONV_2D:            convConv,
		fb.BuiltinOperatorFULLY_CONNECTED:              convFC,
		fb.BuiltinOperatorAVERAGE_POOL_2D:              convPool,
		fb.BuiltinOperatorMAX_POOL_2D:                  convPool,
		fb.BuiltinOperatorMEAN:                         convReduce,
		fb.BuiltinOperatorADD:                          convBinary,
		fb.BuiltinOperatorMUL:                          convBinary,
		fb.BuiltinOperatorPAD:                          convPad,
		fb.BuiltinOperatorRESHAPE:                      convReshape,
		fb.BuiltinOperatorSQUEEZE:                      convSqueeze,
		fb.BuiltinOperatorCONCATENATION:                convConcat,
		fb.BuiltinOperatorSOFTMAX:                      convSoftmax,
		fb.BuiltinOperatorLOGISTIC:                     convUnary,
		fb.BuiltinOperatorHARD_SWISH:                   convUnary,
		fb.BuiltinOperatorRELU:                         convUnary,
		fb.BuiltinOperatorRELU6:                        convUnary,
		fb.BuiltinOperatorQUANTIZE:                     convQuantize,
		fb.BuiltinOperatorDEQUANTIZE:                   convDequantize,
		fb.BuiltinOperatorDENSIFY:                      convDensify,
		fb.BuiltinOperatorSUB:                          convBinary,
		fb.BuiltinOperatorDIV:                          convBinary,
		fb.BuiltinOperatorPRELU:                        convBinary,
		fb.BuiltinOperatorGREATER_EQUAL:                convBinary,
		fb.BuiltinOperatorLESS:                         convBinary,
		fb.BuiltinOperatorNEG:                          convUnary,
		fb.BuiltinOperatorABS:                          convUnary,
		fb.BuiltinOperatorEXP:                          convUnary,
		fb.BuiltinOperatorTANH:                         convUnary,
		fb.BuiltinOperatorLEAKY_RELU:                   convUnary,
		fb.BuiltinOperatorCAST:                         convCast,
		fb.BuiltinOperatorSUM:                          convReduce,
		fb.BuiltinOperatorREDUCE_MAX:                   convReduce,
		fb.BuiltinOperatorSTRIDED_SLICE:                convStridedSlice,
		fb.BuiltinOperatorDEPTH_TO_SPACE:               convDepthSpace,
		fb.BuiltinOperatorSPACE_TO_DEPTH:               convDepthSpace,
		fb.BuiltinOperatorRESIZE_BILINEAR:              convResize,
		fb.BuiltinOperatorRESIZE_NEAREST_NEIGHBOR:      convResize,
		fb.BuiltinOperatorTRANSPOSE_CONV:               convTransposeConv,
		fb.BuiltinOperatorCUSTOM:                       convCustom,
		fb.BuiltinOperatorMAXIMUM:                      convBinary,
		fb.BuiltinOperatorMINIMUM:                      convBinary,
		fb.BuiltinOperatorPOW:                          convBinary,
		fb.BuiltinOperatorSQUARED_DIFFERENCE:           convBinary,
		fb.BuiltinOperatorGREATER:                      convBinary,
		fb.BuiltinOperatorLESS_EQUAL:                   convBinary,
		fb.BuiltinOperatorEQUAL:                        convBinary,
		fb.BuiltinOperatorRELU_N1_TO_1:                 convUnary,
		fb.BuiltinOperatorRELU_0_TO_1:                  convUnary,
		fb.BuiltinOperatorSQRT:                         convUnary,
		fb.BuiltinOperatorRSQRT:                        convUnary,
		fb.BuiltinOperatorSQUARE:                       convUnary,
		fb.BuiltinOperatorLOG:                          convUnary,
		fb.BuiltinOperatorFLOOR:                        convUnary,
		fb.BuiltinOperatorCEIL:                         convUnary,
		fb.BuiltinOperatorELU:                          convUnary,
		fb.BuiltinOperatorGELU:                         convUnary,
		fb.BuiltinOperatorSIN:                          convUnary,
		fb.BuiltinOperatorCOS:                          convUnary,
		fb.BuiltinOperatorLOCAL_RESPONSE_NORMALIZATION: convUnary,
		fb.BuiltinOperatorEXPAND_DIMS:                  convReshape,
		fb.BuiltinOperatorTRANSPOSE:                    convTranspose,
		fb.BuiltinOperatorARG_MAX:                      convArgMax,
		fb.BuiltinOperatorARG_MIN:                      convArgMax,
		fb.BuiltinOperatorPADV2:                        convPad,
		fb.BuiltinOperatorMIRROR_PAD:                   convPad,
		fb.BuiltinOperatorSLICE:                        convSlice,
		fb.BuiltinOperatorSPLIT:                        convSplit,
		fb.BuiltinOperatorSPLIT_V:                      convSplit,
	}
}

func (b *builder) convert(idx int, op *fb.Operator) error {
	code, _ := b.builtin(op)
	if op.OutputsLength() == 1 && b.folded[op.Outputs(0)] != nil {
		return nil // computed at import (fold.go)
	}
	o := &opc{op: op}
	for i := 0; i < op.InputsLength(); i++ {
		ti := op.Inputs(i)
		if ti < 0 {
			o.in = append(o.in, nil)
			continue
		}
		t, err := b.tensor(ti)
		if err != nil {
			return err
		}
		o.in = append(o.in, t)
	}
	for i := 0; i < op.OutputsLength(); i++ {
		t, err := b.tensor(op.Outputs(i))
		if err != nil {
			return err
		}
		o.out = append(o.out, t)
	}
	if len(o.in) == 0 || o.in[0] == nil || len(o.out) == 0 {
		return fmt.Errorf("operator without input or output")
	}
	o.hasO = op.BuiltinOptions(&o.opts)
	return converters[code](b, o)
}

// opts initialises a typed options table (zero values when the operator has none).
func opts[T any, P interface {
	*T
	Init([]byte, flatbuffers.UOffsetT)
}](o *opc) *T {
	var t T
	if o.hasO {
		P(&t).Init(o.opts.Bytes, o.opts.Pos)
	} else {
		// Defaults from the schema: an empty table reads as all defaults.
		P(&t).Init(emptyTable, flatbuffers.UOffsetT(flatbuffers.GetUOffsetT(emptyTable)))
	}
	return &t
}

// emptyTable is a flatbuffer holding one table with no fields, so option accessors return defaults.
var emptyTable = func() []byte {
	bl := flatbuffers.NewBuilder(16)
	bl.StartObject(0)
	bl.Finish(bl.EndObject())
	return bl.FinishedBytes()
}()

func (b *builder) in(o *opc, i int) (*graph.Value, error) {
	if i >= len(o.in) || o.in[i] == nil {
		return nil, fmt.Errorf("missing input %d", i)
	}
	return b.value(o.in[i].ti)
}

// quantized reports whether the operator runs on quantized activations.
func quantized(o *opc) bool { return o.in[0].quantized() && o.in[0].dt != tensor.I32 }

// act records a fused activation: on the node itself when it takes one, else as a following node.
func (b *builder) fusedAct(n *graph.Node, f fb.ActivationFunctionType, onNode bool) error {
	var kind string
	var lo, hi float32
	switch f {
	case fb.ActivationFunctionTypeNONE:
		return nil
	case fb.ActivationFunctionTypeRELU:
		kind = "Relu"
	case fb.ActivationFunctionTypeRELU6:
		kind, lo, hi = "Clip", 0, 6
	case fb.ActivationFunctionTypeRELU_N1_TO_1:
		kind, lo, hi = "Clip", -1, 1
	default:
		return fmt.Errorf("fused activation %s not supported", fb.EnumNamesActivationFunctionType[f])
	}
	if onNode {
		n.SetStr(graph.AttrActivation, kind)
		if kind == "Clip" {
			n.SetFloat(graph.AttrActivationMin, lo)
			n.SetFloat(graph.AttrActivationMax, hi)
		}
		return nil
	}
	// Float op without fused-activation support: append Relu/Clip on its output.
	y := n.Outputs[0]
	pre := &graph.Value{Name: b.name(y.Name + "_preact"), DType: y.DType, Shape: y.Shape.Clone()}
	n.Outputs[0] = pre
	if kind == "Relu" {
		b.node("Relu", []*graph.Value{pre}, y)
	} else {
		b.node("Clip", []*graph.Value{pre, b.f32Const(lo), b.f32Const(hi)}, y)
	}
	return nil
}

func (b *builder) f32Const(f float32) *graph.Value {
	return &graph.Value{Name: b.name("c"), DType: tensor.F32, Shape: tensor.Shape{}, Const: tensor.FromF32(tensor.Shape{}, []float32{f})}
}

// pads computes explicit [top, left, bottom, right] pads for TFLite SAME/VALID.
func pads(p fb.Padding, in, k, stride, dil int) (int, int, error) {
	if p == fb.PaddingVALID {
		return 0, 0, nil
	}
	if in < 0 {
		return 0, 0, fmt.Errorf("SAME padding needs a known spatial size")
	}
	out := (in + stride - 1) / stride
	total := max(0, (out-1)*stride+(k-1)*dil+1-in)
	return total / 2, total - total/2, nil
}

func convConv(b *builder, o *opc) error {
	x, err := b.in(o, 0)
	if err != nil {
		return err
	}
	wt := o.in[1]
	if wt == nil || wt.data == nil || len(wt.shape) != 4 {
		return fmt.Errorf("filter must be a constant 4-D tensor")
	}
	xt := o.in[0]
	if len(xt.shape) != 4 {
		return fmt.Errorf("input must be 4-D, got %s", xt.shape)
	}
	var padding fb.Padding
	var sh, sw, dh, dw int
	var act fb.ActivationFunctionType
	var wData []byte
	var wShape tensor.Shape
	group := 1
	code, _ := b.builtin(o.op)
	if code == fb.BuiltinOperatorCONV_2D {
		op := opts[fb.Conv2DOptions](o)
		padding, sh, sw, dh, dw, act = op.Padding(), int(op.StrideH()), int(op.StrideW()), int(op.DilationHFactor()), int(op.DilationWFactor()), op.FusedActivationFunction()
		// OHWI -> OIHW
		wData = permute(wt.data, wt.dt.Size(), wt.shape, []int{0, 3, 1, 2})
		wShape = tensor.Shape{wt.shape[0], wt.shape[3], wt.shape[1], wt.shape[2]}
		// Grouped convolution: the filter holds the in-channels of one group (TFLite >= 2.9).
		if c, ic := xt.shape[3], wt.shape[3]; c > 0 {
			if ic < 1 || c%ic != 0 || wt.shape[0]%(c/ic) != 0 {
				return fmt.Errorf("filter %s does not fit input %s (in-channels must divide evenly into groups)", wt.shape, xt.shape)
			}
			group = c / ic
		}
	} else {
		op := opts[fb.DepthwiseConv2DOptions](o)
		padding, sh, sw, dh, dw, act = op.Padding(), int(op.StrideH()), int(op.StrideW()), int(op.DilationHFactor()), int(op.DilationWFactor()), op.FusedActivationFunction()
		// [1,H,W,C*M] -> [C*M,1,H,W], one group per input channel.
		wData = permute(wt.data, wt.dt.Size(), wt.shape, []int{3, 0, 1, 2})
		wShape = tensor.Shape{wt.shape[3], 1, wt.shape[1], wt.shape[2]}
		group = xt.shape[3]
		if group < 1 || wt.shape[0] != 1 || wt.shape[3]%group != 0 {
			return fmt.Errorf("depthwise filter %s does not fit input %s", wt.shape, xt.shape)
		}
	}
	if sh < 1 || sw < 1 {
		return fmt.Errorf("stride %dx%d must be positive", sh, sw)
	}
	dh, dw = max(dh, 1), max(dw, 1)
	pt, pb, err := pads(padding, xt.shape[1], wShape[2], sh, dh)
	if err != nil {
		return err
	}
	pl, pr, err := pads(padding, xt.shape[2], wShape[3], sw, dw)
	if err != nil {
		return err
	}
	y := b.newAct(o.out[0])
	var n *graph.Node
	w := b.constant(wt.name, wt.dt, wShape, wData)
	var bias *graph.Value
	if len(o.in) > 2 && o.in[2] != nil {
		if bias, err = b.value(o.in[2].ti); err != nil {
			return err
		}
	}
	if quantized(o) {
		if bias != nil && bias.DType != tensor.I32 {
			return fmt.Errorf("quantized bias must be int32, got %s", bias.DType)
		}
		xs, xz := b.qparams(xt)
		ws, wz := b.qparams(wt)
		ys, yz := b.qparams(o.out[0])
		n = b.node("QLinearConv", []*graph.Value{x, xs, xz, w, ws, wz, ys, yz, bias}, y)
		n.SetStr(graph.AttrRounding, graph.RoundingTFLite)
	} else {
		ins := []*graph.Value{x, w}
		if bias != nil {
			ins = append(ins, bias)
		}
		n = b.node("Conv", ins, y)
	}
	n.SetInts("kernel_shape", []int64{int64(wShape[2]), int64(wShape[3])})
	n.SetInts("strides", []int64{int64(sh), int64(sw)})
	n.SetInts("dilations", []int64{int64(dh), int64(dw)})
	n.SetInts("pads", []int64{int64(pt), int64(pl), int64(pb), int64(pr)})
	n.SetInt("group", int64(group))
	return b.fusedAct(n, act, true)
}

// flatNHWC returns v laid out in TFLite's element order: 4-D NCHW values whose spatial dims are not
// all 1 are transposed back to NHWC so a reshape/flatten sees the same element order as in TFLite.
func (b *builder) flatNHWC(v *graph.Value, t *tinfo) *graph.Value {
	if len(t.shape) != 4 || t.data != nil || (t.shape[1] == 1 && t.shape[2] == 1) {
		return v
	}
	out := &graph.Value{Name: b.name(v.Name + "_nhwc"), DType: v.DType, Shape: t.shape.Clone()}
	n := b.node("Transpose", []*graph.Value{v}, out)
	n.SetInts("perm", []int64{0, 2, 3, 1})
	return out
}

// reshapeTo emits a Reshape of v (already in TFLite element order) to the TFLite shape of out,
// followed by a Transpose to NCHW when the result is 4-D with non-trivial spatial dims.
func (b *builder) reshapeTo(v *graph.Value, out *tinfo) {
	shape := out.shape
	if len(shape) == 4 && !(shape[1] == 1 && shape[2] == 1) {
		mid := &graph.Value{Name: b.name(out.name + "_nhwc"), DType: v.DType, Shape: shape.Clone()}
		b.reshapeNode(v, mid, shape)
		y := b.newAct(out)
		n := b.node("Transpose", []*graph.Value{mid}, y)
		n.SetInts("perm", []int64{0, 3, 1, 2})
		return
	}
	y := b.newAct(out)
	b.reshapeNode(v, y, nchw(shape))
}

func (b *builder) reshapeNode(v, y *graph.Value, shape tensor.Shape) {
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	y.DType = v.DType
	b.node("Reshape", []*graph.Value{v, b.i64Const("shape", dims)}, y)
}

func convFC(b *builder, o *opc) error {
	x, err := b.in(o, 0)
	if err != nil {
		return err
	}
	wt := o.in[1]
	if wt == nil || wt.data == nil || len(wt.shape) != 2 {
		return fmt.Errorf("weights must be a constant 2-D tensor")
	}
	op := opts[fb.FullyConnectedOptions](o)
	if op.WeightsFormat() != fb.FullyConnectedOptionsWeightsFormatDEFAULT {
		return fmt.Errorf("shuffled weights format not supported")
	}
	nOut, k := wt.shape[0], wt.shape[1]
	xt := o.in[0]
	x = b.flatNHWC(x, xt)
	rows := -1
	if xt.shape.Known() {
		rows = xt.shape.NumElements() / k
	}
	x2 := &graph.Value{Name: b.name(xt.name + "_2d"), DType: x.DType, Shape: tensor.Shape{rows, k}}
	b.reshapeNode(x, x2, tensor.Shape{-1, k})
	var bias *graph.Value
	if len(o.in) > 2 && o.in[2] != nil {
		if bias, err = b.value(o.in[2].ti); err != nil {
			return err
		}
	}
	outT := o.out[0]
	y2 := &graph.Value{Name: b.name(outT.name + "_2d"), DType: actType(outT), Shape: tensor.Shape{rows, nOut}}
	var n *graph.Node
	if quantized(o) {
		// QLinearMatMul wants b as [K, N]: transpose the [N, K] weights once here.
		wT := b.constant(wt.name, wt.dt, tensor.Shape{k, nOut}, permute(wt.data, wt.dt.Size(), wt.shape, []int{1, 0}))
		xs, xz := b.qparams(xt)
		ws, wz := b.qparams(wt)
		ys, yz := b.qparams(outT)
		ins := []*graph.Value{x2, xs, xz, wT, ws, wz, ys, yz}
		if bias != nil {
			ins = append(ins, bias)
		}
		n = b.node("QLinearMatMul", ins, y2)
		n.SetStr(graph.AttrRounding, graph.RoundingTFLite)
	} else {
		w := b.constant(wt.name, wt.dt, wt.shape, wt.data)
		ins := []*graph.Value{x2, w}
		if bias != nil {
			ins = append(ins, bias)
		}
		n = b.node("Gemm", ins, y2)
		n.SetInt("transB", 1)
	}
	if err := b.fusedAct(n, op.FusedActivationFunction(), true); err != nil {
		return err
	}
	if len(outT.shape) == 2 {
		b.vals[outT.ti] = y2
		y2.Name = b.name(outT.name)
		return nil
	}
	b.reshapeTo(y2, outT)
	return nil
}

func convPool(b *builder, o *opc) error {
	x, err := b.in(o, 0)
	if err != nil {
		return err
	}
	xt := o.in[0]
	if len(xt.shape) != 4 {
		return fmt.Errorf("input must be 4-D")
	}
	op := opts[fb.Pool2DOptions](o)
	kh, kw, sh, sw := int(op.FilterHeight()), int(op.FilterWidth()), int(op.StrideH()), int(op.StrideW())
	if kh < 1 || kw < 1 || sh < 1 || sw < 1 {
		return fmt.Errorf("filter %dx%d / stride %dx%d must be positive", kh, kw, sh, sw)
	}
	pt, pb, err := pads(op.Padding(), xt.shape[1], kh, sh, 1)
	if err != nil {
		return err
	}
	pl, pr, err := pads(op.Padding(), xt.shape[2], kw, sw, 1)
	if err != nil {
		return err
	}
	y := b.newAct(o.out[0])
	code, _ := b.builtin(o.op)
	avg := code == fb.BuiltinOperatorAVERAGE_POOL_2D
	var n *graph.Node
	onNode := false
	switch {
	case avg && quantized(o):
		xs, xz := b.qparams(xt)
		ys, yz := b.qparams(o.out[0])
		n = b.node("QLinearAveragePool", []*graph.Value{x, xs, xz, ys, yz}, y)
		n.SetStr(graph.AttrRounding, graph.RoundingTFLite)
		onNode = true
	case avg:
		n = b.node("AveragePool", []*graph.Value{x}, y)
	default:
		n = b.node("MaxPool", []*graph.Value{x}, y)
		if quantized(o) && op.FusedActivationFunction() != fb.ActivationFunctionTypeNONE {
			return fmt.Errorf("fused activation on quantized MAX_POOL_2D not supported")
		}
	}
	n.SetInts("kernel_shape", []int64{int64(kh), int64(kw)})
	n.SetInts("strides", []int64{int64(sh), int64(sw)})
	n.SetInts("pads", []int64{int64(pt), int64(pl), int64(pb), int64(pr)})
	if avg {
		n.SetInt("count_include_pad", 0)
	}
	return b.fusedAct(n, op.FusedActivationFunction(), onNode)
}

// axisNCHW maps an NHWC axis of a 4-D tensor to NCHW.
func axisNCHW(a, rank int) int {
	if a < 0 {
		a += rank
	}
	if rank != 4 {
		return a
	}
	return [4]int{0, 2, 3, 1}[a]
}

func constAxes(t *tinfo) ([]int, error) {
	if t == nil || t.data == nil {
		return nil, fmt.Errorf("axes must be a constant")
	}
	var out []int
	switch t.dt {
	case tensor.I32:
		for i := 0; i < t.shape.NumElements(); i++ {
			out = append(out, int(int32(leU32(t.data[4*i:]))))
		}
	case tensor.I64:
		for i := 0; i < t.shape.NumElements(); i++ {
			out = append(out, int(int64(leU64(t.data[8*i:]))))
		}
	default:
		return nil, fmt.Errorf("axes dtype %s", t.dt)
	}
	return out, nil
}

func leU32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
func leU64(b []byte) uint64 { return uint64(leU32(b)) | uint64(leU32(b[4:]))<<32 }

func convReshape(b *builder, o *opc) error {
	x, err := b.in(o, 0)
	if err != nil {
		return err
	}
	out := o.out[0]
	if !out.shape.Known() {
		return fmt.Errorf("output shape %s must be static", out.shape)
	}
	b.reshapeTo(b.flatNHWC(x, o.in[0]), out)
	return nil
}

func convSqueeze(b *builder, o *opc) error { return convReshape(b, o) }

func convConcat(b *builder, o *opc) error {
	op := opts[fb.ConcatenationOptions](o)
	rank := len(o.out[0].shape)
	axis := int(op.Axis())
	if axis < -rank || axis >= rank {
		return fmt.Errorf("axis %d out of range", axis)
	}
	axis = axisNCHW(axis, rank)
	y := b.newAct(o.out[0])
	var n *graph.Node
	if quantized(o) {
		ys, yz := b.qparams(o.out[0])
		ins := []*graph.Value{ys, yz}
		for _, t := range o.in {
			v, err := b.value(t.ti)
			if err != nil {
				return err
			}
			s, z := b.qparams(t)
			ins = append(ins, v, s, z)
		}
		n = b.node("QLinearConcat", ins, y)
		n.SetStr(graph.AttrRounding, graph.RoundingTFLite)
	} else {
		var ins []*graph.Value
		for _, t := range o.in {
			v, err := b.value(t.ti)
			if err != nil {
				return err
			}
			ins = append(ins, v)
		}
		n = b.node("Concat", ins, y)
	}
	n.SetInt("axis", int64(axis))
	if op.FusedActivationFunction() != fb.ActivationFunctionTypeNONE && quantized(o) {
		return fmt.Errorf("fused activation on quantized CONCATENATION not supported")
	}
	return b.fusedAct(n, op.FusedActivationFunction(), false)
}
