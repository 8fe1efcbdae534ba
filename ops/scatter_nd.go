package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// ScatterND: out = copy of data, then for each index tuple k (the last dim of indices, length q)
// the slice out[indices[k]] is replaced (reduction none) or combined (add, mul, max, min on f32)
// with updates[k]. Torch exports slice assignment (x[:, a:b] = y, Swin's attention masks) this way.

type scatterNDKernel struct {
	reduction  string
	q, slice   int // index tuple length, elements per updated slice
	tuples     int
	elem       int
	dataStride []int // element strides of data's first q dims
	dataDims   []int
}

func (k *scatterNDKernel) ScratchBytes() int { return 0 }

func (k *scatterNDKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	if &out[0].Data[0] != &in[0].Data[0] {
		copy(out[0].Data, in[0].Data)
	}
	idx := in[1].I64()
	upd, dst := in[2].Data, out[0].Data
	sb := k.slice * k.elem
	for t := 0; t < k.tuples; t++ {
		off := 0
		for j := 0; j < k.q; j++ {
			ix := idx[t*k.q+j]
			if ix < 0 {
				ix += int64(k.dataDims[j])
			}
			if ix < 0 || ix >= int64(k.dataDims[j]) {
				return errIndexRange
			}
			off += int(ix) * k.dataStride[j]
		}
		d, u := dst[off*k.elem:off*k.elem+sb], upd[t*sb:(t+1)*sb]
		if k.reduction == "none" {
			copy(d, u)
			continue
		}
		df, uf := elems[float32](&tensor.Tensor{DType: tensor.F32, Shape: tensor.Shape{k.slice}, Data: d}),
			elems[float32](&tensor.Tensor{DType: tensor.F32, Shape: tensor.Shape{k.slice}, Data: u})
		for i := range df {
			switch k.reduction {
			case "add":
				df[i] += uf[i]
			case "mul":
				df[i] *= uf[i]
			case "max":
				df[i] = max(df[i], uf[i])
			case "min":
				df[i] = min(df[i], uf[i])
			}
		}
	}
	return nil
}

func inferScatterND(n *graph.Node) error {
	if err := needInputs(n, 3); err != nil {
		return err
	}
	setOut(n, 0, n.Inputs[0].DType, n.Inputs[0].Shape.Clone())
	return nil
}

func compileScatterND(n *graph.Node) (Kernel, error) {
	data, ind, upd := n.Inputs[0], n.Inputs[1], n.Inputs[2]
	if ind.DType != tensor.I64 {
		return nil, errf(n, "indices must be int64, are %s", ind.DType)
	}
	if upd.DType != data.DType {
		return nil, errf(n, "updates dtype %s differs from data %s", upd.DType, data.DType)
	}
	red := n.Str("reduction", "none")
	switch red {
	case "none":
	case "add", "mul", "max", "min":
		if data.DType != tensor.F32 {
			return nil, errf(n, "reduction %q on %s is not supported", red, data.DType)
		}
	default:
		return nil, errf(n, "unknown reduction %q", red)
	}
	if len(ind.Shape) == 0 {
		return nil, errf(n, "indices must have rank >= 1")
	}
	q := ind.Shape[len(ind.Shape)-1]
	if q > len(data.Shape) {
		return nil, errf(n, "index tuples of length %d for data of rank %d", q, len(data.Shape))
	}
	// updates shape = indices.shape[:-1] + data.shape[q:]
	want := append(ind.Shape[:len(ind.Shape)-1].Clone(), data.Shape[q:]...)
	if !upd.Shape.Equal(want) {
		return nil, errf(n, "updates shape %s, want %s", upd.Shape, want)
	}
	st := data.Shape.Strides()
	return &scatterNDKernel{reduction: red, q: q, slice: data.Shape[q:].NumElements(),
		tuples: ind.Shape[:len(ind.Shape)-1].NumElements(), elem: data.DType.Size(),
		dataStride: st[:q], dataDims: data.Shape[:q]}, nil
}

func init() {
	Register("ScatterND", &Def{Infer: inferScatterND, Compile: compileScatterND, InPlace: true})
}
