package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Comparisons Equal, Greater, Less, GreaterOrEqual, LessOrEqual (-> bool), the logical And, Or, Xor
// and Not, and Where, which selects by a bool condition. Swin's shifted-window masks use Not.

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
	for _, op := range []string{"Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual"} {
		Register(op, &Def{Infer: inferCmp, Compile: compileCmp})
	}
	for _, op := range []string{"And", "Or", "Xor"} {
		Register(op, &Def{Infer: inferBinary2, Compile: compileLogic, InPlace: true})
	}
	Register("Not", &Def{Infer: inferUnary, Compile: compileNot, InPlace: true})
	Register("Where", &Def{Infer: inferWhere, Compile: compileWhere})
}
