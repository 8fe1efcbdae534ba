//go:build !amd64 || !gc || purego

package f32

// Widen sets dst[i] = float32(src[i]) (IEEE half bits, exact) for i < len(dst).
func Widen(dst []float32, src []uint16) { widenGeneric(dst, src) }

// Dot16 returns sum_i x[i]*float32(y[i]) over len(x) elements (y, IEEE half bits, at least as long).
func Dot16(x []float32, y []uint16) float32 { return dot16Generic(x, y[:len(x)]) }
