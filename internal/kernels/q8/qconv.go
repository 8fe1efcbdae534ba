package q8

// Kernels for TFLite-semantics quantized convolutions (ops.QLinearConv with rounding="tflite"):
// u8 activations times s8 weights summed exactly in int32 (VPDPBUSD), then requantized with TFLite's
// fixed-point arithmetic in the same pass and stored as bytes. Weights that are u8 with a zero point
// wz are stored as w' = w-128 (s8) with f = 128-wz, since Σx(w-wz) = Σx·w' + f·Σx; the caller folds
// every remaining constant (bias, -xz·Σ(w-wz)) into RQ.Add. The pure-Go forms compute the same bytes
// through MultiplyByQuantizedMultiplier, so each kernel is bit-exact with the reference definition.

import (
	"github.com/wanwu-ai/wanwu/internal/cpu"
)

// useVBMI additionally allows the VNNI depthwise kernel, which gathers its byte taps with VPERMB;
// without it (or without VNNI) the AVX2 depthwise kernel runs where AVX2 is on.
var useVBMI = cpu.VBMI

// RQ is one output channel's requantization, unpacked for vector code:
//
//	y = MultiplyByQuantizedMultiplier(acc + Add, Mult, Left - Right)
//
// with Mask = 2^Right - 1 and Half = Mask >> 1 (RoundingDivideByPOT's remainder test).
type RQ struct {
	Add         int32
	Mult        int32
	Left, Right int32
	Mask, Half  int32
}

// NewRQ unpacks r (Mult >= 0, as QuantizeMultiplier returns; shifts in [-31, 31]).
func NewRQ(r Requant, add int32) RQ {
	if r.Mult < 0 || r.Shift < -31 || r.Shift > 31 {
		panic("q8: NewRQ multiplier out of range")
	}
	p := RQ{Add: add, Mult: r.Mult}
	if r.Shift > 0 {
		p.Left = int32(r.Shift)
	} else {
		p.Right = int32(-r.Shift)
	}
	p.Mask = int32(uint32(1)<<p.Right - 1)
	p.Half = p.Mask >> 1
	return p
}

// Apply requantizes one accumulator (before zero point and clamp).
func (p *RQ) Apply(acc int32) int32 {
	return MultiplyByQuantizedMultiplier(acc+p.Add, p.Mult, int(p.Left-p.Right))
}

// RQOut is the output zero point and clamp range (the fused activation), shared by all channels.
type RQOut struct{ ZP, Lo, Hi int32 }

// Byte is clamp(v + ZP, Lo, Hi) as the stored byte (u8 or the two's complement of i8).
func (o *RQOut) Byte(v int32) byte { return byte(Clamp(v+o.ZP, o.Lo, o.Hi)) }

// DWAvailable reports whether DW3x3RQ runs vectorised (otherwise the Go loop runs).
func DWAvailable() bool { return useVNNI && useVBMI || useAVX2 }

// TileRQ computes the MR×NR int32 tile of a·b as Tile does and stores rows [0, rows) and columns
// [0, cols) requantized:
//
//	y[i*ldy+j] = o.Byte(p[i].Apply(c[i][j] + col[j]))
//
// col holds NR per-column terms (f·Σx of each column, or zeros).
func TileRQ(y []byte, ldy int, a []int8, b []uint8, k4 int, col []int32, p []RQ, o *RQOut, rows, cols int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	if rows > MR || cols > NR || k4 <= 0 || len(a) < k4*MR*4 || len(b) < k4*NR*4 || len(col) < NR ||
		len(p) < rows || len(y) < (rows-1)*ldy+cols {
		panic("q8: TileRQ bad arguments")
	}
	if useVNNI {
		tileRQ8x32VNNI(&y[0], ldy, &a[0], &b[0], k4, &col[0], &p[0], o, rows, cols)
		return
	}
	if useAVX2 {
		var c [MR * NR]int32
		tile8x32AVX2(&c[0], &a[0], &b[0], k4)
		if cols == NR { // whole rows: store in place
			rqRowsAVX2(&y[0], ldy, &c[0], &col[0], &p[0], o, rows)
			return
		}
		var t [MR * NR]byte
		rqRowsAVX2(&t[0], NR, &c[0], &col[0], &p[0], o, rows)
		for i := 0; i < rows; i++ {
			copy(y[i*ldy:i*ldy+cols], t[i*NR:])
		}
		return
	}
	var c [MR * NR]int32
	tileGeneric(c[:], a, b, k4)
	for i := 0; i < rows; i++ {
		yr := y[i*ldy : i*ldy+cols]
		for j := range yr {
			yr[j] = o.Byte(p[i].Apply(c[i*NR+j] + col[j]))
		}
	}
}

