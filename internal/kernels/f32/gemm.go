// Package f32 holds pure-Go float32 compute kernels: blocked GEMM with packing, im2col packing for
// convolution, depthwise convolution and small vector helpers. Kernels know nothing about graphs.
//
// Layout: gemm.go is the exported API, gemm_generic.go the portable micro-kernel. A SIMD micro-kernel
// (gemm_amd64.go + gemm_amd64.s) can later replace microKernel behind the same API.
package f32

// Register-block and cache-block sizes. MR×NR is the micro-kernel tile; KC bounds the depth of one
// packed panel so an MR×KC slice of A and a KC×NR slice of B stay in L1/L2; NC bounds the width of the
// packed B block used by Gemm.
const (
	MR = 3
	NR = 4
	KC = 256
	NC = 512
	MC = 64
)

// RoundUp rounds n up to a multiple of m.
func RoundUp(n, m int) int { return (n + m - 1) / m * m }

// Gemm computes, for i < m and j < n (row-major operands):
//
//	var s float32
//	for p := 0; p < k; p++ {
//		s += A(i, p) * B(p, j)
//	}
//	c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
//
// where A(i, p) = a[i*lda+p] (a[p*lda+i] if transA) and B(p, j) = b[p*ldb+j] (b[j*ldb+p] if transB).
// When beta == 0, C is not read (NaNs in C do not propagate). work must hold at least GemmWorkLen(m, n, k)
// floats; Gemm itself never allocates.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int,
	beta float32, c []float32, ldc int, work []float32) {
	if m <= 0 || n <= 0 {
		return
	}
	if len(work) < GemmWorkLen(m, n, k) {
		panic("f32: Gemm work buffer too small")
	}
	ScaleMatrix(m, n, beta, c, ldc)
	if k <= 0 || alpha == 0 {
		return
	}
	kcMax := min(k, KC)
	ncMax := min(RoundUp(n, NR), NC)
	bp := work[:kcMax*ncMax]
	apBuf := work[kcMax*ncMax:]
	for jc := 0; jc < n; jc += NC {
		ncl := min(NC, n-jc)
		for pc := 0; pc < k; pc += KC {
			kcl := min(KC, k-pc)
			if transB {
				PackB(bp, true, kcl, ncl, b[jc*ldb+pc:], ldb)
			} else {
				PackB(bp, false, kcl, ncl, b[pc*ldb+jc:], ldb)
			}
			for ic := 0; ic < m; ic += MC {
				mcl := min(MC, m-ic)
				var pa PackedA
				if transA {
					pa = PackA(apBuf, true, mcl, kcl, alpha, a[pc*lda+ic:], lda)
				} else {
					pa = PackA(apBuf, false, mcl, kcl, alpha, a[ic*lda+pc:], lda)
				}
				MulPacked(&pa, 0, mcl, 0, kcl, bp, ncl, c[ic*ldc+jc:], ldc)
			}
		}
	}
}

// GemmWorkLen is the number of work floats Gemm needs for an m×n×k product.
func GemmWorkLen(m, n, k int) int {
	kc := min(max(k, 1), KC)
	return kc*min(RoundUp(n, NR), NC) + kc*RoundUp(min(m, MC), MR)
}

