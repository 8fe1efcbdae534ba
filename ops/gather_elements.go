package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// GatherElements: out[i...] = data[i... with index[axis] replaced by indices[i...]]; the output has
// indices' shape. Negative indices count from the end. Elements are moved as raw bytes, so every
// dtype works.

type gatherElementsKernel struct {
	axis       int
	data, idx  tensor.Shape
	elem       int
	dStrides   []int
	counter    []int
	indicesI32 bool
}

func (k *gatherElementsKernel) ScratchBytes() int { return 0 }

func (k *gatherElementsKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	src, dst := in[0].Data, out[0].Data
	total := k.idx.NumElements()
	c := k.counter
	clear(c)
	dim := int64(k.data[k.axis])
	for i := 0; i < total; i++ {
		var ix int64
		if k.indicesI32 {
			ix = int64(in[1].I32()[i])
		} else {
			ix = in[1].I64()[i]
		}
		if ix < 0 {
			ix += dim
		}
		if ix < 0 || ix >= dim {
			return errIndexRange
		}
		off := 0
		for d, v := range c {
			if d == k.axis {
				v = int(ix)
			}
			off += v * k.dStrides[d]
		}
		copy(dst[i*k.elem:(i+1)*k.elem], src[off*k.elem:(off+1)*k.elem])
		for d := len(c) - 1; d >= 0; d-- { // advance the multi-index over indices' shape
			if c[d]++; c[d] < k.idx[d] {
				break
			}
			c[d] = 0
		}
	}
	return nil
}

var errIndexRange = errorString("ops: GatherElements/ScatterND index out of range")

func inferGatherElements(n *graph.Node) error {
	if err := needInputs(n, 2); err != nil {
		return err
	}
	if dt := n.Inputs[1].DType; dt != tensor.I64 && dt != tensor.I32 {
		return errf(n, "indices must be int32 or int64, are %s", dt)
	}
	d, i := n.Inputs[0].Shape, n.Inputs[1].Shape
	if d != nil && i != nil && len(d) != len(i) {
		return errf(n, "data rank %d and indices rank %d differ", len(d), len(i))
	}
	setOut(n, 0, n.Inputs[0].DType, i.Clone())
	return nil
}

func compileGatherElements(n *graph.Node) (Kernel, error) {
	d, i := n.Inputs[0].Shape, n.Inputs[1].Shape
	ax, err := normAxis(n, n.Int("axis", 0), len(d))
	if err != nil {
		return nil, err
	}
	for k := range d {
		if k != ax && i[k] > d[k] {
			return nil, errf(n, "indices shape %s exceeds data shape %s off the axis", i, d)
		}
	}
	return &gatherElementsKernel{axis: ax, data: d.Clone(), idx: i.Clone(), elem: n.Inputs[0].DType.Size(),
		dStrides: d.Strides(), counter: make([]int, len(d)), indicesI32: n.Inputs[1].DType == tensor.I32}, nil
}

func init() {
	Register("GatherElements", &Def{Infer: inferGatherElements, Compile: compileGatherElements})
}
