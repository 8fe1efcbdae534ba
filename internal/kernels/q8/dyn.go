package q8

// Kernels for dynamically quantized float layers (ops.DynQConv, ops.DynQGemm): u8 activations times
// s8 weights summed in int32, the product VPDPBUSD computes four byte pairs at a time. Operands are
// packed so that four consecutive k values of one row/column share a 32-bit lane ("k4 groups"):
//
//   - conv weights (A, m×k): row blocks of MR rows, each [k4][MR][4] (PackA); zero rows/columns pad;
//   - activations (B, k×n): column blocks of NR columns, each [k4][NR][4] (PackB);
//   - GEMV weights (n×k, one output per row): column groups of GV outputs, each [k4][GV][4]
//     (PackGemv), with k4 rounded up to an even count.
//
// The VNNI form (VPDPBUSD, AVX512_VNNI) does not saturate: every u8×s8 product is summed exactly in
// int32, so activations keep all 8 bits and weights span -127..127. The pure-Go kernels compute the
// same integers; dispatch is decided once at init (internal/cpu) and never per element.

import (
	"math"

	"github.com/wanwu-ai/wanwu/internal/cpu"
)

const (
	// MR×NR is the conv micro-tile: 8 output channels × 32 output pixels (two zmm lanes of 16).
	MR = 8
	NR = 32
	// GV is the GEMV column group: 64 outputs (four zmm accumulators).
	GV = 64
)

// useVNNI selects the AVX-512 VNNI kernels, useAVX2 the AVX2 ones (exact 16-bit widening, no
// VPDPBUSD); with both false the pure-Go kernels run. Set once here; tests switch them (Use) to walk
// every implementation. useAVX2 stays on under VNNI: the AVX2 depthwise kernel is the route for a
// VNNI CPU without VBMI.
var (
	useVNNI = cpu.VNNI && haveAsm
	useAVX2 = cpu.AVX2FMA && haveAsm
)

// Impl names one implementation of the kernels in this package.
type Impl struct {
	Name       string
	Available  bool
	vnni, avx2 bool
}

// Impls lists the implementations, best first: the ISA ladder tests walk.
func Impls() []Impl {
	return []Impl{
		{Name: "VNNI", Available: cpu.VNNI && haveAsm, vnni: true, avx2: true},
		{Name: "AVX2", Available: cpu.AVX2FMA && haveAsm, avx2: true},
		{Name: "Go", Available: true},
	}
}

// Use selects implementation im (for tests and benchmarks) and returns a function restoring the
// previous choice. It must not be called while kernels run.
func Use(im Impl) (restore func()) {
	pv, pa := useVNNI, useAVX2
	useVNNI = im.vnni && im.Available
	useAVX2 = im.avx2 && im.Available
	return func() { useVNNI, useAVX2 = pv, pa }
}

// Active names the implementation in use.
func Active() string {
	switch {
	case useVNNI:
		return "VNNI"
	case useAVX2:
		return "AVX2"
	}
	return "Go"
}

// K4 is the number of k4 groups holding k values.
func K4(k int) int { return (k + 3) / 4 }

// RoundUp rounds n up to a multiple of m.
func RoundUp(n, m int) int { return (n + m - 1) / m * m }

// PackedALen is the length of PackA's output for an m×k matrix.
func PackedALen(m, k int) int { return RoundUp(m, MR) * K4(k) * 4 }

// PackA packs the m×k int8 matrix w (row stride ldw) into MR-row blocks of [k4][MR][4], zero-padded.
func PackA(dst []int8, w []int8, ldw, m, k int) {
	k4 := K4(k)
	if len(dst) < PackedALen(m, k) {
		panic("q8: PackA dst too short")
	}
	dst = dst[:PackedALen(m, k)]
	clear(dst)
	for i := 0; i < m; i++ {
		blk := dst[i/MR*MR*k4*4:]
		r := i % MR
		row := w[i*ldw : i*ldw+k]
		for p, v := range row {
			blk[(p/4)*MR*4+r*4+p%4] = v
		}
	}
}

