package conformance

import (
	"fmt"
	"math"

	"github.com/wanwu-ai/wanwu/tensor"
)

// Tolerance of a float comparison: |got-want| <= Atol + Rtol*|want| element-wise, as numpy's
// assert_allclose, which the ONNX backend tests use (rtol 1e-3, atol 1e-7).
type Tolerance struct{ Rtol, Atol float64 }

// ONNXTolerance is the tolerance of ONNX's backend test runner.
var ONNXTolerance = Tolerance{Rtol: 1e-3, Atol: 1e-7}

// floats returns the elements of a float tensor as float64 (nil, false for other dtypes).
func floats(t *tensor.Tensor) ([]float64, bool) {
	switch t.DType {
	case tensor.F32:
		v := t.F32()
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out, true
	case tensor.F16:
		v := t.F16()
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(tensor.F16ToF32(x))
		}
		return out, true
	}
	return nil, false
}

// compare checks got against want: shapes exactly (a scalar is not a [1]); floats within tol (NaN matches NaN, infinities
// must match exactly); integers and booleans exactly. A float result compared with an expected
// tensor of another float type (DOUBLE data decodes to F32) is compared by value.
func compare(got, want *tensor.Tensor, tol Tolerance) error {
	if got == nil {
		return fmt.Errorf("no output")
	}
	if !got.Shape.Equal(want.Shape) {
		return fmt.Errorf("shape %s, want %s", got.Shape, want.Shape)
	}
	wf, wantFloat := floats(want)
	gf, gotFloat := floats(got)
	if wantFloat != gotFloat || (!wantFloat && got.DType != want.DType) {
		return fmt.Errorf("dtype %s, want %s", got.DType, want.DType)
	}
	if wantFloat {
		return compareFloats(gf, wf, tol)
	}
	if got.DType == tensor.Bool || got.DType == tensor.U8 {
		for i, w := range want.Data[:want.NumElements()] {
			if g := got.Data[i]; g != w {
				return fmt.Errorf("element %d: got %d, want %d", i, g, w)
			}
		}
		return nil
	}
	gi, wi := got.Ints(), want.Ints()
	for i := range wi {
		if gi[i] != wi[i] {
			return fmt.Errorf("element %d: got %d, want %d", i, gi[i], wi[i])
		}
	}
	return nil
}

func compareFloats(got, want []float64, tol Tolerance) error {
	bad, first := 0, -1
	worst, worstAt := 0.0, -1
	for i, w := range want {
		g := got[i]
		var ok bool
		switch {
		case math.IsNaN(w):
			ok = math.IsNaN(g)
		case math.IsInf(w, 0):
			ok = g == w
		default:
			d := math.Abs(g - w)
			ok = d <= tol.Atol+tol.Rtol*math.Abs(w) // false for a NaN g
			if d > worst || math.IsNaN(d) {
				worst, worstAt = d, i
			}
		}
		if !ok {
			bad++
			if first < 0 {
				first = i
			}
		}
	}
	if bad == 0 {
		return nil
	}
	msg := fmt.Sprintf("%d of %d elements off (rtol %g, atol %g); first at %d: got %g, want %g",
		bad, len(want), tol.Rtol, tol.Atol, first, got[first], want[first])
	if worstAt >= 0 && worstAt != first {
		msg += fmt.Sprintf("; largest |diff| %g at %d", worst, worstAt)
	}
	return fmt.Errorf("%s", msg)
}

// maxAbsDiff returns max|got-want| and max|want| over float tensors of the same shape.
func maxAbsDiff(got, want *tensor.Tensor) (diff, scale float64, err error) {
	if !got.Shape.Equal(want.Shape) {
		return 0, 0, fmt.Errorf("shape %s, want %s", got.Shape, want.Shape)
	}
	gf, ok1 := floats(got)
	wf, ok2 := floats(want)
	if !ok1 || !ok2 {
		return 0, 0, fmt.Errorf("dtype %s, want float %s", got.DType, want.DType)
	}
	for i, w := range wf {
		d := math.Abs(gf[i] - w)
		if math.IsNaN(d) {
			return math.Inf(1), 0, fmt.Errorf("element %d: got %g, want %g", i, gf[i], w)
		}
		diff = math.Max(diff, d)
		scale = math.Max(scale, math.Abs(w))
	}
	return diff, scale, nil
}
