package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// GatherND: indices [..., m] pick slices of data after its first batch_dims dims; output shape
// indices.shape[:-1] + data.shape[batch_dims+m:]. The leading batch_dims dims of data and indices
// are matched one to one; negative indices count from the end. Moves raw bytes (any dtype).

type gatherNDKernel struct {
	batches, perBatch, m int   // batch count, index tuples per batch, tuple length
	dims                 []int // data dims indexed by a tuple
	dStrides             []int // their strides, in slices
	slice                int   // bytes of one gathered slice
	batchBytes           int   // bytes of one batch of data
}

func (k *gatherNDKernel) ScratchBytes() int { return 0 }

func (k *gatherNDKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	src, dst, idx := in[0].Data, out[0].Data, in[1].I64()
	for b := 0; b < k.batches; b++ {
		for t := 0; t < k.perBatch; t++ {
			tuple := idx[(b*k.perBatch+t)*k.m:][:k.m]
			off := 0
			for d, v := range tuple {
				if v < 0 {
					v += int64(k.dims[d])
				}
				if v < 0 || v >= int64(k.dims[d]) {
					return errIndexRange
				}
				off += int(v) * k.dStrides[d]
			}
			o := (b*k.perBatch + t) * k.slice
			s := b*k.batchBytes + off*k.slice
			copy(dst[o:o+k.slice], src[s:s+k.slice])
		}
	}
	return nil
}

// gatherNDShape checks the shapes and returns the output shape.
func gatherNDShape(n *graph.Node) (tensor.Shape, int, error) {
	d, i := n.Inputs[0].Shape, n.Inputs[1].Shape
	b := int(n.Int("batch_dims", 0))
	if len(i) < 1 || b < 0 || b >= len(i) || b >= len(d) {
		return nil, 0, errf(n, "indices %s and batch_dims %d for data %s", i, b, d)
	}
	m := i[len(i)-1]
	if m < 1 || b+m > len(d) {
		return nil, 0, errf(n, "index tuples of %d for data %s after %d batch dims", m, d, b)
	}
	for k := 0; k < b; k++ {
		if d[k] != i[k] {
			return nil, 0, errf(n, "batch dim %d: data %d, indices %d", k, d[k], i[k])
		}
	}
	out := append(i[:len(i)-1:len(i)-1].Clone(), d[b+m:]...)
	return out, b, nil
}

func inferGatherND(n *graph.Node) error {
	if err := needInputs(n, 2); err != nil {
		return err
	}
	if n.Inputs[1].DType != tensor.I64 {
		return errf(n, "indices must be int64, are %s", n.Inputs[1].DType)
	}
	if n.Inputs[0].Shape == nil || n.Inputs[1].Shape == nil {
		setOut(n, 0, n.Inputs[0].DType, nil)
		return nil
	}
	out, _, err := gatherNDShape(n)
	if err != nil {
		return err
	}
	setOut(n, 0, n.Inputs[0].DType, out)
	return nil
}

func compileGatherND(n *graph.Node) (Kernel, error) {
	d, i := n.Inputs[0].Shape, n.Inputs[1].Shape
	if !d.Known() || !i.Known() {
		return nil, errf(n, "shapes %s, %s not concrete", d, i)
	}
	_, b, err := gatherNDShape(n)
	if err != nil {
		return nil, err
	}
	m := i[len(i)-1]
	k := &gatherNDKernel{batches: d[:b].NumElements(), m: m, dims: d[b : b+m].Clone(),
		slice: d[b+m:].NumElements() * n.Inputs[0].DType.Size()}
	k.perBatch = i[b : len(i)-1].NumElements()
	k.batchBytes = d[b:].NumElements() * n.Inputs[0].DType.Size()
	k.dStrides = make([]int, m)
	acc := 1
	for j := m - 1; j >= 0; j-- {
		k.dStrides[j] = acc
		acc *= k.dims[j]
	}
	return k, nil
}

func init() {
	Register("GatherND", &Def{Infer: inferGatherND, Compile: compileGatherND})
}
