//go:build !amd64 || !gc || purego

package q8

const haveAsm = false

func kernel8x32VNNI(c *int32, a *int8, b *uint8, k4 int)              { panic("q8: no asm") }
func gemv64VNNI(acc *int32, x *uint8, w *int8, groups, k4 int)        { panic("q8: no asm") }
func packB32(dst *uint8, src *uint8, ld, k4, nb int)                  { panic("q8: no asm") }
func quantizeAVX512(dst *uint8, src *float32, n int, inv, zp float32) { panic("q8: no asm") }
func minMaxAVX512(src *float32, n int) (lo, hi float32)               { panic("q8: no asm") }
func dequantTileAVX512(y *float32, ldy int, c *int32, ldc, m, n int, s, off *float32, lo, hi float32) {
	panic("q8: no asm")
}
func dequantVecAVX512(y *float32, c *int32, s, off *float32, n int, lo, hi float32) {
	panic("q8: no asm")
}
func tileRQ8x32VNNI(y *byte, ldy int, a *int8, b *uint8, k4 int, col *int32, p *RQ, o *RQOut, rows, cols int) {
	panic("q8: no asm")
}
func colSumsVNNI(s *int32, b *uint8, k4, nb int, f int32) { panic("q8: no asm") }
func dw3x3RQVNNI(y *byte, x *uint8, ld, oh, ow, stride int, w *int8, f int32, p *RQ, o *RQOut, idx *byte) {
	panic("q8: no asm")
}
func addU8AVX512(y, a, b *byte, n int, p *AddRQ) { panic("q8: no asm") }
func convTile12x32VNNI(a *uint8, lda int, b *int8, k4 int, y *uint8, ldy int, tiles int, e *Epi) {
	panic("q8: no asm")
}
func copySegsAVX512(dst *uint8, ldd int, src *uint8, lds int, n, l int) { panic("q8: no asm") }
func maxSegsAVX512(dst *uint8, ldd int, src *uint8, lds int, n, l int)  { panic("q8: no asm") }
func sumPixelsAVX512(acc *int32, x *uint8, n, c int)                    { panic("q8: no asm") }
func convTile8x32VNNI(a *uint8, lda int, b *int8, k4 int, y *uint8, ldy int, tiles int, e *Epi) {
	panic("q8: no asm")
}
func convTile4x32VNNI(a *uint8, lda int, b *int8, k4 int, y *uint8, ldy int, tiles int, e *Epi) {
	panic("q8: no asm")
}
