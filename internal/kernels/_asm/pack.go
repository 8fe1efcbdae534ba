package main

import (
	"bytes"
	"fmt"
)

// packB32 writes
//
//	func packB32AVX512(dst, src *float32, lds, kc, cols int)
//
// which copies kc rows of cols <= 32 floats (src rows lds floats apart) into one 32-wide PackB panel
// (dst[p*32+j]), zero-filling columns [cols, 32): two masked loads and two stores per row.
func packB32(w *bytes.Buffer) {
	const name = "packB32AVX512"
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	fmt.Fprintf(w, "// func %s(dst, src *float32, lds, kc, cols int)\n// Requires: AVX512F\nTEXT ·%s(SB), NOSPLIT, $0-40\n", name, name)
	p("MOVQ dst+0(FP), DI")
	p("MOVQ src+8(FP), SI")
	p("MOVQ lds+16(FP), DX")
	p("SHLQ $2, DX")
	p("MOVQ cols+32(FP), CX")
	p("MOVQ $1, AX")
	p("SHLQ CX, AX")
	p("DECQ AX")
	p("KMOVW AX, K1")
	p("SHRQ $16, AX")
	p("KMOVW AX, K2")
	p("MOVQ kc+24(FP), CX")
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	fmt.Fprintf(w, "%s_loop:\n", name)
	p("VMOVUPS.Z (SI), K1, Z0")
	p("VMOVUPS.Z 64(SI), K2, Z1")
	p("VMOVUPS Z0, (DI)")
	p("VMOVUPS Z1, 64(DI)")
	p("ADDQ DX, SI")
	p("ADDQ $128, DI")
	p("DECQ CX")
	p("JNZ %s_loop", name)
	fmt.Fprintf(w, "%s_done:\n", name)
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}

