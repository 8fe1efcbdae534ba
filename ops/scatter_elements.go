package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// ScatterElements (and opset 9's Scatter, renamed at import): a copy of data in which the element
// at each position of indices, with index[axis] replaced by the indices value (negative counts
// from the end), becomes the matching element of updates, or (reduction add, mul, max, min; float32)
// is combined with it, in indices' row-major order. Without a reduction, elements move as raw bytes.

type scatterElementsKernel struct {
	gatherElementsKernel // axis, shapes and strides: the same addressing as GatherElements
	reduce               func(a, b float32) float32
}

func (k *scatterElementsKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	dst := out[0].Data
	copy(dst, in[0].Data)
	upd := in[2].Data
	total := k.idx.NumElements()
	c := k.counter
	clear(c)
	dim := int64(k.data[k.axis])
	var y, u []float32
	if k.reduce != nil {
		y, u = elems[float32](out[0]), elems[float32](in[2])
	}
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
		if k.reduce != nil {
			y[off] = k.reduce(y[off], u[i])
		} else {
			copy(dst[off*k.elem:(off+1)*k.elem], upd[i*k.elem:(i+1)*k.elem])
		}
		for d := len(c) - 1; d >= 0; d-- {
			if c[d]++; c[d] < k.idx[d] {
				break
			}
			c[d] = 0
		}
	}
	return nil
}

func inferScatterElements(n *graph.Node) error {
	if err := needInputs(n, 3); err != nil {
		return err
	}
	if dt := n.Inputs[1].DType; dt != tensor.I64 && dt != tensor.I32 {
		return errf(n, "indices must be int32 or int64, are %s", dt)
	}
	setOut(n, 0, n.Inputs[0].DType, n.Inputs[0].Shape.Clone())
	return nil
}

func compileScatterElements(n *graph.Node) (Kernel, error) {
	d, i, u := n.Inputs[0].Shape, n.Inputs[1].Shape, n.Inputs[2].Shape
	if len(i) != len(d) || !i.Equal(u) || n.Inputs[2].DType != n.Inputs[0].DType {
		return nil, errf(n, "data %s, indices %s and updates %s%s do not fit", d, i, n.Inputs[2].DType, u)
	}
	ax, err := normAxis(n, n.Int("axis", 0), len(d))
	if err != nil {
		return nil, err
	}
	for k := range d {
		if k != ax && i[k] > d[k] {
			return nil, errf(n, "indices shape %s exceeds data shape %s off the axis", i, d)
		}
	}
	k := &scatterElementsKernel{gatherElementsKernel: gatherElementsKernel{axis: ax, data: d.Clone(), idx: i.Clone(),
		elem: n.Inputs[0].DType.Size(), dStrides: d.Strides(), counter: make([]int, len(d)), indicesI32: n.Inputs[1].DType == tensor.I32}}
	switch r := n.Str("reduction", "none"); r {
	case "none":
	case "add", "mul", "max", "min":
		if n.Inputs[0].DType != tensor.F32 {
			return nil, errf(n, "reduction %q on %s (float32 only)", r, n.Inputs[0].DType)
		}
		k.reduce = map[string]func(a, b float32) float32{
			"add": func(a, b float32) float32 { return a + b },
			"mul": func(a, b float32) float32 { return a * b },
			"max": func(a, b float32) float32 { return float32(math.Max(float64(a), float64(b))) },
			"min": func(a, b float32) float32 { return float32(math.Min(float64(a), float64(b))) },
		}[r]
	default:
		return nil, errf(n, "unknown reduction %q", r)
	}
	return k, nil
}

func init() {
	Register("ScatterElements", &Def{Infer: inferScatterElements, Compile: compileScatterElements})
}
