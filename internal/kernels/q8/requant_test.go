package q8

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Expected values are worked out by hand from TFLite's quantization_util.cc / gemmlowp formulas.
func TestQuantizeMultiplier(t *testing.T) {
	for _, c := range []struct {
		real  float64
		mult  int32
		shift int
	}{
		{0, 0, 0},
		{0.5, 1 << 30, 0},                    // frexp(0.5) = 0.5 * 2^0
		{1.0, 1 << 30, 1},                    // 0.5 * 2^1
		{0.75, 1610612736, 0},                // 0.75 * 2^31
		{3.0, 1610612736, 2},                 // 0.75 * 2^2
		{0.0003, 1319413953, -11},            // 0.6144 * 2^-11; 0.6144*2^31 = 1319413953.33
		{0.99999999999, 1 << 30, 1},          // rounds up to 2^31 -> renormalised
		{math.Ldexp(0.5, -31), 1 << 30, -31}, // smallest exponent kept
		{math.Ldexp(0.5, -32), 0, 0},         // shift < -31 flushes to zero
		{math.Ldexp(0.75, 40), 1610612736, 40},
	} {
		m, s := QuantizeMultiplier(c.real)
		if m != c.mult || s != c.shift {
			t.Errorf("QuantizeMultiplier(%g) = (%d,%d), want (%d,%d)", c.real, m, s, c.mult, c.shift)
		}
	}
}

func TestSaturatingRoundingDoublingHighMul(t *testing.T) {
	for _, c := range []struct{ a, b, want int32 }{
		{1 << 30, 1 << 30, 1 << 29},
		{5, 1 << 30, 3},   // 2.5 -> 3
		{-5, 1 << 30, -2}, // -2.5 -> -2 (nudge 1-2^30 then truncation)
		{-7, 1 << 30, -3}, // -3.5 -> -3
		{-6, 1 << 30, -3}, // exact
		{3, 1 << 29, 1},   // 0.75 -> 1
		{math.MinInt32, math.MinInt32, math.MaxInt32},
		{math.MinInt32, math.MaxInt32, -math.MaxInt32},
		{math.MaxInt32, math.MaxInt32, math.MaxInt32 - 1},
	} {
		if got := SaturatingRoundingDoublingHighMul(c.a, c.b); got != c.want {
			t.Errorf("SRDHM(%d,%d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestRoundingDivideByPOT(t *testing.T) {
	for _, c := range []struct {
		x    int32
		e    int
		want int32
	}{
		{5, 1, 3}, {-5, 1, -3}, // ties away from zero
		{-6, 2, -2}, {6, 2, 2}, // -1.5 -> -2, 1.5 -> 2
		{7, 2, 2}, {-7, 2, -2}, {-5, 2, -1},
		{12345, 0, 12345},
		{math.MaxInt32, 31, 1}, {math.MinInt32, 31, -1}, {1 << 29, 31, 0}, {1 << 30, 31, 1},
		{math.MinInt32, 40, 0}, {math.MaxInt32, 40, 0}, // exponents > 31: everything rounds to 0
	} {
		if got := RoundingDivideByPOT(c.x, c.e); got != c.want {
			t.Errorf("RoundingDivideByPOT(%d,%d) = %d, want %d", c.x, c.e, got, c.want)
		}
	}
}

func TestMultiplyByQuantizedMultiplier(t *testing.T) {
	for _, c := range []struct {
		x, m  int32
		shift int
		want  int32
	}{
		{100, 1 << 30, 0, 50},
		{3, 1 << 30, -1, 1},   // SRDHM gives round(1.5)=2, then 2/2=1: double rounding
		{-3, 1 << 30, -1, -1}, // SRDHM(-3)=-1 (-1.5 -> -1), then -0.5 -> -1
		{1000, 1610612736, 2, 3000},
		{-1000, 1610612736, 2, -3000},
		{1 << 20, 1319413953, -11, 315}, // 1048576*0.0003 = 314.57
		// SRDHM(MaxInt32, 2^30) = 2^30 (1073741823.5 rounds up), then 2^30 / 2^31 = 0.5 -> 1.
		{math.MaxInt32, 1 << 30, -31, 1},
	} {
		got := MultiplyByQuantizedMultiplier(c.x, c.m, c.shift)
		if got != c.want {
			t.Errorf("MBQM(%d,%d,%d) = %d, want %d", c.x, c.m, c.shift, got, c.want)
		}
	}
	// Against exact arithmetic: the two-step rounding is within 1 of round(x*real).
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 10000; i++ {
		real := math.Ldexp(0.5+r.Float64()/2, -r.IntN(20))
		x := int32(r.IntN(1<<24)) - 1<<23
		rq := NewRequant(real)
		exact := math.Round(float64(x) * float64(rq.Mult) * math.Ldexp(1, rq.Shift-31))
		if d := math.Abs(float64(rq.Apply(x)) - exact); d > 1 {
			t.Fatalf("x=%d real=%g: got %d exact %g", x, real, rq.Apply(x), exact)
		}
	}
}

func TestClamp(t *testing.T) {
	if Clamp(300, 0, 255) != 255 || Clamp(-129, -128, 127) != -128 || Clamp(5, 0, 255) != 5 {
		t.Fatal("Clamp wrong")
	}
}
