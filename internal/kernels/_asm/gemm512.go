package main

import (
	"bytes"
	"fmt"
)

// gemmMasked writes an AVX-512 micro-kernel with the full epilogue of the f32 package's tile contract:
//
//	func name(k int, a, b *float32, ldb int, c *float32, ldc int, bias, z *float32, flags, rows, cols int, lo, hi float32)
//
// For each MR-row panel of A (a holds ceil(rows/mr) packed panels of mr×k, one after the other):
// T[r][j] = sum_p a[p*mr+r] * b[p*ldb+j] for r < mr, j < nr (b: k rows of B, ldb floats apart: a packed
// NR-wide panel when ldb == NR, or rows of a matrix read in place), then per flags T += bias[r] (2),
// T += C (1), T += Z (8; z has C's layout), T = min(max(T, lo), hi) (4), and the panel's rows of T
// (all mr, or what is left of rows) and columns [0, cols) are stored into C (row stride ldc floats);
// the next panel's C, Z and bias start mr rows further. B, C and Z are only read and written through
// masks that cover columns [0, cols), and bias, C and Z only in rows [0, rows), so edge tiles need no
// copy and an in-place B may end at column cols. One call covers a whole column panel of a block of
// rows, so the Go side pays its call and bounds checks once per panel column rather than per tile.
//
// Each loop pass runs four k steps (the tail loop the rest); A elements are broadcast with
// VBROADCASTSS into the registers the accumulators and B vectors leave free, in turn. The C rows of
// a tile are prefetched before its k loop, so their misses overlap the FMAs.
func gemmMasked(w *bytes.Buffer, k kernel) {
	const prefetchA = 2048
	acc := k.mr * k.nv
	nA := 32 - acc - k.nv
	bReg := func(v int) string { return fmt.Sprintf("Z%d", acc+v) }
	aReg := func(r int) string { return fmt.Sprintf("Z%d", acc+k.nv+r%nA) }
	cReg := func(r, v int) string { return fmt.Sprintf("Z%d", r*k.nv+v) }
	mask := func(v int) string { return fmt.Sprintf("K%d", v+1) }
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	label := func(l string) { fmt.Fprintf(w, "%s_%s:\n", k.name, l) }
	// Registers: SI A (runs on from panel to panel), DI B, R11/R12 ldb and 3*ldb in bytes, CX k steps
	// left, R13 the panel's first C row, R8 ldc in bytes, R10 flags, BX rows left, R9 and AX scratch;
	// bias and z pointers of the current panel live in the frame at 0(SP) and 8(SP).
	fmt.Fprintf(w, "// func %s(k int, a, b *float32, ldb int, c *float32, ldc int, bias, z *float32, flags, rows, cols int, lo, hi float32)\n", k.name)
	fmt.Fprintf(w, "// Requires: %s\n", k.requires)
	fmt.Fprintf(w, "TEXT ·%s(SB), NOSPLIT, $16-96\n", k.name)
	p("MOVQ a+8(FP), SI")
	p("MOVQ ldb+24(FP), R11")
	p("SHLQ $2, R11 // ldb in bytes")
	p("LEAQ (R11)(R11*2), R12 // 3*ldb")
	// Column masks: bit j of the 32-bit mask (1<<cols)-1 enables column j; K1 covers the first
	// vector's 16 columns, K2 the second's.
	p("MOVQ cols+80(FP), CX")
	p("MOVQ $1, BX")
	p("SHLQ CX, BX")
	p("DECQ BX")
	for v := 0; v < k.nv; v++ {
		p("KMOVW BX, %s", mask(v))
		if v < k.nv-1 {
			p("SHRQ $16, BX")
		}
	}
	p("MOVQ c+32(FP), R13")
	p("MOVQ ldc+40(FP), R8")
	p("SHLQ $2, R8 // ldc in bytes")
	p("MOVQ flags+64(FP), R10")
	p("MOVQ rows+72(FP), BX")
	p("MOVQ bias+48(FP), AX")
	p("MOVQ AX, 0(SP)")
	p("MOVQ z+56(FP), AX")
	p("MOVQ AX, 8(SP)")

	// prefetchRows fetches the lines of mr rows (ldc apart) from the address in R9 on.
	prefetchRows := func() {
		for r := 0; r < k.mr; r++ {
			if r > 0 {
				p("ADDQ R8, R9")
			}
			for v := 0; v < k.nv; v++ {
				p("PREFETCHT0 %d(R9)", 64*v)
			}
		}
	}
	// A residual Z is read after the k loop, usually from L3 or memory (written layers ago): its rows
	// are fetched one panel ahead, so the misses overlap a whole panel's FMAs (the first panel's here).
	p("TESTQ $8, R10")
	p("JZ %s_panel", k.name)
	p("MOVQ AX, R9")
	prefetchRows()
	label("panel")
	p("MOVQ b+16(FP), DI")
	p("MOVQ k+0(FP), CX")
	p("TESTQ $8, R10")
	p("JZ %s_nozpf", k.name)
	p("MOVQ R8, R9")
	p("IMULQ $%d, R9", k.mr)
	p("ADDQ 8(SP), R9 // the next panel's Z rows (a prefetch past the end does not fault)")
	prefetchRows()
	label("nozpf")
	// Prefetch the tile's C rows: stored (or read, with +C) after the k loop.
	p("MOVQ R13, R9")
	prefetchRows()
	p("LEAQ (DI)(R11*8), R9 // 8 rows ahead of B (the loop's prefetches)")
	for r := 0; r < k.mr; r++ {
		for v := 0; v < k.nv; v++ {
			p("VXORPS %[1]s, %[1]s, %[1]s", cReg(r, v))
		}
	}
	bAddr := []string{"0(DI)", "0(DI)(R11*1)", "0(DI)(R11*2)", "0(DI)(R12*1)"}
	step := func(u int) {
		for v := 0; v < k.nv; v++ {
			a := bAddr[u]
			if v > 0 {
				a = fmt.Sprintf("%d%s", 64*v, a[1:])
			}
			p("VMOVUPS.Z %s, %s, %s // B[p+%d][%d:%d]", a, mask(v), bReg(v), u, 16*v, 16*v+16)
		}
		for r := 0; r < k.mr; r++ {
			p("VBROADCASTSS %d(SI), %s // A[p+%d][%d]", 4*(u*k.mr+r), aReg(r), u, r)
			for v := 0; v < k.nv; v++ {
				p("VFMADD231PS %s, %s, %s", bReg(v), aReg(r), cReg(r, v))
			}
		}
	}
	const unroll = 4 // bAddr has four rows
	p("CMPQ CX, $%d", unroll)
	p("JLT %s_tail", k.name)
	label("loop4")
	// A streams from memory on a layer's first column panel (a cold weight block): fetch the lines
	// prefetchA bytes ahead, one per 64 bytes the four steps consume, so the misses overlap the FMAs.
	for off := 0; off < 4*k.mr*unroll; off += 64 {
		p("PREFETCHT0 %d(SI)", prefetchA+off)
	}
	// B rows read in place (a 1×1 convolution's input) come from L2, or from the other core's cache
	// where it wrote them, one strided line at a time: fetch the rows 8 ahead (R9 walks 8 rows
	// in front of DI). On later row panels they are L1 hits.
	for u := 0; u < unroll; u++ {
		for v := 0; v < k.nv; v++ {
			p("PREFETCHT0 %d%s", 64*v, []string{"(R9)", "(R9)(R11*1)", "(R9)(R11*2)", "(R9)(R12*1)"}[u])
		}
	}
	p("LEAQ (R9)(R11*4), R9")
	for u := 0; u < unroll; u++ {
		step(u)
	}
	p("ADDQ $%d, SI", 4*k.mr*unroll)
	p("LEAQ (DI)(R11*4), DI")
	p("SUBQ $%d, CX", unroll)
	p("CMPQ CX, $%d", unroll)
	p("JGE %s_loop4", k.name)
	label("tail")
	p("TESTQ CX, CX")
	p("JZ %s_epilogue", k.name)
	label("loop1")
	step(0)
	p("ADDQ $%d, SI", 4*k.mr)
	p("ADDQ R11, DI")
	p("DECQ CX")
	p("JNZ %s_loop1", k.name)

	label("epilogue")
	// rowGuard jumps to l once r reaches the rows left (r > 0).
	rowGuard := func(r int, l string) {
		p("CMPQ BX, $%d", r)
		p("JLE %s_%s", k.name, l)
	}
	p("TESTQ $2, R10")
	p("JZ %s_nobias", k.name)
	p("MOVQ 0(SP), R9")
	for r := 0; r < k.mr; r++ {
		if r > 0 {
			rowGuard(r, "nobias")
		}
		p("VBROADCASTSS %d(R9), %s // bias[%d]", 4*r, aReg(r), r)
		for v := 0; v < k.nv; v++ {
			p("VADDPS %s, %s, %s", aReg(r), cReg(r, v), cReg(r, v))
		}
	}
	label("nobias")
	// T += the matrix at ptr (C, then Z), rows [0, rows) only.
	addRows := func(flag int, ptr, l string) {
		p("TESTQ $%d, R10", flag)
		p("JZ %s_%s", k.name, l)
		p("MOVQ %s, R9", ptr)
		for r := 0; r < k.mr; r++ {
			if r > 0 {
				rowGuard(r, l)
				p("ADDQ R8, R9")
			}
			for v := 0; v < k.nv; v++ {
				p("VADDPS.Z %d(R9), %s, %s, %s // T[%d] += row %d", 64*v, cReg(r, v), mask(v), cReg(r, v), r, r)
			}
		}
		label(l)
	}
	addRows(1, "R13", "noacc")
	addRows(8, "8(SP)", "noz")
	p("TESTQ $4, R10")
	p("JZ %s_noclamp", k.name)
	lo, hi := bReg(0), aReg(0)
	if k.nv > 1 {
		hi = bReg(1)
	}
	p("VBROADCASTSS lo+88(FP), %s", lo)
	p("VBROADCASTSS hi+92(FP), %s", hi)
	for r := 0; r < k.mr; r++ {
		for v := 0; v < k.nv; v++ {
			p("VMAXPS %s, %s, %s", lo, cReg(r, v), cReg(r, v))
			p("VMINPS %s, %s, %s", hi, cReg(r, v), cReg(r, v))
		}
	}
	label("noclamp")
	p("MOVQ R13, R9")
	for r := 0; r < k.mr; r++ {
		if r > 0 {
			rowGuard(r, "done")
			p("ADDQ R8, R9")
		}
		for v := 0; v < k.nv; v++ {
			p("VMOVUPS %s, %s, %d(R9) // C row %d", cReg(r, v), mask(v), 64*v, r)
		}
	}
	// Next panel: mr rows further in C, Z and bias.
	p("SUBQ $%d, BX", k.mr)
	p("JLE %s_done", k.name)
	p("MOVQ R8, AX")
	p("IMULQ $%d, AX", k.mr)
	p("ADDQ AX, R13")
	p("ADDQ AX, 8(SP)")
	p("ADDQ $%d, 0(SP)", 4*k.mr)
	p("JMP %s_panel", k.name)
	label("done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}

// fmaPeak writes
//
//	func fmaPeakAVX512(n int)
//
// n passes of 12 independent register-only zmm FMAs (cpu_peak.c's loop): the FMA throughput the
// micro-kernel benchmarks compare against, timed the same way they are.
func fmaPeak(w *bytes.Buffer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	fmt.Fprintf(w, "// func fmaPeakAVX512(n int)\n// Requires: AVX512F\nTEXT ·fmaPeakAVX512(SB), NOSPLIT, $0-8\n")
	p("MOVQ n+0(FP), CX")
	for r := 0; r < 14; r++ {
		p("VXORPS Z%[1]d, Z%[1]d, Z%[1]d", r)
	}
	p("TESTQ CX, CX")
	p("JZ fmaPeakAVX512_done")
	fmt.Fprintln(w, "fmaPeakAVX512_loop:")
	for r := 0; r < 12; r++ {
		p("VFMADD231PS Z12, Z13, Z%d", r)
	}
	p("DECQ CX")
	p("JNZ fmaPeakAVX512_loop")
	fmt.Fprintln(w, "fmaPeakAVX512_done:")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}
