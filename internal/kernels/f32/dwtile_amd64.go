//go:build amd64 && gc && !purego

package f32

import "unsafe"

//go:noescape
func planesToTileAVX512(x *float32, hw int, t *float32, off *int32, n, adj int)

//go:noescape
func dwTileK3AVX512(t, w, bias, out *float32, oh, ow, ldt, s, flags int, lo, hi float32)

//go:noescape
func dwTileK5AVX512(t, w, bias, out *float32, oh, ow, ldt, s, flags int, lo, hi float32)

func dwTileRung() bool { return dwPlaneRung() }

// dwTileBand computes output rows [oy0, oy1) of the 16 channels at the start of x, w and bias into y
// (at the band's first pixel of the first plane; planes OH×OW apart): input rows [iy0, iy1) into the
// tile t (whose first row is tile row tr0), the depthwise kernel into out, back into y's planes.
func dwTileBand(d *DepthwiseTile, y, x, w, bias []float32, iy0, iy1, tr0, oy0, oy1 int, clamp bool, lo, hi float32, t, out []float32) {
	g := &d.g
	hw, ohw := g.H*g.W, g.OH*g.OW
	if iy1 > iy0 {
		planesToTileAVX512(&x[iy0*g.W], hw, unsafe.SliceData(t), &d.off[iy0*g.W], (iy1-iy0)*g.W, 64*tr0*d.ldt)
	}
	flags := 0
	if clamp {
		flags = flagClamp
	}
	n := (oy1 - oy0) * g.OW
	// Direct calls: through a func value the arguments would escape (a heap zero bias per call).
	if g.KW == 3 {
		dwTileK3AVX512(unsafe.SliceData(t), unsafe.SliceData(w), unsafe.SliceData(bias), unsafe.SliceData(out), oy1-oy0, g.OW, d.ldt, g.SW, flags, lo, hi)
	} else {
		dwTileK5AVX512(unsafe.SliceData(t), unsafe.SliceData(w), unsafe.SliceData(bias), unsafe.SliceData(out), oy1-oy0, g.OW, d.ldt, g.SW, flags, lo, hi)
	}
	tileToPlanesAVX512(unsafe.SliceData(out), unsafe.SliceData(y), n, ohw)
}
