package f32

// microKernel adds the MR×NR product of an MR×k packed A panel and a k×NR packed B panel to C:
//
//	for r := 0; r < MR; r++ { for j := 0; j < NR; j++ { for p := 0; p < k; p++ {
//		c[r*ldc+j] += a[p*MR+r] * b[p*NR+j] } } }
//
// This is the portable version. The 3×4 tile is sized for the Go compiler rather than the hardware:
// amd64 gives it 15 usable float registers, and 12 accumulators plus one A value and one product
// temporary fit without spilling (a 4×8 tile spills nearly every accumulator each iteration and
// measured 1.6-2× slower here). B elements are read as memory operands.
func microKernel(k int, a, b, c []float32, ldc int) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	a = a[:k*MR]
	b = b[:k*NR]
	for p := 0; p < k; p++ {
		aa := (*[MR]float32)(a[p*MR:])
		bb := (*[NR]float32)(b[p*NR:])
		a0 := aa[0]
		c00 += a0 * bb[0]
		c01 += a0 * bb[1]
		c02 += a0 * bb[2]
		c03 += a0 * bb[3]
		a1 := aa[1]
		c10 += a1 * bb[0]
		c11 += a1 * bb[1]
		c12 += a1 * bb[2]
		c13 += a1 * bb[3]
		a2 := aa[2]
		c20 += a2 * bb[0]
		c21 += a2 * bb[1]
		c22 += a2 * bb[2]
		c23 += a2 * bb[3]
	}
	r0 := (*[NR]float32)(c[0*ldc:])
	r0[0] += c00
	r0[1] += c01
	r0[2] += c02
	r0[3] += c03
	r1 := (*[NR]float32)(c[1*ldc:])
	r1[0] += c10
	r1[1] += c11
	r1[2] += c12
	r1[3] += c13
	r2 := (*[NR]float32)(c[2*ldc:])
	r2[0] += c20
	r2[1] += c21
	r2[2] += c22
	r2[3] += c23
}