// packA8 writes
//
//	func packA8AVX512(dst, src *float32, lda, kc int, alpha float32)
//
// which packs one full 8-row panel of a row-major A: dst[p*8+r] = alpha * src[r*lda+p] for r < 8,
// p < kc. Sixteen k columns at a time: eight row loads, an 8×16 -> 16×8 transpose in three rounds of
// two-source permutes (row pairs interleaved by float, then pairs of pairs by 64-bit pair, then the
// two halves of each k column joined by 128-bit block), eight stores; the last kc%16 columns load
// under a mask and store only what exists.
func packA8(w *bytes.Buffer) {
	const name = "packA8AVX512"
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	label := func(l string) { fmt.Fprintf(w, "%s_%s:\n", name, l) }
	// Index tables: round 1 (float interleave of two rows, k 0-7 / 8-15), round 2 (qword interleave,
	// k 0-3 / 4-7 of a group of 8), round 3 (128-bit blocks: rows 0-3 and 4-7 of k, k+1).
	tables := []struct {
		name string
		v    []int
	}{
		{"packIlvLo", []int{0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23}},
		{"packIlvHi", []int{8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31}},
		{"packQLo", []int{0, 8, 1, 9, 2, 10, 3, 11}},
		{"packQHi", []int{4, 12, 5, 13, 6, 14, 7, 15}},
		{"packBLo", []int{0, 1, 8, 9, 2, 3, 10, 11}},
		{"packBHi", []int{4, 5, 12, 13, 6, 7, 14, 15}},
	}
	for _, t := range tables {
		size := 4
		if len(t.v) == 8 {
			size = 8
		}
		for i, v := range t.v {
			fmt.Fprintf(w, "DATA %s<>+%d(SB)/%d, $%d\n", t.name, size*i, size, v)
		}
		fmt.Fprintf(w, "GLOBL %s<>(SB), RODATA|NOPTR, $64\n\n", t.name)
	}
	fmt.Fprintf(w, "// func %s(dst, src *float32, lda, kc int, alpha float32)\n// Requires: AVX512F\nTEXT ·%s(SB), NOSPLIT, $0-36\n", name, name)
	p("MOVQ dst+0(FP), DI")
	p("MOVQ src+8(FP), SI")
	p("MOVQ lda+16(FP), AX")
	p("SHLQ $2, AX // lda in bytes")
	p("LEAQ (AX)(AX*2), BX // 3*lda")
	p("LEAQ (SI)(AX*4), R9 // row 4")
	p("MOVQ kc+24(FP), CX")
	p("VBROADCASTSS alpha+32(FP), Z31")
	p("VMOVDQU32 packIlvLo<>(SB), Z24")
	p("VMOVDQU32 packIlvHi<>(SB), Z25")
	p("VMOVDQU64 packQLo<>(SB), Z26")
	p("VMOVDQU64 packQHi<>(SB), Z27")
	p("VMOVDQU64 packBLo<>(SB), Z28")
	p("VMOVDQU64 packBHi<>(SB), Z29")
	rowAddr := []string{"(SI)", "(SI)(AX*1)", "(SI)(AX*2)", "(SI)(BX*1)", "(R9)", "(R9)(AX*1)", "(R9)(AX*2)", "(R9)(BX*1)"}
	// transpose leaves k columns 2q, 2q+1 in Z(8+q) for q < 8.
	transpose := func(masked bool) {
		for r := 0; r < 8; r++ {
			if masked {
				p("VMOVUPS.Z %s, K1, Z%d", rowAddr[r], r)
			} else {
				p("VMOVUPS %s, Z%d", rowAddr[r], r)
			}
			p("VMULPS Z31, Z%d, Z%d", r, r)
		}
		// Round 1: Z(16+2i) = rows 2i,2i+1 interleaved for k 0-7, Z(17+2i) for k 8-15.
		for i := 0; i < 4; i++ {
			p("VMOVAPS Z%d, Z%d", 2*i, 16+2*i)
			p("VPERMT2PS Z%d, Z24, Z%d", 2*i+1, 16+2*i)
			p("VMOVAPS Z%d, Z%d", 2*i, 17+2*i)
			p("VPERMT2PS Z%d, Z25, Z%d", 2*i+1, 17+2*i)
		}
		// Round 2: for k half h (0: k 0-7, 1: k 8-15) and row quad g (rows 4g..4g+3, from pairs 2g
		// and 2g+1): Z(4h+2g) = k 8h+0..3, Z(4h+2g+1) = k 8h+4..7, 128 bits (4 rows) per k.
		for h := 0; h < 2; h++ {
			for g := 0; g < 2; g++ {
				a, b := 16+2*(2*g)+h, 16+2*(2*g+1)+h
				lo, hi := 4*h+2*g, 4*h+2*g+1
				p("VMOVAPD Z%d, Z%d", a, lo)
				p("VPERMT2PD Z%d, Z26, Z%d", b, lo)
				p("VMOVAPD Z%d, Z%d", a, hi)
				p("VPERMT2PD Z%d, Z27, Z%d", b, hi)
			}
		}
		// Round 3: join rows 0-3 (quad 0) and 4-7 (quad 1) of each k: k group j (4 k's, j < 4) is
		// Z(2*(j/2)*2 + j%2) for quad 0 and the same +2 for quad 1.
		for j := 0; j < 4; j++ {
			h, half := j/2, j%2
			q0, q1 := 4*h+half, 4*h+2+half
			p("VMOVAPD Z%d, Z%d", q0, 8+2*j)
			p("VPERMT2PD Z%d, Z28, Z%d", q1, 8+2*j)
			p("VMOVAPD Z%d, Z%d", q0, 9+2*j)
			p("VPERMT2PD Z%d, Z29, Z%d", q1, 9+2*j)
		}
	}
	p("CMPQ CX, $16")
	p("JLT %s_tail", name)
	label("loop")
	transpose(false)
	for q := 0; q < 8; q++ {
		p("VMOVUPS Z%d, %d(DI)", 8+q, 64*q)
	}
	p("ADDQ $64, SI")
	p("ADDQ $64, R9")
	p("ADDQ $512, DI")
	p("SUBQ $16, CX")
	p("CMPQ CX, $16")
	p("JGE %s_loop", name)
	label("tail")
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	p("MOVQ CX, DX")
	p("MOVQ $1, R8")
	p("SHLQ CX, R8")
	p("DECQ R8")
	p("KMOVW R8, K1")
	transpose(true)
	// Store the rem/2 full pairs of k columns, then half a register for an odd last column.
	for q := 0; q < 8; q++ {
		p("CMPQ DX, $%d", 2*q+2)
		p("JLT %s_odd%d", name, q)
		p("VMOVUPS Z%d, %d(DI)", 8+q, 64*q)
	}
	p("JMP %s_done", name)
	for q := 0; q < 8; q++ {
		label(fmt.Sprintf("odd%d", q))
		p("CMPQ DX, $%d", 2*q+1)
		p("JLT %s_done", name)
		p("MOVQ $0xff, R8")
		p("KMOVW R8, K2")
		p("VMOVUPS Z%d, K2, %d(DI)", 8+q, 64*q)
		p("JMP %s_done", name)
	}
	label("done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}
