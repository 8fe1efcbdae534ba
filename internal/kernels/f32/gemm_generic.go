package f32

// The portable micro-kernels: register tiles written so the Go compiler keeps every accumulator in a
// register. Both implement the whole tileArgs contract, one MR-row panel at a time; k runs two steps
// per iteration (measured 1.4× faster than one: the loop's bounds checks and index updates halve).
//
// amd64 gives compiled Go 15 usable float registers and no fused multiply-add at the default GOAMD64
// level, so a scalar MULSS+ADDSS pair per multiply-add caps Zen 5 at 4 flop/cycle (two multiply and
// two add pipes). The 2×4 tile (8 accumulators, 2 A and 4 B values) is the largest that does not
// spill there: ~11 GFLOP/s at 3.4 GHz on its L1 panels, against 5 for a 3×4 tile (which spills).
// Machines with 32 float registers and fused FMADD (arm64, riscv64, ppc64, loong64) take the 4×4
// tile (16 accumulators; checked spill-free in the arm64 assembly).

// genericKernel2x4 runs the 2×4 tile over every panel of t.
func genericKernel2x4(t *tileArgs) {
	const mr, nr = 2, 4
	var buf [genericChunk * nr]float32
	for r0 := 0; r0 < t.rows; r0 += mr {
		var acc [mr * nr]float32
		for p0 := 0; p0 < t.k; p0 += genericChunk {
			kc := min(genericChunk, t.k-p0)
			b, ldb := genericB(t, p0, kc, buf[:])
			d := dot2x4(kc, t.a[r0*t.k+p0*mr:r0*t.k+(p0+kc)*mr], b, ldb)
			for i, v := range d {
				acc[i] += v
			}
		}
		storeTile(acc[:], nr, t, r0, min(mr, t.rows-r0))
	}
}

// genericKernel4x4 runs the 4×4 tile over every panel of t.
func genericKernel4x4(t *tileArgs) {
	const mr, nr = 4, 4
	var buf [genericChunk * nr]float32
	for r0 := 0; r0 < t.rows; r0 += mr {
		var acc [mr * nr]float32
		for p0 := 0; p0 < t.k; p0 += genericChunk {
			kc := min(genericChunk, t.k-p0)
			b, ldb := genericB(t, p0, kc, buf[:])
			d := dot4x4(kc, t.a[r0*t.k+p0*mr:r0*t.k+(p0+kc)*mr], b, ldb)
			for i, v := range d {
				acc[i] += v
			}
		}
		storeTile(acc[:], nr, t, r0, min(mr, t.rows-r0))
	}
}

// genericChunk is the most k steps one dot call runs: a partial column panel's rows are copied to a
// stack buffer that size, and every caller's k blocks (at most KC) take a single chunk.
const genericChunk = KC

// genericB returns B rows [p0, p0+kc) of t for a full-width tile: in place, or, for a partial column
// panel (cols < 4: the last columns of a matrix read in place), copied zero-padded into buf.
func genericB(t *tileArgs, p0, kc int, buf []float32) ([]float32, int) {
	const nr = 4
	if t.cols == nr {
		return t.b[p0*t.ldb:], t.ldb
	}
	buf = buf[:kc*nr]
	clear(buf)
	for p := 0; p < kc; p++ {
		copy(buf[p*nr:p*nr+t.cols], t.b[(p0+p)*t.ldb:(p0+p)*t.ldb+t.cols])
	}
	return buf, nr
}

// dot2x4 is T = A·B for a packed 2×k panel a and k rows of 4 floats, ldb apart.
func dot2x4(k int, a, b []float32, ldb int) [8]float32 {
	if ldb == 4 {
		return dot2x4Packed(k, a, b)
	}
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	a = a[:2*k]
	for p := 0; p < k; p++ {
		b0 := (*[4]float32)(b[p*ldb:])
		a0, a1 := a[2*p], a[2*p+1]
		c00 += a0 * b0[0]
		c01 += a0 * b0[1]
		c02 += a0 * b0[2]
		c03 += a0 * b0[3]
		c10 += a1 * b0[0]
		c11 += a1 * b0[1]
		c12 += a1 * b0[2]
		c13 += a1 * b0[3]
	}
	return [8]float32{c00, c01, c02, c03, c10, c11, c12, c13}
}

