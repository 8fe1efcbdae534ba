//go:build !amd64 || !gc || purego

package f32

func archImpls() []*Impl { return nil }

// runKernel calls micro-kernel id (see Impl); without assembly there is only the portable one.
func runKernel(id, k int, a, b, c []float32, ldc int, bias []float32, flags int, lo, hi float32) {
	microKernel(k, a, b, c, ldc, bias, flags, lo, hi)
}
