package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Trilu keeps the upper (upper=1, the default: j - i >= k) or lower (j - i <= k) triangle of each
// matrix in the last two dims and zeroes the rest; k is the optional input 1 (default 0), read at
// run time. EyeLike makes a 2-D tensor of x's shape (dtype attribute, or x's) with ones where
// j - i = k. Both on float32, int32 and int64 data.

type triluKernel[T float32 | int32 | int64] struct {
	rows, cols int
	upper      bool
}

func (k *triluKernel[T]) ScratchBytes() int { return 0 }

func (k *triluKernel[T]) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	x, y := elems[T](in[0]), elems[T](out[0])
	var diag int64
	if len(in) > 1 && in[1] != nil {
		diag = elems[int64](in[1])[0]
	}
	for m := 0; m*k.rows*k.cols < len(y); m++ {
		for i := 0; i < k.rows; i++ {
			for j := 0; j < k.cols; j++ {
				p := (m*k.rows+i)*k.cols + j
				d := int64(j - i)
				if k.upper && d >= diag || !k.upper && d <= diag {
					y[p] = x[p]
				} else {
					y[p] = 0
				}
			}
		}
	}
	return nil
}

func compileTrilu(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	if len(x.Shape) < 2 {
		return nil, errf(n, "input rank %d, want >= 2", len(x.Shape))
	}
	if k := n.Input(1); k != nil && (k.DType != tensor.I64 || k.Shape.NumElements() != 1) {
		return nil, errf(n, "k must be one int64, is %s%s", k.DType, k.Shape)
	}
	rows, cols, upper := x.Shape[len(x.Shape)-2], x.Shape[len(x.Shape)-1], n.Int("upper", 1) != 0
	switch x.DType {
	case tensor.F32:
		return &triluKernel[float32]{rows: rows, cols: cols, upper: upper}, nil
	case tensor.I32:
		return &triluKernel[int32]{rows: rows, cols: cols, upper: upper}, nil
	case tensor.I64:
		return &triluKernel[int64]{rows: rows, cols: cols, upper: upper}, nil
	}
	return nil, errf(n, "unsupported dtype %s", x.DType)
}

type eyeKernel[T float32 | int32 | int64] struct {
	rows, cols int
	k          int
}

func (k *eyeKernel[T]) ScratchBytes() int { return 0 }

func (k *eyeKernel[T]) Run(_ *Ctx, _, out []*tensor.Tensor) error {
	y := elems[T](out[0])
	clear(y)
	for i := 0; i < k.rows; i++ {
		if j := i + k.k; j >= 0 && j < k.cols {
			y[i*k.cols+j] = 1
		}
	}
	return nil
}

func eyeDType(n *graph.Node) (tensor.DType, error) {
	if !n.Has("dtype") {
		return n.Inputs[0].DType, nil
	}
	dt, ok := onnxDTypes[n.Int("dtype", 0)]
	if !ok {
		return 0, errf(n, "unsupported dtype %d", n.Int("dtype", 0))
	}
	return dt, nil
}

func inferEyeLike(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	dt, err := eyeDType(n)
	if err != nil {
		return err
	}
	setOut(n, 0, dt, n.Inputs[0].Shape.Clone())
	return nil
}

func compileEyeLike(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	if len(x.Shape) != 2 {
		return nil, errf(n, "input must be 2-D, is %s", x.Shape)
	}
	dt, err := eyeDType(n)
	if err != nil {
		return nil, err
	}
	rows, cols, k := x.Shape[0], x.Shape[1], int(n.Int("k", 0))
	switch dt {
	case tensor.F32:
		return &eyeKernel[float32]{rows, cols, k}, nil
	case tensor.I32:
		return &eyeKernel[int32]{rows, cols, k}, nil
	case tensor.I64:
		return &eyeKernel[int64]{rows, cols, k}, nil
	}
	return nil, errf(n, "unsupported dtype %s", dt)
}

func init() {
	Register("Trilu", &Def{Infer: inferUnary, Compile: compileTrilu, InPlace: true})
	Register("EyeLike", &Def{Infer: inferEyeLike, Compile: compileEyeLike})
}
