package main

import (
	"bytes"
	"fmt"
)

// vecBinary writes
//
//	func name(dst, a, b *float32, n int)
//
// setting dst[i] = a[i] op b[i] (op an AVX-512 instruction, VADDPS or VMULPS) for n a multiple of
// width (the caller does the tail): element-wise sums and products over whole activations
// (ResNeSt's sum over its radix splits), bound by memory, four vectors a pass. dst may be a or b.
func vecBinary(w *bytes.Buffer, name, op, reg string, width int, requires string) {
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	vb := 4 * width
	fmt.Fprintf(w, "// func %s(dst, a, b *float32, n int)\n// Requires: %s\n", name, requires)
	fmt.Fprintf(w, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
	p("MOVQ dst+0(FP), DI")
	p("MOVQ a+8(FP), SI")
	p("MOVQ b+16(FP), DX")
	p("MOVQ n+24(FP), CX")
	vecLoops(w, name, width, func(nv int) {
		for i := 0; i < nv; i++ {
			p("VMOVUPS %d(SI), %s%d", i*vb, reg, i)
		}
		for i := 0; i < nv; i++ {
			p("%s %d(DX), %s%d, %s%d", op, i*vb, reg, i, reg, i)
		}
		for i := 0; i < nv; i++ {
			p("VMOVUPS %s%d, %d(DI)", reg, i, i*vb)
		}
		p("ADDQ $%d, SI", nv*vb)
		p("ADDQ $%d, DX", nv*vb)
		p("ADDQ $%d, DI", nv*vb)
	})
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}

// vecScale writes
//
//	func name(dst, a *float32, s float32, n int)
//
// setting dst[i] = a[i] * s for n a multiple of width: a Mul by a per-channel (or scalar) operand,
// row by row (ResNeSt's attention weights on its radix splits, squeeze-and-excitation gates). dst may be a.
func vecScale(w *bytes.Buffer, name, reg string, width int, requires string) {
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	vb := 4 * width
	fmt.Fprintf(w, "// func %s(dst, a *float32, s float32, n int)\n// Requires: %s\n", name, requires)
	fmt.Fprintf(w, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
	p("MOVQ dst+0(FP), DI")
	p("MOVQ a+8(FP), SI")
	p("VBROADCASTSS s+16(FP), %s4", reg)
	p("MOVQ n+24(FP), CX")
	vecLoops(w, name, width, func(nv int) {
		for i := 0; i < nv; i++ {
			p("VMULPS %d(SI), %s4, %s%d", i*vb, reg, reg, i)
		}
		for i := 0; i < nv; i++ {
			p("VMOVUPS %s%d, %d(DI)", reg, i, i*vb)
		}
		p("ADDQ $%d, SI", nv*vb)
		p("ADDQ $%d, DI", nv*vb)
	})
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}

// vecLoops writes the loops of a streaming kernel over CX elements (a multiple of width): four vectors
// a pass while four remain, then one (a 196-float row of a 14×14 plane is three passes and one vector).
// body(nv) handles nv vectors and advances the pointers.
func vecLoops(w *bytes.Buffer, name string, width int, body func(nv int)) {
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	fmt.Fprintf(w, "%s_loop4:\n", name)
	p("CMPQ CX, $%d", 4*width)
	p("JLT %s_loop1", name)
	body(4)
	p("SUBQ $%d, CX", 4*width)
	p("JMP %s_loop4", name)
	fmt.Fprintf(w, "%s_loop1:\n", name)
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	body(1)
	p("SUBQ $%d, CX", width)
	p("JMP %s_loop1", name)
	fmt.Fprintf(w, "%s_done:\n", name)
}
