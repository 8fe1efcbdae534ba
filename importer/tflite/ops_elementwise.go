package tflite

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tensorio"
)

// Element-wise operators: binary ones with NumPy broadcasting (an operand of lower rank than a
// 4-D NHWC output is padded to 4-D and moved to NCHW), unary ones, SOFTMAX and CAST.

// binaryOps maps the binary builtins to IR ops; only ADD and MUL have quantized (QLinear) forms.
var binaryOps = map[fb.BuiltinOperator]string{
	fb.BuiltinOperatorADD: "Add", fb.BuiltinOperatorMUL: "Mul", fb.BuiltinOperatorSUB: "Sub",
	fb.BuiltinOperatorDIV: "Div", fb.BuiltinOperatorGREATER_EQUAL: "GreaterOrEqual",
	fb.BuiltinOperatorLESS: "Less", fb.BuiltinOperatorPRELU: "PRelu",
	fb.BuiltinOperatorMAXIMUM: "Max", fb.BuiltinOperatorMINIMUM: "Min", fb.BuiltinOperatorPOW: "Pow",
	fb.BuiltinOperatorGREATER: "Greater", fb.BuiltinOperatorLESS_EQUAL: "LessOrEqual", fb.BuiltinOperatorEQUAL: "Equal",
	fb.BuiltinOperatorSQUARED_DIFFERENCE: "Sub", // then squared (convBinary)
}

// bcastOperand returns the IR value of operand t of an element-wise op whose output has rank
// outRank: a lower-rank operand of a 4-D output is reshaped to 4-D and transposed to NCHW (constant
// nodes that folding removes; computed operands keep them).
func (b *builder) bcastOperand(t *tinfo, outRank int) (*graph.Value, error) {
	v, err := b.value(t.ti)
	if err != nil {
		return nil, err
	}
	if outRank != 4 || len(t.shape) >= 4 || len(t.shape) == 0 || t.shape.NumElements() == 1 {
		return v, nil
	}
	s4 := append(make(tensor.Shape, 4-len(t.shape)), t.shape...)
	for j := 0; j < 4-len(t.shape); j++ {
		s4[j] = 1
	}
	mid := &graph.Value{Name: b.name(t.name + "_4d"), DType: v.DType, Shape: s4}
	b.reshapeNode(v, mid, s4)
	nv := &graph.Value{Name: b.name(t.name + "_nchw"), DType: v.DType, Shape: nchw(s4)}
	n := b.node("Transpose", []*graph.Value{mid}, nv)
	n.SetInts("perm", []int64{0, 3, 1, 2})
	return nv, nil
}

func convBinary(b *builder, o *opc) error {
	if len(o.in) < 2 || o.in[1] == nil {
		return fmt.Errorf("needs two inputs")
	}
	code, name := b.builtin(o.op)
	var act fb.ActivationFunctionType
	switch code {
	case fb.BuiltinOperatorADD:
		act = opts[fb.AddOptions](o).FusedActivationFunction()
	case fb.BuiltinOperatorMUL:
		act = opts[fb.MulOptions](o).FusedActivationFunction()
	case fb.BuiltinOperatorSUB:
		act = opts[fb.SubOptions](o).FusedActivationFunction()
	case fb.BuiltinOperatorDIV:
		act = opts[fb.DivOptions](o).FusedActivationFunction()
	}
	var ins [2]*graph.Value
	for i := 0; i < 2; i++ {
		v, err := b.bcastOperand(o.in[i], len(o.out[0].shape))
		if err != nil {
			return err
		}
		ins[i] = v
	}
	y := b.newAct(o.out[0])
	var n *graph.Node
	if quantized(o) {
		if code != fb.BuiltinOperatorADD && code != fb.BuiltinOperatorMUL {
			return fmt.Errorf("quantized %s is not supported (float models only)", name)
		}
		as, az := b.qparams(o.in[0])
		bs, bz := b.qparams(o.in[1])
		ys, yz := b.qparams(o.out[0])
		op := "QLinearAdd"
		if code == fb.BuiltinOperatorMUL {
			op = "QLinearMul"
		}
		n = b.node(op, []*graph.Value{ins[0], as, az, ins[1], bs, bz, ys, yz}, y)
		n.SetStr(graph.AttrRounding, graph.RoundingTFLite)
	} else if code == fb.BuiltinOperatorSQUARED_DIFFERENCE {
		// (a - b)²: the difference, then its square.
		d := &graph.Value{Name: b.name(y.Name + "_diff"), DType: y.DType, Shape: y.Shape.Clone()}
		b.node("Sub", ins[:], d)
		n = b.node("Mul", []*graph.Value{d, d}, y)
	} else {
		n = b.node(binaryOps[code], ins[:], y)
	}
	return b.fusedAct(n, act, true)
}