// RowSumsA returns in s the sums of the m rows of a matrix packed by PackA (k4 groups each).
func RowSumsA(s []int32, a []int8, m, k4 int) {
	for i := 0; i < m; i++ {
		blk := a[i/MR*MR*k4*4:]
		r := i % MR
		var t int32
		for q := 0; q < k4; q++ {
			for _, v := range blk[q*MR*4+r*4 : q*MR*4+r*4+4] {
				t += int32(v)
			}
		}
		s[i] = t
	}
}

// PackedBLen is the length of PackB's output for a k×n matrix.
func PackedBLen(k, n int) int { return K4(k) * 4 * RoundUp(n, NR) }

// PackB packs rows [0, 4*k4) and columns [0, RoundUp(n, NR)) of the u8 matrix src (row stride ld)
// into NR-column blocks of [k4][NR][4]. Every one of those bytes must be readable (the caller pads
// rows and columns); columns past n are packed as found and must be ignored in the result.
func PackB(dst []uint8, src []uint8, ld, k4, n int) {
	nb := (n + NR - 1) / NR
	if n <= 0 || k4 <= 0 {
		return
	}
	if len(dst) < nb*k4*4*NR || len(src) < (4*k4-1)*ld+nb*NR {
		panic("q8: PackB slice too short")
	}
	if useVNNI {
		packB32(&dst[0], &src[0], ld, k4, nb)
		return
	}
	if useAVX2 {
		packB32AVX2(&dst[0], &src[0], ld, k4, nb)
		return
	}
	packBGeneric(dst, src, ld, k4, nb)
}

func packBGeneric(dst []uint8, src []uint8, ld, k4, nb int) {
	o := 0
	for b := 0; b < nb; b++ {
		for q := 0; q < k4; q++ {
			r := src[4*q*ld+b*NR:]
			for j := 0; j < NR; j++ {
				dst[o] = r[j]
				dst[o+1] = r[ld+j]
				dst[o+2] = r[2*ld+j]
				dst[o+3] = r[3*ld+j]
				o += 4
			}
		}
	}
}

// Tile computes the MR×NR int32 tile c (row stride NR) = a·b over k4 groups, where a is one MR-row
// block of PackA's output and b one NR-column block of PackB's:
//
//	c[i*NR+j] = Σ_q Σ_t int32(a[(q*MR+i)*4+t]) * int32(b[(q*NR+j)*4+t])
func Tile(c []int32, a []int8, b []uint8, k4 int) {
	if len(c) < MR*NR || len(a) < k4*MR*4 || len(b) < k4*NR*4 || k4 <= 0 {
		panic("q8: Tile slice too short")
	}
	if useVNNI {
		kernel8x32VNNI(&c[0], &a[0], &b[0], k4)
		return
	}
	if useAVX2 {
		tile8x32AVX2(&c[0], &a[0], &b[0], k4)
		return
	}
	tileGeneric(c, a, b, k4)
}

func tileGeneric(c []int32, a []int8, b []uint8, k4 int) {
	var acc [MR][NR]int32
	for q := 0; q < k4; q++ {
		aq := a[q*MR*4 : (q+1)*MR*4]
		bq := b[q*NR*4 : (q+1)*NR*4]
		for i := 0; i < MR; i++ {
			w0, w1, w2, w3 := int32(aq[i*4]), int32(aq[i*4+1]), int32(aq[i*4+2]), int32(aq[i*4+3])
			if w0|w1|w2|w3 == 0 {
				continue
			}
			row := &acc[i]
			for j := 0; j < NR; j++ {
				bj := bq[j*4 : j*4+4]
				row[j] += w0*int32(bj[0]) + w1*int32(bj[1]) + w2*int32(bj[2]) + w3*int32(bj[3])
			}
		}
	}
	for i := 0; i < MR; i++ {
		copy(c[i*NR:(i+1)*NR], acc[i][:])
	}
}

// PackedGemvLen is the length of PackGemv's output for n outputs of k inputs.
func PackedGemvLen(n, k int) int { return RoundUp(n, GV) * gemvK4(k) * 4 }

func gemvK4(k int) int { return RoundUp(K4(k), 2) }

