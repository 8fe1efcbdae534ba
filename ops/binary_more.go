package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// More broadcasting binary ops on elementwise.go's binKernel: Mod (integer remainder with the
// divisor's sign, or C fmod), PRelu (slope broadcast onto x) and the logical And, Or, Xor; plus the
// unary Not. Swin's shifted-window masks use Mod and Not; PRelu appears in many user classifiers.

func modRow[T integer](fmod bool) rowFn[T, T] {
	return rowOf(func(a, b T) T {
		if b == 0 {
			return 0 // undefined in ONNX; avoid the runtime panic
		}
		r := a % b // truncated: sign of the dividend (C fmod)
		if !fmod && r != 0 && (r < 0) != (b < 0) {
			r += b // floored: sign of the divisor (Python %)
		}
		return r
	})
}

func modF32(fmod bool) rowFn[float32, float32] {
	return rowOf(func(a, b float32) float32 {
		r := float32(math.Mod(float64(a), float64(b)))
		if !fmod && r != 0 && (r < 0) != (b < 0) {
			r += b
		}
		return r
	})
}

func compileMod(n *graph.Node) (Kernel, error) {
	dt := n.Inputs[0].DType
	if n.Inputs[1].DType != dt {
		return nil, errf(n, "inputs must share one dtype")
	}
	fmod := n.Int("fmod", 0) != 0
	plans := binPlans(n)
	switch dt {
	case tensor.F32:
		return &binKernel[float32, float32]{plans: plans, fn: modF32(fmod)}, nil
	case tensor.I64:
		return &binKernel[int64, int64]{plans: plans, fn: modRow[int64](fmod)}, nil
	case tensor.I32:
		return &binKernel[int32, int32]{plans: plans, fn: modRow[int32](fmod)}, nil
	case tensor.I8:
		return &binKernel[int8, int8]{plans: plans, fn: modRow[int8](fmod)}, nil
	case tensor.U8:
		return &binKernel[uint8, uint8]{plans: plans, fn: modRow[uint8](fmod)}, nil
	}
	return nil, errf(n, "unsupported dtype %s", dt)
}

func inferBinary2(n *graph.Node) error {
	if err := needInputs(n, 2); err != nil {
		return err
	}
	return inferBroadcast(n, n.Inputs[0].DType, n.Inputs[:2])
}

// PRelu's slope broadcasts unidirectionally to x (opset 7+): numpy broadcasting whose result is x's shape.
func inferPRelu(n *graph.Node) error {
	if err := inferBinary2(n); err != nil {
		return err
	}
	if x, y := n.Inputs[0].Shape, n.Outputs[0].Shape; x.Known() && y.Known() && !x.Equal(y) {
		return errf(n, "slope shape %s does not broadcast to x %s", n.Inputs[1].Shape, x)
	}
	return nil
}

func compilePRelu(n *graph.Node) (Kernel, error) {
	if n.Inputs[0].DType != tensor.F32 || n.Inputs[1].DType != tensor.F32 {
		return nil, errf(n, "unsupported dtype %s (float32 only)", n.Inputs[0].DType)
	}
	fn := rowOf(func(x, s float32) float32 {
		if x < 0 {
			return x * s
		}
		return x
	})
	return &binKernel[float32, float32]{plans: binPlans(n), fn: fn}, nil
}

func compileLogic(n *graph.Node) (Kernel, error) {
	if n.Inputs[0].DType != tensor.Bool || n.Inputs[1].DType != tensor.Bool {
		return nil, errf(n, "inputs must be bool")
	}
	var f func(a, b uint8) uint8
	switch n.Op {
	case "And":
		f = func(a, b uint8) uint8 { return a & b }
	case "Or":
		f = func(a, b uint8) uint8 { return a | b }
	case "Xor":
		f = func(a, b uint8) uint8 { return a ^ b }
	}
	return &binKernel[uint8, uint8]{plans: binPlans(n), fn: rowOf(f)}, nil
}

func compileNot(n *graph.Node) (Kernel, error) {
	if n.Inputs[0].DType != tensor.Bool {
		return nil, errf(n, "input must be bool")
	}
	return &unaryKernel[uint8]{f: func(d, x []uint8) {
		for i, v := range x[:len(d)] {
			d[i] = 0
			if v == 0 {
				d[i] = 1
			}
		}
	}}, nil
}

func init() {
	Register("Mod", &Def{Infer: inferBinary2, Compile: compileMod, InPlace: true})
	Register("PRelu", &Def{Infer: inferPRelu, Compile: compilePRelu, InPlace: true})
	for _, op := range []string{"And", "Or", "Xor"} {
		Register(op, &Def{Infer: inferBinary2, Compile: compileLogic, InPlace: true})
	}
	Register("Not", &Def{Infer: inferUnary, Compile: compileNot, InPlace: true})
}

// Mean (variadic, NumPy broadcasting): the Sum kernel, then the result scaled by 1/len(inputs).
type meanKernel struct {
	Kernel
	inv float32
}

func (k *meanKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	if err := k.Kernel.Run(ctx, in, out); err != nil {
		return err
	}
	y := elems[float32](out[0])
	for i := range y {
		y[i] *= k.inv
	}
	return nil
}

func compileMean(n *graph.Node) (Kernel, error) {
	if n.Inputs[0].DType != tensor.F32 {
		return nil, errf(n, "unsupported dtype %s", n.Inputs[0].DType)
	}
	sum := *n
	sum.Op = "Sum"
	k, err := compileArith(&sum)
	if err != nil {
		return nil, err
	}
	return &meanKernel{Kernel: k, inv: 1 / float32(len(n.Inputs))}, nil
}

func inferMean(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	return inferBroadcast(n, n.Inputs[0].DType, n.Inputs)
}

func init() {
	Register("Mean", &Def{Infer: inferMean, Compile: compileMean, InPlace: true})
}
