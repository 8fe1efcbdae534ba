package testutil

import "math"

// SoftmaxRows returns the softmax of each row of classes logits in x (a [rows, classes] batch), in
// float64, so tests compare probabilities rather than logits.
func SoftmaxRows(x []float32, classes int) []float64 {
	p := make([]float64, len(x))
	for r := 0; r < len(x)/classes; r++ {
		row := x[r*classes : (r+1)*classes]
		m := math.Inf(-1)
		for _, v := range row {
			m = max(m, float64(v))
		}
		var s float64
		for i, v := range row {
			p[r*classes+i] = math.Exp(float64(v) - m)
			s += p[r*classes+i]
		}
		for i := range row {
			p[r*classes+i] /= s
		}
	}
	return p
}

// Argmax is the index of the first largest element of v (0 for an empty v).
func Argmax[T float32 | float64](v []T) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
