//go:build !amd64 || !gc || purego

package f32

// Add sets dst[i] = a[i] + b[i] over len(dst) elements (a and b at least as long; dst may be either).
func Add(dst, a, b []float32) { addGeneric(dst, a[:len(dst)], b[:len(dst)]) }

// Mul sets dst[i] = a[i] * b[i] over len(dst) elements (a and b at least as long; dst may be either).
func Mul(dst, a, b []float32) { mulGeneric(dst, a[:len(dst)], b[:len(dst)]) }

// Scale sets dst[i] = a[i] * s over len(dst) elements (a at least as long; dst may be a).
func Scale(dst, a []float32, s float32) { scaleGeneric(dst, a[:len(dst)], s) }
