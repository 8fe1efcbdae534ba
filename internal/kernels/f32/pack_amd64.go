//go:build amd64 && gc && !purego

package f32

import "unsafe"

// packB32AVX512 copies kc rows of cols <= 32 floats (lds apart) into a zero-padded 32-wide panel.
//
//go:noescape
func packB32AVX512(dst, src *float32, lds, kc, cols int)

// packA8AVX512 packs one full 8-row panel of a row-major A (scaled by alpha) for kc columns.
//
//go:noescape
func packA8AVX512(dst, src *float32, lda, kc int, alpha float32)

// packBPanelAsm packs one NR-wide panel of a row-major B with the vector kernel, or reports false.
func packBPanelAsm(panel, b []float32, ldb, kc, cols int) bool {
	if NR != 32 || (cur.id != idAVX512 && cur.id != idAVX512x8) {
		return false
	}
	if kc > 0 && (len(panel) < kc*32 || cols < 1 || cols > 32 || len(b) < (kc-1)*ldb+cols) {
		panic("f32: packB panel operands too short")
	}
	if kc > 0 {
		packB32AVX512(unsafe.SliceData(panel), unsafe.SliceData(b), ldb, kc, cols)
	}
	return true
}

// packAPanelAsm packs one full MR-row panel of a row-major A with the vector kernel, or reports false.
func packAPanelAsm(panel, a []float32, lda, kc int, alpha float32) bool {
	if MR != 8 || cur.id != idAVX512x8 {
		return false
	}
	if kc > 0 && (len(panel) < kc*8 || len(a) < 7*lda+kc) {
		panic("f32: packA panel operands too short")
	}
	if kc > 0 {
		packA8AVX512(unsafe.SliceData(panel), unsafe.SliceData(a), lda, kc, alpha)
	}
	return true
}
