package f32

// microKernel adds the MR×NR product of an MR×k packed A panel and a k×NR packed B panel to C:
//
//	for r := 0; r < MR; r++ { for j := 0; j < NR; j++ { for p := 0; p < k; p++ {
//		c[r*ldc+j] += a[p*MR+r] * b[p*NR+j] } } }
//
// This is the portable version; the accumulators are scalar locals so the compiler can keep as many
// of them in registers as it manages.
func microKernel(k int, a, b, c []float32, ldc int) {
	var c00, c01, c02, c03, c04, c05, c06, c07 float32
	var c10, c11, c12, c13, c14, c15, c16, c17 float32
	var c20, c21, c22, c23, c24, c25, c26, c27 float32
	var c30, c31, c32, c33, c34, c35, c36, c37 float32
	a = a[:k*MR]
	b = b[:k*NR]
	for p := 0; p < k; p++ {
		aa := (*[MR]float32)(a[p*MR:])
		bb := (*[NR]float32)(b[p*NR:])
		b0, b1, b2, b3, b4, b5, b6, b7 := bb[0], bb[1], bb[2], bb[3], bb[4], bb[5], bb[6], bb[7]
		a0 := aa[0]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c04 += a0 * b4
		c05 += a0 * b5
		c06 += a0 * b6
		c07 += a0 * b7
		a1 := aa[1]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c14 += a1 * b4
		c15 += a1 * b5
		c16 += a1 * b6
		c17 += a1 * b7
		a2 := aa[2]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c24 += a2 * b4
		c25 += a2 * b5
		c26 += a2 * b6
		c27 += a2 * b7
		a3 := aa[3]
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		c34 += a3 * b4
		c35 += a3 * b5
		c36 += a3 * b6
		c37 += a3 * b7
	}
	r0 := (*[NR]float32)(c[0*ldc:])
	r0[0] += c00
	r0[1] += c01
	r0[2] += c02
	r0[3] += c03
	r0[4] += c04
	r0[5] += c05
	r0[6] += c06
	r0[7] += c07
	r1 := (*[NR]float32)(c[1*ldc:])
	r1[0] += c10
	r1[1] += c11
	r1[2] += c12
	r1[3] += c13
	r1[4] += c14
	r1[5] += c15
	r1[6] += c16
	r1[7] += c17
	r2 := (*[NR]float32)(c[2*ldc:])
	r2[0] += c20
	r2[1] += c21
	r2[2] += c22
	r2[3] += c23
	r2[4] += c24
	r2[5] += c25
	r2[6] += c26
	r2[7] += c27
	r3 := (*[NR]float32)(c[3*ldc:])
	r3[0] += c30
	r3[1] += c31
	r3[2] += c32
	r3[3] += c33
	r3[4] += c34
	r3[5] += c35
	r3[6] += c36
	r3[7] += c37
}
