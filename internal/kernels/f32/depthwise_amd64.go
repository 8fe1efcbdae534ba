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

// depthwiseRowAsm computes out[x] = clamp(bias + sum_{ky,kx<k} w[ky*k+kx] * in[ky*ldin+s*x+kx]) for
// x < len(out) with the AVX-512 row kernels (k in {3, 5}, s in {1, 2}); it reports false, doing
// nothing, where there is no such kernel or the selected GEMM kernel is not AVX-512 (the ISA ladder).
func depthwiseRowAsm(out, in, w []float32, k, s, ldin int, bias float32, clamp bool, lo, hi float32) bool {
	if cur.id != idAVX512 || (k != 3 && k != 5) || (s != 1 && s != 2) {
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
	f := dwK3S1AVX512
	switch {
	case k == 3 && s == 2:
		f = dwK3S2AVX512
	case k == 5 && s == 1:
		f = dwK5S1AVX512
	case k == 5 && s == 2:
		f = dwK5S2AVX512
	}
	o, i := unsafe.SliceData(out), unsafe.SliceData(in)
	f(o, i, unsafe.SliceData(w), nv, min(rem, 16), ldin, bias, flags, lo, hi)
	if rem > 16 {
		x := 16*nv + 16
		f(&out[x], &in[s*x], unsafe.SliceData(w), 0, rem-16, ldin, bias, flags, lo, hi)
	}
	return true
}
