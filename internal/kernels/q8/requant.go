// Package q8 holds 8-bit integer kernels: int32-accumulating GEMM/dot products and the fixed-point
// requantization arithmetic of TFLite's reference kernels (gemmlowp's rounding rules).
package q8

import "math"

// QuantizeMultiplier splits a positive real multiplier into a Q31 fixed-point multiplier and a
// power-of-two exponent so that real ≈ mult * 2^(shift-31), as TFLite's QuantizeMultiplier does
// (double rounding build): frexp, round half away from zero, renormalise 2^31, flush tiny values.
func QuantizeMultiplier(real float64) (mult int32, shift int) {
	if real == 0 {
		return 0, 0
	}
	q, exp := math.Frexp(real)
	qFixed := int64(math.Round(q * (1 << 31)))
	if qFixed == 1<<31 {
		qFixed /= 2
		exp++
	}
	if exp < -31 {
		// Every bit would be shifted out; TFLite represents that as a zero multiplier.
		return 0, 0
	}
	return int32(qFixed), exp
}

// SaturatingRoundingDoublingHighMul returns the high 32 bits of 2*a*b rounded to nearest, saturating
// the one overflowing case a == b == MinInt32. Ties go toward +inf (gemmlowp's nudge of 1-2^30 for
// negative products followed by truncation): 2.5 -> 3, -2.5 -> -2.
func SaturatingRoundingDoublingHighMul(a, b int32) int32 {
	if a == b && a == math.MinInt32 {
		return math.MaxInt32
	}
	ab := int64(a) * int64(b)
	nudge := int64(1 << 30)
	if ab < 0 {
		nudge = 1 - (1 << 30)
	}
	// Go's integer division truncates toward zero like C++'s, which the nudge relies on.
	return int32((ab + nudge) / (1 << 31))
}

// RoundingDivideByPOT is x / 2^exponent rounded to nearest, ties away from zero. TFLite allows
// exponents 0..31; larger ones are computed the same way in 64 bits instead of being undefined.
func RoundingDivideByPOT(x int32, exponent int) int32 {
	if exponent < 0 {
		panic("q8: negative exponent in RoundingDivideByPOT")
	}
	if exponent > 62 {
		exponent = 62
	}
	v := int64(x)
	mask := int64(1)<<exponent - 1
	remainder := v & mask
	threshold := mask >> 1
	if v < 0 {
		threshold++
	}
	r := v >> exponent
	if remainder > threshold {
		r++
	}
	return int32(r)
}

// MultiplyByQuantizedMultiplier computes round(x * mult * 2^(shift-31)) with TFLite's two-step
// rounding: a saturating doubling high multiply, then a rounding right shift. A positive shift is
// applied as a (wrapping, as in TFLite) left shift of x first.
func MultiplyByQuantizedMultiplier(x, mult int32, shift int) int32 {
	left, right := 0, 0
	if shift > 0 {
		left = shift
	} else {
		right = -shift
	}
	return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x*(1<<left), mult), right)
}

// Requant is a precomputed fixed-point output scale.
type Requant struct {
	Mult  int32
	Shift int
}

// NewRequant quantizes real with QuantizeMultiplier.
func NewRequant(real float64) Requant {
	m, s := QuantizeMultiplier(real)
	return Requant{m, s}
}

// Apply is MultiplyByQuantizedMultiplier(x, r.Mult, r.Shift).
func (r Requant) Apply(x int32) int32 { return MultiplyByQuantizedMultiplier(x, r.Mult, r.Shift) }

// RoundHalfAway rounds like C's std::round (TfLiteRound).
func RoundHalfAway(x float64) float64 { return math.Round(x) }

// RoundHalfEven rounds like ONNX's (and numpy's) rint.
func RoundHalfEven(x float64) float64 { return math.RoundToEven(x) }

// Clamp limits v to [lo, hi].
func Clamp(v, lo, hi int32) int32 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
