package f32

import (
	"math/rand/v2"
	"testing"
)

// TestAdd: Add against the scalar sum on lengths around the vector kernel's 64-float pass, with dst a
// separate slice and dst aliasing a, and nothing written past dst.
func TestAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 15, 16, 63, 64, 65, 127, 128, 1000, 4099} {
		for _, alias := range []bool{false, true} {
			a, b := guarded(r, n), guarded(r, n)
			want := make([]float32, n)
			for i := range want {
				want[i] = a[i] + b[i]
			}
			dst := guarded(r, n)
			if alias {
				dst = a
			}
			Add(dst, a, b)
			for i := range want {
				if dst[i] != want[i] {
					t.Fatalf("n=%d alias=%v: dst[%d] = %v, want %v", n, alias, i, dst[i], want[i])
				}
			}
			checkGuard(t, "Add", dst)
		}
	}
}
