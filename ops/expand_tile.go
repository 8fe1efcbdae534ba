package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Expand (NumPy broadcast to a shape) and Tile (repeat along each axis), any dtype.

func inferExpand(n *graph.Node) error {
	if err := needInputs(n, 2); err != nil {
		return err
	}
	x, s := n.Inputs[0], n.Inputs[1]
	spec, ok := constInts(s)
	if !ok {
		if len(s.Shape) == 1 && s.Shape[0] >= 0 && x.Shape != nil {
			setOut(n, 0, x.DType, dynShape(max(s.Shape[0], len(x.Shape))))
		} else {
			setOut(n, 0, x.DType, nil)
		}
		return nil
	}
	target := make(tensor.Shape, len(spec))
	for i, v := range spec {
		target[i] = int(v)
	}
	out, err := broadcastShapes(n, x.Shape, target)
	if err != nil {
		return err
	}
	setOut(n, 0, x.DType, out)
	return nil
}

// expandKernel broadcasts its input over the output shape.
type expandKernel[T any] struct {
	b      *bcast
	x, dst []T
}

func (k *expandKernel[T]) ScratchBytes() int { return 0 }

func (k *expandKernel[T]) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.dst = elems[T](in[0]), elems[T](out[0])
	ctx.pool().For(k.b.tasks(), k.b.grain(), k)
	return nil
}

func (k *expandKernel[T]) Do(lo, hi int) {
	b := k.b
	for t := lo; t < hi; t++ {
		row, a, e := b.span(t)
		d := k.dst[row*b.inner+a : row*b.inner+e]
		src := operand(b, 0, row, k.x, a, e)
		if len(src) == len(d) {
			copy(d, src)
			continue
		}
		v := src[0]
		for i := range d {
			d[i] = v
		}
	}
}

func compileExpand(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	b := newBcast(n.Outputs[0].Shape, x.Shape)
	return bySize(x.DType, func() Kernel { return &expandKernel[uint8]{b: b} },
		func() Kernel { return &expandKernel[uint16]{b: b} },
		func() Kernel { return &expandKernel[uint32]{b: b} },
		func() Kernel { return &expandKernel[uint64]{b: b} })
}

func inferTile(n *graph.Node) error {
	if err := needInputs(n, 2); err != nil {
		return err
	}
	x := n.Inputs[0]
	reps, ok := constInts(n.Inputs[1])
	if x.Shape == nil {
		setOut(n, 0, x.DType, nil)
		return nil
	}
	if !ok {
		setOut(n, 0, x.DType, dynShape(len(x.Shape)))
		return nil
	}
	if len(reps) != len(x.Shape) {
		return errf(n, "repeats %v do not match rank %d", reps, len(x.Shape))
	}
	out := x.Shape.Clone()
	for i, r := range reps {
		if r < 0 {
			return errf(n, "negative repeat %d", r)
		}
		if out[i] >= 0 {
			out[i] *= int(r)
		}
	}
	setOut(n, 0, x.DType, out)
	return nil
}

// tileKernel copies each input row (innermost dim) repeatedly: out row at index (i_0..i_{r-2})
// reads input row (i_d mod in_d).
type tileKernel[T any] struct {
	in, out []int
	ist     []int
	idx     []int
}

func (k *tileKernel[T]) ScratchBytes() int { return 0 }

func (k *tileKernel[T]) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	x, y := elems[T](in[0]), elems[T](out[0])
	r := len(k.out)
	if len(y) == 0 {
		return nil
	}
	if r == 0 {
		y[0] = x[0]
		return nil
	}
	clear(k.idx)
	inRow, outRow := k.in[r-1], k.out[r-1]
	for o := 0; o < len(y); o += outRow {
		p := 0
		for d := 0; d < r-1; d++ {
			p += (k.idx[d] % k.in[d]) * k.ist[d]
		}
		for c := 0; c < outRow; c += inRow {
			copy(y[o+c:o+c+inRow], x[p:p+inRow])
		}
		for d := r - 2; d >= 0; d-- {
			k.idx[d]++
			if k.idx[d] < k.out[d] {
				break
			}
			k.idx[d] = 0
		}
	}
	return nil
}

func compileTile(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	if _, ok := constInts(n.Inputs[1]); !ok {
		return nil, errf(n, "repeats must be constant")
	}
	mk := func() (ins, outs, ist, idx []int) {
		return []int(x.Shape.Clone()), []int(n.Outputs[0].Shape.Clone()), x.Shape.Strides(), make([]int, len(x.Shape))
	}
	return bySize(x.DType, func() Kernel { a, b, c, d := mk(); return &tileKernel[uint8]{a, b, c, d} },
		func() Kernel { a, b, c, d := mk(); return &tileKernel[uint16]{a, b, c, d} },
		func() Kernel { a, b, c, d := mk(); return &tileKernel[uint32]{a, b, c, d} },
		func() Kernel { a, b, c, d := mk(); return &tileKernel[uint64]{a, b, c, d} })
}

func init() {
	Register("Expand", &Def{Infer: inferExpand, Compile: compileExpand})
	Register("Tile", &Def{Infer: inferTile, Compile: compileTile})
}
