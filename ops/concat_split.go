package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Concat and Split: byte-level block copies over (outer, axis*inner), for any dtype.

func inferConcat(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	var out tensor.Shape
	var ax int
	for i, v := range n.Inputs {
		if v == nil {
			return errf(n, "input %d is missing", i)
		}
		if v.Shape == nil {
			setOut(n, 0, n.Inputs[0].DType, nil)
			return nil
		}
		if out == nil {
			var err error
			if ax, err = normAxis(n, n.Int("axis", 0), len(v.Shape)); err != nil {
				return err
			}
			out = v.Shape.Clone()
			continue
		}
		if len(v.Shape) != len(out) || v.DType != n.Inputs[0].DType {
			return errf(n, "input %d (%s%v) does not match %s%v", i, v.DType, v.Shape, n.Inputs[0].DType, out)
		}
		for d := range out {
			switch {
			case d == ax:
				if out[d] < 0 || v.Shape[d] < 0 {
					out[d] = -1
				} else {
					out[d] += v.Shape[d]
				}
			case out[d] < 0:
				out[d] = v.Shape[d]
			case v.Shape[d] >= 0 && v.Shape[d] != out[d]:
				return errf(n, "input %d shape %v does not match %v off axis %d", i, v.Shape, out, ax)
			}
		}
	}
	setOut(n, 0, n.Inputs[0].DType, out)
	return nil
}

// blockKernel copies, for each of outer blocks, a run of bytes from each input into the output
// (Concat) or from the input into each output (Split).
type blockKernel struct {
	outer int
	runs  []int // bytes per block per piece
	split bool
}

func (k *blockKernel) ScratchBytes() int { return 0 }

func (k *blockKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	if k.split {
		src := in[0].Data
		off := 0
		for o := 0; o < k.outer; o++ {
			for j, r := range k.runs {
				if out[j] != nil {
					copy(out[j].Data[o*r:o*r+r], src[off:off+r])
				}
				off += r
			}
		}
		return nil
	}
	dst := out[0].Data
	off := 0
	for o := 0; o < k.outer; o++ {
		for j, r := range k.runs {
			off += copy(dst[off:off+r], in[j].Data[o*r:o*r+r])
		}
	}
	return nil
}

// blockDims splits s around axis ax: outer is the product of the dims before it, inner that of the dims
// after it times esize (the element size in bytes, or 1 to count elements).
func blockDims(s tensor.Shape, ax int, esize int) (outer, inner int) {
	outer, inner = 1, esize
	for _, d := range s[:ax] {
		outer *= d
	}
	for _, d := range s[ax+1:] {
		inner *= d
	}
	return outer, inner
}

func compileConcat(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	ax, err := normAxis(n, n.Int("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	outer, inner := blockDims(x.Shape, ax, x.DType.Size())
	k := &blockKernel{outer: outer}
	for _, v := range n.Inputs {
		k.runs = append(k.runs, v.Shape[ax]*inner)
	}
	return k, nil
}

// splitSizes resolves the split: sizes from input 1 or the "split" attribute, else num_outputs
// (or the number of outputs) parts, the last one smaller when the axis does not divide evenly.
func splitSizes(n *graph.Node, dim int) ([]int, bool, error) {
	vals, present, known := intsInputOrAttr(n, 1, "split")
	if !known {
		return nil, false, nil
	}
	if present && len(vals) > 0 {
		if len(vals) != len(n.Outputs) {
			return nil, true, errf(n, "split %v does not match %d outputs", vals, len(n.Outputs))
		}
		sizes := make([]int, len(vals))
		sum := 0
		for i, v := range vals {
			if v < 0 {
				return nil, true, errf(n, "negative split %d", v)
			}
			sizes[i] = int(v)
			sum += int(v)
		}
		if dim >= 0 && sum != dim {
			return nil, true, errf(n, "split %v does not sum to %d", vals, dim)
		}
		return sizes, true, nil
	}
	parts := int(n.Int("num_outputs", int64(len(n.Outputs))))
	if parts <= 0 || parts != len(n.Outputs) {
		return nil, true, errf(n, "num_outputs %d with %d outputs", parts, len(n.Outputs))
	}
	if dim < 0 {
		return nil, false, nil
	}
	each := (dim + parts - 1) / parts
	sizes := make([]int, parts)
	left := dim
	for i := range sizes {
		sizes[i] = min(each, left)
		left -= sizes[i]
	}
	return sizes, true, nil
}

func inferSplit(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	if x.Shape == nil {
		for i := range n.Outputs {
			setOut(n, i, x.DType, nil)
		}
		return nil
	}
	ax, err := normAxis(n, n.Int("axis", 0), len(x.Shape))
	if err != nil {
		return err
	}
	sizes, ok, err := splitSizes(n, x.Shape[ax])
	if err != nil {
		return err
	}
	for i := range n.Outputs {
		s := x.Shape.Clone()
		s[ax] = -1
		if ok {
			s[ax] = sizes[i]
		}
		setOut(n, i, x.DType, s)
	}
	return nil
}

func compileSplit(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	ax, err := normAxis(n, n.Int("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	sizes, ok, err := splitSizes(n, x.Shape[ax])
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errf(n, "split sizes must be constant")
	}
	outer, inner := blockDims(x.Shape, ax, x.DType.Size())
	k := &blockKernel{outer: outer, split: true}
	for _, s := range sizes {
		k.runs = append(k.runs, s*inner)
	}
	return k, nil
}

func init() {
	Register("Concat", &Def{Infer: inferConcat, Compile: compileConcat})
	Register("Split", &Def{Infer: inferSplit, Compile: compileSplit})
}