// dot2x4Packed is dot2x4 for a packed B panel (rows 4 floats apart), two k steps per iteration with B
// read into named values: the form the amd64 compiler keeps in registers (~11 GFLOP/s at 3.4 GHz;
// indexing B by a stride spills an accumulator and runs at 8).
func dot2x4Packed(k int, a, b []float32) [8]float32 {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	a = a[:2*k]
	b = b[:4*k]
	p := 0
	for ; p+2 <= k; p += 2 {
		aa := (*[4]float32)(a[2*p:])
		bb := (*[8]float32)(b[4*p:])
		a0, a1 := aa[0], aa[1]
		b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a0, a1 = aa[2], aa[3]
		b0, b1, b2, b3 = bb[4], bb[5], bb[6], bb[7]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
	}
	if p < k {
		bb := (*[4]float32)(b[4*p:])
		a0, a1 := a[2*p], a[2*p+1]
		c00 += a0 * bb[0]
		c01 += a0 * bb[1]
		c02 += a0 * bb[2]
		c03 += a0 * bb[3]
		c10 += a1 * bb[0]
		c11 += a1 * bb[1]
		c12 += a1 * bb[2]
		c13 += a1 * bb[3]
	}
	return [8]float32{c00, c01, c02, c03, c10, c11, c12, c13}
}

// dot4x4 is T = A·B for a packed 4×k panel a and k rows of 4 floats, ldb apart.
func dot4x4(k int, a, b []float32, ldb int) [16]float32 {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	a = a[:4*k]
	p := 0
	for ; p+2 <= k; p += 2 {
		aa := (*[8]float32)(a[4*p:])
		b0 := (*[4]float32)(b[p*ldb:])
		b1 := (*[4]float32)(b[(p+1)*ldb:])
		a0, a1, a2, a3 := aa[0], aa[1], aa[2], aa[3]
		c00 += a0 * b0[0]
		c01 += a0 * b0[1]
		c02 += a0 * b0[2]
		c03 += a0 * b0[3]
		c10 += a1 * b0[0]
		c11 += a1 * b0[1]
		c12 += a1 * b0[2]
		c13 += a1 * b0[3]
		c20 += a2 * b0[0]
		c21 += a2 * b0[1]
		c22 += a2 * b0[2]
		c23 += a2 * b0[3]
		c30 += a3 * b0[0]
		c31 += a3 * b0[1]
		c32 += a3 * b0[2]
		c33 += a3 * b0[3]
		a0, a1, a2, a3 = aa[4], aa[5], aa[6], aa[7]
		c00 += a0 * b1[0]
		c01 += a0 * b1[1]
		c02 += a0 * b1[2]
		c03 += a0 * b1[3]
		c10 += a1 * b1[0]
		c11 += a1 * b1[1]
		c12 += a1 * b1[2]
		c13 += a1 * b1[3]
		c20 += a2 * b1[0]
		c21 += a2 * b1[1]
		c22 += a2 * b1[2]
		c23 += a2 * b1[3]
		c30 += a3 * b1[0]
		c31 += a3 * b1[1]
		c32 += a3 * b1[2]
		c33 += a3 * b1[3]
	}
	if p < k {
		b0 := (*[4]float32)(b[p*ldb:])
		aa := (*[4]float32)(a[4*p:])
		a0, a1, a2, a3 := aa[0], aa[1], aa[2], aa[3]
		c00 += a0 * b0[0]
		c01 += a0 * b0[1]
		c02 += a0 * b0[2]
		c03 += a0 * b0[3]
		c10 += a1 * b0[0]
		c11 += a1 * b0[1]
		c12 += a1 * b0[2]
		c13 += a1 * b0[3]
		c20 += a2 * b0[0]
		c21 += a2 * b0[1]
		c22 += a2 * b0[2]
		c23 += a2 * b0[3]
		c30 += a3 * b0[0]
		c31 += a3 * b0[1]
		c32 += a3 * b0[2]
		c33 += a3 * b0[3]
	}
	return [16]float32{c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33}
}

// storeTile applies t's epilogue to rows [r0, r0+rows) of t (accumulated into acc, row r-r0 at
// acc[(r-r0)*nr:]) and stores their first t.cols columns.
func storeTile(acc []float32, nr int, t *tileArgs, r0, rows int) {
	for r := 0; r < rows; r++ {
		ri := r0 + r
		row := t.c[ri*t.ldc : ri*t.ldc+t.cols]
		var z []float32
		if t.flags&flagAdd != 0 {
			z = t.z[ri*t.ldc : ri*t.ldc+t.cols]
		}
		for j := range row {
			v := acc[r*nr+j]
			if t.flags&flagBias != 0 {
				v += t.bias[ri]
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
