//go:build amd64 && gc && !purego

package q8

const haveAsm = true

// kernel8x32VNNI is Tile: 16 zmm accumulators (8 rows × 2 column vectors), two B loads and eight
// broadcast weight groups per k4 step.
//
//go:noescape
func kernel8x32VNNI(c *int32, a *int8, b *uint8, k4 int)

// gemv64VNNI is Gemv over groups column groups; k4 must be even (PackGemv rounds it).
//
//go:noescape
func gemv64VNNI(acc *int32, x *uint8, w *int8, groups, k4 int)

// packB32 is PackB for nb column blocks.
//
//go:noescape
func packB32(dst *uint8, src *uint8, ld, k4, nb int)

// quantizeAVX512 is Quantize for n a positive multiple of 16.
//
//go:noescape
func quantizeAVX512(dst *uint8, src *float32, n int, inv, zp float32)

// minMaxAVX512 is MinMax for n a positive multiple of 16.
//
//go:noescape
func minMaxAVX512(src *float32, n int) (lo, hi float32)

// dequantTileAVX512 is Dequant (any n, masked tail).
//
//go:noescape
func dequantTileAVX512(y *float32, ldy int, c *int32, ldc, m, n int, s, off *float32, lo, hi float32)

// dequantVecAVX512 is DequantVec for n a positive multiple of 16.
//
//go:noescape
func dequantVecAVX512(y *float32, c *int32, s, off *float32, n int, lo, hi float32)

// tileRQ8x32VNNI is TileRQ: the Tile loop, then TFLite requantization of every accumulator row.
//
//go:noescape
func tileRQ8x32VNNI(y *byte, ldy int, a *int8, b *uint8, k4 int, col *int32, p *RQ, o *RQOut, rows, cols int)

// colSumsVNNI is ColSums (VPDPBUSD against all-ones weights).
//
//go:noescape
func colSumsVNNI(s *int32, b *uint8, k4, nb int, f int32)

// dw3x3RQVNNI is DW3x3RQ; idx is the VPERMB table for the stride.
//
//go:noescape
func dw3x3RQVNNI(y *byte, x *uint8, ld, oh, ow, stride int, w *int8, f int32, p *RQ, o *RQOut, idx *byte)

// addU8AVX512 is AddU8 (masked tail).
//
//go:noescape
func addU8AVX512(y, a, b *byte, n int, p *AddRQ)

// convTile12x32VNNI is ConvTile (conv_amd64.s, generated).
//
//go:noescape
func convTile12x32VNNI(a *uint8, lda int, b *int8, k4 int, y *uint8, ldy int, tiles int, e *Epi)

// convTile8x32VNNI and convTile4x32VNNI are the 8- and 4-row forms (a layer's last rows).
//
//go:noescape
func convTile8x32VNNI(a *uint8, lda int, b *int8, k4 int, y *uint8, ldy int, tiles int, e *Epi)

//go:noescape
func convTile4x32VNNI(a *uint8, lda int, b *int8, k4 int, y *uint8, ldy int, tiles int, e *Epi)

//go:noescape
func copySegsAVX512(dst *uint8, ldd int, src *uint8, lds int, n, l int)

//go:noescape
func maxSegsAVX512(dst *uint8, ldd int, src *uint8, lds int, n, l int)

//go:noescape
func sumPixelsAVX512(acc *int32, x *uint8, n, c int)
