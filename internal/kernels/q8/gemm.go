package q8

// Gemm computes c = a·b with int32 accumulation, overwriting c (row strides lda, ldb, ldc):
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var s int32
//			for p := 0; p < k; p++ {
//				s += int32(a[i*lda+p]) * int32(b[p*ldb+j])
//			}
//			c[i*ldc+j] = s
//		}
//	}
//
// a holds weights with their zero point already subtracted (int16 holds any u8-u8 or i8-i8
// difference, so both u8 per-tensor and i8 per-channel weights use it); b holds raw u8 activations,
// and the caller removes the activation zero point with a per-row correction (zp * sum of row i of a).
// This is the u8 x s8/s16 product a dot-product instruction (VPDPBUSD/VPDPWSSD) computes.
func Gemm(m, n, k int, a []int16, lda int, b []uint8, ldb int, c []int32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	if len(a) < (m-1)*lda+k || (k > 0 && len(b) < (k-1)*ldb+n) || len(c) < (m-1)*ldc+n {
		panic("q8: Gemm slice too short")
	}
	gemmGeneric(m, n, k, a, lda, b, ldb, c, ldc)
}

// Dot returns sum(int32(a[i]) * int32(b[i])) over len(a) elements.
func Dot(a []int16, b []uint8) int32 {
	if len(b) < len(a) {
		panic("q8: Dot slice too short")
	}
	return dotGeneric(a, b)
}

// RowSums sets s[i] to the sum of row i of the m×k matrix a.
func RowSums(m, k int, a []int16, s []int32) {
	for i := 0; i < m; i++ {
		var t int32
		for _, v := range a[i*k : (i+1)*k] {
			t += int32(v)
		}
		s[i] = t
	}
}