func convSoftmax(b *builder, o *opc) error {
	x, err := b.in(o, 0)
	if err != nil {
		return err
	}
	beta := opts[fb.SoftmaxOptions](o).Beta()
	rank := len(o.in[0].shape)
	y := b.newAct(o.out[0])
	axis := int64(rank - 1)
	if rank == 4 {
		axis = 1 // TFLite's last (channel) axis is axis 1 in NCHW
	}
	if quantized(o) {
		if rank == 4 {
			return fmt.Errorf("quantized 4-D SOFTMAX not supported")
		}
		xs, xz := b.qparams(o.in[0])
		ys, yz := b.qparams(o.out[0])
		n := b.node("QLinearSoftmax", []*graph.Value{x, xs, xz, ys, yz}, y)
		n.SetStr(graph.AttrRounding, graph.RoundingTFLite)
		n.SetInt("axis", axis)
		if beta != 1 {
			n.SetFloat("beta", beta)
		}
		return nil
	}
	if beta != 1 {
		scaled := &graph.Value{Name: b.name(y.Name + "_beta"), DType: tensor.F32, Shape: y.Shape.Clone()}
		b.node("Mul", []*graph.Value{x, b.f32Const(beta)}, scaled)
		x = scaled
	}
	n := b.node("Softmax", []*graph.Value{x}, y)
	n.SetInt("axis", axis)
	return nil
}

func convUnary(b *builder, o *opc) error {
	x, err := b.in(o, 0)
	if err != nil {
		return err
	}
	code, _ := b.builtin(o.op)
	y := b.newAct(o.out[0])
	if quantized(o) {
		xs, xz := b.qparams(o.in[0])
		ys, yz := b.qparams(o.out[0])
		if code == fb.BuiltinOperatorLOGISTIC {
			n := b.node("QLinearSigmoid", []*graph.Value{x, xs, xz, ys, yz}, y)
			n.SetStr(graph.AttrRounding, graph.RoundingTFLite)
			return nil
		}
		// No QLinear form for these: dequantize, apply in float, requantize.
		f := &graph.Value{Name: b.name(y.Name + "_f32"), DType: tensor.F32, Shape: x.Shape.Clone()}
		b.node("DequantizeLinear", []*graph.Value{x, xs, xz}, f).SetStr(graph.AttrRounding, graph.RoundingTFLite)
		g := &graph.Value{Name: b.name(y.Name + "_f32out"), DType: tensor.F32, Shape: x.Shape.Clone()}
		b.floatUnary(o, code, f, g)
		b.node("QuantizeLinear", []*graph.Value{g, ys, yz}, y).SetStr(graph.AttrRounding, graph.RoundingTFLite)
		return nil
	}
	b.floatUnary(o, code, x, y)
	return nil
}

