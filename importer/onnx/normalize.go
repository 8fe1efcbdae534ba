package onnx

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// normalizers rewrite default-domain nodes whose semantics changed across opsets into the latest
// opset's form, one function per ONNX op, named like the op. Ops whose only change was moving an
// attribute to an input (axes, split, pads, min/max, starts/ends) are left alone: the ops accept both.
var normalizers = map[string]func(b *builder, n *graph.Node) ([]*graph.Node, error){
	"Softmax":    softmax,
	"LogSoftmax": softmax,
	"Hardmax":    softmax,
	"Dropout":    dropout,
	"Upsample":   upsample,
	"Resize":     resize,
	"Scatter":    scatter,
}

// softmax (also LogSoftmax, Hardmax) before opset 13 coerced the input to 2-D at axis (default 1)
// and normalised over everything after it. From 13 it normalises over the one axis (default -1).
// Where axis is the last dimension both agree; otherwise the old form is rewritten as
// Reshape(Softmax(Flatten(x, axis), axis=-1), Shape(x)).
func softmax(b *builder, n *graph.Node) ([]*graph.Node, error) {
	if b.opset >= 13 {
		return []*graph.Node{n}, nil
	}
	if len(n.Inputs) != 1 || n.Inputs[0] == nil || len(n.Outputs) != 1 {
		return nil, fmt.Errorf("want 1 input and 1 output, have %d and %d", len(n.Inputs), len(n.Outputs))
	}
	x := n.Inputs[0]
	axis := n.Int("axis", 1)
	if r := int64(b.rankOf(x)); r >= 0 {
		if axis < 0 {
			axis += r
		}
		if axis == r-1 {
			n.SetInt("axis", -1)
			return []*graph.Node{n}, nil
		}
	}
	shape := b.newValue(n.Name+"/shape", tensor.I64)
	flat := b.newValue(n.Name+"/flatten", x.DType)
	sm := b.newValue(n.Name+"/"+n.Op, x.DType)
	for _, v := range []*graph.Value{shape, flat, sm} {
		b.produced[v] = true
	}
	y := n.Outputs[0]
	nShape := &graph.Node{Name: n.Name + "/shape", Op: "Shape", Inputs: []*graph.Value{x}, Outputs: []*graph.Value{shape}}
	nFlat := &graph.Node{Name: n.Name + "/flatten", Op: "Flatten", Inputs: []*graph.Value{x}, Outputs: []*graph.Value{flat}}
	nFlat.SetInt("axis", axis)
	n.Inputs, n.Outputs = []*graph.Value{flat}, []*graph.Value{sm}
	n.SetInt("axis", -1)
	nReshape := &graph.Node{Name: n.Name + "/reshape", Op: "Reshape", Inputs: []*graph.Value{sm, shape}, Outputs: []*graph.Value{y}}
	return []*graph.Node{nShape, nFlat, n, nReshape}, nil
}

// rankOf returns the rank of v where the importer knows it: from a recorded shape, or from the
// producer for ops whose output rank is fixed (a classifier head's Gemm or Flatten); -1 otherwise.
func (b *builder) rankOf(v *graph.Value) int {
	if v.Shape != nil {
		return len(v.Shape)
	}
	if n := b.producer[v]; n != nil {
		switch n.Op {
		case "Gemm", "Flatten":
			return 2
		case "Relu", "Identity", "Sigmoid", "Tanh", "Clip", "Cast", "Abs", "Neg", "Exp", "Log", "Sqrt",
			"Reciprocal", "Floor", "Ceil", "LeakyRelu", "Elu", "Selu", "HardSigmoid", "Softplus", "Softsign":
			if x := n.Input(0); x != nil && x != v {
				return b.rankOf(x)
			}
		}
	}
	return -1
}

