package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Gather along one axis with int32/int64 indices (negative ones count from the end), any dtype.

func inferGather(n *graph.Node) error {
	if err := needInputs(n, 2); err != nil {
		return err
	}
	x, idx := n.Inputs[0], n.Inputs[1]
	if x.Shape == nil || idx.Shape == nil {
		setOut(n, 0, x.DType, nil)
		return nil
	}
	ax, err := normAxis(n, n.Int("axis", 0), len(x.Shape))
	if err != nil {
		return err
	}
	out := append(append(x.Shape[:ax:ax].Clone(), idx.Shape...), x.Shape[ax+1:]...)
	setOut(n, 0, x.DType, out)
	return nil
}

type gatherKernel struct {
	outer, dim, inner int // inner in bytes
}

func (k *gatherKernel) ScratchBytes() int { return 0 }

func (k *gatherKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	x, y := in[0].Data, out[0].Data
	nidx := in[1].NumElements()
	var i64 []int64
	var i32 []int32
	if in[1].DType == tensor.I64 {
		i64 = elems[int64](in[1])
	} else {
		i32 = elems[int32](in[1])
	}
	o := 0
	for b := 0; b < k.outer; b++ {
		for j := 0; j < nidx; j++ {
			var v int64
			if i64 != nil {
				v = i64[j]
			} else {
				v = int64(i32[j])
			}
			if v < 0 {
				v += int64(k.dim)
			}
			if v < 0 || v >= int64(k.dim) {
				return errGatherIndex
			}
			src := (b*k.dim + int(v)) * k.inner
			o += copy(y[o:o+k.inner], x[src:src+k.inner])
		}
	}
	return nil
}

var errGatherIndex = errorString("ops: Gather index out of range")

func compileGather(n *graph.Node) (Kernel, error) {
	x, idx := n.Inputs[0], n.Inputs[1]
	if idx.DType != tensor.I64 && idx.DType != tensor.I32 {
		return nil, errf(n, "indices must be i32 or i64, are %s", idx.DType)
	}
	ax, err := normAxis(n, n.Int("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	outer, inner := blockDims(x.Shape, ax, x.DType.Size())
	return &gatherKernel{outer: outer, dim: x.Shape[ax], inner: inner}, nil
}

func init() {
	Register("Gather", &Def{Infer: inferGather, Compile: compileGather})
}
