package f32

// microKernel is the portable 3×4 micro-kernel (see Impl for the contract):
//
//	for r := 0; r < 3; r++ { for j := 0; j < 4; j++ {
//		t := sum_p a[p*3+r] * b[p*4+j]; then bias, +C, clamp per flags; c[r*ldc+j] = t } }
//
// The 3×4 tile is sized for the Go compiler rather than the hardware: amd64 gives it 15 usable float
// registers, and 12 accumulators plus one A value and one product temporary fit without spilling (a
// 4×8 tile spills nearly every accumulator each iteration and measured 1.6-2× slower). B elements are
// read as memory operands.
func microKernel(k int, a, b, c []float32, ldc int, bias []float32, flags int, lo, hi float32) {
	const mr, nr = 3, 4
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	a = a[:k*mr]
	b = b[:k*nr]
	for p := 0; p < k; p++ {
		aa := (*[mr]float32)(a[p*mr:])
		bb := (*[nr]float32)(b[p*nr:])
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
	t := [mr][nr]float32{{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}}
	for r := range t {
		row := (*[nr]float32)(c[r*ldc:])
		for j, v := range t[r] {
			if flags&flagBias != 0 {
				v += bias[r]
			}
			if flags&flagAcc != 0 {
				v += row[j]
			}
			if flags&flagClamp != 0 {
				v = min(max(v, lo), hi)
			}
			row[j] = v
		}
	}
}
