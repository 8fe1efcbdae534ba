package onnx

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Models below opset 10 (2017-2019 exports, Caffe2 and early PyTorch, and ONNX's own opset-6 model
// suites) use operator versions whose form differs from the latest. forms lists, for every operator
// wanwu runs, each of its versions introduced before opset 10 (checked against ONNX's schema
// history by legacy_test.go) and what its form needs to read as the latest one:
//   - consumed_inputs (versions 1-5): a memory-reuse hint with no meaning for results; dropped.
//   - broadcast/axis on binary ops (versions 1 and 6): broadcast=0 demanded equal shapes (numpy
//     broadcasting is a superset); broadcast=1 aligned B with A starting at axis, which is numpy
//     broadcasting once B gets trailing 1-dims (an inserted Unsqueeze).
//   - Cast-1 named the target type as a string; Concat-1 defaulted axis to 1; Pad-1 called pads
//     "paddings"; Reshape-1 took the shape as an attribute; Slice-1 its starts/ends/axes; Tile-1
//     repeated one axis (tiles, axis inputs); Upsample-1 had height_scale/width_scale; Selu-1 had
//     shorter default constants; Split-1 took split from an attribute or its second input.
//   - BatchNormalization (1, 6, 7) had spatial and training outputs: only the inference form,
//     spatial=1, imports. PRelu (1, 6) applied a [C] slope per channel (axis 1), which numpy
//     broadcasting from opset 7 would align with the last axis: the slope gets trailing 1-dims.
//   - Softmax/LogSoftmax/Hardmax-1, Dropout (1, 6, 7) and Upsample (7, 9) are rewritten by
//     normalize.go, which also handles their later changes.
//
// Every other version listed has the latest semantics for the inputs and attributes it has (later
// versions only added types, attributes with defaults equal to the old behaviour, or optional
// inputs).

// form is one operator version: in effect from opset since until the op's next version.
type form struct {
	since int
	fix   func(b *builder, n *graph.Node) ([]*graph.Node, error) // nil: nothing to rewrite
}

var forms = map[string][]form{
	"Abs": {{1, nil}, {6, nil}}, "Ceil": {{1, nil}, {6, nil}}, "Floor": {{1, nil}, {6, nil}},
	"Exp": {{1, nil}, {6, nil}}, "Log": {{1, nil}, {6, nil}}, "Neg": {{1, nil}, {6, nil}},
	"Reciprocal": {{1, nil}, {6, nil}}, "Relu": {{1, nil}, {6, nil}}, "Sigmoid": {{1, nil}, {6, nil}},
	"Sqrt": {{1, nil}, {6, nil}}, "Tanh": {{1, nil}, {6, nil}}, "Elu": {{1, nil}, {6, nil}},
	"HardSigmoid": {{1, nil}, {6, nil}}, "LeakyRelu": {{1, nil}, {6, nil}}, "Selu": {{1, legacySelu}, {6, nil}},
	"Softplus": {{1, nil}}, "Softsign": {{1, nil}}, "Not": {{1, nil}}, "Identity": {{1, nil}},
	"Erf": {{9, nil}}, "Where": {{9, nil}}, "ConstantOfShape": {{9, nil}}, "Expand": {{8, nil}},
	"Shape": {{1, nil}}, "Size": {{1, nil}}, "Transpose": {{1, nil}}, "Flatten": {{1, nil}, {9, nil}},
	"Gather": {{1, nil}}, "MatMul": {{1, nil}, {9, nil}}, "Conv": {{1, nil}}, "ConvTranspose": {{1, nil}},
	"DepthToSpace": {{1, nil}}, "SpaceToDepth": {{1, nil}}, "InstanceNormalization": {{1, nil}, {6, nil}},
	"GlobalAveragePool": {{1, nil}}, "GlobalMaxPool": {{1, nil}}, "AveragePool": {{1, nil}, {7, nil}},
	"MaxPool": {{1, nil}, {8, nil}}, "ArgMax": {{1, nil}}, "ArgMin": {{1, nil}},
	"ReduceMax": {{1, nil}}, "ReduceMean": {{1, nil}}, "ReduceMin": {{1, nil}}, "ReduceSum": {{1, nil}},
	"ReduceProd": {{1, nil}}, "ReduceL1": {{1, nil}}, "ReduceL2": {{1, nil}}, "ReduceSumSquare": {{1, nil}},
	"ReduceLogSum": {{1, nil}}, "ReduceLogSumExp": {{1, nil}},
	"Sin": {{7, nil}}, "Cos": {{7, nil}}, "Tan": {{7, nil}}, "Asin": {{7, nil}}, "Acos": {{7, nil}}, "Atan": {{7, nil}},
	"Sinh": {{9, nil}}, "Cosh": {{9, nil}}, "Asinh": {{9, nil}}, "Acosh": {{9, nil}}, "Atanh": {{9, nil}},
	"Sign": {{9, nil}}, "Shrink": {{9, nil}}, "LRN": {{1, nil}}, "IsNaN": {{9, nil}}, "Mean": {{1, nil}, {6, nil}, {8, nil}}, "EyeLike": {{9, nil}}, "TopK": {{1, nil}}, "OneHot": {{9, nil}},
	// output_sequence (versions 1) only said whether Y is produced; GRU-1 is linear_before_reset=0.
	"RNN": {{1, nil}, {7, nil}}, "GRU": {{1, nil}, {3, nil}, {7, nil}}, "LSTM": {{1, nil}, {7, nil}},
	"Squeeze": {{1, nil}}, "Unsqueeze": {{1, nil}}, "Clip": {{1, nil}, {6, nil}},
	"Max": {{1, nil}, {6, nil}, {8, nil}}, "Min": {{1, nil}, {6, nil}, {8, nil}}, "Sum": {{1, nil}, {6, nil}, {8, nil}},

	"Add": {{1, legacyBroadcast}, {6, legacyBroadcast}, {7, nil}}, "Sub": {{1, legacyBroadcast}, {6, legacyBroadcast}, {7, nil}},
	"Mul": {{1, legacyBroadcast}, {6, legacyBroadcast}, {7, nil}}, "Div": {{1, legacyBroadcast}, {6, legacyBroadcast}, {7, nil}},
	"Pow": {{1, legacyBroadcast}, {7, nil}}, "And": {{1, legacyBroadcast}, {7, nil}}, "Or": {{1, legacyBroadcast}, {7, nil}},
	"Xor": {{1, legacyBroadcast}, {7, nil}}, "Equal": {{1, legacyBroadcast}, {7, nil}},
	"Greater": {{1, legacyBroadcast}, {7, nil}, {9, nil}}, "Less": {{1, legacyBroadcast}, {7, nil}, {9, nil}},
	"Gemm":               {{1, legacyGemm}, {6, legacyGemm}, {7, nil}, {9, nil}},
	"Cast":               {{1, legacyCast}, {6, nil}, {9, nil}},
	"Concat":             {{1, legacyConcat}, {4, nil}},
	"Pad":                {{1, legacyPad}, {2, nil}},
	"Reshape":            {{1, legacyReshape}, {5, nil}},
	"Slice":              {{1, legacySlice}},
	"Split":              {{1, legacySplit}, {2, nil}},
	"Tile":               {{1, legacyTile}, {6, nil}},
	"PRelu":              {{1, legacyPRelu}, {6, legacyPRelu}, {7, nil}, {9, nil}},
	"BatchNormalization": {{1, legacyBatchNorm}, {6, legacyBatchNorm}, {7, legacyBatchNorm}, {9, nil}},
	"Upsample":           {{1, legacyUpsample}, {7, nil}, {9, nil}},

	// normalize.go rewrites these (and their later versions).
	"Softmax": {{1, nil}}, "LogSoftmax": {{1, nil}}, "Hardmax": {{1, nil}},
	"Dropout": {{1, nil}, {6, nil}, {7, nil}}, "Scatter": {{9, nil}},
	// Constant-1/9 carry a value attribute, which builder.constant reads as the later versions'.
	"Constant": {{1, nil}, {9, nil}},
}

// legacyFormsBelow is the first opset at which every operator has its latest form as far as
// legacy.go is concerned (later changes are normalize.go's).
const legacyFormsBelow = 10

// legacy maps a default-domain node of an opset < 10 model onto the latest form.
func legacy(b *builder, n *graph.Node) ([]*graph.Node, error) {
	if b.opset < 7 {
		delete(n.Attrs, "consumed_inputs")
	}
	var f *form
	for i, c := range forms[n.Op] {
		if c.since <= b.opset {
			f = &forms[n.Op][i]
		}
	}
	if f == nil || f.fix == nil {
		return []*graph.Node{n}, nil
	}
	return f.fix(b, n)
}

// constInput adds a constant the importer made as a value (no node).
func (b *builder) constInput(base string, t *tensor.Tensor) *graph.Value {
	v := b.newValue(base, t.DType)
	v.Shape, v.Const = t.Shape.Clone(), t
	b.produced[v] = true
	return v
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
	return b.trailingOnes(n, 1, rb, int(pad))
}

// trailingOnes gives input i of n (of rank r) pad trailing 1-dims: a reshaped constant, or an
// Unsqueeze in front of n for a computed value.
func (b *builder) trailingOnes(n *graph.Node, i, r, pad int) ([]*graph.Node, error) {
	if pad == 0 {
		return []*graph.Node{n}, nil
	}
	y := n.Inputs[i]
	if y.Const != nil { // the usual case (a bias, a slope): reshape the constant, no node
		t := *y.Const
		t.Shape = append(y.Const.Shape.Clone(), make(tensor.Shape, pad)...)
		for j := r; j < len(t.Shape); j++ {
			t.Shape[j] = 1
		}
		n.Inputs[i] = b.constInput(n.Name+"/broadcast", &t)
		return []*graph.Node{n}, nil
	}
	axes := make([]int64, pad)
	for j := range axes {
		axes[j] = int64(r + j)
	}
	v := b.newValue(n.Name+"/broadcast", y.DType)
	b.produced[v] = true
	u := &graph.Node{Name: n.Name + "/broadcast", Op: "Unsqueeze", Inputs: []*graph.Value{y}, Outputs: []*graph.Value{v},
		Attrs: map[string]graph.Attr{}}
	u.SetInts("axes", axes)
	n.Inputs[i] = v
	return []*graph.Node{u, n}, nil
}

// legacyPRelu: PRelu-1/6 applied a slope of C values per channel of X (axis 1, Caffe2's PRelu);
// from opset 7 the slope broadcasts numpy-style, from the last axis. A 1-D slope of X's channel
// count gets rank(X)-2 trailing 1-dims; a single value broadcasts either way.
func legacyPRelu(b *builder, n *graph.Node) ([]*graph.Node, error) {
	if len(n.Inputs) != 2 || n.Inputs[0] == nil || n.Inputs[1] == nil {
		return nil, fmt.Errorf("PRelu needs X and slope")
	}
	slope := n.Inputs[1]
	rs := b.rankOf(slope)
	if rs != 1 || (slope.Shape != nil && slope.Shape[0] == 1) {
		return []*graph.Node{n}, nil
	}
	rx := b.rankOf(n.Inputs[0])
	if rx < 0 {
		return nil, fmt.Errorf("PRelu-6's per-channel slope needs the rank of X")
	}
	if rx < 2 {
		return []*graph.Node{n}, nil
	}
	return b.trailingOnes(n, 1, 1, rx-2)
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
	n.Inputs = append(n.Inputs[:1], b.constInput(n.Name+"/shape", tensor.FromI64(tensor.Shape{len(s)}, s)))
	return []*graph.Node{n}, nil
}

// legacySlice moves Slice-1's starts, ends and (optional) axes attributes to the inputs Slice-10
// reads them from; the clamping of out-of-range values is the same in both.
func legacySlice(b *builder, n *graph.Node) ([]*graph.Node, error) {
	if len(n.Inputs) != 1 || n.Inputs[0] == nil {
		return nil, fmt.Errorf("Slice-1 takes one input, has %d", len(n.Inputs))
	}
	if !n.Has("starts") || !n.Has("ends") {
		return nil, fmt.Errorf("Slice-1 needs starts and ends attributes")
	}
	starts, ends := n.Ints("starts", nil), n.Ints("ends", nil)
	if len(starts) != len(ends) {
		return nil, fmt.Errorf("Slice-1 has %d starts and %d ends", len(starts), len(ends))
	}
	ins := []*graph.Value{n.Inputs[0],
		b.constInput(n.Name+"/starts", tensor.FromI64(tensor.Shape{len(starts)}, starts)),
		b.constInput(n.Name+"/ends", tensor.FromI64(tensor.Shape{len(ends)}, ends))}
	if n.Has("axes") {
		axes := n.Ints("axes", nil)
		ins = append(ins, b.constInput(n.Name+"/axes", tensor.FromI64(tensor.Shape{len(axes)}, axes)))
	}
	for _, a := range []string{"starts", "ends", "axes"} {
		delete(n.Attrs, a)
	}
	n.Inputs = ins
	return []*graph.Node{n}, nil
}

// legacySplit: Split-1 had no default axis in its schema (Caffe2 and every later version use 0)
// and took split either as an attribute or as a second input, which is where Split-13 reads it.
func legacySplit(b *builder, n *graph.Node) ([]*graph.Node, error) {
	if !n.Has("axis") {
		n.SetInt("axis", 0)
	}
	return []*graph.Node{n}, nil
}

// legacyTile: Tile-1 repeated one axis (inputs tiles and axis, scalars) where Tile-6 takes a
// repeats count per axis; both constant, they become that vector.
func legacyTile(b *builder, n *graph.Node) ([]*graph.Node, error) {
	if len(n.Inputs) != 3 || n.Inputs[0] == nil || n.Inputs[1] == nil || n.Inputs[2] == nil {
		return nil, fmt.Errorf("Tile-1 wants inputs (input, tiles, axis), has %d", len(n.Inputs))
	}
	tiles, ok1 := scalarInt(n.Inputs[1])
	axis, ok2 := scalarInt(n.Inputs[2])
	r := b.rankOf(n.Inputs[0])
	if !ok1 || !ok2 || r < 0 {
		return nil, fmt.Errorf("Tile-1 needs constant tiles and axis and an input of known rank")
	}
	if axis < 0 {
		axis += int64(r)
	}
	if axis < 0 || axis >= int64(r) {
		return nil, fmt.Errorf("Tile-1 axis %d out of range for rank %d", axis, r)
	}
	reps := make([]int64, r)
	for i := range reps {
		reps[i] = 1
	}
	reps[axis] = tiles
	n.Inputs = []*graph.Value{n.Inputs[0], b.constInput(n.Name+"/repeats", tensor.FromI64(tensor.Shape{r}, reps))}
	return []*graph.Node{n}, nil
}

// scalarInt reads a constant holding one integer.
func scalarInt(v *graph.Value) (int64, bool) {
	if v.Const == nil || v.Const.NumElements() != 1 {
		return 0, false
	}
	switch v.Const.DType {
	case tensor.I64:
		return v.Const.I64()[0], true
	case tensor.I32:
		return int64(v.Const.I32()[0]), true
	}
	return 0, false
}

// legacyUpsample: Upsample-1 scaled the two last axes by height_scale and width_scale; as the
// scales attribute of Upsample-7 ([1, 1, h, w]) the Upsample normaliser takes it from there.
func legacyUpsample(b *builder, n *graph.Node) ([]*graph.Node, error) {
	if n.Has("scales") || len(n.Inputs) > 1 {
		return []*graph.Node{n}, nil
	}
	if !n.Has("height_scale") || !n.Has("width_scale") {
		return nil, fmt.Errorf("Upsample-1 needs height_scale and width_scale")
	}
	if r := b.rankOf(n.Inputs[0]); r >= 0 && r != 4 {
		return nil, fmt.Errorf("Upsample-1 scales a 4-D input, this one has rank %d", r)
	}
	n.Attrs["scales"] = graph.Attr{Kind: graph.AttrFloats, Floats: []float32{1, 1, n.Float("height_scale", 1), n.Float("width_scale", 1)}}
	delete(n.Attrs, "height_scale")
	delete(n.Attrs, "width_scale")
	return []*graph.Node{n}, nil
}

// legacySelu: Selu-1's defaults were alpha 1.6732 and gamma 1.0507 (Selu-6 gives them to float
// precision).
func legacySelu(b *builder, n *graph.Node) ([]*graph.Node, error) {
	if !n.Has("alpha") {
		n.SetFloat("alpha", 1.6732)
	}
	if !n.Has("gamma") {
		n.SetFloat("gamma", 1.0507)
	}
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
