package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// IsNaN and IsInf (detect_positive, detect_negative; both 1 by default): float32 in, bool out.

type floatClassKernel struct {
	test func(float64) bool
}

func (k *floatClassKernel) ScratchBytes() int { return 0 }

func (k *floatClassKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	y := out[0].Data
	for i, v := range elems[float32](in[0]) {
		y[i] = 0
		if k.test(float64(v)) {
			y[i] = 1
		}
	}
	return nil
}

func inferFloatClass(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	setOut(n, 0, tensor.Bool, n.Inputs[0].Shape.Clone())
	return nil
}

func compileFloatClass(n *graph.Node) (Kernel, error) {
	if n.Inputs[0].DType != tensor.F32 {
		return nil, errf(n, "unsupported dtype %s", n.Inputs[0].DType)
	}
	if n.Op == "IsNaN" {
		return &floatClassKernel{test: math.IsNaN}, nil
	}
	pos, neg := n.Int("detect_positive", 1) != 0, n.Int("detect_negative", 1) != 0
	return &floatClassKernel{test: func(v float64) bool { return pos && math.IsInf(v, 1) || neg && math.IsInf(v, -1) }}, nil
}

func init() {
	Register("IsNaN", &Def{Infer: inferFloatClass, Compile: compileFloatClass})
	Register("IsInf", &Def{Infer: inferFloatClass, Compile: compileFloatClass})
}