func (b *builder) floatUnary(o *opc, code fb.BuiltinOperator, x, y *graph.Value) {
	switch code {
	case fb.BuiltinOperatorLOGISTIC:
		b.node("Sigmoid", []*graph.Value{x}, y)
	case fb.BuiltinOperatorHARD_SWISH:
		b.node("HardSwish", []*graph.Value{x}, y)
	case fb.BuiltinOperatorRELU:
		b.node("Relu", []*graph.Value{x}, y)
	case fb.BuiltinOperatorRELU6:
		b.node("Clip", []*graph.Value{x, b.f32Const(0), b.f32Const(6)}, y)
	case fb.BuiltinOperatorNEG:
		b.node("Neg", []*graph.Value{x}, y)
	case fb.BuiltinOperatorABS:
		b.node("Abs", []*graph.Value{x}, y)
	case fb.BuiltinOperatorEXP:
		b.node("Exp", []*graph.Value{x}, y)
	case fb.BuiltinOperatorTANH:
		b.node("Tanh", []*graph.Value{x}, y)
	case fb.BuiltinOperatorLEAKY_RELU:
		b.node("LeakyRelu", []*graph.Value{x}, y).SetFloat("alpha", opts[fb.LeakyReluOptions](o).Alpha())
	case fb.BuiltinOperatorRELU_N1_TO_1:
		b.node("Clip", []*graph.Value{x, b.f32Const(-1), b.f32Const(1)}, y)
	case fb.BuiltinOperatorRELU_0_TO_1:
		b.node("Clip", []*graph.Value{x, b.f32Const(0), b.f32Const(1)}, y)
	case fb.BuiltinOperatorSQRT:
		b.node("Sqrt", []*graph.Value{x}, y)
	case fb.BuiltinOperatorRSQRT:
		r := &graph.Value{Name: b.name(y.Name + "_sqrt"), DType: y.DType, Shape: y.Shape.Clone()}
		b.node("Sqrt", []*graph.Value{x}, r)
		b.node("Reciprocal", []*graph.Value{r}, y)
	case fb.BuiltinOperatorSQUARE:
		b.node("Mul", []*graph.Value{x, x}, y)
	case fb.BuiltinOperatorLOG:
		b.node("Log", []*graph.Value{x}, y)
	case fb.BuiltinOperatorFLOOR:
		b.node("Floor", []*graph.Value{x}, y)
	case fb.BuiltinOperatorCEIL:
		b.node("Ceil", []*graph.Value{x}, y)
	case fb.BuiltinOperatorELU:
		b.node("Elu", []*graph.Value{x}, y)
	case fb.BuiltinOperatorSIN:
		b.node("Sin", []*graph.Value{x}, y)
	case fb.BuiltinOperatorCOS:
		b.node("Cos", []*graph.Value{x}, y)
	case fb.BuiltinOperatorLOCAL_RESPONSE_NORMALIZATION:
		// TFLite sums x² over depth [c-r, c+r] and scales it by alpha; ONNX's LRN by alpha/size.
		op := opts[fb.LocalResponseNormalizationOptions](o)
		size := 2*op.Radius() + 1
		n := b.node("LRN", []*graph.Value{x}, y)
		n.SetInt("size", int64(size))
		n.SetFloat("alpha", op.Alpha()*float32(size))
		n.SetFloat("beta", op.Beta())
		n.SetFloat("bias", op.Bias())
	case fb.BuiltinOperatorGELU:
		n := b.node("Gelu", []*graph.Value{x}, y)
		if opts[fb.GeluOptions](o).Approximate() {
			n.SetStr("approximate", "tanh")
		}
	}
}

// convCast converts to the output tensor's type (CastOptions, when present, say the same).
func convCast(b *builder, o *opc) error {
	x, err := b.in(o, 0)
	if err != nil {
		return err
	}
	if o.in[0].quantized() || o.out[0].quantized() {
		return fmt.Errorf("CAST of quantized tensors is not supported")
	}
	y := b.newAct(o.out[0])
	b.node("Cast", []*graph.Value{x}, y).SetInt("to", tensorio.ONNXFromDType(y.DType))
	return nil
}
