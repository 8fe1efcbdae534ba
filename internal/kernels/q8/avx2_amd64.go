//go:build amd64 && gc && !purego

package q8

// AVX2 forms (avx2_amd64.s); each computes the same integers as its Go and VNNI forms.

// tile8x32AVX2 is Tile.
//
//go:noescape
func tile8x32AVX2(c *int32, a *int8, b *uint8, k4 int)

// rqRowsAVX2 requantizes rows [0, rows) of the 8×32 int32 tile c (+ col) and stores 32 bytes per row.
//
//go:noescape
func rqRowsAVX2(y *byte, ldy int, c *int32, col *int32, p *RQ, o *RQOut, rows int)

// colSumsAVX2 is ColSums.
//
//go:noescape
func colSumsAVX2(s *int32, b *uint8, k4, nb int, f int32)

// packB32AVX2 is PackB for nb column blocks.
//
//go:noescape
func packB32AVX2(dst *uint8, src *uint8, ld, k4, nb int)

// gemv64AVX2 is Gemv over groups column groups.
//
//go:noescape
func gemv64AVX2(acc *int32, x *uint8, w *int8, groups, k4 int)

// dw3x3RQAVX2 is DW3x3RQ with w the six int16 weight pairs (dwPairs).
//
//go:noescape
func dw3x3RQAVX2(y *byte, x *uint8, ld, oh, ow, stride int, w *int32, p *RQ, o *RQOut)

// addU8AVX2 is AddU8 for n a positive multiple of 8.
//
//go:noescape
func addU8AVX2(y, a, b *byte, n int, p *AddRQ)

// quantizeAVX2 is Quantize for n a positive multiple of 8.
//
//go:noescape
func quantizeAVX2(dst *uint8, src *float32, n int, inv, zp float32)

// minMaxAVX2 is MinMax for n a positive multiple of 8.
//
//go:noescape
func minMaxAVX2(src *float32, n int) (lo, hi float32)

// dequantTileAVX2 is Dequant (any n, masked tail).
//
//go:noescape
func dequantTileAVX2(y *float32, ldy int, c *int32, ldc, m, n int, s, off *float32, lo, hi float32)

// dequantVecAVX2 is DequantVec for n a positive multiple of 8.
//
//go:noescape
func dequantVecAVX2(y *float32, c *int32, s, off *float32, n int, lo, hi float32)
