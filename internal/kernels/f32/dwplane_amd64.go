//go:build amd64 && gc && !purego

package f32

import "unsafe"

//go:noescape
func dwPlaneK3S1AVX512(out, in, w *float32, tab *dwEnt, oh, h, ldin, ow, nvec, sh, pt int, bias float32, flags int, lo, hi float32)

//go:noescape
func dwPlaneK3S2AVX512(out, in, w *float32, tab *dwEnt, oh, h, ldin, ow, nvec, sh, pt int, bias float32, flags int, lo, hi float32)

//go:noescape
func dwPlaneK5S1AVX512(out, in, w *float32, tab *dwEnt, oh, h, ldin, ow, nvec, sh, pt int, bias float32, flags int, lo, hi float32)

//go:noescape
func dwPlaneK5S2AVX512(out, in, w *float32, tab *dwEnt, oh, h, ldin, ow, nvec, sh, pt int, bias float32, flags int, lo, hi float32)

func dwPlaneRung() bool { return cur.id == idAVX512 || cur.id == idAVX512x8 }

// dwPlaneAsm runs the AVX-512 plane kernel for g, or reports false where the selected rung has none.
func dwPlaneAsm(out, in, w []float32, tab []dwEnt, g *ConvGeom, nvec int, bias float32, clamp bool, lo, hi float32) bool {
	return dwRowsAsm(out, in, w, tab, g, nvec, bias, clamp, lo, hi, 0, g.OH)
}

// dwRowsAsm is dwPlaneAsm for output rows [oy0, oy1) only: out holds those rows. The kernels take the
// first row's input offset as -pt (iy = oy*sh - pt), so starting oy0 rows down is pt - oy0*sh.
func dwRowsAsm(out, in, w []float32, tab []dwEnt, g *ConvGeom, nvec int, bias float32, clamp bool, lo, hi float32, oy0, oy1 int) bool {
	if !dwPlaneRung() {
		return false
	}
	k := g.KW
	oh, pt := oy1-oy0, g.PT-oy0*g.SH
	if oy0 < 0 || oh < 0 || oy1 > g.OH {
		panic("f32: depthwise row range outside the plane")
	}
	if oh == 0 {
		return true
	}
	// The table's masks keep every read inside rows [0, H) of in and every write inside out.
	if len(out) < oh*g.OW || len(in) < g.H*g.W || len(w) < k*k || len(tab) < nvec*(k+1) || nvec != (g.OW+15)/16 {
		panic("f32: depthwise plane operand too short")
	}
	flags := 0
	if clamp {
		flags = flagClamp
	}
	o, i, wp, t := unsafe.SliceData(out), unsafe.SliceData(in), unsafe.SliceData(w), unsafe.SliceData(tab)
	switch {
	case k == 3 && g.SW == 1:
		dwPlaneK3S1AVX512(o, i, wp, t, oh, g.H, g.W, g.OW, nvec, g.SH, pt, bias, flags, lo, hi)
	case k == 3:
		dwPlaneK3S2AVX512(o, i, wp, t, oh, g.H, g.W, g.OW, nvec, g.SH, pt, bias, flags, lo, hi)
	case g.SW == 1:
		dwPlaneK5S1AVX512(o, i, wp, t, oh, g.H, g.W, g.OW, nvec, g.SH, pt, bias, flags, lo, hi)
	default:
		dwPlaneK5S2AVX512(o, i, wp, t, oh, g.H, g.W, g.OW, nvec, g.SH, pt, bias, flags, lo, hi)
	}
	return true
}

//go:noescape
func maxPlaneK2S1AVX512(out, in, w *float32, tab *dwEnt, oh, h, ldin, ow, nvec, sh, pt int, bias float32, flags int, lo, hi float32)

//go:noescape
func maxPlaneK2S2AVX512(out, in, w *float32, tab *dwEnt, oh, h, ldin, ow, nvec, sh, pt int, bias float32, flags int, lo, hi float32)

//go:noescape
func maxPlaneK3S1AVX512(out, in, w *float32, tab *dwEnt, oh, h, ldin, ow, nvec, sh, pt int, bias float32, flags int, lo, hi float32)

//go:noescape
func maxPoolK3S2AVX512(out, in *float32, tab *mpEnt, oh, h, ldin, ow, nvec, sh, pt int)

//go:noescape
func maxPlaneK3S2AVX512(out, in, w *float32, tab *dwEnt, oh, h, ldin, ow, nvec, sh, pt int, bias float32, flags int, lo, hi float32)

// maxRowsAsm runs the AVX-512 max-pool plane kernel for output rows [oy0, oy1) of g (out holds just
// those rows), or reports false where the rung has none. The kernels take the first row's input
// offset as -pt, so starting oy0 rows down is pt - oy0*sh.
func maxRowsAsm(out, in []float32, pl *DepthwisePlan, oy0, oy1 int) bool {
	if !dwPlaneRung() {
		return false
	}
	g, tab, nvec := &pl.g, pl.tab, pl.nvec
	k := g.KW
	oh, pt := oy1-oy0, g.PT-oy0*g.SH
	if oy0 < 0 || oh < 0 || oy1 > g.OH {
		panic("f32: max-pool row range outside the plane")
	}
	if oh == 0 {
		return true
	}
	if len(out) < oh*g.OW || len(in) < g.H*g.W || len(tab) < nvec*(k+1) || nvec != (g.OW+15)/16 {
		panic("f32: max-pool plane operand too short")
	}
	o, i, t := unsafe.SliceData(out), unsafe.SliceData(in), unsafe.SliceData(tab)
	if pl.sep != nil && !maxPoolPerTap {
		maxPoolK3S2AVX512(o, i, unsafe.SliceData(pl.sep), oh, g.H, g.W, g.OW, nvec, g.SH, pt)
		return true
	}
	switch {
	case k == 2 && g.SW == 1:
		maxPlaneK2S1AVX512(o, i, nil, t, oh, g.H, g.W, g.OW, nvec, g.SH, pt, 0, 0, 0, 0)
	case k == 2:
		maxPlaneK2S2AVX512(o, i, nil, t, oh, g.H, g.W, g.OW, nvec, g.SH, pt, 0, 0, 0, 0)
	case g.SW == 1:
		maxPlaneK3S1AVX512(o, i, nil, t, oh, g.H, g.W, g.OW, nvec, g.SH, pt, 0, 0, 0, 0)
	default:
		maxPlaneK3S2AVX512(o, i, nil, t, oh, g.H, g.W, g.OW, nvec, g.SH, pt, 0, 0, 0, 0)
	}
	return true
}
