package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Transpose permutes the axes of a tensor of any dtype; the kernel is instantiated per element width.

type transposeKernel[T any] struct {
	// 4-D form (lower ranks are padded with leading 1s): out[a,b,c,d] = in[a*s0 + b*s1 + c*s2 + d*s3].
	dims [4]int
	st   [4]int
	// general form for rank > 4
	odims, ist, idx []int
}

func (k *transposeKernel[T]) ScratchBytes() int { return 0 }

func (k *transposeKernel[T]) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	x, y := elems[T](in[0]), elems[T](out[0])
	if len(y) == 0 {
		return nil
	}
	if k.odims == nil {
		d, s := k.dims, k.st
		o := 0
		for a := 0; a < d[0]; a++ {
			for b := 0; b < d[1]; b++ {
				base := a*s[0] + b*s[1]
				for c := 0; c < d[2]; c++ {
					p := base + c*s[2]
					if s[3] == 1 {
						o += copy(y[o:o+d[3]], x[p:p+d[3]])
						continue
					}
					for e := 0; e < d[3]; e++ {
						y[o] = x[p]
						o++
						p += s[3]
					}
				}
			}
		}
		return nil
	}
	clear(k.idx)
	p, r := 0, len(k.odims)
	for o := range y {
		y[o] = x[p]
		for d := r - 1; d >= 0; d-- {
			k.idx[d]++
			p += k.ist[d]
			if k.idx[d] < k.odims[d] {
				break
			}
			p -= k.ist[d] * k.odims[d]
			k.idx[d] = 0
		}
	}
	return nil
}

func transposePerm(n *graph.Node, r int) ([]int, error) {
	p := n.Ints("perm", nil)
	perm := make([]int, r)
	if p == nil {
		for i := range perm {
			perm[i] = r - 1 - i
		}
		return perm, nil
	}
	if len(p) != r {
		return nil, errf(n, "perm %v does not match rank %d", p, r)
	}
	seen := make([]bool, r)
	for i, v := range p {
		if v < 0 || int(v) >= r || seen[v] {
			return nil, errf(n, "invalid perm %v", p)
		}
		seen[v] = true
		perm[i] = int(v)
	}
	return perm, nil
}

func inferTranspose(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	if x.Shape == nil {
		setOut(n, 0, x.DType, nil)
		return nil
	}
	perm, err := transposePerm(n, len(x.Shape))
	if err != nil {
		return err
	}
	out := make(tensor.Shape, len(perm))
	for i, p := range perm {
		out[i] = x.Shape[p]
	}
	setOut(n, 0, x.DType, out)
	return nil
}

func compileTranspose(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	perm, err := transposePerm(n, len(x.Shape))
	if err != nil {
		return nil, err
	}
	ist := x.Shape.Strides()
	r := len(perm)
	odims := make([]int, r)
	pst := make([]int, r)
	for i, p := range perm {
		odims[i] = x.Shape[p]
		pst[i] = ist[p]
	}
	return bySize(x.DType, func() Kernel { return mkTranspose[uint8](odims, pst) },
		func() Kernel { return mkTranspose[uint16](odims, pst) },
		func() Kernel { return mkTranspose[uint32](odims, pst) },
		func() Kernel { return mkTranspose[uint64](odims, pst) })
}

func mkTranspose[T any](odims, pst []int) Kernel {
	k := &transposeKernel[T]{}
	r := len(odims)
	if r > 4 {
		k.odims, k.ist, k.idx = odims, pst, make([]int, r)
		return k
	}
	for i := range 4 {
		k.dims[i], k.st[i] = 1, 0
		if j := i - (4 - r); j >= 0 {
			k.dims[i], k.st[i] = odims[j], pst[j]
		}
	}
	return k
}

func init() {
	Register("Transpose", &Def{Infer: inferTranspose, Compile: compileTranspose})
}