// dropout is the identity at inference (is_test); its ratio/training_mode inputs and mask output go.
func dropout(b *builder, n *graph.Node) ([]*graph.Node, error) {
	if len(n.Inputs) < 1 || n.Inputs[0] == nil || len(n.Outputs) < 1 || n.Outputs[0] == nil {
		return nil, fmt.Errorf("Dropout needs an input and an output")
	}
	// From opset 12 a training_mode input can switch dropout on; only a constant false is inference,
	// or a constant ratio of 0, which drops nothing and scales by 1/(1-0) even in training mode
	// (torchvision 0.14's Swin exports its attention dropout that way). The ratio is float16 in a
	// float16 model (widened only after normalisation); +0 is all zero bytes in either.
	ratio := n.Input(1)
	zeroRatio := ratio != nil && ratio.Const != nil && (ratio.Const.DType == tensor.F32 || ratio.Const.DType == tensor.F16) &&
		!anyNonZero(ratio.Const.Data)
	if tm := n.Input(2); tm != nil && !zeroRatio && (tm.Const == nil || anyNonZero(tm.Const.Data)) {
		return nil, fmt.Errorf("Dropout in training mode (training_mode %q is not a constant false) is not supported", tm.Name)
	}
	if len(n.Outputs) > 1 && n.Outputs[1] != nil {
		mask := n.Outputs[1]
		delete(b.produced, mask)
		b.dropped[mask.Name] = n.Name
	}
	n.Op = "Identity"
	n.Inputs, n.Outputs = n.Inputs[:1], n.Outputs[:1]
	n.Attrs = map[string]graph.Attr{}
	return []*graph.Node{n}, nil
}

// upsample (opsets 7-9, removed in 10) is Resize with asymmetric coordinates and floor rounding for
// nearest; opset 7 keeps scales in an attribute, 9 in an input.
func upsample(b *builder, n *graph.Node) ([]*graph.Node, error) {
	if len(n.Inputs) < 1 || n.Inputs[0] == nil || len(n.Outputs) != 1 {
		return nil, fmt.Errorf("Upsample needs an input and one output")
	}
	var scales *graph.Value
	if len(n.Inputs) >= 2 && n.Inputs[1] != nil {
		scales = n.Inputs[1]
	} else {
		s := n.Floats("scales", nil)
		if s == nil {
			return nil, fmt.Errorf("Upsample has neither a scales input nor a scales attribute")
		}
		scales = b.newValue(n.Name+"/scales", tensor.F32)
		t := tensor.FromF32(tensor.Shape{len(s)}, s)
		scales.Shape, scales.Const = t.Shape.Clone(), t
		b.produced[scales] = true
	}
	r := &graph.Node{Name: n.Name, Op: "Resize", Inputs: []*graph.Value{n.Inputs[0], nil, scales}, Outputs: n.Outputs}
	mode := n.Str("mode", "nearest")
	if mode == "bilinear" { // some exporters wrote the pre-release name
		mode = "linear"
	}
	r.SetStr("mode", mode)
	r.SetStr("coordinate_transformation_mode", "asymmetric")
	r.SetStr("nearest_mode", "floor")
	return []*graph.Node{r}, nil
}

// resize at opset 10 had inputs (X, scales) and Upsample's asymmetric coordinates; from 11 it has
// (X, roi, scales, sizes) and an explicit coordinate_transformation_mode (default half_pixel).
func resize(b *builder, n *graph.Node) ([]*graph.Node, error) {
	if b.opset >= 11 {
		return []*graph.Node{n}, nil
	}
	if len(n.Inputs) != 2 {
		return nil, fmt.Errorf("Resize-10 wants inputs (X, scales), has %d", len(n.Inputs))
	}
	n.Inputs = []*graph.Value{n.Inputs[0], nil, n.Inputs[1]}
	n.SetStr("coordinate_transformation_mode", "asymmetric")
	n.SetStr("nearest_mode", "floor")
	return []*graph.Node{n}, nil
}

// scatter (deprecated in opset 11) is ScatterElements under its old name.
func scatter(b *builder, n *graph.Node) ([]*graph.Node, error) {
	n.Op = "ScatterElements"
	return []*graph.Node{n}, nil
}

func anyNonZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return true
		}
	}
	return false
}
