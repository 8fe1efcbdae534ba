package main

import (
	"bytes"
	"fmt"
)

// maxPoolK3S2 writes the separable 3×3 stride-2 max-pool kernel
//
//	func maxPoolK3S2AVX512(out, in *float32, tab *mpEnt, oh, h, ldin, ow, nvec, sh, pt int)
//
// For output rows oy < oh (input rows iy0 = oy*sh - pt .. iy0+2, each clamped into [0, h): a row
// outside the plane is replaced by one inside the same window, which max leaves unchanged) and
// 16-lane output vectors v < nvec: the 48 input columns from tab[v].off on (e[0..47]; the window of
// output lane i is e[2i], e[2i+1], e[2i+2]) are max-reduced over the three rows first, as three
// vectors (lanes outside the row stay -Inf under tab[v]'s masks), then gathered into the even,
// odd and next-even elements. That is 9 loads, 2 permutes and 1 align per 16 outputs, where the
// per-tap walk of maxPlaneK3S2 does 18 loads and 9 permutes (ResNet's stem pool is a third of it).
// tab[v] is {off int32; m [4]uint16}: the masks of the columns inside [0, w) of e[0..15], e[16..31]
// and e[32] (lane 0 only), and the vector's output lanes.
func maxPoolK3S2(w *bytes.Buffer) {
	const name = "maxPoolK3S2AVX512"
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	label := func(l string) { fmt.Fprintf(w, "%s_%s:\n", name, l) }
	fmt.Fprintf(w, "// func %s(out, in *float32, tab *mpEnt, oh, h, ldin, ow, nvec, sh, pt int)\n", name)
	fmt.Fprintf(w, "// Requires: AVX512F\n")
	fmt.Fprintf(w, "TEXT ·%s(SB), NOSPLIT, $0-80\n", name)
	// Registers: DI out row, SI in, R8 tab entry, CX vectors left, DX oy, R9 iy0, R10 ldin in bytes,
	// R11/R12/R13 the three rows, BX output vector, AX/R14/R15 scratch. Z28 -Inf, Z29/Z30 the even
	// and odd indices, Z0/Z1/Z2 the row-reduced vectors.
	p("MOVQ out+0(FP), DI")
	p("MOVQ in+8(FP), SI")
	p("MOVL $0xff800000, AX // -Inf")
	p("VPBROADCASTD AX, Z28")
	p("VMOVDQU32 dwEvenIdx<>(SB), Z29")
	p("VMOVDQU32 dwOddIdx<>(SB), Z30")
	p("MOVQ ldin+40(FP), R10")
	p("SHLQ $2, R10")
	p("XORQ DX, DX // oy")
	p("MOVQ pt+72(FP), R9")
	p("NEGQ R9 // iy0 = oy*sh - pt")
	p("MOVQ h+32(FP), R15")
	p("DECQ R15 // the last row")
	label("row")
	p("CMPQ DX, oh+24(FP)")
	p("JGE %s_done", name)
	for ky, r := range []string{"R11", "R12", "R13"} {
		p("LEAQ %d(R9), %s // iy", ky, r)
		p("XORQ AX, AX")
		p("CMPQ %s, $0", r)
		p("CMOVQLT AX, %s", r)
		p("CMPQ %s, R15", r)
		p("CMOVQGT R15, %s", r)
		p("IMULQ R10, %s", r)
		p("ADDQ SI, %s // &in[iy][0]", r)
	}
	p("MOVQ tab+16(FP), R8")
	p("MOVQ nvec+56(FP), CX")
	p("MOVQ DI, BX")
	label("vec")
	p("MOVLQSX (R8), AX")
	p("SHLQ $2, AX // the first column, in bytes")
	p("KMOVW 4(R8), K1")
	p("KMOVW 6(R8), K2")
	p("KMOVW 8(R8), K3")
	p("KMOVW 10(R8), K4")
	for v := 0; v < 3; v++ {
		p("VMOVAPS Z28, Z%d", v)
	}
	for _, r := range []string{"R11", "R12", "R13"} {
		for v := 0; v < 3; v++ {
			p("VMAXPS %d(%s)(AX*1), Z%d, K%d, Z%d // lanes inside the row only", 64*v, r, v, v+1, v)
		}
	}
	p("VMOVAPS Z0, Z3")
	p("VPERMT2PS Z1, Z29, Z3 // e[2i]")
	p("VPERMT2PS Z1, Z30, Z0 // e[2i+1]")
	p("VALIGND $1, Z3, Z2, Z4 // e[2i+2]: lanes 1..15 of the evens, then e[32]")
	p("VMAXPS Z0, Z3, Z3")
	p("VMAXPS Z4, Z3, Z3")
	p("VMOVUPS Z3, K4, (BX)")
	p("ADDQ $64, BX")
	p("ADDQ $12, R8")
	p("DECQ CX")
	p("JNZ %s_vec", name)
	p("MOVQ ow+48(FP), AX")
	p("LEAQ (DI)(AX*4), DI")
	p("ADDQ sh+64(FP), R9")
	p("INCQ DX")
	p("JMP %s_row", name)
	label("done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}
