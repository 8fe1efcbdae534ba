//go:build amd64 && gc && !purego

package f32

import "unsafe"

//go:noescape
func winoInAVX512(v *float32, ldv int, pad *float32, wp int, offs *int32, tmp *float32)

//go:noescape
func winoIn2AVX512(v *float32, ldv int, pad *float32, wp int, offs *int32, tmp *float32)

//go:noescape
func winoOut2AVX512(o, m *float32, ldm int, bias float32, flags int, lo, hi float32, tmp *float32)

//go:noescape
func winoOutAVX512(o, m *float32, ldm int, bias float32, flags int, lo, hi float32, tmp *float32)

// winoAsm reports whether the Winograd transforms run as AVX-512 vector kernels: on the AVX-512
// rungs of the ladder (whose NR, 32 or 16, holds whole 16-lane groups); the others use the Go loops.
func winoAsm() bool { return cur.id == idAVX512 || cur.id == idAVX512x8 }

// winoInVec is winoIn (m = 4) or winoIn2 (m = 2) for the 16 tiles of offs at once (lanes = tiles),
// storing point ξ's 16 values at v[off+ξ*ldv:].
func winoInVec(m int, v []float32, ldv int, pad []float32, wp int, offs []int32, off int, tmp *[WinoPoints * 16]float32) {
	offs = offs[:16]
	hiOff := int32(0)
	for _, o := range offs {
		if o < 0 {
			panic("f32: Winograd patch offset negative")
		}
		hiOff = max(hiOff, o)
	}
	t := m + 2
	if int(hiOff)+(t-1)*wp+t > len(pad) || off+(t*t-1)*ldv+16 > len(v) {
		panic("f32: Winograd input transform operand too short")
	}
	if m == 4 {
		winoInAVX512(&v[off], ldv, unsafe.SliceData(pad), wp, &offs[0], &tmp[0])
	} else {
		winoIn2AVX512(&v[off], ldv, unsafe.SliceData(pad), wp, &offs[0], &tmp[0])
	}
}

// winoOutVec is winoOut (tm = 4) or winoOut2 (tm = 2) for the 16 tiles m[base+ξ*ldm : +16] (lanes =
// tiles): output (r, c) of lane t lands in o[(r*tm+c)*16+t].
func winoOutVec(tm int, o *[256]float32, m []float32, base, ldm int, bias float32, clamp bool, lo, hi float32, tmp *[WinoPoints * 16]float32) {
	if base+((tm+2)*(tm+2)-1)*ldm+16 > len(m) {
		panic("f32: Winograd output transform operand too short")
	}
	flags := 0
	if clamp {
		flags = flagClamp
	}
	if tm == 4 {
		winoOutAVX512(&o[0], &m[base], ldm, bias, flags, lo, hi, &tmp[0])
	} else {
		winoOut2AVX512(&o[0], &m[base], ldm, bias, flags, lo, hi, &tmp[0])
	}
}