// ColSums sets s[j] = f · Σ_{q,t} b[q][j][t] for the nb·NR columns of a PackB panel (nb blocks).
func ColSums(s []int32, b []uint8, k4, nb int, f int32) {
	if nb <= 0 || k4 <= 0 {
		return
	}
	if len(s) < nb*NR || len(b) < nb*k4*NR*4 {
		panic("q8: ColSums slice too short")
	}
	if useVNNI {
		colSumsVNNI(&s[0], &b[0], k4, nb, f)
		return
	}
	if useAVX2 {
		colSumsAVX2(&s[0], &b[0], k4, nb, f)
		return
	}
	for blk := 0; blk < nb; blk++ {
		d := s[blk*NR : (blk+1)*NR]
		clear(d)
		pb := b[blk*k4*NR*4:]
		for q := 0; q < k4; q++ {
			bq := pb[q*NR*4 : (q+1)*NR*4]
			for j := range d {
				d[j] += int32(bq[j*4]) + int32(bq[j*4+1]) + int32(bq[j*4+2]) + int32(bq[j*4+3])
			}
		}
		for j := range d {
			d[j] *= f
		}
	}
}

// PackBPad is PackB for a source with only n readable columns per row (rows [0, k) readable, the
// rest of the 4·k4 rows read as zero): columns and rows past the source pack as zeros. For the
// ragged last column block of an unpadded matrix.
func PackBPad(dst []uint8, src []uint8, ld, k, k4, n int) {
	nb := (n + NR - 1) / NR
	if len(dst) < nb*k4*4*NR || k > 4*k4 || (k > 0 && len(src) < (k-1)*ld+n) {
		panic("q8: PackBPad slice too short")
	}
	o := 0
	for blk := 0; blk < nb; blk++ {
		for q := 0; q < k4; q++ {
			for j := blk * NR; j < (blk+1)*NR; j++ {
				for t := 0; t < 4; t++ {
					r := 4*q + t
					if r < k && j < n {
						dst[o] = src[r*ld+j]
					} else {
						dst[o] = 0
					}
					o++
				}
			}
		}
	}
}

// DWSrcLen is how many bytes DW3x3RQ reads from x.
func DWSrcLen(ld, oh, ow, stride int) int {
	return ((oh-1)*stride+2)*ld + (RoundUp(ow, 16)-16)*stride + 64
}

// DW3x3RQ is one channel of a 3×3 depthwise convolution (stride 1 or 2, dilation 1) over a plane x
// that is already padded (row stride ld; padding holds the activation zero point):
//
//	acc = Σ_{ky,kx<3} x[(oy*stride+ky)*ld + ox*stride+kx] · (w[ky*4+kx] + f)
//	y[oy*ow+ox] = o.Byte(p.Apply(acc))
//
// w holds the s8 taps as three 4-byte rows (the fourth byte of each ignored); x must have
// DWSrcLen(ld, oh, ow, stride) readable bytes (the vector form reads whole 64-byte rows).
func DW3x3RQ(y []byte, x []uint8, ld, oh, ow, stride int, w *[12]int8, f int32, p *RQ, o *RQOut) {
	if oh <= 0 || ow <= 0 {
		return
	}
	if (stride != 1 && stride != 2) || len(y) < oh*ow || len(x) < DWSrcLen(ld, oh, ow, stride) || ld < (ow-1)*stride+3 {
		panic("q8: DW3x3RQ bad arguments")
	}
	if useVNNI && useVBMI {
		idx := &dwIdx1
		if stride == 2 {
			idx = &dwIdx2
		}
		dw3x3RQVNNI(&y[0], &x[0], ld, oh, ow, stride, &w[0], f, p, o, &idx[0])
		return
	}
	if useAVX2 {
		if wp, ok := dwPairs(w, f); ok {
			dw3x3RQAVX2(&y[0], &x[0], ld, oh, ow, stride, &wp[0], p, o)
			return
		}
	}
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			var acc int32
			for ky := 0; ky < 3; ky++ {
				r := x[(oy*stride+ky)*ld+ox*stride:]
				for kx := 0; kx < 3; kx++ {
					acc += int32(r[kx]) * (int32(w[ky*4+kx]) + f)
				}
			}
			y[oy*ow+ox] = o.Byte(p.Apply(acc))
		}
	}
}

// dwIdx1/dwIdx2 are VPERMB tables: byte 4j+t of the result is byte j*stride+t of the source row, so
// dword lane j holds output pixel j's taps kx = 0, 1, 2 (and one unused byte).
var dwIdx1, dwIdx2 [64]byte

func init() {
	for j := 0; j < 16; j++ {
		for t := 0; t < 4; t++ {
			dwIdx1[4*j+t] = byte(j + t)
			dwIdx2[4*j+t] = byte(2*j + t)
		}
	}
}

// dwPairs packs the taps w+f of each kernel row as the int16 pairs (w0+f, w1+f), (w2+f, 0) the AVX2
// depthwise kernel multiplies with VPMADDWD; ok is false if a tap does not fit in int16.
func dwPairs(w *[12]int8, f int32) (p [6]int32, ok bool) {
	for ky := 0; ky < 3; ky++ {
		var t [3]int32
		for kx := range t {
			t[kx] = int32(w[ky*4+kx]) + f
			if t[kx] < -32768 || t[kx] > 32767 {
				return p, false
			}
		}
		p[2*ky] = int32(uint32(uint16(t[0])) | uint32(uint16(t[1]))<<16)
		p[2*ky+1] = int32(uint16(t[2]))
	}
	return p, true
}