// PackGemv packs the rows [r0, r1) of the n×k int8 matrix w (row i is output i; row stride ldw;
// w[0] is row r0) into column groups of [k4][GV][4]; rows may be packed in several calls, but every
// call for a group must write all of it (zero padding is written once, by the call reaching n).
func PackGemv(dst []int8, w []int8, ldw, n, k, r0, r1 int) {
	k4 := gemvK4(k)
	for i := r0; i < r1; i++ {
		grp := dst[i/GV*GV*k4*4:]
		c := i % GV
		row := w[(i-r0)*ldw : (i-r0)*ldw+k]
		for q := 0; q < k4; q++ {
			d := grp[(q*GV+c)*4 : (q*GV+c)*4+4]
			for t := 0; t < 4; t++ {
				if p := q*4 + t; p < k {
					d[t] = row[p]
				} else {
					d[t] = 0
				}
			}
		}
	}
	if r1 == n {
		for i := n; i < RoundUp(n, GV); i++ {
			grp := dst[i/GV*GV*k4*4:]
			for q := 0; q < k4; q++ {
				clear(grp[(q*GV+i%GV)*4 : (q*GV+i%GV)*4+4])
			}
		}
	}
}

// GemvSums returns in s the sum of each of the n packed rows.
func GemvSums(s []int32, w []int8, n, k int) {
	k4 := gemvK4(k)
	for i := 0; i < n; i++ {
		grp := w[i/GV*GV*k4*4:]
		c := i % GV
		var t int32
		for q := 0; q < k4; q++ {
			for _, v := range grp[(q*GV+c)*4 : (q*GV+c)*4+4] {
				t += int32(v)
			}
		}
		s[i] = t
	}
}

// Gemv computes acc[j] = Σ_p int32(x[p]) * int32(w_j[p]) for the GV outputs of each of the column
// groups [g0, g1) of w (packed by PackGemv for k inputs); acc holds (g1-g0)*GV values and x must
// have gemvK4(k)*4 readable bytes (GemvXLen).
func Gemv(acc []int32, x []uint8, w []int8, k, g0, g1 int) {
	k4 := gemvK4(k)
	if g1 <= g0 {
		return
	}
	if len(acc) < (g1-g0)*GV || len(x) < k4*4 || len(w) < g1*GV*k4*4 {
		panic("q8: Gemv slice too short")
	}
	w = w[g0*GV*k4*4:]
	if useVNNI && k4 > 0 {
		gemv64VNNI(&acc[0], &x[0], &w[0], g1-g0, k4)
		return
	}
	if useAVX2 && k4 > 0 {
		gemv64AVX2(&acc[0], &x[0], &w[0], g1-g0, k4)
		return
	}
	for g := 0; g < g1-g0; g++ {
		a := acc[g*GV : (g+1)*GV]
		clear(a)
		wg := w[g*GV*k4*4:]
		for q := 0; q < k4; q++ {
			x0, x1, x2, x3 := int32(x[q*4]), int32(x[q*4+1]), int32(x[q*4+2]), int32(x[q*4+3])
			wq := wg[q*GV*4 : (q+1)*GV*4]
			for j := range a {
				a[j] += x0*int32(wq[j*4]) + x1*int32(wq[j*4+1]) + x2*int32(wq[j*4+2]) + x3*int32(wq[j*4+3])
			}
		}
	}
}

// GemvXLen is how many bytes Gemv reads from x for k inputs (pad with zeros past k).
func GemvXLen(k int) int { return gemvK4(k) * 4 }

// MinMax returns the smallest and largest value of x (x non-empty; NaNs are not expected).
func MinMax(x []float32) (lo, hi float32) {
	if len(x) == 0 {
		panic("q8: MinMax of nothing")
	}
	lo, hi = x[0], x[0]
	n := 0
	if useVNNI && len(x) >= 16 {
		n = len(x) &^ 15
		lo, hi = minMaxAVX512(&x[0], n)
	} else if useAVX2 && len(x) >= 8 {
		n = len(x) &^ 7
		lo, hi = minMaxAVX2(&x[0], n)
	}
	for _, v := range x[n:] {
		lo = min(lo, v)
		hi = max(hi, v)
	}
	return lo, hi
}

