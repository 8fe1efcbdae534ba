package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Range: start, start+delta, ... below limit (above it for a negative delta), from three scalars.
// The length depends on the values, so the output shape is known only when they are constants
// (as in exports at a fixed input size once shapes are folded); otherwise it stays dynamic.

func rangeLen(n *graph.Node, start, limit, delta float64) (int, error) {
	if delta == 0 {
		return 0, errf(n, "delta is 0")
	}
	return max(int(math.Ceil((limit-start)/delta)), 0), nil
}

func scalarF64(t *tensor.Tensor) float64 {
	switch t.DType {
	case tensor.F32:
		return float64(t.F32()[0])
	case tensor.I32:
		return float64(t.I32()[0])
	case tensor.I64:
		return float64(t.I64()[0])
	}
	panic("ops: Range scalar of dtype " + t.DType.String())
}

func inferRange(n *graph.Node) error {
	if err := needInputs(n, 3); err != nil {
		return err
	}
	dt := n.Inputs[0].DType
	for _, v := range n.Inputs[:3] {
		if v.DType != dt {
			return errf(n, "start, limit and delta must share one dtype")
		}
		if v.Shape != nil && v.Shape.NumElements() != 1 {
			return errf(n, "start, limit and delta must be scalars")
		}
	}
	if dt != tensor.F32 && dt != tensor.I32 && dt != tensor.I64 {
		return errf(n, "unsupported dtype %s", dt)
	}
	s, l, d := n.Inputs[0].Const, n.Inputs[1].Const, n.Inputs[2].Const
	if s == nil || l == nil || d == nil {
		setOut(n, 0, dt, tensor.Shape{-1})
		return nil
	}
	cnt, err := rangeLen(n, scalarF64(s), scalarF64(l), scalarF64(d))
	if err != nil {
		return err
	}
	setOut(n, 0, dt, tensor.Shape{cnt})
	return nil
}

type rangeKernel struct{}

func (rangeKernel) ScratchBytes() int { return 0 }

// Run fills the planned output; its length was fixed at compile time from constant inputs, so
// it is checked against the values it gets.
func (rangeKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	switch out[0].DType {
	case tensor.F32:
		s, d := in[0].F32()[0], in[2].F32()[0]
		for i := range out[0].F32() {
			out[0].F32()[i] = s + float32(i)*d
		}
	case tensor.I32:
		s, d := in[0].I32()[0], in[2].I32()[0]
		for i := range out[0].I32() {
			out[0].I32()[i] = s + int32(i)*d
		}
	case tensor.I64:
		s, d := in[0].I64()[0], in[2].I64()[0]
		for i := range out[0].I64() {
			out[0].I64()[i] = s + int64(i)*d
		}
	}
	return nil
}

func compileRange(n *graph.Node) (Kernel, error) {
	if !n.Outputs[0].Shape.Known() {
		return nil, errf(n, "output length depends on non-constant inputs")
	}
	return rangeKernel{}, nil
}

func init() {
	Register("Range", &Def{Infer: inferRange, Compile: compileRange})
}
