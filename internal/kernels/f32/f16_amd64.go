//go:build amd64 && gc && !purego

package f32

import (
	"unsafe"

	xcpu "golang.org/x/sys/cpu"
)

//go:noescape
func widenAVX512(dst *float32, src *uint16, n int)

//go:noescape
func widenF16C(dst *float32, src *uint16, n int)

//go:noescape
func dot16AVX512(x *float32, y *uint16, n int) float32

//go:noescape
func dot16AVX2(x *float32, y *uint16, n int) float32

// hasF16C gates the AVX2 rung's half conversions (VCVTPH2PS on ymm is F16C, not AVX2); the
// AVX-512 forms are part of AVX512F.
var hasF16C = xcpu.X86.HasF16C

// Widen sets dst[i] = float32(src[i]) (IEEE half bits, exact) for i < len(dst).
func Widen(dst []float32, src []uint16) {
	n := len(dst)
	src = src[:n]
	done := 0
	switch {
	case cur.id == idAVX512 || cur.id == idAVX512x8:
		done = n &^ 63
		if done > 0 {
			widenAVX512(unsafe.SliceData(dst), unsafe.SliceData(src), done)
		}
	case cur.id == idAVX2 && hasF16C:
		done = n &^ 31
		if done > 0 {
			widenF16C(unsafe.SliceData(dst), unsafe.SliceData(src), done)
		}
	}
	widenGeneric(dst[done:], src[done:])
}

// Dot16 returns sum_i x[i]*float32(y[i]) over len(x) elements (y, IEEE half bits, at least as long).
func Dot16(x []float32, y []uint16) float32 {
	n := len(x)
	y = y[:n]
	var s float32
	done := 0
	switch {
	case cur.id == idAVX512 || cur.id == idAVX512x8:
		done = n &^ 63
		if done > 0 {
			s = dot16AVX512(unsafe.SliceData(x), unsafe.SliceData(y), done)
		}
	case cur.id == idAVX2 && hasF16C:
		done = n &^ 31
		if done > 0 {
			s = dot16AVX2(unsafe.SliceData(x), unsafe.SliceData(y), done)
		}
	}
	return s + dot16Generic(x[done:], y[done:])
}
