//go:build !amd64 || !gc || purego

package f32

func deinterleaveAsm(even, odd, src []float32) bool { return false }

func subsampleRowsAsm(dst, src []float32, rows, ow, ldSrc, ldDst int) bool { return false }
