package onnx

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Models below opset 7 (2017-era exports, and the opset-1/6 cases of ONNX's own node tests) import
// when every node is an op whose old form maps onto the latest semantics. What changed at opset 7
// and before, and how it is mapped:
//   - consumed_inputs (opsets 1-5): a memory-reuse hint with no meaning for results; dropped.
//   - broadcast/axis on binary ops (opsets 1-6): broadcast=0 demanded equal shapes (numpy
//     broadcasting is a superset); broadcast=1 aligned B with A starting at axis, which is numpy
//     broadcasting once B gets trailing 1-dims (an inserted Unsqueeze).
//   - Cast (1-5) named the target type as a string; Concat (1-3) defaulted axis to 1; Pad-1 called
//     pads "paddings"; Reshape (1-4) took the shape as an attribute; BatchNormalization (1-6) had
//     is_test/spatial and training outputs (only the inference form, spatial=1, imports).
// Ops not listed in legacyOps changed in other ways before opset 7 (Upsample, Tile, PRelu's slope,
// ...) and are refused by name.

// legacyOps are the ops accepted below opset 7, each with the rewrite its old form needs (nil: none
// beyond dropping consumed_inputs).
var legacyOps = map[string]func(b *builder, n *graph.Node) ([]*graph.Node, error){
	"Add": legacyBroadcast, "Sub": legacyBroadcast, "Mul": legacyBroadcast, "Div": legacyBroadcast,
	"Pow": legacyBroadcast, "And": legacyBroadcast, "Or": legacyBroadcast, "Xor": legacyBroadcast,
	"Equal": legacyBroadcast, "Greater": legacyBroadcast, "Less": legacyBroadcast,
	"Gemm": legacyGemm, "Cast": legacyCast, "Concat": legacyConcat, "Pad": legacyPad,
	"Reshape": legacyReshape, "BatchNormalization": legacyBatchNorm,

	"Abs": nil, "ArgMax": nil, "ArgMin": nil, "AveragePool": nil, "Ceil": nil, "Clip": nil, "Conv": nil,
	"ConvTranspose": nil, "DepthToSpace": nil, "Dropout": nil, "Elu": nil, "Exp": nil, "Flatten": nil,
	"Floor": nil, "Gather": nil, "GlobalAveragePool": nil, "GlobalLpPool": nil, "GlobalMaxPool": nil,
	"HardSigmoid": nil, "Hardmax": nil, "Identity": nil, "InstanceNormalization": nil, "LRN": nil,
	"LeakyRelu": nil, "Log": nil, "LogSoftmax": nil, "MatMul": nil, "Max": nil, "MaxPool": nil,
	"Mean": nil, "Min": nil, "Neg": nil, "Not": nil, "Reciprocal": nil, "ReduceL1": nil, "ReduceL2": nil,
	"ReduceLogSum": nil, "ReduceLogSumExp": nil, "ReduceMax": nil, "ReduceMean": nil, "ReduceMin": nil,
	"ReduceProd": nil, "ReduceSum": nil, "ReduceSumSquare": nil, "Relu": nil, "Selu": nil, "Shape": nil,
	"Sigmoid": nil, "Size": nil, "Slice": nil, "Softmax": nil, "Softplus": nil, "Softsign": nil,
	"SpaceToDepth": nil, "Split": nil, "Sqrt": nil, "Squeeze": nil, "Sum": nil, "Tanh": nil,
	"Transpose": nil, "Unsqueeze": nil,
}

// legacy maps a default-domain node of an opset < 7 model onto the latest form.
func legacy(b *builder, n *graph.Node) ([]*graph.Node, error) {
	f, ok := legacyOps[n.Op]
	if !ok {
		return nil, fmt.Errorf("%s before opset 7 differs from its later form and is not supported", n.Op)
	}
	delete(n.Attrs, "consumed_inputs")
	if f == nil {
		return []*graph.Node{n}, nil
	}
	return f(b, n)
}

// legacyBroadcast rewrites broadcast=1 with an axis into numpy broadcasting: B's dims align with A's
// from axis on, so B gets rank(A)-axis-rank(B) trailing 1-dims.
func legacyBroadcast(b *builder, n *graph.Node) ([]*graph.Node, error) {
	bc := n.Int("broadcast", 0)
	hasAxis := n.Has("axis")
	axis := n.Int("axis", 0)
	delete(n.Attrs, "broadcast")
	delete(n.Attrs, "axis")
	if bc == 0 || !hasAxis || len(n.Inputs) != 2 || n.Inputs[0] == nil || n.Inputs[1] == nil {
		return []*graph.Node{n}, nil // equal shapes, or suffix alignment: numpy already agrees
	}
	ra, rb := b.rankOf(n.Inputs[0]), b.rankOf(n.Inputs[1])
	if ra < 0 || rb < 0 {
		return nil, fmt.Errorf("legacy broadcast with axis=%d needs the ranks of both inputs", axis)
	}
	if axis < 0 {
		axis += int64(ra)
	}
	pad := int64(ra) - axis - int64(rb)
	if axis < 0 || pad < 0 {
		return nil, fmt.Errorf("legacy broadcast axis %d does not fit ranks %d and %d", n.Int("axis", 0), ra, rb)
	}
	if pad == 0 {
		return []*graph.Node{n}, nil
	}
	y := n.Inputs[1]
	axes := make([]int64, pad)
	for i := range axes {
		axes[i] = int64(rb) + int64(i)
	}
	if y.Const != nil { // the usual case (a bias): reshape the constant, no node
		t := *y.Const
		t.Shape = append(y.Const.Shape.Clone(), make(tensor.Shape, pad)...)
		for i := rb; i < len(t.Shape); i++ {
			t.Shape[i] = 1
		}
		v := b.newValue(n.Name+"/broadcast", y.DType)
		v.Shape, v.Const = t.Shape.Clone(), &t
		b.produced[v] = true
		n.Inputs[1] = v
		return []*graph.Node{n}, nil
	}
	v := b.newValue(n.Name+"/broadcast", y.DType)
	b.produced[v] = true
	u := &graph.Node{Name: n.Name + "/broadcast", Op: "Unsqueeze", Inputs: []*graph.Value{y}, Outputs: []*graph.Value{v},
		Attrs: map[string]graph.Attr{}}
	u.SetInts("axes", axes)
	n.Inputs[1] = v
	return []*graph.Node{u, n}, nil
}

// legacyGemm drops broadcast: C broadcasts unidirectionally to [M, N], which numpy rules cover.
func legacyGemm(b *builder, n *graph.Node) ([]*graph.Node, error) {
	delete(n.Attrs, "broadcast")
	return []*graph.Node{n}, nil
}

// legacyCastTypes are the TensorProto.DataType names Cast-1..5 used, as their codes.
var legacyCastTypes = map[string]int64{"FLOAT": 1, "UINT8": 2, "INT8": 3, "UINT16": 4, "INT16": 5, "INT32": 6,
	"INT64": 7, "STRING": 8, "BOOL": 9, "FLOAT16": 10, "DOUBLE": 11, "UINT32": 12, "UINT64": 13}

func legacyCast(b *builder, n *graph.Node) ([]*graph.Node, error) {
	if a, ok := n.Attrs["to"]; ok && a.Kind == graph.AttrString {
		code, ok := legacyCastTypes[a.Str]
		if !ok {
			return nil, fmt.Errorf("Cast to %q: unknown type name", a.Str)
		}
		n.SetInt("to", code)
	}
	return []*graph.Node{n}, nil
}

func legacyConcat(b *builder, n *graph.Node) ([]*graph.Node, error) {
	if !n.Has("axis") {
		n.SetInt("axis", 1) // Concat-1's default
	}
	return []*graph.Node{n}, nil
}

func legacyPad(b *builder, n *graph.Node) ([]*graph.Node, error) {
	if a, ok := n.Attrs["paddings"]; ok {
		delete(n.Attrs, "paddings")
		n.Attrs["pads"] = a
	}
	return []*graph.Node{n}, nil
}

func legacyReshape(b *builder, n *graph.Node) ([]*graph.Node, error) {
	if len(n.Inputs) >= 2 && n.Inputs[1] != nil {
		return []*graph.Node{n}, nil
	}
	if !n.Has("shape") {
		return nil, fmt.Errorf("Reshape has neither a shape input nor a shape attribute")
	}
	s := n.Ints("shape", nil)
	delete(n.Attrs, "shape")
	v := b.newValue(n.Name+"/shape", tensor.I64)
	v.Const = tensor.FromI64(tensor.Shape{len(s)}, s)
	v.Shape = v.Const.Shape.Clone()
	b.produced[v] = true
	n.Inputs = append(n.Inputs[:1], v)
	return []*graph.Node{n}, nil
}

func legacyBatchNorm(b *builder, n *graph.Node) ([]*graph.Node, error) {
	if n.Int("spatial", 1) == 0 {
		return nil, fmt.Errorf("BatchNormalization spatial=0 (per-activation statistics) is not supported")
	}
	for i, o := range n.Outputs[1:] {
		if o != nil {
			return nil, fmt.Errorf("BatchNormalization training output %d (%q) is not supported", i+1, o.Name)
		}
	}
	delete(n.Attrs, "spatial")
	delete(n.Attrs, "is_test")
	n.Outputs = n.Outputs[:1]
	return []*graph.Node{n}, nil
}
