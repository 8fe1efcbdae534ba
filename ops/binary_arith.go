package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Arithmetic on binKernel: Add, Sub, Mul, Div, Pow, variadic Max, Min, Sum and Mean, Mod (integer
// remainder with the divisor's sign, or C fmod) and PRelu (slope broadcast onto x). Swin's
// shifted-window masks use Mod; PRelu appears in many user classifiers.

// Hand-written f32 rows for the hot ops: the generic rowOf calls f through a function value per element.
// Sums and products of whole rows and products by a broadcast value (ResNeSt's attention weights on
// its radix splits, a gate per channel) run the vector kernels.
func addF32(d, x, y []float32) {
	switch {
	case len(x) == len(d) && len(y) == len(d):
		f32.Add(d, x, y)
	case len(x) == len(d):
		v := y[0]
		x = x[:len(d)]
		for i := range d {
			d[i] = x[i] + v
		}
	case len(y) == len(d):
		v := x[0]
		y = y[:len(d)]
		for i := range d {
			d[i] = v + y[i]
		}
	default:
		v := x[0] + y[0]
		for i := range d {
			d[i] = v
		}
	}
}

func subF32(d, x, y []float32) {
	switch {
	case len(x) == len(d) && len(y) == len(d):
		x, y = x[:len(d)], y[:len(d)]
		for i := range d {
			d[i] = x[i] - y[i]
		}
	case len(x) == len(d):
		v := y[0]
		x = x[:len(d)]
		for i := range d {
			d[i] = x[i] - v
		}
	case len(y) == len(d):
		v := x[0]
		y = y[:len(d)]
		for i := range d {
			d[i] = v - y[i]
		}
	default:
		v := x[0] - y[0]
		for i := range d {
			d[i] = v
		}
	}
}

func mulF32(d, x, y []float32) {
	switch {
	case len(x) == len(d) && len(y) == len(d):
		f32.Mul(d, x, y)
	case len(x) == len(d):
		f32.Scale(d, x, y[0])
	case len(y) == len(d):
		f32.Scale(d, y, x[0])
	default:
		v := x[0] * y[0]
		for i := range d {
			d[i] = v
		}
	}
}

func divF32(d, x, y []float32) {
	switch {
	case len(x) == len(d) && len(y) == len(d):
		x, y = x[:len(d)], y[:len(d)]
		for i := range d {
			d[i] = x[i] / y[i]
		}
	case len(x) == len(d):
		v := y[0]
		x = x[:len(d)]
		for i := range d {
			d[i] = x[i] / v
		}
	case len(y) == len(d):
		v := x[0]
		y = y[:len(d)]
		for i := range d {
			d[i] = v / y[i]
		}
	default:
		v := x[0] / y[0]
		for i := range d {
			d[i] = v
		}
	}
}

func reluRow(d []float32) {
	for i, v := range d {
		d[i] = max(v, 0)
	}
}

// intDiv truncates toward zero like C (ONNX's reference for integer Div); a zero divisor yields 0
// instead of a panic because the data is user input.
func intDiv[T integer](a, b T) T {
	if b == 0 {
		return 0
	}
	return a / b
}

func arithRow[T number](op string) rowFn[T, T] {
	switch op {
	case "Add", "Sum":
		return rowOf(func(a, b T) T { return a + b })
	case "Sub":
		return rowOf(func(a, b T) T { return a - b })
	case "Mul":
		return rowOf(func(a, b T) T { return a * b })
	case "Max":
		return rowOf(func(a, b T) T { return max(a, b) })
	case "Min":
		return rowOf(func(a, b T) T { return min(a, b) })
	}
	return nil
}

func f32Row(op string) rowFn[float32, float32] {
	switch op {
	case "Add", "Sum":
		return addF32
	case "Sub":
		return subF32
	case "Mul":
		return mulF32
	case "Div":
		return divF32
	case "Pow":
		return rowOf(func(a, b float32) float32 {
			if b == 2 {
				return a * a
			}
			return float32(math.Pow(float64(a), float64(b)))
		})
	}
	return arithRow[float32](op)
}

func intRow[T integer](op string) rowFn[T, T] {
	if op == "Div" {
		return rowOf(intDiv[T])
	}
	return arithRow[T](op)
}

func inferArith(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	if n.Op != "Max" && n.Op != "Min" && n.Op != "Sum" && len(n.Inputs) != 2 {
		return errf(n, "needs 2 inputs, has %d", len(n.Inputs))
	}
	return inferBroadcast(n, n.Inputs[0].DType, n.Inputs)
}

func compileArith(n *graph.Node) (Kernel, error) {
	dt := n.Inputs[0].DType
	for _, v := range n.Inputs {
		if v == nil || v.DType != dt {
			return nil, errf(n, "inputs must share one dtype")
		}
	}
	if len(n.Inputs) == 1 { // Max(x) = Min(x) = Sum(x) = x
		return copyKernel{}, nil
	}
	plans := binPlans(n)
	switch dt {
	case tensor.F32:
		act, err := ActivationOf(n)
		if err != nil {
			return nil, err
		}
		k := &binKernel[float32, float32]{plans: plans, fn: f32Row(n.Op)}
		switch act.Kind {
		case ActNone:
		case ActRelu:
			k.act = reluRow // branch-free; Activation.Apply's compare-and-store mispredicts on mixed signs
		default:
			k.act = act.Apply
		}
		return k, nil
	case tensor.I64:
		return mkIntKernel[int64](n, plans)
	case tensor.I32:
		return mkIntKernel[int32](n, plans)
	case tensor.U8:
		return mkIntKernel[uint8](n, plans)
	case tensor.I8:
		return mkIntKernel[int8](n, plans)
	}
	return nil, errf(n, "unsupported dtype %s", dt)
}

func mkIntKernel[T integer](n *graph.Node, plans []*bcast) (Kernel, error) {
	if n.Str(graph.AttrActivation, "") != "" {
		return nil, errf(n, "fused activation on integer tensors")
	}
	fn := intRow[T](n.Op)
	if fn == nil {
		return nil, errf(n, "unsupported dtype %s", n.Inputs[0].DType)
	}
	return &binKernel[T, T]{plans: plans, fn: fn}, nil
}

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
	for _, op := range []string{"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum"} {
		Register(op, &Def{Infer: inferArith, Compile: compileArith, InPlace: true})
	}
	Register("Mod", &Def{Infer: inferBinary2, Compile: compileMod, InPlace: true})
	Register("PRelu", &Def{Infer: inferPRelu, Compile: compilePRelu, InPlace: true})
	Register("Mean", &Def{Infer: inferMean, Compile: compileMean, InPlace: true})
}
