package main

import (
	"bytes"
	"fmt"
)

// vecAdd writes
//
//	func name(dst, a, b *float32, n int)
//
// setting dst[i] = a[i] + b[i] for n a multiple of 4*width (the caller does the tail): element-wise
// sums over whole activations (ResNeSt's sum over its radix splits), bound by memory, four vectors a
// pass. dst may be a or b.
func vecAdd(w *bytes.Buffer, name, reg string, width int, requires string) {
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	vb := 4 * width
	fmt.Fprintf(w, "// func %s(dst, a, b *float32, n int)\n// Requires: %s\n", name, requires)
	fmt.Fprintf(w, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
	p("MOVQ dst+0(FP), DI")
	p("MOVQ a+8(FP), SI")
	p("MOVQ b+16(FP), DX")
	p("MOVQ n+24(FP), CX")
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	fmt.Fprintf(w, "%s_loop:\n", name)
	for i := 0; i < 4; i++ {
		p("VMOVUPS %d(SI), %s%d", i*vb, reg, i)
	}
	for i := 0; i < 4; i++ {
		p("VADDPS %d(DX), %s%d, %s%d", i*vb, reg, i, reg, i)
	}
	for i := 0; i < 4; i++ {
		p("VMOVUPS %s%d, %d(DI)", reg, i, i*vb)
	}
	p("ADDQ $%d, SI", 4*vb)
	p("ADDQ $%d, DX", 4*vb)
	p("ADDQ $%d, DI", 4*vb)
	p("SUBQ $%d, CX", 4*width)
	p("JNZ %s_loop", name)
	fmt.Fprintf(w, "%s_done:\n", name)
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}
