package f32

import "github.com/wanwu-ai/wanwu/tensor"

// fp16 weights (Precision "fp16"): weights are stored as IEEE half bits and widened to float32 right
// before the arithmetic, so all accumulation stays f32 and only the weights' rounding differs from
// fp32. Conv weights are packed once into the PackedA layout in halves (PackA16) and each MC×kc block
// is widened into an L2-resident f32 buffer before the micro-kernels run over it (MulPacked16);
// Gemm/MatMul weights are widened while they are packed (Gemm16), and matrix-vector heads read the
// halves directly in the dot kernel (Dot16).

// widenGeneric sets dst[i] = float32(src[i]) for i < len(dst).
func widenGeneric(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i, h := range src {
		dst[i] = tensor.F16ToF32(h)
	}
}

// dot16Generic is dotGeneric with y in halves.
func dot16Generic(x []float32, y []uint16) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * tensor.F16ToF32(y[i])
		s1 += x[i+1] * tensor.F16ToF32(y[i+1])
		s2 += x[i+2] * tensor.F16ToF32(y[i+2])
		s3 += x[i+3] * tensor.F16ToF32(y[i+3])
	}
	for ; i < len(x); i++ {
		s0 += x[i] * tensor.F16ToF32(y[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// PackedA16 is a PackedA whose elements are IEEE half bits (same layout: KC blocks of MR-row panels,
// column by column, zero-padded past row M).
type PackedA16 struct {
	M, K int
	MR   int
	Data []uint16
}

// PackA16 packs the m×k half-precision matrix A(i, p) = a[i*lda+p] into dst (PackedALen(m, k)
// elements) in the PackedA layout, without converting.
func PackA16(dst []uint16, m, k int, a []uint16, lda int) PackedA16 {
	mr := MR
	mp := RoundUp(m, mr)
	dst = dst[:mp*k]
	for pc := 0; pc < k; pc += KC {
		kcl := min(KC, k-pc)
		blk := dst[pc*mp:]
		for ip := 0; ip < mp; ip += mr {
			panel := blk[ip*kcl : ip*kcl+mr*kcl]
			for r := 0; r < mr; r++ {
				i := ip + r
				if i >= m {
					for p := 0; p < kcl; p++ {
						panel[p*mr+r] = 0
					}
					continue
				}
				row := a[i*lda+pc : i*lda+pc+kcl]
				for p, v := range row {
					panel[p*mr+r] = v
				}
			}
		}
	}
	return PackedA16{M: m, K: k, MR: mr, Data: dst}
}

// Widen16Len is the length of the f32 buffer MulPacked16 widens one block of A into.
func Widen16Len() int { return MC * KC }

// MulPacked16 is MulPacked for a half-precision PackedA16: each block of at most MC rows of
// A[:, pc:pc+kc] is widened into wbuf (Widen16Len floats, it stays in L2 while every column panel of
// bp runs over it), then multiplied exactly as MulPacked would with the f32 values.
func MulPacked16(pa *PackedA16, i0, i1, pc, kc int, bp []float32, n int, c []float32, ldc int, ep Epilogue, wbuf []float32) {
	mulBlock16(pa, i0, i1, pc, kc, bp, 0, n, c, ldc, ep, wbuf)
}

// MulDirect16 is MulDirect for a half-precision PackedA16 (B read in place, rows ldb apart), with A
// widened block by block into wbuf as MulPacked16 does: a 1×1 convolution with fp16 weights then
// copies its input no more than with fp32 weights.
func MulDirect16(pa *PackedA16, i0, i1, pc, kc int, b []float32, ldb, n int, c []float32, ldc int, ep Epilogue, wbuf []float32) {
	if !cur.full {
		panic("f32: MulDirect16 with a micro-kernel that needs packed B")
	}
	if ldb < n {
		panic("f32: MulDirect16 row stride shorter than the row")
	}
	mulBlock16(pa, i0, i1, pc, kc, b, ldb, n, c, ldc, ep, wbuf)
}

// mulBlock16 is mulBlock over a PackedA16 (ldb == 0: b is a packed block).
func mulBlock16(pa *PackedA16, i0, i1, pc, kc int, b []float32, ldb, n int, c []float32, ldc int, ep Epilogue, wbuf []float32) {
	im := cur
	mr, nr := im.MR, im.NR
	if pa.MR != mr {
		panic("f32: MulPacked16 on A packed for another micro-kernel")
	}
	if i0%mr != 0 {
		panic("f32: MulPacked16 row start not a multiple of MR")
	}
	mp := RoundUp(pa.M, mr)
	blk := pa.Data[pc*mp:]
	t := newTiler(im, kc, b, ldb, n, c, ldc, ep, i0)
	for ic := i0; ic < i1; ic += MC {
		ie := min(ic+MC, i1)
		rows := RoundUp(ie-ic, mr) // whole panels: the padding rows are in the packed data
		w := wbuf[:rows*kc]
		Widen(w, blk[ic*kc:ic*kc+rows*kc])
		for jp := 0; jp < n; jp += nr {
			t.panels(w, ic, ic, ie, jp)
		}
	}
}

// Gemm16 is Gemm with B given as IEEE half bits (b16; B(p, j) = b16[p*ldb+j], or b16[j*ldb+p] if
// transB), widened to f32 as it is packed, or in the dot kernel for matrix-vector shapes.
func Gemm16(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b16 []uint16, ldb int,
	beta float32, c []float32, ldc int, work []float32) {
	gemm(transA, transB, m, n, k, alpha, a, lda, nil, b16, ldb, beta, c, ldc, work)
}

// PackB16 is PackB from half-precision B, widening each element.
func PackB16(dst []float32, transB bool, kc, nc int, b []uint16, ldb int) {
	nr := NR
	for jp := 0; jp < nc; jp += nr {
		panel := dst[jp*kc : jp*kc+nr*kc]
		w := min(nr, nc-jp)
		if transB {
			for jj := 0; jj < nr; jj++ {
				if jj >= w {
					for p := 0; p < kc; p++ {
						panel[p*nr+jj] = 0
					}
					continue
				}
				col := b[(jp+jj)*ldb : (jp+jj)*ldb+kc]
				for p, v := range col {
					panel[p*nr+jj] = tensor.F16ToF32(v)
				}
			}
			continue
		}
		for p := 0; p < kc; p++ {
			dr := panel[p*nr : p*nr+nr]
			Widen(dr[:w], b[p*ldb+jp:p*ldb+jp+w])
			clear(dr[w:])
		}
	}
}

// PackRowA16 writes row i of an m×k matrix, given in f32, into dst (PackedALen(m, k) halves, the
// PackedA16 layout for the current MR), rounding each value to the nearest half. Rows never written
// (the padding past m) must already be zero. It reports whether every value stayed finite in half
// precision (false when a finite weight overflowed to ±Inf, or was not finite).
func PackRowA16(dst []uint16, m, k, i int, row []float32) bool {
	mr := MR
	mp := RoundUp(m, mr)
	ip, r := i/mr*mr, i%mr
	row = row[:k]
	ok := true
	for pc := 0; pc < k; pc += KC {
		kcl := min(KC, k-pc)
		panel := dst[pc*mp+ip*kcl : pc*mp+ip*kcl+mr*kcl]
		for p, v := range row[pc : pc+kcl] {
			h := tensor.F32ToF16(v)
			if h&0x7c00 == 0x7c00 {
				ok = false
			}
			panel[p*mr+r] = h
		}
	}
	return ok
}

// UnpackA16 copies the m×k matrix held in pa back into row-major dst (dst[i*k+p]).
func UnpackA16(dst []uint16, pa *PackedA16) {
	m, k, mr := pa.M, pa.K, pa.MR
	mp := RoundUp(m, mr)
	for pc := 0; pc < k; pc += KC {
		kcl := min(KC, k-pc)
		for i := 0; i < m; i++ {
			ip, r := i/mr*mr, i%mr
			panel := pa.Data[pc*mp+ip*kcl:]
			for p := 0; p < kcl; p++ {
				dst[i*k+pc+p] = panel[p*mr+r]
			}
		}
	}
}
