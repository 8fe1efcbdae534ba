//go:build !amd64 || !gc || purego

package f32

// ConvDirectSupported reports whether ConvDirect runs geometry g with m output channels here: never
// without the AVX-512 kernels (the portable GEMM path is faster than a scalar direct loop).
func ConvDirectSupported(g *ConvGeom, m int) bool { return false }

func convDirectRun(g *ConvGeom, x, wp []float32, wp16 []uint16, y, z, bias []float32, o0, nb, y0, y1 int, clamp bool, lo, hi float32, scratch []float32) {
	panic("f32: ConvDirect without its kernels")
}

func padRowsAsm(dst, x []float32, g *ConvGeom, c0, c1, r0, r1 int) bool { return false }

func convDirectPoolRun(g *ConvGeom, x, wp []float32, wp16 []uint16, y, bias []float32, o0, nb, py0, py1 int, clamp bool, lo, hi float32, scratch []float32) {
	panic("f32: ConvDirectPool without its kernels")
}

func directInputLen(g *ConvGeom, rows int) int { return 0 }
