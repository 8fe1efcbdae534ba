package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// OneHot: indices (any numeric dtype; floats truncated), a constant depth, values [off, on];
// the output inserts a dim of depth at axis (default -1, counted on the output's rank) holding on
// where the index (negative counts from depth) points and off elsewhere, in values' dtype. An index
// outside [-depth, depth) gives an all-off row.

type oneHotKernel struct {
	outer, depth, inner, elem int
	index                     func(t *tensor.Tensor, i int) float64
}

func (k *oneHotKernel) ScratchBytes() int { return 0 }

func (k *oneHotKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	off, on, y := in[2].Data[:k.elem], in[2].Data[k.elem:2*k.elem], out[0].Data
	for o := 0; o < k.outer; o++ {
		for i := 0; i < k.inner; i++ {
			ix := int(math.Trunc(k.index(in[0], o*k.inner+i)))
			if ix < 0 {
				ix += k.depth
			}
			for d := 0; d < k.depth; d++ {
				p := ((o*k.depth+d)*k.inner + i) * k.elem
				if d == ix {
					copy(y[p:p+k.elem], on)
				} else {
					copy(y[p:p+k.elem], off)
				}
			}
		}
	}
	return nil
}

// scalarValue reads a one-element constant of a numeric dtype.
func scalarValue(v *graph.Value) (float64, bool) {
	if v == nil || v.Const == nil || v.Const.NumElements() != 1 {
		return 0, false
	}
	return elementAt(v.Const, 0)
}

// elementAt reads element i of a numeric tensor as float64.
func elementAt(t *tensor.Tensor, i int) (float64, bool) {
	switch t.DType {
	case tensor.F32:
		return float64(t.F32()[i]), true
	case tensor.I64:
		return float64(t.I64()[i]), true
	case tensor.I32:
		return float64(t.I32()[i]), true
	case tensor.U8:
		return float64(t.Data[i]), true
	case tensor.I8:
		return float64(int8(t.Data[i])), true
	}
	return 0, false
}

// oneHotShape returns the output shape and the axis within it.
func oneHotShape(n *graph.Node) (tensor.Shape, int, bool, error) {
	x := n.Inputs[0].Shape
	depth, ok := scalarValue(n.Input(1))
	if !ok {
		return nil, 0, false, nil
	}
	if depth < 1 {
		return nil, 0, true, errf(n, "depth %g must be positive", depth)
	}
	axis, err := normAxis(n, n.Int("axis", -1), len(x)+1)
	if err != nil {
		return nil, 0, true, err
	}
	out := append(x[:axis:axis].Clone(), int(depth))
	return append(out, x[axis:]...), axis, true, nil
}

func inferOneHot(n *graph.Node) error {
	if err := needInputs(n, 3); err != nil {
		return err
	}
	vals := n.Inputs[2]
	if n.Inputs[0].Shape == nil {
		setOut(n, 0, vals.DType, nil)
		return nil
	}
	out, _, known, err := oneHotShape(n)
	if err != nil {
		return err
	}
	if !known {
		setOut(n, 0, vals.DType, dynShape(len(n.Inputs[0].Shape)+1))
		return nil
	}
	setOut(n, 0, vals.DType, out)
	return nil
}

func compileOneHot(n *graph.Node) (Kernel, error) {
	out, axis, known, err := oneHotShape(n)
	if err != nil {
		return nil, err
	}
	if !known {
		return nil, errf(n, "depth must be one constant number")
	}
	if v := n.Inputs[2]; v.Shape.NumElements() != 2 {
		return nil, errf(n, "values must hold 2 elements, has shape %s", v.Shape)
	}
	switch n.Inputs[0].DType {
	case tensor.F32, tensor.I64, tensor.I32, tensor.U8, tensor.I8: // what elementAt reads
	default:
		return nil, errf(n, "unsupported indices dtype %s", n.Inputs[0].DType)
	}
	k := &oneHotKernel{depth: out[axis], elem: n.Inputs[2].DType.Size(),
		index: func(t *tensor.Tensor, i int) float64 { v, _ := elementAt(t, i); return v }}
	k.outer, k.inner = out[:axis].NumElements(), out[axis+1:].NumElements()
	return k, nil
}

func init() {
	Register("OneHot", &Def{Infer: inferOneHot, Compile: compileOneHot})
}
