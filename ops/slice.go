package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Slice (constant starts, ends, axes and steps inputs; importers turn the older attribute form into
// them) as a strided copy of any dtype.

// sliceParams resolves per-axis start and step and the output dims (ONNX clamping rules).
func sliceParams(n *graph.Node, in tensor.Shape) (start, step []int, out tensor.Shape, ok bool, err error) {
	starts, ok1 := constInts(n.Input(1))
	ends, ok2 := constInts(n.Input(2))
	axes, ok3 := constInts(n.Input(3))
	steps, ok4 := constInts(n.Input(4))
	if !ok1 || !ok2 || (n.Input(3) != nil && !ok3) || (n.Input(4) != nil && !ok4) {
		return nil, nil, nil, false, nil
	}
	if len(starts) != len(ends) || (axes != nil && len(axes) != len(starts)) || (steps != nil && len(steps) != len(starts)) {
		return nil, nil, nil, true, errf(n, "starts/ends/axes/steps lengths differ")
	}
	r := len(in)
	start, step = make([]int, r), make([]int, r)
	out = in.Clone()
	for i := range step {
		step[i] = 1
	}
	seen := make([]bool, r)
	for i := range starts {
		a := int64(i)
		if axes != nil {
			a = axes[i]
		}
		ax, err := normAxis(n, a, r)
		if err != nil {
			return nil, nil, nil, true, err
		}
		if seen[ax] {
			return nil, nil, nil, true, errf(n, "repeated axis %d", a)
		}
		seen[ax] = true
		st := int64(1)
		if steps != nil {
			st = steps[i]
		}
		if st == 0 {
			return nil, nil, nil, true, errf(n, "step 0")
		}
		dim := int64(in[ax])
		if dim < 0 {
			out[ax] = -1
			continue
		}
		s, e := starts[i], ends[i]
		if s < 0 {
			s += dim
		}
		if e < 0 {
			e += dim
		}
		if st > 0 {
			s, e = min(max(s, 0), dim), min(max(e, 0), dim)
		} else {
			s, e = min(max(s, 0), dim-1), min(max(e, -1), dim-1)
		}
		cnt := int64(0)
		if st > 0 && e > s {
			cnt = (e - s + st - 1) / st
		} else if st < 0 && s > e {
			cnt = (s - e - st - 1) / -st
		}
		start[ax], step[ax], out[ax] = int(s), int(st), int(cnt)
	}
	return start, step, out, true, nil
}

func inferSlice(n *graph.Node) error {
	if err := needInputs(n, 3); err != nil {
		return err
	}
	x := n.Inputs[0]
	if x.Shape == nil {
		setOut(n, 0, x.DType, nil)
		return nil
	}
	_, _, out, ok, err := sliceParams(n, x.Shape)
	if err != nil {
		return err
	}
	if !ok {
		out = dynShape(len(x.Shape))
	}
	setOut(n, 0, x.DType, out)
	return nil
}

// stridedKernel copies out[i...] = in[base + sum(i_d * st_d)]: Slice (strides = step * input stride).
type stridedKernel[T any] struct {
	base      int
	dims, st  []int
	idx       []int
	innerCopy bool // last stride is 1: copy whole rows
}

func (k *stridedKernel[T]) ScratchBytes() int { return 0 }

func (k *stridedKernel[T]) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	x, y := elems[T](in[0]), elems[T](out[0])
	if len(y) == 0 {
		return nil
	}
	r := len(k.dims)
	if r == 0 {
		y[0] = x[k.base]
		return nil
	}
	clear(k.idx)
	inner, ist := k.dims[r-1], k.st[r-1]
	p := k.base
	for o := 0; o < len(y); o += inner {
		if k.innerCopy {
			copy(y[o:o+inner], x[p:p+inner])
		} else {
			q := p
			for e := 0; e < inner; e++ {
				y[o+e] = x[q]
				q += ist
			}
		}
		for d := r - 2; d >= 0; d-- {
			k.idx[d]++
			p += k.st[d]
			if k.idx[d] < k.dims[d] {
				break
			}
			p -= k.st[d] * k.dims[d]
			k.idx[d] = 0
		}
	}
	return nil
}

func mkStrided[T any](base int, dims, st []int) Kernel {
	r := len(dims)
	return &stridedKernel[T]{base: base, dims: dims, st: st, idx: make([]int, r), innerCopy: r > 0 && st[r-1] == 1}
}

func compileSlice(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	start, step, out, ok, err := sliceParams(n, x.Shape)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errf(n, "starts/ends/axes/steps must be constant")
	}
	ist := x.Shape.Strides()
	base := 0
	st := make([]int, len(ist))
	for d := range ist {
		base += start[d] * ist[d]
		st[d] = step[d] * ist[d]
	}
	dims := []int(out.Clone())
	return bySize(x.DType, func() Kernel { return mkStrided[uint8](base, dims, st) },
		func() Kernel { return mkStrided[uint16](base, dims, st) },
		func() Kernel { return mkStrided[uint32](base, dims, st) },
		func() Kernel { return mkStrided[uint64](base, dims, st) })
}

func init() {
	Register("Slice", &Def{Infer: inferSlice, Compile: compileSlice})
}