// ScaleMatrix sets c[i*ldc+j] *= beta for i < m, j < n; beta == 0 stores zeros without reading c.
func ScaleMatrix(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// PackedA is an m×k matrix packed for the micro-kernel. The k range is cut into blocks of KC; block
// [pc, pc+kcl) starts at Data[pc*RoundUp(M, MR)] and holds RoundUp(M, MR)/MR row panels of MR×kcl,
// stored column by column (MR consecutive floats per k), zero-padded past row M.
type PackedA struct {
	M, K int
	Data []float32
}

// PackedALen is the length of Data for an m×k PackedA.
func PackedALen(m, k int) int { return RoundUp(m, MR) * k }

// PackA packs alpha*A (m×k, A(i,p) = a[i*lda+p], or a[p*lda+i] if transA) into dst.
func PackA(dst []float32, transA bool, m, k int, alpha float32, a []float32, lda int) PackedA {
	mp := RoundUp(m, MR)
	dst = dst[:mp*k]
	for pc := 0; pc < k; pc += KC {
		kcl := min(KC, k-pc)
		blk := dst[pc*mp:]
		for ip := 0; ip < mp; ip += MR {
			panel := blk[ip*kcl : ip*kcl+MR*kcl]
			for r := 0; r < MR; r++ {
				i := ip + r
				if i >= m {
					for p := 0; p < kcl; p++ {
						panel[p*MR+r] = 0
					}
					continue
				}
				if transA {
					for p := 0; p < kcl; p++ {
						panel[p*MR+r] = alpha * a[(pc+p)*lda+i]
					}
				} else {
					row := a[i*lda+pc : i*lda+pc+kcl]
					for p, v := range row {
						panel[p*MR+r] = alpha * v
					}
				}
			}
		}
	}
	return PackedA{M: m, K: k, Data: dst}
}

// PackedBLen is the length of a packed kc×nc block of B.
func PackedBLen(kc, nc int) int { return kc * RoundUp(nc, NR) }

// PackB packs the kc×nc block B(p, j) = b[p*ldb+j] (b[j*ldb+p] if transB) into NR-wide column panels:
// panel q holds kc rows of NR floats for columns [q*NR, q*NR+NR), zero-padded past nc.
func PackB(dst []float32, transB bool, kc, nc int, b []float32, ldb int) {
	for jp := 0; jp < nc; jp += NR {
		panel := dst[jp*kc : jp*kc+NR*kc]
		w := min(NR, nc-jp)
		if transB {
			for jj := 0; jj < NR; jj++ {
				if jj >= w {
					for p := 0; p < kc; p++ {
						panel[p*NR+jj] = 0
					}
					continue
				}
				col := b[(jp+jj)*ldb : (jp+jj)*ldb+kc]
				for p, v := range col {
					panel[p*NR+jj] = v
				}
			}
			continue
		}
		for p := 0; p < kc; p++ {
			dr := panel[p*NR : p*NR+NR]
			if w == NR {
				copy(dr, b[p*ldb+jp:p*ldb+jp+NR])
			} else {
				copy(dr, b[p*ldb+jp:p*ldb+jp+w])
				clear(dr[w:])
			}
		}
	}
}

// MulPacked adds A[i0:i1, pc:pc+kc] × Bp to C, where Bp is a PackB-packed kc×n block, i0 is a multiple
// of MR, and C's element (i, j) is c[(i-i0)*ldc+j]:
//
//	for i := i0; i < i1; i++ { for j := 0; j < n; j++ { c[(i-i0)*ldc+j] += sum_p A(i, pc+p) * Bp(p, j) } }
func MulPacked(pa *PackedA, i0, i1, pc, kc int, bp []float32, n int, c []float32, ldc int) {
	if i0%MR != 0 {
		panic("f32: MulPacked row start not a multiple of MR")
	}
	mp := RoundUp(pa.M, MR)
	blk := pa.Data[pc*mp:]
	var tmp [MR * NR]float32
	for ip := i0; ip < i1; ip += MR {
		ap := blk[ip*kc : ip*kc+MR*kc]
		rows := min(MR, i1-ip)
		crow := c[(ip-i0)*ldc:]
		for jp := 0; jp < n; jp += NR {
			bpan := bp[jp*kc : jp*kc+NR*kc]
			cols := min(NR, n-jp)
			if rows == MR && cols == NR {
				microKernel(kc, ap, bpan, crow[jp:], ldc)
				continue
			}
			// Edge tile: compute into a full register tile, then add the valid part.
			clear(tmp[:])
			microKernel(kc, ap, bpan, tmp[:], NR)
			for r := 0; r < rows; r++ {
				dst := crow[r*ldc+jp : r*ldc+jp+cols]
				for j := range dst {
					dst[j] += tmp[r*NR+j]
				}
			}
		}
	}
}
