package main

import (
	"bytes"
	"fmt"
)

// im2col writes
//
//	func im2colPanelAVX512(panel, in *float32, hw int, ents *im2colEnt, nseg, used, taps, t0, kc, stride int)
//
// which packs kc rows of one 32-wide im2col panel (f32.Im2col): row p is (channel, tap) =
// divmod(t0+p, taps), channel planes hw floats apart from in; each tap has nseg table entries
// {off int32, dst [2]uint16, src [4]uint16} (16 bytes), and for each of the first used the lanes set in dst take in[c][off + j*stride],
// the others stay zero. Stride 1 merges two masked loads per entry; stride 2 loads the 32 source
// floats of each half under the src masks, keeps the even ones (VPERMT2PS with dwEvenIdx) and merges
// them under the dst mask. Masked-off lanes are never read, so off may point before or past a plane.
func im2col(w *bytes.Buffer) {
	const name = "im2colPanelAVX512"
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	label := func(l string) { fmt.Fprintf(w, "%s_%s:\n", name, l) }
	fmt.Fprintf(w, "// func %s(panel, in *float32, hw int, ents *im2colEnt, nseg, used, taps, t0, kc, stride int)\n", name)
	fmt.Fprintf(w, "// Requires: AVX512F\nTEXT ·%s(SB), NOSPLIT, $0-80\n", name)
	p("MOVQ panel+0(FP), R8")
	p("MOVQ in+8(FP), SI")
	p("MOVQ hw+16(FP), DX")
	p("SHLQ $2, DX // plane stride in bytes")
	p("MOVQ ents+24(FP), BX")
	p("MOVQ taps+48(FP), R10")
	p("MOVQ t0+56(FP), AX")
	p("MOVQ kc+64(FP), CX")
	// Channel and tap of row 0: t0 = c*taps + tap.
	p("XORQ R11, R11")
	label("chan")
	p("CMPQ AX, R10")
	p("JLT %s_chandone", name)
	p("SUBQ R10, AX")
	p("ADDQ DX, SI")
	p("JMP %s_chan", name)
	label("chandone")
	p("MOVQ AX, R11 // tap")
	p("MOVQ nseg+32(FP), R13")
	p("SHLQ $4, R13 // bytes of one tap's entries")
	p("MOVQ R11, R12")
	p("IMULQ R13, R12")
	p("ADDQ BX, R12 // entries of the current tap")
	p("VMOVDQU32 dwEvenIdx<>(SB), Z31")
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	p("CMPQ stride+72(FP), $2")
	p("JEQ %s_row2", name)
	for _, s := range []int{1, 2} {
		label(fmt.Sprintf("row%d", s))
		p("VPXORD Z0, Z0, Z0")
		p("VPXORD Z1, Z1, Z1")
		p("MOVQ used+40(FP), DI // entries left")
		p("MOVQ R12, R9 // this tap's entries")
		label(fmt.Sprintf("seg%d", s))
		p("MOVLQSX (R9), AX")
		p("LEAQ (SI)(AX*4), AX // &plane[off]")
		p("KMOVW 4(R9), K1")
		p("KMOVW 6(R9), K2")
		if s == 1 {
			p("VMOVUPS (AX), K1, Z0")
			p("VMOVUPS 64(AX), K2, Z1")
		} else {
			for h := 0; h < 2; h++ {
				p("KMOVW %d(R9), K3", 8+4*h)
				p("KMOVW %d(R9), K4", 10+4*h)
				p("VMOVUPS.Z %d(AX), K3, Z2", 128*h)
				p("VMOVUPS.Z %d(AX), K4, Z3", 128*h+64)
				p("VPERMT2PS Z3, Z31, Z2 // even elements of Z2:Z3")
				p("VMOVAPS Z2, K%d, Z%d", h+1, h)
			}
		}
		p("ADDQ $16, R9")
		p("DECQ DI")
		p("JNZ %s_seg%d", name, s)
		p("ADDQ R13, R12 // next tap's entries")
		p("VMOVUPS Z0, (R8)")
		p("VMOVUPS Z1, 64(R8)")
		p("ADDQ $128, R8")
		p("INCQ R11")
		p("CMPQ R11, R10")
		p("JLT %s_next%d", name, s)
		p("XORQ R11, R11 // next channel, tap 0")
		p("ADDQ DX, SI")
		p("MOVQ BX, R12")
		label(fmt.Sprintf("next%d", s))
		p("DECQ CX")
		p("JNZ %s_row%d", name, s)
		p("JMP %s_done", name)
	}
	label("done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}
