package jpeg

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestIdctIslowVsFloat checks the fixed-point islow IDCT against the defining float formula:
// libjpeg documents it as accurate to within one unit, so every sample must be within ±1 of the
// rounded exact value (clamped to [-128, 127]), with most exactly equal.
func TestIdctIslowVsFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var cosT [8][8]float64
	for x := range 8 {
		for u := range 8 {
			c := 1.0
			if u == 0 {
				c = 1 / math.Sqrt2
			}
			cosT[x][u] = c * math.Cos(float64(2*x+1)*float64(u)*math.Pi/16) / 2
		}
	}
	exact, total := 0, 0
	for trial := range 2000 {
		var b block
		for i := range b {
			// Mostly low-frequency energy, like dequantised photo blocks; sometimes sparse.
			scale := 600 / (1 + i/4)
			if trial%3 == 0 && i > 10 {
				scale = 0
			}
			if scale > 0 {
				b[i] = int32(rng.IntN(2*scale+1) - scale)
			}
		}
		in := b
		idctIslow(&b)
		for y := range 8 {
			for x := range 8 {
				s := 0.0
				for v := range 8 {
					for u := range 8 {
						s += cosT[y][v] * cosT[x][u] * float64(in[8*v+u])
					}
				}
				want := math.Max(-128, math.Min(127, math.Round(s)))
				d := math.Abs(float64(b[8*y+x]) - want)
				if d > 1 {
					t.Fatalf("trial %d (%d,%d): islow %d, exact %.3f", trial, x, y, b[8*y+x], s)
				}
				if d == 0 {
					exact++
				}
				total++
			}
		}
	}
	if exact < total*9/10 {
		t.Errorf("only %d/%d samples exact", exact, total)
	}
	t.Logf("%d/%d samples equal the rounded exact IDCT", exact, total)
}
