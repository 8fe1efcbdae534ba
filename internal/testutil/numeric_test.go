package testutil

import (
	"math"
	"testing"
)

func TestSoftmaxRows(t *testing.T) {
	// Row 0: equal logits; row 1: log(1), log(3) -> 1/4, 3/4; row 2: huge logits must not overflow
	// (1000, 999 -> e/(1+e), 1/(1+e)).
	x := []float32{2, 2, 0, float32(math.Log(3)), 1000, 999}
	want := []float64{0.5, 0.5, 0.25, 0.75, math.E / (1 + math.E), 1 / (1 + math.E)}
	got := SoftmaxRows(x, 2)
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-6 {
			t.Errorf("p[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestArgmax(t *testing.T) {
	for _, c := range []struct {
		v    []float64
		want int
	}{{nil, 0}, {[]float64{1}, 0}, {[]float64{1, 3, 2}, 1}, {[]float64{5, 1, 5}, 0}, {[]float64{-2, -1}, 1}} {
		if got := Argmax(c.v); got != c.want {
			t.Errorf("Argmax(%v) = %d, want %d", c.v, got, c.want)
		}
	}
	if got := Argmax([]float32{0, -1, 7}); got != 2 {
		t.Errorf("Argmax float32 = %d, want 2", got)
	}
}
