package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// QuantizeLinear: y = saturate(round(x / y_scale) + y_zero_point), per tensor or along attribute axis
// (default 1) when y_scale is 1-D. Output dtype is y_zero_point's (u8 when absent). Rounding is half to
// even (ONNX) or half away from zero with rounding="tflite".
// DequantizeLinear: y = (x - x_zero_point) * x_scale as f32, same axis rules.

type qlAxisKernel struct {
	quant   bool
	tfl     bool
	axis    int
	outer   int
	ch      int
	inner   int
	s       []float32
	z       []int32
	lo, hi  int32
	outType tensor.DType
}

func (k *qlAxisKernel) ScratchBytes() int { return 0 }

func qlAxisSplit(shape tensor.Shape, axis, nScale int) (outer, ch, inner int) {
	if nScale <= 1 {
		return 1, 1, shape.NumElements()
	}
	outer, inner = 1, 1
	for i := 0; i < axis; i++ {
		outer *= shape[i]
	}
	for i := axis + 1; i < len(shape); i++ {
		inner *= shape[i]
	}
	return outer, shape[axis], inner
}

func compileQuantAxis(n *graph.Node, quant bool) (Kernel, error) {
	if len(n.Inputs) < 2 || n.Inputs[0] == nil || n.Inputs[1] == nil {
		return nil, qlErr(n, "needs x and scale inputs")
	}
	x := n.Inputs[0]
	rank := len(x.Shape)
	axis := int(n.Int("axis", 1))
	if axis < 0 {
		axis += rank
	}
	ns := n.Inputs[1].Shape.NumElements()
	if ns > 1 && (axis < 0 || axis >= rank || x.Shape[axis] != ns) {
		return nil, qlErr(n, "per-axis scale of %d elements does not match axis %d of %s", ns, axis, x.Shape)
	}
	k := &qlAxisKernel{quant: quant, tfl: qlTFLite(n), axis: axis}
	k.outer, k.ch, k.inner = qlAxisSplit(x.Shape, axis, ns)
	k.s = make([]float32, k.ch)
	k.z = make([]int32, k.ch)
	if quant {
		k.outType = n.Outputs[0].DType
		if !qlIsQ8(k.outType) && k.outType != tensor.I32 {
			return nil, qlErr(n, "output dtype %s not supported", k.outType)
		}
		k.lo, k.hi = qlRange(k.outType)
		if x.DType != tensor.F32 && x.DType != tensor.I32 {
			return nil, qlErr(n, "input dtype %s not supported", x.DType)
		}
	} else if !qlIsQ8(x.DType) && x.DType != tensor.I32 {
		return nil, qlErr(n, "input dtype %s not supported", x.DType)
	}
	return k, nil
}

func (k *qlAxisKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	if err := qlReadQ(in[1], qlAt(in, 2), k.s, k.z); err != nil {
		return err
	}
	x, y := in[0], out[0]
	for o := 0; o < k.outer; o++ {
		for c := 0; c < k.ch; c++ {
			base := (o*k.ch + c) * k.inner
			s, z := k.s[c], k.z[c]
			if k.quant {
				for i := base; i < base+k.inner; i++ {
					var xv float64
					if x.DType == tensor.F32 {
						xv = float64(x.F32()[i] / s)
					} else {
						xv = float64(float32(x.I32()[i]) / s)
					}
					v := qlQuantizeF(xv, z, k.lo, k.hi, k.tfl)
					switch k.outType {
					case tensor.U8, tensor.I8:
						y.Data[i] = byte(v)
					default:
						y.I32()[i] = v
					}
				}
				continue
			}
			yf := y.F32()
			for i := base; i < base+k.inner; i++ {
				var q int32
				if x.DType == tensor.I32 {
					q = x.I32()[i]
				} else {
					q = qlGet(x.DType, x.Data, i)
				}
				yf[i] = float32(q-z) * s
			}
		}
	}
	return nil
}

func qlAt(in []*tensor.Tensor, i int) *tensor.Tensor {
	if i < len(in) {
		return in[i]
	}
	return nil
}

func init() {
	Register("QuantizeLinear", &Def{
		Infer: func(n *graph.Node) error {
			if err := qlInferSame(2)(n); err != nil {
				return err
			}
			return nil
		},
		Compile: func(n *graph.Node) (Kernel, error) { return compileQuantAxis(n, true) },
	})
	Register("DequantizeLinear", &Def{
		Infer: func(n *graph.Node) error {
			if len(n.Inputs) == 0 || n.Inputs[0] == nil || len(n.Outputs) == 0 {
				return qlErr(n, "missing input or output")
			}
			n.Outputs[0].DType = tensor.F32
			n.Outputs[0].Shape = n.Inputs[0].Shape.Clone()
			return nil
		},
		Compile: func(n *graph.Node) (Kernel, error) { return compileQuantAxis(n, false) },
	})
}

var _ = math.Round
