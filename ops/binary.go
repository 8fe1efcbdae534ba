package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/tensor"
)

// The broadcasting machinery of the binary element-wise operators (binary_arith.go, binary_logic.go):
// multidirectional (numpy) broadcasting of any number of inputs. Every kernel walks a collapsed
// broadcast plan (see bcast): equal shapes become one long row, a scalar or per-channel operand
// becomes rows in which that operand is a constant, and anything else becomes rows of the innermost
// contiguous run with strided row starts.

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

// binPlans builds one plan per step (see binKernel).
func binPlans(n *graph.Node) []*bcast {
	out := n.Outputs[0].Shape
	plans := []*bcast{newBcast(out, n.Inputs[0].Shape, n.Inputs[1].Shape)}
	for _, v := range n.Inputs[2:] {
		plans = append(plans, newBcast(out, out, v.Shape))
	}
	return plans
}

func inferBinary2(n *graph.Node) error {
	if err := needInputs(n, 2); err != nil {
		return err
	}
	return inferBroadcast(n, n.Inputs[0].DType, n.Inputs[:2])
}
