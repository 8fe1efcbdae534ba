package main

import (
	"bytes"
	"fmt"
)

// widen writes
//
//	func name(dst *float32, src *uint16, n int)
//
// setting dst[i] = float32(src[i]) (IEEE half -> single, exact) for n a multiple of 4*width; the
// caller converts the tail. VCVTPH2PS reads width halves (half a vector) straight from memory; src is
// prefetched dotPrefetch bytes ahead.
func widen(w *bytes.Buffer, name, reg string, width int, requires string) {
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	fmt.Fprintf(w, "// func %s(dst *float32, src *uint16, n int)\n// Requires: %s\n", name, requires)
	fmt.Fprintf(w, "TEXT ·%s(SB), NOSPLIT, $0-24\n", name)
	p("MOVQ dst+0(FP), DI")
	p("MOVQ src+8(FP), SI")
	p("MOVQ n+16(FP), CX")
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	fmt.Fprintf(w, "%s_loop:\n", name)
	for i := 0; i < 4*2*width; i += 64 {
		p("PREFETCHT0 %d(SI)", dotPrefetch+i) // the halves come from memory (a layer's weights)
	}
	for i := 0; i < 4; i++ {
		p("VCVTPH2PS %d(SI), %s%d // v%d = float32(src[i+%d : i+%d])", i*2*width, reg, i, i, i*width, (i+1)*width)
	}
	for i := 0; i < 4; i++ {
		p("VMOVUPS %s%d, %d(DI) // dst[i+%d : i+%d] = v%d", reg, i, i*4*width, i*width, (i+1)*width, i)
	}
	p("ADDQ $%d, SI", 4*2*width)
	p("ADDQ $%d, DI", 4*4*width)
	p("SUBQ $%d, CX", 4*width)
	p("JNZ %s_loop", name)
	fmt.Fprintf(w, "%s_done:\n", name)
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}

// dot16 writes
//
//	func name(x *float32, y *uint16, n int) float32
//
// returning sum_{i < n} x[i]*float32(y[i]) for n a multiple of 4*width: the dot kernel of dot.go with
// y's halves widened by VCVTPH2PS as they are loaded (fp16 classifier heads stream half the bytes).
func dot16(w *bytes.Buffer, name, reg string, width int, requires string) {
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	fmt.Fprintf(w, "// func %s(x *float32, y *uint16, n int) float32\n// Requires: %s\n", name, requires)
	fmt.Fprintf(w, "TEXT ·%s(SB), NOSPLIT, $0-28\n", name)
	p("MOVQ x+0(FP), SI")
	p("MOVQ y+8(FP), DI")
	p("MOVQ n+16(FP), CX")
	for i := 0; i < 4; i++ {
		p("VXORPS %[1]s%[2]d, %[1]s%[2]d, %[1]s%[2]d", reg, i)
	}
	p("TESTQ CX, CX")
	p("JZ %s_sum", name)
	fmt.Fprintf(w, "%s_loop:\n", name)
	for i := 0; i < 4*2*width; i += 64 {
		p("PREFETCHT0 %d(DI)", dotPrefetch+i)
	}
	for i := 0; i < 4; i++ {
		p("VCVTPH2PS %d(DI), %s%d // float32(y[i+%d : i+%d])", i*2*width, reg, 4+i, i*width, (i+1)*width)
		p("VFMADD231PS %d(SI), %s%d, %s%d // acc%d += x[...] * y[...]", i*4*width, reg, 4+i, reg, i, i)
	}
	p("ADDQ $%d, SI", 4*4*width)
	p("ADDQ $%d, DI", 4*2*width)
	p("SUBQ $%d, CX", 4*width)
	p("JNZ %s_loop", name)
	fmt.Fprintf(w, "%s_sum:\n", name)
	p("VADDPS %[1]s1, %[1]s0, %[1]s0", reg)
	p("VADDPS %[1]s3, %[1]s2, %[1]s2", reg)
	p("VADDPS %[1]s2, %[1]s0, %[1]s0", reg)
	if reg == "Z" {
		p("VEXTRACTF64X4 $1, Z0, Y1")
		p("VADDPS Y1, Y0, Y0")
	}
	p("VEXTRACTF128 $1, Y0, X1")
	p("VADDPS X1, X0, X0")
	p("VHADDPS X0, X0, X0")
	p("VHADDPS X0, X0, X0")
	p("MOVSS X0, ret+24(FP)")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}
