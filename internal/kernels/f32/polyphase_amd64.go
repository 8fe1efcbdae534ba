//go:build amd64 && gc && !purego

package f32

import "unsafe"

//go:noescape
func deinterleaveAVX512(even, odd, src *float32, n int)

func deinterleaveAsm(even, odd, src []float32) bool {
	if !dwPlaneRung() {
		return false
	}
	n := len(src)
	if len(even) != (n+1)/2 || (odd != nil && len(odd) != n/2) {
		panic("f32: deinterleave lengths do not match")
	}
	if n == 0 {
		return true
	}
	var o *float32
	if odd != nil && len(odd) > 0 {
		o = unsafe.SliceData(odd)
	}
	deinterleaveAVX512(unsafe.SliceData(even), o, unsafe.SliceData(src), n)
	return true
}

//go:noescape
func subsampleRowsAVX512(dst, src *float32, rows, n, ldSrc, ldDst int)

// subsampleRowsAsm is SubsampleRows at stride 2 (bounds checked by the caller): the kernel reads the
// 2·ow-1 floats of each source row that hold its even columns, none past them.
func subsampleRowsAsm(dst, src []float32, rows, ow, ldSrc, ldDst int) bool {
	if !dwPlaneRung() {
		return false
	}
	subsampleRowsAVX512(unsafe.SliceData(dst), unsafe.SliceData(src), rows, 2*ow-1, ldSrc, ldDst)
	return true
}
