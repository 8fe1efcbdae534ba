package q8

// Gemm computes c = a·b with int32 accumulation, overwriting c:
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var s int32
//			for p := 0; p < k; p++ {
//				s += int32(a[i*k+p]) * int32(b[p*n+j])
//			}
//			c[i*n+j] = s
//		}
//	}
//
// a holds weights with their zero point already subtracted (int16 fits u8-u8 and i8-i8 differences);
// b holds raw u8 activations, so the caller removes the activation zero point with a per-row
// correction (zp * sum of row i of a). This is the layout an u8 x s8 dot-product instruction wants.
func Gemm(m, n, k int, a []int16, b []uint8, c []int32) {
	if len(a) < m*k || len(b) < k*n || len(c) < m*n {
		panic("q8: Gemm slice too short")
	}
	gemmGeneric(m, n, k, a, b, c)
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
