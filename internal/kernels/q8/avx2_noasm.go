//go:build !amd64 || !gc || purego

package q8

func tile8x32AVX2(c *int32, a *int8, b *uint8, k4 int) { panic("q8: no asm") }
func rqRowsAVX2(y *byte, ldy int, c *int32, col *int32, p *RQ, o *RQOut, rows int) {
	panic("q8: no asm")
}
func colSumsAVX2(s *int32, b *uint8, k4, nb int, f int32)           { panic("q8: no asm") }
func packB32AVX2(dst *uint8, src *uint8, ld, k4, nb int)            { panic("q8: no asm") }
func gemv64AVX2(acc *int32, x *uint8, w *int8, groups, k4 int)      { panic("q8: no asm") }
func addU8AVX2(y, a, b *byte, n int, p *AddRQ)                      { panic("q8: no asm") }
func quantizeAVX2(dst *uint8, src *float32, n int, inv, zp float32) { panic("q8: no asm") }
func minMaxAVX2(src *float32, n int) (lo, hi float32)               { panic("q8: no asm") }
func dw3x3RQAVX2(y *byte, x *uint8, ld, oh, ow, stride int, w *int32, p *RQ, o *RQOut) {
	panic("q8: no asm")
}
func dequantTileAVX2(y *float32, ldy int, c *int32, ldc, m, n int, s, off *float32, lo, hi float32) {
	panic("q8: no asm")
}
func dequantVecAVX2(y *float32, c *int32, s, off *float32, n int, lo, hi float32) {
	panic("q8: no asm")
}
