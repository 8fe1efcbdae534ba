package f32

// genericKernel is the portable 3×4 micro-kernel, with the whole tileArgs contract (see tileArgs), one
// panel of 3 rows at a time:
//
//	for r := 0; r < 3; r++ { for j := 0; j < 4; j++ {
//		t := sum_p a[p*3+r] * b[p*ldb+j]; then bias, +C, +Z, clamp per flags; c[r*ldc+j] = t } }
//
// for rows r < t.rows and columns j < t.cols. The 3×4 tile is sized for the Go compiler rather than
// the hardware: amd64 gives it 15 usable float registers, and 12 accumulators plus one A value and one
// product temporary fit without spilling (a 4×8 tile spills nearly every accumulator each iteration
// and measured 1.6-2× slower). B elements are read as memory operands.
func genericKernel(t *tileArgs) {
	const mr = 3
	for r0 := 0; r0 < t.rows; r0 += mr {
		p := *t
		p.rows = min(mr, t.rows-r0)
		p.a = t.a[r0*t.k:]
		p.c = t.c[r0*t.ldc:]
		if t.flags&flagBias != 0 {
			p.bias = t.bias[r0:]
		}
		if t.flags&flagAdd != 0 {
			p.z = t.z[r0*t.ldc:]
		}
		genericTile(&p)
	}
}

// genericTile is genericKernel for one panel (t.rows <= 3).
func genericTile(t *tileArgs) {
	const mr, nr = 3, 4
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	k, ldb := t.k, t.ldb
	a := t.a[:k*mr]
	b := t.b
	if t.cols == nr {
		for p := 0; p < k; p++ {
			aa := (*[mr]float32)(a[p*mr:])
			bb := (*[nr]float32)(b[p*ldb:])
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
	} else {
		// A partial column panel read in place: only columns [0, cols) of each row exist.
		var bb [nr]float32
		for p := 0; p < k; p++ {
			copy(bb[:], b[p*ldb:p*ldb+t.cols])
			aa := (*[mr]float32)(a[p*mr:])
			a0, a1, a2 := aa[0], aa[1], aa[2]
			c00 += a0 * bb[0]
			c01 += a0 * bb[1]
			c02 += a0 * bb[2]
			c03 += a0 * bb[3]
			c10 += a1 * bb[0]
			c11 += a1 * bb[1]
			c12 += a1 * bb[2]
			c13 += a1 * bb[3]
			c20 += a2 * bb[0]
			c21 += a2 * bb[1]
			c22 += a2 * bb[2]
			c23 += a2 * bb[3]
		}
	}
	acc := [mr * nr]float32{c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23}
	storeTile(acc[:], nr, t)
}

// storeTile applies t's epilogue to the first t.rows rows of an accumulated tile (row r at
// acc[r*nr:]) and stores their first t.cols columns.
func storeTile(acc []float32, nr int, t *tileArgs) {
	for r := 0; r < t.rows; r++ {
		row := t.c[r*t.ldc : r*t.ldc+t.cols]
		var z []float32
		if t.flags&flagAdd != 0 {
			z = t.z[r*t.ldc : r*t.ldc+t.cols]
		}
		for j := range row {
			v := acc[r*nr+j]
			if t.flags&flagBias != 0 {
				v += t.bias[r]
			}
			if t.flags&flagAcc != 0 {
				v += row[j]
			}
			if z != nil {
				v += z[j]
			}
			if t.flags&flagClamp != 0 {
				v = min(max(v, t.lo), t.hi)
			}
			row[j] = v
		}
	}
}
