//go:build !amd64 || !gc || purego

package f32

// dwTileRung reports false: without the AVX-512 kernels the plane and strip kernels do the work.
func dwTileRung() bool { return false }

func dwTileBand(d *DepthwiseTile, y, x, w, bias []float32, iy0, iy1, tr0, oy0, oy1 int, clamp bool, lo, hi float32, t, out []float32) {
	panic("f32: DepthwiseTile without its kernels")
}
