package runtime

import (
	"errors"
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Test-only ops under names no real operator uses, so the runtime's planning (aliases, in-place,
// scratch) is tested on its own, whatever operator files exist:
//
//	rtAdd(a, b)      a+b by flat index (same element count), output shaped like a, InPlace
//	rtRelu(x)        max(x, 0), InPlace
//	rtReshape(x)     attr "shape" (-1 infers, 0 copies), Alias
//	rtDouble(x)      2x through a scratch copy (ScratchBytes = size of x); NOT in-place
//	rtHook(x)        x, calling hook() first (counting runs, cancelling contexts)
//	rtFail(x)        returns an error
var hook func()

func sameShape(n *graph.Node) error {
	x := n.Inputs[0]
	for _, in := range n.Inputs[1:] {
		// Element-wise by flat index: only the element counts must agree.
		if x.Shape.Known() && in.Shape.Known() && x.Shape.NumElements() != in.Shape.NumElements() {
			return fmt.Errorf("%s: shapes %s and %s differ in size", n.Op, x.Shape, in.Shape)
		}
	}
	n.Outputs[0].DType, n.Outputs[0].Shape = x.DType, x.Shape.Clone()
	return nil
}

type kernelFunc struct {
	scratch int
	run     func(ctx *ops.Ctx, in, out []*tensor.Tensor) error
}

func (k kernelFunc) ScratchBytes() int { return k.scratch }
func (k kernelFunc) Run(ctx *ops.Ctx, in, out []*tensor.Tensor) error {
	return k.run(ctx, in, out)
}

func simple(run func(ctx *ops.Ctx, in, out []*tensor.Tensor) error) func(*graph.Node) (ops.Kernel, error) {
	return func(*graph.Node) (ops.Kernel, error) { return kernelFunc{run: run}, nil }
}

func init() {
	ops.Register("rtAdd", &ops.Def{Infer: sameShape, InPlace: true, Compile: simple(func(_ *ops.Ctx, in, out []*tensor.Tensor) error {
		a, b, o := in[0].F32(), in[1].F32(), out[0].F32()
		for i := range o {
			o[i] = a[i] + b[i]
		}
		return nil
	})})
	ops.Register("rtRelu", &ops.Def{Infer: sameShape, InPlace: true, Compile: simple(func(_ *ops.Ctx, in, out []*tensor.Tensor) error {
		x, o := in[0].F32(), out[0].F32()
		for i := range o {
			o[i] = max(x[i], 0)
		}
		return nil
	})})
	ops.Register("rtReshape", &ops.Def{Alias: true, Infer: func(n *graph.Node) error {
		x, o := n.Inputs[0], n.Outputs[0]
		t := n.Ints("shape", nil)
		o.DType, o.Shape = x.DType, make(tensor.Shape, len(t))
		rest, neg := x.Shape.NumElements(), -1
		for i, d := range t {
			switch {
			case d == 0:
				o.Shape[i] = x.Shape[i]
			case d < 0:
				neg = i
				continue
			default:
				o.Shape[i] = int(d)
			}
			if rest >= 0 {
				rest /= o.Shape[i]
			}
		}
		if neg >= 0 {
			o.Shape[neg] = rest
		}
		return nil
	}})
	ops.Register("rtDouble", &ops.Def{Infer: sameShape, Compile: func(n *graph.Node) (ops.Kernel, error) {
		return kernelFunc{scratch: n.Inputs[0].Shape.NumElements() * 4, run: func(ctx *ops.Ctx, in, out []*tensor.Tensor) error {
			s := (&tensor.Tensor{DType: tensor.F32, Shape: in[0].Shape, Data: ctx.Scratch}).F32()
			copy(s, in[0].F32())
			for i, v := range s {
				out[0].F32()[i] = 2 * v
			}
			return nil
		}}, nil
	}})
	ops.Register("rtHook", &ops.Def{Infer: sameShape, Compile: simple(func(_ *ops.Ctx, in, out []*tensor.Tensor) error {
		if hook != nil {
			hook()
		}
		copy(out[0].Data, in[0].Data)
		return nil
	})})
	ops.Register("rtFail", &ops.Def{Infer: sameShape, Compile: simple(func(_ *ops.Ctx, in, out []*tensor.Tensor) error {
		return errors.New("deliberate failure")
	})})
}

// evalNaive interprets a graph value by value in fresh Go memory: the oracle the planned run must match.
func evalNaive(g *graph.Graph, inputs []*tensor.Tensor) []*tensor.Tensor {
	val := map[*graph.Value]*tensor.Tensor{}
	for i, v := range g.Inputs {
		val[v] = inputs[i].Clone()
	}
	get := func(v *graph.Value) *tensor.Tensor {
		if v.Const != nil {
			return v.Const
		}
		return val[v]
	}
	for _, n := range g.Nodes {
		x := get(n.Inputs[0]).F32()
		o := make([]float32, len(x))
		switch n.Op {
		case "rtAdd":
			y := get(n.Inputs[1]).F32()
			for i := range o {
				o[i] = x[i] + y[i]
			}
		case "rtRelu":
			for i := range o {
				o[i] = max(x[i], 0)
			}
		case "rtDouble":
			for i := range o {
				o[i] = 2 * x[i]
			}
		case "rtReshape", "rtHook":
			copy(o, x)
		default:
			panic("evalNaive: " + n.Op)
		}
		// Shapes come from an inferred copy of the graph (see callers).
		val[n.Outputs[0]] = tensor.FromF32(n.Outputs[0].Shape, o)
	}
	out := make([]*tensor.Tensor, len(g.Outputs))
	for i, v := range g.Outputs {
		out[i] = get(v)
	}
	return out
}
