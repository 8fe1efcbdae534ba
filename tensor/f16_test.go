package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// halfValue decodes half bits independently of F16ToF32: (-1)^s * 2^(e-15) * (1 + m/1024), or subnormal.
func halfValue(h uint16) float64 {
	s := 1.0
	if h&0x8000 != 0 {
		s = -1
	}
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	switch e {
	case 0x1f:
		if m != 0 {
			return math.NaN()
		}
		return s * math.Inf(1)
	case 0:
		return s * m * math.Pow(2, -24)
	}
	return s * (1 + m/1024) * math.Pow(2, float64(e-15))
}

func TestF16ToF32AllValues(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		got := float64(F16ToF32(uint16(h)))
		want := halfValue(uint16(h))
		if math.IsNaN(want) {
			if !math.IsNaN(got) {
				t.Fatalf("%#04x: got %v, want NaN", h, got)
			}
			continue
		}
		if got != want || math.Signbit(got) != math.Signbit(want) {
			t.Fatalf("%#04x: got %v, want %v", h, got, want)
		}
		// Round trip must be the identity on every non-NaN half.
		if back := F32ToF16(float32(got)); back != uint16(h) {
			t.Fatalf("%#04x: round trip gave %#04x", h, back)
		}
	}
}

// nearestHalf finds the correctly rounded half for f by searching the finite halves of the same sign
// (ties to even mantissa); overflow rules follow IEEE: beyond 65520 rounds to Inf.
func nearestHalf(f float32) uint16 {
	x := float64(f)
	sign := uint16(0)
	if math.Signbit(x) {
		sign = 0x8000
		x = -x
	}
	if x >= 65520 {
		return sign | 0x7c00
	}
	best, bestD := uint16(0), math.Inf(1)
	lo, hi := 0, 0x7bff
	for lo < hi { // largest half <= x
		mid := (lo + hi + 1) / 2
		if halfValue(uint16(mid)) <= x {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	for _, c := range []int{lo, lo + 1} {
		if c > 0x7bff {
			continue
		}
		d := math.Abs(halfValue(uint16(c)) - x)
		if d < bestD || (d == bestD && c&1 == 0) {
			best, bestD = uint16(c), d
		}
	}
	return sign | best
}

func TestF32ToF16Rounding(t *testing.T) {
	cases := []float32{0, 1, -1, 0.1, 1.0 / 3, 65504, 65519.99, 65520, 1e6, 6e-8, 2.98e-8, 2.9802322e-08, 5.9604645e-08,
		6.1035156e-05, 6.097555e-05, 1.0009766, 1.0004883, 1.0014648, -2.5, float32(math.SmallestNonzeroFloat32)}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		// Random bit patterns concentrated on the half range, including exact ties (low 13 bits = 0x1000).
		b := uint32(r.IntN(1<<31)) | uint32(r.IntN(2))<<31
		e := uint32(127-26+r.IntN(45)) << 23
		b = b&0x807fffff | e
		if r.IntN(4) == 0 {
			b = b&^0x1fff | 0x1000
		}
		cases = append(cases, math.Float32frombits(b))
	}
	for _, f := range cases {
		if got, want := F32ToF16(f), nearestHalf(f); got != want {
			t.Fatalf("F32ToF16(%g [%#08x]) = %#04x (%g), want %#04x (%g)", f, math.Float32bits(f), got, halfValue(got), want, halfValue(want))
		}
	}
}

func TestF32ToF16Special(t *testing.T) {
	if h := F32ToF16(float32(math.Inf(-1))); h != 0xfc00 {
		t.Errorf("-Inf -> %#04x", h)
	}
	if h := F32ToF16(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("NaN -> %#04x, not a NaN", h)
	}
	if h := F32ToF16(float32(math.Copysign(0, -1))); h != 0x8000 {
		t.Errorf("-0 -> %#04x", h)
	}
	dst := make([]uint16, 3)
	F32sToF16s(dst, []float32{1, 2, 3, 4})
	back := make([]float32, 3)
	F16sToF32s(back, dst)
	if back[0] != 1 || back[1] != 2 || back[2] != 3 {
		t.Errorf("slice round trip %v", back)
	}
}
