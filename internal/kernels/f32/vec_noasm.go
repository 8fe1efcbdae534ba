//go:build !amd64 || !gc || purego

package f32

// Add sets dst[i] = a[i] + b[i] over len(dst) elements (a and b at least as long; dst may be either).
func Add(dst, a, b []float32) { addGeneric(dst, a[:len(dst)], b[:len(dst)]) }
