package ops

import (
	"fmt"
	"math"

	"github.com/wanwu-ai/wanwu/tensor"
)

// compareTensors checks dtype, shape and values; floats within atol+rtol*|want| (NaN matches NaN).
func compareTensors(got, want *tensor.Tensor, tol float64) error {
	if got.DType != want.DType {
		return fmt.Errorf("dtype %s, want %s", got.DType, want.DType)
	}
	if !got.Shape.Equal(want.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	switch got.DType {
	case tensor.F32:
		g, w := got.F32(), want.F32()
		for i := range w {
			if !closeTo(float64(g[i]), float64(w[i]), tol) {
				return fmt.Errorf("element %d: %v, want %v", i, g[i], w[i])
			}
		}
	case tensor.F16:
		g, w := got.F16(), want.F16()
		for i := range w {
			if !closeTo(float64(tensor.F16ToF32(g[i])), float64(tensor.F16ToF32(w[i])), 1e-3) {
				return fmt.Errorf("element %d: %#04x, want %#04x", i, g[i], w[i])
			}
		}
	default:
		n := want.ByteSize()
		for i := 0; i < n; i++ {
			if got.Data[i] != want.Data[i] {
				return fmt.Errorf("byte %d differs: got %v, want %v", i, got.Data[:n], want.Data[:n])
			}
		}
	}
	return nil
}

func closeTo(g, w, tol float64) bool {
	if math.IsNaN(w) {
		return math.IsNaN(g)
	}
	if math.IsInf(w, 0) {
		return g == w
	}
	return math.Abs(g-w) <= tol+tol*math.Abs(w)
}
