package ops

import (
	"fmt"
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Quantized operators (QLinear*, QuantizeLinear, DequantizeLinear) follow ONNX by default: float
// scales, results rounded half to even. A node with attribute rounding="tflite" (written by the TFLite
// importer) instead computes exactly like TFLite's reference kernels: int32 accumulation, Q31 fixed-point
// multipliers (q8.QuantizeMultiplier), gemmlowp rounding, round-half-away-from-zero where TFLite uses
// std::round, and fused activations as a clamp range (CalculateActivationRangeQuantized).

// qlTFLite reports whether n asks for TFLite's integer arithmetic.
func qlTFLite(n *graph.Node) bool { return n.Str(graph.AttrRounding, "") == graph.RoundingTFLite }

// qlRange is the representable range of a quantized dtype.
func qlRange(dt tensor.DType) (int32, int32) {
	switch dt {
	case tensor.U8:
		return 0, 255
	case tensor.I8:
		return -128, 127
	case tensor.I32:
		return math.MinInt32, math.MaxInt32
	}
	panic("ops: qlRange of " + dt.String())
}

// qlZPType is the quantized dtype named by an optional zero-point input (u8 when absent).
func qlZPType(v *graph.Value) tensor.DType {
	if v == nil || v.DType == tensor.Invalid {
		return tensor.U8
	}
	return v.DType
}

// qlIsQ8 reports whether dt is an 8-bit quantized type.
func qlIsQ8(dt tensor.DType) bool { return dt == tensor.U8 || dt == tensor.I8 }

// qlConstQ reports whether the scale/zero-point inputs at the given indexes are constants (or absent
// zero points), so kernels can precompute multipliers at Compile.
func qlConstQ(n *graph.Node, idx ...int) bool {
	for _, i := range idx {
		v := n.Input(i)
		if v != nil && v.Const == nil {
			return false
		}
	}
	return true
}

// qlReadQ fills s and z (both of the same length, 1 for per-tensor) from a scale tensor and an optional
// zero-point tensor; a single-element scale or zero point is broadcast. It does not allocate on success.
func qlReadQ(scale, zp *tensor.Tensor, s []float32, z []int32) error {
	if scale == nil || scale.DType != tensor.F32 {
		return fmt.Errorf("scale must be an f32 tensor")
	}
	ss := scale.F32()
	if len(ss) != 1 && len(ss) != len(s) {
		return fmt.Errorf("scale has %d elements, want 1 or %d", len(ss), len(s))
	}
	for i := range s {
		s[i] = ss[min(i, len(ss)-1)]
	}
	if zp == nil {
		clear(z)
		return nil
	}
	nz := zp.NumElements()
	if nz != 1 && nz != len(z) {
		return fmt.Errorf("zero point has %d elements, want 1 or %d", nz, len(z))
	}
	for i := range z {
		j := min(i, nz-1)
		switch zp.DType {
		case tensor.U8:
			z[i] = int32(zp.Data[j])
		case tensor.I8:
			z[i] = int32(int8(zp.Data[j]))
		case tensor.I32:
			z[i] = zp.I32()[j]
		default:
			return fmt.Errorf("zero point dtype %s not supported", zp.DType)
		}
	}
	return nil
}

// qlConstTensor returns the constant of input i (nil when absent or computed at run time).
func qlConstTensor(n *graph.Node, i int) *tensor.Tensor {
	if v := n.Input(i); v != nil {
		return v.Const
	}
	return nil
}

// qlQuantizeF rounds a real value expressed in output steps and adds the zero point, TFLite-style
// (half away from zero) or ONNX-style (half to even), saturating to [lo, hi].
func qlQuantizeF(x float64, zp, lo, hi int32, tfl bool) int32 {
	var r float64
	if tfl {
		r = math.Round(x)
	} else {
		r = math.RoundToEven(x)
	}
	r += float64(zp)
	if r < float64(lo) {
		return lo
	}
	if r > float64(hi) {
		return hi
	}
	return int32(r)
}

// qlActRange narrows [lo, hi] by n's fused activation, as TFLite's CalculateActivationRangeQuantized:
// zp + round(bound/scale) with float32 division and std::round.
func qlActRange(n *graph.Node, scale float32, zp, lo, hi int32) (int32, int32, error) {
	a, err := ActivationOf(n)
	if err != nil {
		return 0, 0, err
	}
	q := func(f float32) int32 { return zp + int32(math.Round(float64(f/scale))) }
	switch a.Kind {
	case ActNone:
	case ActRelu:
		lo = max(lo, q(0))
	case ActClip:
		if !math.IsInf(float64(a.Min), 0) {
			lo = max(lo, q(a.Min))
		}
		if !math.IsInf(float64(a.Max), 0) {
			hi = min(hi, q(a.Max))
		}
	default:
		return 0, 0, fmt.Errorf("ops: node %q (%s): fused activation %q not supported on quantized ops", n.Name, n.Op, n.Str(graph.AttrActivation, ""))
	}
	return lo, hi, nil
}

// qlGet reads element i of a u8 or i8 tensor's bytes.
func qlGet(dt tensor.DType, b []byte, i int) int32 {
	if dt == tensor.I8 {
		return int32(int8(b[i]))
	}
	return int32(b[i])
}

// qlOut is an output requantizer: either per-channel fixed-point multipliers (TFLite) or float scales
// (ONNX), followed by the zero point and the clamp range.
type qlOut struct {
	tfl    bool
	rq     []q8.Requant
	scale  []float32
	zp     int32
	lo, hi int32
}

func (o *qlOut) apply(acc int32, c int) int32 {
	var v int32
	if o.tfl {
		v = o.rq[c].Apply(acc) + o.zp
	} else {
		v = int32(math.RoundToEven(float64(float32(acc)*o.scale[c]))) + o.zp
	}
	return q8.Clamp(v, o.lo, o.hi)
}

// qlInferSame sets output 0 to input 0's shape with the dtype of the zero-point input zi.
func qlInferSame(zi int) func(n *graph.Node) error {
	return func(n *graph.Node) error {
		if len(n.Inputs) == 0 || n.Inputs[0] == nil || len(n.Outputs) == 0 {
			return fmt.Errorf("ops: node %q (%s): missing input or output", n.Name, n.Op)
		}
		n.Outputs[0].DType = qlZPType(n.Input(zi))
		n.Outputs[0].Shape = n.Inputs[0].Shape.Clone()
		return nil
	}
}

func qlErr(n *graph.Node, format string, args ...any) error {
	return fmt.Errorf("ops: node %q (%s): %s", n.Name, n.Op, fmt.Sprintf(format, args...))
}
