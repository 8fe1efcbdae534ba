package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Binary element-wise operators with multidirectional (numpy) broadcasting: Add, Sub, Mul, Div, Pow,
// variadic Max, Min, Sum, the comparisons Equal, Greater, Less (-> bool) and Where.
//
// Every kernel walks a collapsed broadcast plan (see bcast): equal shapes become one long row, a
// scalar or per-channel operand becomes rows in which that operand is a constant, and anything else
// becomes rows of the innermost contiguous run with strided row starts.

type number interface {
	~float32 | ~int64 | ~int32 | ~uint8 | ~int8
}

type integer interface {
	~int64 | ~int32 | ~uint8 | ~int8
}

// rowFn computes one row: d[i] = f(x[i], y[i]), where an operand of length 1 (while d is longer)
// is broadcast. d may alias x.
type rowFn[T, O any] func(d []O, x, y []T)

func rowOf[T, O any](f func(a, b T) O) rowFn[T, O] {
	return func(d []O, x, y []T) {
		switch {
		case len(x) == len(d) && len(y) == len(d):
			x, y = x[:len(d)], y[:len(d)]
			for i := range d {
				d[i] = f(x[i], y[i])
			}
		case len(x) == len(d):
			yv := y[0]
			x = x[:len(d)]
			for i := range d {
				d[i] = f(x[i], yv)
			}
		case len(y) == len(d):
			xv := x[0]
			y = y[:len(d)]
			for i := range d {
				d[i] = f(xv, y[i])
			}
		default:
			v := f(x[0], y[0])
			for i := range d {
				d[i] = v
			}
		}
	}
}

