package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Constant (its value attribute) and ConstantOfShape (a shape filled with one value); both fold at
// shape inference.

func inferConstant(n *graph.Node) error {
	var t *tensor.Tensor
	switch {
	case n.Has("value"):
		t = n.Attrs["value"].Tensor
	case n.Has("value_float"):
		t = tensor.FromF32(tensor.Shape{}, []float32{n.Float("value_float", 0)})
	case n.Has("value_floats"):
		v := n.Floats("value_floats", nil)
		t = tensor.FromF32(tensor.Shape{len(v)}, v)
	case n.Has("value_int"):
		t = tensor.FromI64(tensor.Shape{}, []int64{n.Int("value_int", 0)})
	case n.Has("value_ints"):
		v := n.Ints("value_ints", nil)
		t = tensor.FromI64(tensor.Shape{len(v)}, v)
	}
	if t == nil {
		return errf(n, "no supported value attribute (value, value_float(s), value_int(s))")
	}
	if len(n.Outputs) == 0 || n.Outputs[0] == nil {
		return errf(n, "has no output")
	}
	setOut(n, 0, t.DType, t.Shape.Clone())
	n.Outputs[0].Const = t
	return nil
}

// constKernel writes a fixed tensor.
type constKernel struct{ t *tensor.Tensor }

func (constKernel) ScratchBytes() int { return 0 }

func (k constKernel) Run(_ *Ctx, _, out []*tensor.Tensor) error {
	copy(out[0].Data[:out[0].ByteSize()], k.t.Data)
	return nil
}

func compileConstant(n *graph.Node) (Kernel, error) { return constKernel{t: n.Outputs[0].Const}, nil }

func constOfShapeValue(n *graph.Node) (*tensor.Tensor, error) {
	a, ok := n.Attrs["value"]
	if !ok || a.Tensor == nil {
		return tensor.New(tensor.F32, tensor.Shape{1}), nil
	}
	if a.Tensor.NumElements() != 1 {
		return nil, errf(n, "value must hold one element")
	}
	return a.Tensor, nil
}

func inferConstantOfShape(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	v, err := constOfShapeValue(n)
	if err != nil {
		return err
	}
	dims, ok := constInts(n.Inputs[0])
	switch {
	case ok:
		s := make(tensor.Shape, len(dims))
		for i, d := range dims {
			if d < 0 {
				return errf(n, "negative dim %d", d)
			}
			s[i] = int(d)
		}
		setOut(n, 0, v.DType, s)
	case len(n.Inputs[0].Shape) == 1 && n.Inputs[0].Shape[0] >= 0:
		setOut(n, 0, v.DType, dynShape(n.Inputs[0].Shape[0]))
	default:
		setOut(n, 0, v.DType, nil)
	}
	return nil
}

// fillKernel repeats one element's bytes over the output.
type fillKernel struct{ v []byte }

func (fillKernel) ScratchBytes() int { return 0 }

func (k fillKernel) Run(_ *Ctx, _, out []*tensor.Tensor) error {
	d := out[0].Data[:out[0].ByteSize()]
	for i := 0; i < len(d); i += len(k.v) {
		copy(d[i:], k.v)
	}
	return nil
}

func compileConstantOfShape(n *graph.Node) (Kernel, error) {
	v, err := constOfShapeValue(n)
	if err != nil {
		return nil, err
	}
	return fillKernel{v: v.Data[:v.DType.Size()]}, nil
}

func init() {
	Register("Constant", &Def{Infer: inferConstant, Compile: compileConstant})
	Register("ConstantOfShape", &Def{Infer: inferConstantOfShape, Compile: compileConstantOfShape})
}
