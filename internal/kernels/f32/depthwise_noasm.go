//go:build !amd64 || !gc || purego

package f32

func depthwiseRowAsm(out, in, w []float32, k, s, ldin int, bias float32, clamp bool, lo, hi float32) bool {
	return false
}
