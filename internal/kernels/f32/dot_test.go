package f32

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestDotLadder(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(41, 42))
		for _, n := range []int{0, 1, 3, 7, 13, 24, 31, 32, 63, 64, 65, 127, 1000, 2048} {
			x, y := guarded(r, n), guarded(r, n)
			var want float64
			for i := range x {
				want += float64(x[i]) * float64(y[i])
			}
			got := Dot(x, y)
			checkGuard(t, fmt.Sprint("x ", n), x)
			if math.Abs(float64(got)-want) > 1e-5*float64(n+1) {
				t.Fatalf("n=%d: Dot = %v, want %v", n, got, want)
			}
		}
	})
}
