package f32

// The portable micro-kernels: register tiles written so the Go compiler keeps every accumulator in a
// register. Both implement the whole tileArgs contract, one MR-row panel at a time.
//
// amd64 gives compiled Go 15 usable float registers (X15 is the ABI's zero register) and no fused
// multiply-add at the default GOAMD64 level, so every multiply-add is a MULSS and an ADDSS, and a
// core's scalar ceiling is its two multiply and two add pipes: 4 flop/cycle (measured 14.1-15.1
// GFLOP/s at 3.5-3.8 GHz on Zen 5 with 12 independent register-only MULSS/ADDSS chains). The 2×4 tile
// (8 accumulators, 2 A values, a B value and a product) is the largest that fits those registers.
// Machines with 32 float registers and fused FMADD (arm64, riscv64, ppc64, loong64) take the 4×4 tile
// (16 accumulators).
//
// How the packed loops are written, and why (each measured on the L1-resident micro-kernel benchmark):
//
//   - k runs 16 steps per iteration, fully unrolled, with constant indices into a and b and the
//     slices advanced at the end (a, b = a[32:], b[64:]): the loop condition proves every index
//     in range, so the body has no bounds checks and the only loop overhead is two pointer bumps, a
//     compare and a branch per 16 steps. Two steps per iteration with indexed B (the previous
//     kernel) ran at ~10 GFLOP/s, four at ~10.5, eight at ~11.3, sixteen at ~12.
//   - The amd64 code is front-end bound, not FP bound: MULSS overwrites its destination, so each
//     multiply-add costs a fresh register (a load or a copy), the multiply and the add (24-25
//     instructions per 16 flops), and the unrolled body removes what little else there is.
//   - The compiler's scheduler places a block's values that have no use inside the block (here the
//     last update of each accumulator) after all others, so the last step's eight products are live
//     together with the eight accumulators: one spill per iteration, cheap once per 16 steps.
//   - B is read as b[4*s+j] at each use, not held in named variables: the register allocator then
//     multiplies into the operand at its last use and copies only 3 values per step.

// genericKernel2x4 runs the 2×4 tile over every panel of t.
func genericKernel2x4(t *tileArgs) {
	const mr, nr = 2, 4
	if t.cols == nr && t.k <= genericChunk {
		// Every full-width panel (k blocks are at most KC): B is read in place by every row panel,
		// and each panel's tile goes straight to the epilogue.
		k := t.k
		for r0 := 0; r0 < t.rows; r0 += mr {
			d := dot2x4(k, t.a[r0*k:(r0+mr)*k], t.b, t.ldb)
			storeTile(d[:], nr, t, r0, min(mr, t.rows-r0))
		}
		return
	}
	genericKernel2x4Edge(t)
}

// genericKernel2x4Edge is genericKernel2x4 for a partial column panel (B copied to a stack buffer, which the
// full-width path does not zero on every call) or a k beyond genericChunk.
func genericKernel2x4Edge(t *tileArgs) {
	const mr, nr = 2, 4
	var buf [genericChunk * nr]float32
	if t.k <= genericChunk {
		// B copied once for every row panel.
		k := t.k
		b, ldb := genericB(t, 0, k, buf[:])
		for r0 := 0; r0 < t.rows; r0 += mr {
			d := dot2x4(k, t.a[r0*k:(r0+mr)*k], b, ldb)
			storeTile(d[:], nr, t, r0, min(mr, t.rows-r0))
		}
		return
	}
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
	if t.cols == nr && t.k <= genericChunk {
		// Every full-width panel (k blocks are at most KC): B is read in place by every row panel,
		// and each panel's tile goes straight to the epilogue.
		k := t.k
		for r0 := 0; r0 < t.rows; r0 += mr {
			d := dot4x4(k, t.a[r0*k:(r0+mr)*k], t.b, t.ldb)
			storeTile(d[:], nr, t, r0, min(mr, t.rows-r0))
		}
		return
	}
	genericKernel4x4Edge(t)
}

