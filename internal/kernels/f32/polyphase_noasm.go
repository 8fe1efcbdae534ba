//go:build !amd64 || !gc || purego

package f32

func deinterleaveAsm(even, odd, src []float32) bool { return false }
