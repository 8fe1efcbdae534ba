//go:build !amd64 || !gc || purego

package f32

// Dot returns sum_i x[i]*y[i] over len(x) elements (y at least as long).
func Dot(x, y []float32) float32 { return dotGeneric(x, y[:len(x)]) }
