//go:build !amd64 || !gc || purego

package f32

// WinoDirectSupported reports whether WinoDirect runs geometry g with m output channels here: never
// without the AVX-512 kernels.
func WinoDirectSupported(g *ConvGeom, m int) bool { return false }

func winoDirectRun(g *ConvGeom, x, up []float32, up16 []uint16, y, z, bias []float32, o0, nb, y0, y1 int, clamp bool, lo, hi float32, scratch []float32) {
	panic("f32: WinoDirect without its kernels")
}
