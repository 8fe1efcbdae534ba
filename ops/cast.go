package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Cast and CastLike between the numeric dtypes and bool, element by element through int64 or float64;
// floats become integers truncated toward zero (NaN as 0), integers wrap to the narrower width.

func inferCast(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	dt, ok := onnxDTypes[n.Int("to", 0)]
	if !ok {
		return errf(n, "unsupported target type %d", n.Int("to", 0))
	}
	setOut(n, 0, dt, n.Inputs[0].Shape.Clone())
	return nil
}

// inferCastLike: Cast to the dtype of input 1 (whose values are not read).
func inferCastLike(n *graph.Node) error {
	if err := needInputs(n, 2); err != nil {
		return err
	}
	setOut(n, 0, n.Inputs[1].DType, n.Inputs[0].Shape.Clone())
	return nil
}

// castKernel converts through float64 (floats) or int64 (integers), so every pair of dtypes works:
// float -> integer truncates toward zero like C, anything -> bool is "!= 0", f16 rounds to nearest even.
type castKernel struct{ from, to tensor.DType }

func (castKernel) ScratchBytes() int { return 0 }

func (k castKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	x, y := in[0], out[0]
	if k.from == k.to {
		copy(y.Data[:y.ByteSize()], x.Data)
		return nil
	}
	n := x.NumElements()
	for i := 0; i < n; i++ {
		switch k.from {
		case tensor.F32, tensor.F16:
			var f float64
			if k.from == tensor.F32 {
				f = float64(elems[float32](x)[i])
			} else {
				f = float64(tensor.F16ToF32(elems[uint16](x)[i]))
			}
			putFloat(y, i, f)
		default:
			putInt(y, i, getInt(x, i))
		}
	}
	return nil
}

func getInt(t *tensor.Tensor, i int) int64 {
	switch t.DType {
	case tensor.I64:
		return elems[int64](t)[i]
	case tensor.I32:
		return int64(elems[int32](t)[i])
	case tensor.I8:
		return int64(elems[int8](t)[i])
	default: // U8, Bool
		return int64(t.Data[i])
	}
}

func putInt(t *tensor.Tensor, i int, v int64) {
	switch t.DType {
	case tensor.F32:
		elems[float32](t)[i] = float32(v)
	case tensor.F16:
		elems[uint16](t)[i] = tensor.F32ToF16(float32(v))
	case tensor.I64:
		elems[int64](t)[i] = v
	case tensor.I32:
		elems[int32](t)[i] = int32(v)
	case tensor.I8:
		elems[int8](t)[i] = int8(v)
	case tensor.U8:
		t.Data[i] = uint8(v)
	case tensor.Bool:
		t.Data[i] = b2u(v != 0)
	}
}

func putFloat(t *tensor.Tensor, i int, f float64) {
	switch t.DType {
	case tensor.F32:
		elems[float32](t)[i] = float32(f)
	case tensor.F16:
		elems[uint16](t)[i] = tensor.F32ToF16(float32(f))
	case tensor.Bool:
		t.Data[i] = b2u(f != 0)
	default:
		if math.IsNaN(f) {
			f = 0
		}
		putInt(t, i, int64(math.Trunc(f)))
	}
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func compileCast(n *graph.Node) (Kernel, error) {
	from := n.Inputs[0].DType
	if from.Size() == 0 {
		return nil, errf(n, "unsupported input dtype %s", from)
	}
	return castKernel{from: from, to: n.Outputs[0].DType}, nil
}

func init() {
	Register("Cast", &Def{Infer: inferCast, Compile: compileCast, InPlace: true})
	Register("CastLike", &Def{Infer: inferCastLike, Compile: compileCast, InPlace: true})
}
