//go:build amd64 && gc && !purego

package f32

import "unsafe"

//go:noescape
func dwK3S1AVX512(out, in, w *float32, nv, rem, ldin int, bias float32, flags int, lo, hi float32)

//go:noescape
func dwK3S2AVX512(out, in, w *float32, nv, rem, ldin int, bias float32, flags int, lo, hi float32)

//go:noescape
func dwK5S1AVX512(out, in, w *float32, nv, rem, ldin int, bias float32, flags int, lo, hi float32)

//go:noescape
func dwK5S2AVX512(out, in, w *float32, nv, rem, ldin int, bias float32, flags int, lo, hi float32)

//go:noescape
func dwK3S1AVX2(out, in, w *float32, nv, ldin int, bias float32, flags int, lo, hi float32)

//go:noescape
func dwK3S2AVX2(out, in, w *float32, nv, ldin int, bias float32, flags int, lo, hi float32)

// depthwiseRowAsm computes out[x] = clamp(bias + sum_{ky,kx<k} w[ky*k+kx] * in[ky*ldin+s*x+kx]) for
// x < len(out) with the AVX-512 row kernels (k in {3, 5}, s in {1, 2}) or, on the AVX2 rung, the
// AVX2 3×3 kernels; it reports false, doing nothing, where the selected GEMM kernel's ISA has no such
// kernel (the ISA ladder).
func depthwiseRowAsm(out, in, w []float32, k, s, ldin int, bias float32, clamp bool, lo, hi float32) bool {
	if cur.id == idAVX2 && k == 3 && (s == 1 || s == 2) {
		return depthwiseRowAVX2(out, in, w, s, ldin, bias, clamp, lo, hi)
	}
	if (cur.id != idAVX512 && cur.id != idAVX512x8) || (k != 3 && k != 5) || (s != 1 && s != 2) {
		return false
	}
	n := len(out)
	if n == 0 {
		return true
	}
	// Every tap read must lie in in: the last one is in[(k-1)*ldin + s*(n-1) + k-1].
	if len(w) < k*k || len(in) <= (k-1)*ldin+s*(n-1)+k-1 {
		panic("f32: depthwise row operand too short")
	}
	nv, rem := n/16, n%16
	// Stride 2 full vectors read one float past their last even tap; past the slice end that float
	// moves the vector to the masked tail.
	if s == 2 && nv > 0 && (k-1)*ldin+2*16*(nv-1)+(k-1)+31 >= len(in) {
		nv--
		rem += 16
	}
	flags := 0
	if clamp {
		flags = flagClamp
	}
	o, i, wp := unsafe.SliceData(out), unsafe.SliceData(in), unsafe.SliceData(w)
	// Direct calls (not through a func value), so escape analysis sees //go:noescape and callers'
	// stack buffers stay on the stack.
	dwRow(k, s, o, i, wp, nv, min(rem, 16), ldin, bias, flags, lo, hi)
	if rem > 16 {
		x := 16*nv + 16
		dwRow(k, s, &out[x], &in[s*x], wp, 0, rem-16, ldin, bias, flags, lo, hi)
	}
	return true
}

// depthwiseRowAVX2 is depthwiseRowAsm's 3×3 AVX2 form: full 8-wide vectors in assembly, the last
// len(out)%8 columns (and a stride-2 vector that would read past in) in Go.
func depthwiseRowAVX2(out, in, w []float32, s, ldin int, bias float32, clamp bool, lo, hi float32) bool {
	n := len(out)
	if n == 0 {
		return true
	}
	if len(w) < 9 || len(in) <= 2*ldin+s*(n-1)+2 {
		panic("f32: depthwise row operand too short")
	}
	nv := n / 8
	// Stride 2 vectors read one float past their last even tap.
	if s == 2 && nv > 0 && 2*ldin+16*nv+1 >= len(in) {
		nv--
	}
	flags := 0
	if clamp {
		flags = flagClamp
	}
	if nv > 0 {
		if s == 2 {
			dwK3S2AVX2(unsafe.SliceData(out), unsafe.SliceData(in), unsafe.SliceData(w), nv, ldin, bias, flags, lo, hi)
		} else {
			dwK3S1AVX2(unsafe.SliceData(out), unsafe.SliceData(in), unsafe.SliceData(w), nv, ldin, bias, flags, lo, hi)
		}
	}
	if x := 8 * nv; x < n {
		depthwise3x3Interior(out[x:], in[s*x:], w, ldin, s, bias)
		clampRow(out[x:], clamp, lo, hi)
	}
	return true
}

// dwRow calls the AVX-512 row kernel for k and s.
func dwRow(k, s int, out, in, w *float32, nv, rem, ldin int, bias float32, flags int, lo, hi float32) {
	switch {
	case k == 3 && s == 1:
		dwK3S1AVX512(out, in, w, nv, rem, ldin, bias, flags, lo, hi)
	case k == 3 && s == 2:
		dwK3S2AVX512(out, in, w, nv, rem, ldin, bias, flags, lo, hi)
	case k == 5 && s == 1:
		dwK5S1AVX512(out, in, w, nv, rem, ldin, bias, flags, lo, hi)
	default:
		dwK5S2AVX512(out, in, w, nv, rem, ldin, bias, flags, lo, hi)
	}
}
