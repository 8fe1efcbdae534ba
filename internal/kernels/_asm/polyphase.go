package main

import (
	"bytes"
	"fmt"
)

// deinterleave writes
//
//	func deinterleaveAVX512(even, odd, src *float32, n int)
//
// which sets even[i] = src[2i] and, when odd is not nil, odd[i] = src[2i+1], for i < n/2 (src holds n
// floats; for odd n, even also gets src[n-1]): 32 source floats per pass through two VPERMT2PS, the
// tail under masks.
func deinterleave(w *bytes.Buffer) {
	const name = "deinterleaveAVX512"
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	label := func(l string) { fmt.Fprintf(w, "%s_%s:\n", name, l) }
	fmt.Fprintf(w, "// func %s(even, odd, src *float32, n int)\n// Requires: AVX512F\nTEXT ·%s(SB), NOSPLIT, $0-32\n", name, name)
	p("MOVQ even+0(FP), DI")
	p("MOVQ odd+8(FP), DX")
	p("MOVQ src+16(FP), SI")
	p("MOVQ n+24(FP), CX")
	p("VMOVDQU32 dwEvenIdx<>(SB), Z30")
	p("VMOVDQU32 dwOddIdx<>(SB), Z31")
	label("loop")
	p("CMPQ CX, $32")
	p("JLT %s_tail", name)
	p("VMOVUPS (SI), Z0")
	p("VMOVUPS 64(SI), Z1")
	p("VMOVAPS Z0, Z2")
	p("VPERMT2PS Z1, Z30, Z0")
	p("VMOVUPS Z0, (DI)")
	p("TESTQ DX, DX")
	p("JZ %s_noodd", name)
	p("VPERMT2PS Z1, Z31, Z2")
	p("VMOVUPS Z2, (DX)")
	p("ADDQ $64, DX")
	label("noodd")
	p("ADDQ $128, SI")
	p("ADDQ $64, DI")
	p("SUBQ $32, CX")
	p("JMP %s_loop", name)
	label("tail")
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	// K1:K2 cover the n source floats left; K3 the (n+1)/2 even outputs, K4 the n/2 odd ones.
	p("MOVQ $1, AX")
	p("SHLQ CX, AX")
	p("DECQ AX")
	p("KMOVW AX, K1")
	p("SHRQ $16, AX")
	p("KMOVW AX, K2")
	p("LEAQ 1(CX), BX")
	p("SHRQ $1, BX")
	p("MOVQ CX, R8")
	p("MOVQ BX, CX")
	p("MOVQ $1, AX")
	p("SHLQ CX, AX")
	p("DECQ AX")
	p("KMOVW AX, K3")
	p("MOVQ R8, CX")
	p("SHRQ $1, CX")
	p("MOVQ $1, AX")
	p("SHLQ CX, AX")
	p("DECQ AX")
	p("KMOVW AX, K4")
	p("VMOVUPS.Z (SI), K1, Z0")
	p("VMOVUPS.Z 64(SI), K2, Z1")
	p("VMOVAPS Z0, Z2")
	p("VPERMT2PS Z1, Z30, Z0")
	p("VMOVUPS Z0, K3, (DI)")
	p("TESTQ DX, DX")
	p("JZ %s_done", name)
	p("VPERMT2PS Z1, Z31, Z2")
	p("VMOVUPS Z2, K4, (DX)")
	label("done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}

// subsampleRows writes
//
//	func subsampleRowsAVX512(dst, src *float32, rows, n, ldSrc, ldDst int)
//
// which, for each of rows rows, sets dst[r*ldDst + i] = src[r*ldSrc + 2i] for i < (n+1)/2: the even
// columns of n-float source rows, one call for all the rows of a plane a 1×1 stride-2 convolution
// reads (per-row calls of deinterleave cost about as much as the bytes on 28-float rows). The tail
// masks depend only on n, so they are set once.
func subsampleRows(w *bytes.Buffer) {
	const name = "subsampleRowsAVX512"
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	label := func(l string) { fmt.Fprintf(w, "%s_%s:\n", name, l) }
	fmt.Fprintf(w, "// func %s(dst, src *float32, rows, n, ldSrc, ldDst int)\n// Requires: AVX512F\nTEXT ·%s(SB), NOSPLIT, $0-48\n", name, name)
	// DI/SI the row's first output and input, R8 rows left, R9 n, R10/R11 ldSrc/ldDst in bytes,
	// BX/DX the position in the row, CX floats left in it.
	p("MOVQ dst+0(FP), DI")
	p("MOVQ src+8(FP), SI")
	p("MOVQ rows+16(FP), R8")
	p("MOVQ n+24(FP), R9")
	p("MOVQ ldSrc+32(FP), R10")
	p("SHLQ $2, R10")
	p("MOVQ ldDst+40(FP), R11")
	p("SHLQ $2, R11")
	p("VMOVDQU32 dwEvenIdx<>(SB), Z30")
	// K1:K2 cover the n mod 32 source floats of the tail, K3 its (n mod 32 + 1)/2 outputs.
	p("MOVQ R9, CX")
	p("ANDQ $31, CX")
	p("MOVQ $1, AX")
	p("SHLQ CX, AX")
	p("DECQ AX")
	p("KMOVW AX, K1")
	p("SHRQ $16, AX")
	p("KMOVW AX, K2")
	p("INCQ CX")
	p("SHRQ $1, CX")
	p("MOVQ $1, AX")
	p("SHLQ CX, AX")
	p("DECQ AX")
	p("KMOVW AX, K3")
	p("TESTQ R8, R8")
	p("JLE %s_done", name)
	label("row")
	p("XORQ BX, BX")
	p("XORQ DX, DX")
	p("MOVQ R9, CX")
	label("loop")
	p("CMPQ CX, $32")
	p("JLT %s_tail", name)
	p("VMOVUPS (SI)(BX*1), Z0")
	p("VPERMT2PS 64(SI)(BX*1), Z30, Z0")
	p("VMOVUPS Z0, (DI)(DX*1)")
	p("ADDQ $128, BX")
	p("ADDQ $64, DX")
	p("SUBQ $32, CX")
	p("JMP %s_loop", name)
	label("tail")
	p("TESTQ CX, CX")
	p("JZ %s_next", name)
	p("VMOVUPS.Z (SI)(BX*1), K1, Z0")
	p("VMOVUPS.Z 64(SI)(BX*1), K2, Z1")
	p("VPERMT2PS Z1, Z30, Z0")
	p("VMOVUPS Z0, K3, (DI)(DX*1)")
	label("next")
	p("ADDQ R10, SI")
	p("ADDQ R11, DI")
	p("DECQ R8")
	p("JNZ %s_row", name)
	label("done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}