// genericKernel4x4Edge is genericKernel4x4 for a partial column panel (B copied to a stack buffer, which the
// full-width path does not zero on every call) or a k beyond genericChunk.
func genericKernel4x4Edge(t *tileArgs) {
	const mr, nr = 4, 4
	var buf [genericChunk * nr]float32
	if t.k <= genericChunk {
		// B copied once for every row panel.
		k := t.k
		b, ldb := genericB(t, 0, k, buf[:])
		for r0 := 0; r0 < t.rows; r0 += mr {
			d := dot4x4(k, t.a[r0*k:(r0+mr)*k], b, ldb)
			storeTile(d[:], nr, t, r0, min(mr, t.rows-r0))
		}
		return
	}
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

// dot2x4Packed is dot2x4 for a packed B panel (rows 4 floats apart): 16 k steps per iteration, then
// four, then one (see the top of the file).
func dot2x4Packed(k int, a, b []float32) [8]float32 {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var a0, a1 float32
	a = a[:2*k]
	b = b[:4*k]
	for len(a) >= 32 && len(b) >= 64 {
		a0, a1 = a[0], a[1]
		c00 += a0 * b[0]
		c10 += a1 * b[0]
		c01 += a0 * b[1]
		c11 += a1 * b[1]
		c02 += a0 * b[2]
		c12 += a1 * b[2]
		c03 += a0 * b[3]
		c13 += a1 * b[3]
		a0, a1 = a[2], a[3]
		c00 += a0 * b[4]
		c10 += a1 * b[4]
		c01 += a0 * b[5]
		c11 += a1 * b[5]
		c02 += a0 * b[6]
		c12 += a1 * b[6]
		c03 += a0 * b[7]
		c13 += a1 * b[7]
		a0, a1 = a[4], a[5]
		c00 += a0 * b[8]
		c10 += a1 * b[8]
		c01 += a0 * b[9]
		c11 += a1 * b[9]
		c02 += a0 * b[10]
		c12 += a1 * b[10]
		c03 += a0 * b[11]
		c13 += a1 * b[11]
		a0, a1 = a[6], a[7]
		c00 += a0 * b[12]
		c10 += a1 * b[12]
		c01 += a0 * b[13]
		c11 += a1 * b[13]
		c02 += a0 * b[14]
		c12 += a1 * b[14]
		c03 += a0 * b[15]
		c13 += a1 * b[15]
		a0, a1 = a[8], a[9]
		c00 += a0 * b[16]
		c10 += a1 * b[16]
		c01 += a0 * b[17]
		c11 += a1 * b[17]
		c02 += a0 * b[18]
		c12 += a1 * b[18]
		c03 += a0 * b[19]
		c13 += a1 * b[19]
		a0, a1 = a[10], a[11]
		c00 += a0 * b[20]
		c10 += a1 * b[20]
		c01 += a0 * b[21]
		c11 += a1 * b[21]
		c02 += a0 * b[22]
		c12 += a1 * b[22]
		c03 += a0 * b[23]
		c13 += a1 * b[23]
		a0, a1 = a[12], a[13]
		c00 += a0 * b[24]
		c10 += a1 * b[24]
		c01 += a0 * b[25]
		c11 += a1 * b[25]
		c02 += a0 * b[26]
		c12 += a1 * b[26]
		c03 += a0 * b[27]
		c13 += a1 * b[27]
		a0, a1 = a[14], a[15]
		c00 += a0 * b[28]
		c10 += a1 * b[28]
		c01 += a0 * b[29]
		c11 += a1 * b[29]
		c02 += a0 * b[30]
		c12 += a1 * b[30]
		c03 += a0 * b[31]
		c13 += a1 * b[31]
		a0, a1 = a[16], a[17]
		c00 += a0 * b[32]
		c10 += a1 * b[32]
		c01 += a0 * b[33]
		c11 += a1 * b[33]
		c02 += a0 * b[34]
		c12 += a1 * b[34]
		c03 += a0 * b[35]
		c13 += a1 * b[35]
		a0, a1 = a[18], a[19]
		c00 += a0 * b[36]
		c10 += a1 * b[36]
		c01 += a0 * b[37]
		c11 += a1 * b[37]
		c02 += a0 * b[38]
		c12 += a1 * b[38]
		c03 += a0 * b[39]
		c13 += a1 * b[39]
		a0, a1 = a[20], a[21]
		c00 += a0 * b[40]
		c10 += a1 * b[40]
		c01 += a0 * b[41]
		c11 += a1 * b[41]
		c02 += a0 * b[42]
		c12 += a1 * b[42]
		c03 += a0 * b[43]
		c13 += a1 * b[43]
		a0, a1 = a[22], a[23]
		c00 += a0 * b[44]
		c10 += a1 * b[44]
		c01 += a0 * b[45]
		c11 += a1 * b[45]
		c02 += a0 * b[46]
		c12 += a1 * b[46]
		c03 += a0 * b[47]
		c13 += a1 * b[47]
		a0, a1 = a[24], a[25]
		c00 += a0 * b[48]
		c10 += a1 * b[48]
		c01 += a0 * b[49]
		c11 += a1 * b[49]
		c02 += a0 * b[50]
		c12 += a1 * b[50]
		c03 += a0 * b[51]
		c13 += a1 * b[51]
		a0, a1 = a[26], a[27]
		c00 += a0 * b[52]
		c10 += a1 * b[52]
		c01 += a0 * b[53]
		c11 += a1 * b[53]
		c02 += a0 * b[54]
		c12 += a1 * b[54]
		c03 += a0 * b[55]
		c13 += a1 * b[55]
		a0, a1 = a[28], a[29]
		c00 += a0 * b[56]
		c10 += a1 * b[56]
		c01 += a0 * b[57]
		c11 += a1 * b[57]
		c02 += a0 * b[58]
		c12 += a1 * b[58]
		c03 += a0 * b[59]
		c13 += a1 * b[59]
		a0, a1 = a[30], a[31]
		c00 += a0 * b[60]
		c10 += a1 * b[60]
		c01 += a0 * b[61]
		c11 += a1 * b[61]
		c02 += a0 * b[62]
		c12 += a1 * b[62]
		c03 += a0 * b[63]
		c13 += a1 * b[63]
		a, b = a[32:], b[64:]
	}
	for len(a) >= 8 && len(b) >= 16 {
		a0, a1 = a[0], a[1]
		c00 += a0 * b[0]
		c10 += a1 * b[0]
		c01 += a0 * b[1]
		c11 += a1 * b[1]
		c02 += a0 * b[2]
		c12 += a1 * b[2]
		c03 += a0 * b[3]
		c13 += a1 * b[3]
		a0, a1 = a[2], a[3]
		c00 += a0 * b[4]
		c10 += a1 * b[4]
		c01 += a0 * b[5]
		c11 += a1 * b[5]
		c02 += a0 * b[6]
		c12 += a1 * b[6]
		c03 += a0 * b[7]
		c13 += a1 * b[7]
		a0, a1 = a[4], a[5]
		c00 += a0 * b[8]
		c10 += a1 * b[8]
		c01 += a0 * b[9]
		c11 += a1 * b[9]
		c02 += a0 * b[10]
		c12 += a1 * b[10]
		c03 += a0 * b[11]
		c13 += a1 * b[11]
		a0, a1 = a[6], a[7]
		c00 += a0 * b[12]
		c10 += a1 * b[12]
		c01 += a0 * b[13]
		c11 += a1 * b[13]
		c02 += a0 * b[14]
		c12 += a1 * b[14]
		c03 += a0 * b[15]
		c13 += a1 * b[15]
		a, b = a[8:], b[16:]
	}
	for len(a) >= 2 && len(b) >= 4 {
		a0, a1 = a[0], a[1]
		c00 += a0 * b[0]
		c10 += a1 * b[0]
		c01 += a0 * b[1]
		c11 += a1 * b[1]
		c02 += a0 * b[2]
		c12 += a1 * b[2]
		c03 += a0 * b[3]
		c13 += a1 * b[3]
		a, b = a[2:], b[4:]
	}
	return [8]float32{c00, c01, c02, c03, c10, c11, c12, c13}
}

// dot4x4 is T = A·B for a packed 4×k panel a and k rows of 4 floats, ldb apart.
func dot4x4(k int, a, b []float32, ldb int) [16]float32 {
	if ldb == 4 {
		return dot4x4Packed(k, a, b)
	}
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	a = a[:4*k]
	for p := 0; p < k; p++ {
		aa := (*[4]float32)(a[4*p:])
		bb := (*[4]float32)(b[p*ldb:])
		a0, a1, a2, a3 := aa[0], aa[1], aa[2], aa[3]
		b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	return [16]float32{c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33}
}

// dot4x4Packed is dot4x4 for a packed B panel, unrolled like dot2x4Packed (8 k steps, then four,
// then one). With 32 float registers and fused multiply-add the 16 accumulators, 4 A and 4 B values
// all stay in registers.
func dot4x4Packed(k int, a, b []float32) [16]float32 {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	var a0, a1, a2, a3, b0, b1, b2, b3 float32
	a = a[:4*k]
	b = b[:4*k]
	for len(a) >= 32 && len(b) >= 32 {
		a0, a1, a2, a3 = a[0], a[1], a[2], a[3]
		b0, b1, b2, b3 = b[0], b[1], b[2], b[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a0, a1, a2, a3 = a[4], a[5], a[6], a[7]
		b0, b1, b2, b3 = b[4], b[5], b[6], b[7]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a0, a1, a2, a3 = a[8], a[9], a[10], a[11]
		b0, b1, b2, b3 = b[8], b[9], b[10], b[11]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a0, a1, a2, a3 = a[12], a[13], a[14], a[15]
		b0, b1, b2, b3 = b[12], b[13], b[14], b[15]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a0, a1, a2, a3 = a[16], a[17], a[18], a[19]
		b0, b1, b2, b3 = b[16], b[17], b[18], b[19]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a0, a1, a2, a3 = a[20], a[21], a[22], a[23]
		b0, b1, b2, b3 = b[20], b[21], b[22], b[23]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a0, a1, a2, a3 = a[24], a[25], a[26], a[27]
		b0, b1, b2, b3 = b[24], b[25], b[26], b[27]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a0, a1, a2, a3 = a[28], a[29], a[30], a[31]
		b0, b1, b2, b3 = b[28], b[29], b[30], b[31]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a, b = a[32:], b[32:]
	}
	for len(a) >= 16 && len(b) >= 16 {
		a0, a1, a2, a3 = a[0], a[1], a[2], a[3]
		b0, b1, b2, b3 = b[0], b[1], b[2], b[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a0, a1, a2, a3 = a[4], a[5], a[6], a[7]
		b0, b1, b2, b3 = b[4], b[5], b[6], b[7]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a0, a1, a2, a3 = a[8], a[9], a[10], a[11]
		b0, b1, b2, b3 = b[8], b[9], b[10], b[11]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a0, a1, a2, a3 = a[12], a[13], a[14], a[15]
		b0, b1, b2, b3 = b[12], b[13], b[14], b[15]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a, b = a[16:], b[16:]
	}
	for len(a) >= 4 && len(b) >= 4 {
		a0, a1, a2, a3 = a[0], a[1], a[2], a[3]
		b0, b1, b2, b3 = b[0], b[1], b[2], b[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a, b = a[4:], b[4:]
	}
	return [16]float32{c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33}
}

// storeTile applies t's epilogue to rows [r0, r0+rows) of t (accumulated into acc, row r-r0 at
// acc[(r-r0)*nr:]) and stores their first t.cols columns. Each epilogue step is its own pass over the
// row, in the contract's order (bias, +C, +Z, clamp), so no flag is tested per element.
func storeTile(acc []float32, nr int, t *tileArgs, r0, rows int) {
	flags := t.flags
	for r := 0; r < rows; r++ {
		ri := r0 + r
		row := t.c[ri*t.ldc : ri*t.ldc+t.cols]
		v := acc[r*nr : r*nr+len(row)]
		if flags&flagBias != 0 {
			bias := t.bias[ri]
			for j := range v {
				v[j] += bias
			}
		}
		if flags&flagAcc != 0 {
			for j, x := range row {
				v[j] += x
			}
		}
		if flags&flagAdd != 0 {
			for j, x := range t.z[ri*t.ldc : ri*t.ldc+len(v)] {
				v[j] += x
			}
		}
		if flags&flagClamp != 0 {
			lo, hi := t.lo, t.hi
			for j, x := range v {
				v[j] = min(max(x, lo), hi)
			}
		}
		copy(row, v)
	}
}
