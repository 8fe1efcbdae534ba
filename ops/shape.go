package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Shape and Size: an input's dims (from attribute start) and element count as int64. Infer sets the
// output constant once the input shape is known, so shape-computing subgraphs fold away.

func inferShape(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	s := n.Inputs[0].Shape
	if s == nil {
		setOut(n, 0, tensor.I64, tensor.Shape{-1})
		return nil
	}
	r := int64(len(s))
	clampIdx := func(v int64) int64 {
		if v < 0 {
			v += r
		}
		return min(max(v, 0), r)
	}
	start := clampIdx(n.Int("start", 0))
	end := clampIdx(n.Int("end", r))
	if end < start {
		end = start
	}
	dims := s[start:end]
	setOut(n, 0, tensor.I64, tensor.Shape{len(dims)})
	// A fully known shape is a constant: shape inference folds Shape->Gather->Concat chains through it.
	if dims.Known() {
		v := make([]int64, len(dims))
		for i, d := range dims {
			v[i] = int64(d)
		}
		n.Outputs[0].Const = tensor.FromI64(tensor.Shape{len(dims)}, v)
	}
	return nil
}

// shapeKernel writes the (concrete) input dims at run time.
type shapeKernel struct{ start int }

func (shapeKernel) ScratchBytes() int { return 0 }

func (k shapeKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	y := elems[int64](out[0])
	for i := range y {
		y[i] = int64(in[0].Shape[k.start+i])
	}
	return nil
}

func compileShape(n *graph.Node) (Kernel, error) {
	r := int64(len(n.Inputs[0].Shape))
	start := n.Int("start", 0)
	if start < 0 {
		start += r
	}
	return shapeKernel{start: int(min(max(start, 0), r))}, nil
}

func inferSize(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	setOut(n, 0, tensor.I64, tensor.Shape{})
	if s := n.Inputs[0].Shape; s != nil && s.Known() {
		n.Outputs[0].Const = tensor.FromI64(tensor.Shape{}, []int64{int64(s.NumElements())})
	}
	return nil
}

type sizeKernel struct{}

func (sizeKernel) ScratchBytes() int { return 0 }

func (sizeKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	elems[int64](out[0])[0] = int64(in[0].NumElements())
	return nil
}

func init() {
	Register("Shape", &Def{Infer: inferShape, Compile: compileShape})
	Register("Size", &Def{Infer: inferSize, Compile: func(*graph.Node) (Kernel, error) { return sizeKernel{}, nil }})
}