// Params returns the asymmetric u8 quantization of the range [lo, hi] widened to hold 0:
// x ≈ scale * (q - zp), q = clamp(round(x/scale) + zp, 0, 255), as ONNX DynamicQuantizeLinear does.
func Params(lo, hi float32) (scale float32, zp uint8) {
	lo, hi = min(lo, 0), max(hi, 0)
	if !(hi > lo) || math.IsInf(float64(hi-lo), 0) {
		return 1, 0
	}
	scale = (hi - lo) / 255
	z := math.RoundToEven(float64(-lo / scale))
	return scale, uint8(min(max(z, 0), 255))
}

// Quantize sets dst[i] = clamp(roundEven(src[i]*inv) + zp, 0, 255) (the product rounded to float32
// first, so every implementation agrees bit for bit).
func Quantize(dst []uint8, src []float32, inv float32, zp uint8) {
	if len(dst) < len(src) {
		panic("q8: Quantize dst too short")
	}
	n := 0
	if useVNNI && len(src) >= 16 {
		n = len(src) &^ 15
		quantizeAVX512(&dst[0], &src[0], n, inv, float32(zp))
	} else if useAVX2 && len(src) >= 8 {
		n = len(src) &^ 7
		quantizeAVX2(&dst[0], &src[0], n, inv, float32(zp))
	}
	z := float32(zp)
	for i, v := range src[n:] {
		q := math.RoundToEven(float64(float32(v*inv) + z))
		dst[n+i] = uint8(min(max(q, 0), 255))
	}
}

// Dequant writes the m×n block y (row stride ldy) from the int32 block c (row stride ldc):
//
//	y[i*ldy+j] = clamp(float32(c[i*ldc+j])*s[i] + off[i], lo, hi)
//
// (one fused multiply-add where the hardware has it; the portable form rounds twice, a difference of
// at most one float32 ulp).
func Dequant(y []float32, ldy int, c []int32, ldc, m, n int, s, off []float32, lo, hi float32) {
	if m <= 0 || n <= 0 {
		return
	}
	if len(y) < (m-1)*ldy+n || len(c) < (m-1)*ldc+n || len(s) < m || len(off) < m {
		panic("q8: Dequant slice too short")
	}
	if useVNNI {
		dequantTileAVX512(&y[0], ldy, &c[0], ldc, m, n, &s[0], &off[0], lo, hi)
		return
	}
	if useAVX2 {
		dequantTileAVX2(&y[0], ldy, &c[0], ldc, m, n, &s[0], &off[0], lo, hi)
		return
	}
	for i := 0; i < m; i++ {
		yr, cr := y[i*ldy:i*ldy+n], c[i*ldc:i*ldc+n]
		si, oi := s[i], off[i]
		for j, v := range cr {
			yr[j] = min(max(float32(v)*si+oi, lo), hi)
		}
	}
}

// DequantVec sets y[j] = clamp(float32(c[j])*s[j] + off[j], lo, hi) for j < len(y).
func DequantVec(y []float32, c []int32, s, off []float32, lo, hi float32) {
	n := len(y)
	if len(c) < n || len(s) < n || len(off) < n {
		panic("q8: DequantVec slice too short")
	}
	d := 0
	if useVNNI && n >= 16 {
		d = n &^ 15
		dequantVecAVX512(&y[0], &c[0], &s[0], &off[0], d, lo, hi)
	} else if useAVX2 && n >= 8 {
		d = n &^ 7
		dequantVecAVX2(&y[0], &c[0], &s[0], &off[0], d, lo, hi)
	}
	for j := d; j < n; j++ {
		y[j] = min(max(float32(c[j])*s[j]+off[j], lo), hi)
	}
}

// SetA stores v as element (i, p) of an m×k matrix in PackA's layout (dst zeroed beforehand), so a
// matrix can be packed one row at a time as it is quantized.
func SetA(dst []int8, k, i, p int, v int8) {
	k4 := K4(k)
	dst[i/MR*MR*k4*4+(p/4)*MR*4+(i%MR)*4+p%4] = v
}

// SetGemv stores v as weight p of output i in PackGemv's layout for k inputs (dst zeroed beforehand).
func SetGemv(dst []int8, k, i, p int, v int8) {
	k4 := gemvK4(k)
	dst[i/GV*GV*k4*4+((p/4)*GV+i%GV)*4+p%4] = v
}