// Hand-written f32 rows for the hot ops: the generic rowOf calls f through a function value per element.
func addF32(d, x, y []float32) {
	switch {
	case len(x) == len(d) && len(y) == len(d):
		x, y = x[:len(d)], y[:len(d)]
		for i := range d {
			d[i] = x[i] + y[i]
		}
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
		x, y = x[:len(d)], y[:len(d)]
		for i := range d {
			d[i] = x[i] * y[i]
		}
	case len(x) == len(d):
		v := y[0]
		x = x[:len(d)]
		for i := range d {
			d[i] = x[i] * v
		}
	case len(y) == len(d):
		v := x[0]
		y = y[:len(d)]
		for i := range d {
			d[i] = v * y[i]
		}
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

func cmpRow[T number](op string) rowFn[T, uint8] {
	b := func(v bool) uint8 {
		if v {
			return 1
		}
		return 0
	}
	switch op {
	case "Equal":
		return rowOf(func(x, y T) uint8 { return b(x == y) })
	case "Greater":
		return rowOf(func(x, y T) uint8 { return b(x > y) })
	case "Less":
		return rowOf(func(x, y T) uint8 { return b(x < y) })
	case "GreaterOrEqual":
		return rowOf(func(x, y T) uint8 { return b(x >= y) })
	case "LessOrEqual":
		return rowOf(func(x, y T) uint8 { return b(x <= y) })
	}
	return nil
}

// binKernel runs one or more broadcast steps: step 0 computes out = in0 op in1, step j computes
// out = out op in[j+1] (variadic Max/Min/Sum).
type binKernel[T, O any] struct {
	plans []*bcast
	fn    rowFn[T, O]
	act   func([]O) // fused activation on each finished row (last step only), or nil

	// set per step by Run
	b       *bcast
	x, y    []T
	dst     []O
	lastAct bool
}

func (k *binKernel[T, O]) ScratchBytes() int { return 0 }

func (k *binKernel[T, O]) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.dst = elems[O](out[0])
	for s, p := range k.plans {
		k.b = p
		if s == 0 {
			k.x = elems[T](in[0])
		} else {
			k.x = elems[T](out[0]) // O == T for variadic ops
		}
		k.y = elems[T](in[s+1])
		k.lastAct = k.act != nil && s == len(k.plans)-1
		ctx.pool().For(p.tasks(), p.grain(), k)
	}
	return nil
}

func (k *binKernel[T, O]) Do(lo, hi int) {
	b := k.b
	for t := lo; t < hi; t++ {
		row, a, e := b.span(t)
		base := row * b.inner
		d := k.dst[base+a : base+e]
		k.fn(d, operand(b, 0, row, k.x, a, e), operand(b, 1, row, k.y, a, e))
		if k.lastAct {
			k.act(d)
		}
	}
}

func (c *Ctx) pool() *parallel.Pool {
	if c == nil {
		return nil
	}
	return c.Pool
}

func inferBroadcast(n *graph.Node, out tensor.DType, ins []*graph.Value) error {
	shapes := make([]tensor.Shape, len(ins))
	for i, v := range ins {
		if v == nil {
			return errf(n, "input %d is missing", i)
		}
		shapes[i] = v.Shape
	}
	s, err := broadcastShapes(n, shapes...)
	if err != nil {
		return err
	}
	setOut(n, 0, out, s)
	return nil
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

// binPlans builds one plan per step (see binKernel).
func binPlans(n *graph.Node) []*bcast {
	out := n.Outputs[0].Shape
	plans := []*bcast{newBcast(out, n.Inputs[0].Shape, n.Inputs[1].Shape)}
	for _, v := range n.Inputs[2:] {
		plans = append(plans, newBcast(out, out, v.Shape))
	}
	return plans
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

func inferCmp(n *graph.Node) error {
	if err := needInputs(n, 2); err != nil {
		return err
	}
	return inferBroadcast(n, tensor.Bool, n.Inputs[:2])
}

func compileCmp(n *graph.Node) (Kernel, error) {
	dt := n.Inputs[0].DType
	if n.Inputs[1].DType != dt {
		return nil, errf(n, "inputs must share one dtype")
	}
	plans := binPlans(n)
	switch dt {
	case tensor.F32:
		return &binKernel[float32, uint8]{plans: plans, fn: cmpRow[float32](n.Op)}, nil
	case tensor.I64:
		return &binKernel[int64, uint8]{plans: plans, fn: cmpRow[int64](n.Op)}, nil
	case tensor.I32:
		return &binKernel[int32, uint8]{plans: plans, fn: cmpRow[int32](n.Op)}, nil
	case tensor.U8, tensor.Bool:
		return &binKernel[uint8, uint8]{plans: plans, fn: cmpRow[uint8](n.Op)}, nil
	case tensor.I8:
		return &binKernel[int8, uint8]{plans: plans, fn: cmpRow[int8](n.Op)}, nil
	}
	return nil, errf(n, "unsupported dtype %s", dt)
}

// whereKernel selects x where cond else y; T is an unsigned type of the element size, so one
// instantiation serves every dtype of that width.
type whereKernel[T any] struct {
	b         *bcast
	c         []uint8
	x, y, dst []T
}

func (k *whereKernel[T]) ScratchBytes() int { return 0 }

func (k *whereKernel[T]) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.c, k.x, k.y, k.dst = elems[uint8](in[0]), elems[T](in[1]), elems[T](in[2]), elems[T](out[0])
	ctx.pool().For(k.b.tasks(), k.b.grain(), k)
	return nil
}

func (k *whereKernel[T]) Do(lo, hi int) {
	b := k.b
	for t := lo; t < hi; t++ {
		row, a, e := b.span(t)
		base := row * b.inner
		d := k.dst[base+a : base+e]
		c, x, y := operand(b, 0, row, k.c, a, e), operand(b, 1, row, k.x, a, e), operand(b, 2, row, k.y, a, e)
		for i := range d {
			ci, xi, yi := i, i, i
			if len(c) == 1 {
				ci = 0
			}
			if len(x) == 1 {
				xi = 0
			}
			if len(y) == 1 {
				yi = 0
			}
			if c[ci] != 0 {
				d[i] = x[xi]
			} else {
				d[i] = y[yi]
			}
		}
	}
}

func inferWhere(n *graph.Node) error {
	if err := needInputs(n, 3); err != nil {
		return err
	}
	return inferBroadcast(n, n.Inputs[1].DType, n.Inputs[:3])
}

func compileWhere(n *graph.Node) (Kernel, error) {
	if n.Inputs[0].DType != tensor.Bool {
		return nil, errf(n, "condition must be bool, is %s", n.Inputs[0].DType)
	}
	if n.Inputs[1].DType != n.Inputs[2].DType {
		return nil, errf(n, "x and y dtypes differ")
	}
	b := newBcast(n.Outputs[0].Shape, n.Inputs[0].Shape, n.Inputs[1].Shape, n.Inputs[2].Shape)
	switch n.Inputs[1].DType.Size() {
	case 1:
		return &whereKernel[uint8]{b: b}, nil
	case 2:
		return &whereKernel[uint16]{b: b}, nil
	case 4:
		return &whereKernel[uint32]{b: b}, nil
	case 8:
		return &whereKernel[uint64]{b: b}, nil
	}
	return nil, errf(n, "unsupported dtype %s", n.Inputs[1].DType)
}

func init() {
	for _, op := range []string{"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum"} {
		Register(op, &Def{Infer: inferArith, Compile: compileArith, InPlace: true})
	}
	for _, op := range []string{"Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual"} {
		Register(op, &Def{Infer: inferCmp, Compile: compileCmp})
	}
	Register("Where", &Def{Infer: inferWhere, Compile: compileWhere})
}
