package tensor

import "math"

// F16ToF32 widens IEEE 754 half-precision bits to float32 (exact: every half is a float32).
func F16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN; keep the payload so NaNs stay NaNs
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
	case man == 0: // signed zero
		return math.Float32frombits(sign)
	}
	// Subnormal half: value = man * 2^-24, which is a normal float32; normalise the mantissa.
	e := uint32(127 - 15 + 1)
	for man&0x400 == 0 {
		man <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
}

// F32ToF16 narrows a float32 to half-precision bits, rounding to nearest with ties to even;
// values beyond the half range become ±Inf, NaN stays a (quiet) NaN.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00 | uint16(man>>13) // quiet NaN, keep the top payload bits
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // biased half exponent
	if e >= 0x1f {
		return sign | 0x7c00 // overflow before rounding
	}
	if e <= 0 {
		// Subnormal (or zero) half: shift the full 24-bit significand so that the result counts 2^-24 units.
		if e < -10 {
			return sign // below half the smallest subnormal: rounds to zero
		}
		m := man | 0x800000
		shift := uint32(14 - e) // 13 for the mantissa width difference, plus 1-e to denormalise
		half := uint32(1) << (shift - 1)
		rest := m & (1<<shift - 1)
		q := m >> shift
		if rest > half || (rest == half && q&1 == 1) {
			q++ // may carry into the smallest normal, which the bit layout handles
		}
		return sign | uint16(q)
	}
	q := uint32(e)<<10 | man>>13
	rest := man & 0x1fff
	if rest > 0x1000 || (rest == 0x1000 && q&1 == 1) {
		q++ // a carry into the exponent is right, up to and including Inf
	}
	return sign | uint16(q)
}

// F16sToF32s converts len(dst) halves from src.
func F16sToF32s(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i, h := range src {
		dst[i] = F16ToF32(h)
	}
}

// F32sToF16s converts len(dst) floats from src.
func F32sToF16s(dst []uint16, src []float32) {
	src = src[:len(dst)]
	for i, f := range src {
		dst[i] = F32ToF16(f)
	}
}
