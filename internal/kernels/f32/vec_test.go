package f32

import (
	"math/rand/v2"
	"testing"
)

// TestVec: Add, Mul and Scale against their scalar definitions on lengths around the vector kernels'
// 16- and 64-float passes, with dst a separate slice and dst aliasing a, and nothing written past dst.
func TestVec(t *testing.T) {
	const s = float32(-1.75)
	ops := []struct {
		name string
		run  func(dst, a, b []float32)
		want func(a, b float32) float32
	}{
		{"Add", Add, func(a, b float32) float32 { return a + b }},
		{"Mul", Mul, func(a, b float32) float32 { return a * b }},
		{"Scale", func(dst, a, _ []float32) { Scale(dst, a, s) }, func(a, _ float32) float32 { return a * s }},
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, op := range ops {
		for _, n := range []int{0, 1, 15, 16, 17, 49, 63, 64, 65, 127, 128, 196, 1000, 4099} {
			for _, alias := range []bool{false, true} {
				a, b := guarded(r, n), guarded(r, n)
				want := make([]float32, n)
				for i := range want {
					want[i] = op.want(a[i], b[i])
				}
				dst := guarded(r, n)
				if alias {
					dst = a
				}
				op.run(dst, a, b)
				for i := range want {
					if dst[i] != want[i] {
						t.Fatalf("%s n=%d alias=%v: dst[%d] = %v, want %v", op.name, n, alias, i, dst[i], want[i])
					}
				}
				checkGuard(t, op.name, dst)
			}
		}
	}
}
