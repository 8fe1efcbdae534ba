package main

import (
	"bytes"
	"fmt"
)

// depthwisePlane writes the AVX-512 whole-plane kernels of a k×k depthwise convolution (dilation 1,
// column stride s, any row stride), straight from the unpadded input:
//
//	func dwPlaneK<k>S<s>AVX512(out, in, w *float32, tab *dwEnt, oh, h, ldin, ow, nvec, sh, pt int, bias float32, flags int, lo, hi float32)
//
// out[oy*ow+x] = clamp(bias + sum_{ky,kx} w[ky*k+kx] * in[iy][s*x+kx-PL]) with iy = oy*sh-pt+ky, over
// output rows oy < oh and 16-lane column vectors v < nvec, skipping taps whose row iy falls outside
// [0, h). tab holds k+1 entries {off int32, m [2]uint16} per vector: for each kx the input column of
// lane 0 and the masks of the lanes (stride 1: m[0]) or source elements (stride 2: the even elements of
// the two 16-float halves of the 32-float window, m[0] and m[1]) that lie inside the row, then the
// vector's output lanes in m[0]. Padding columns are never read, so the input needs no padded copy,
// and one call covers the plane: MobileNet's 7×7 and 14×14 planes cost one call each instead of a
// strip copy and a call per row. Weights live in Z0..Z(k*k-1); Z25 accumulates, Z26/Z27 load, Z28
// holds the bias, Z29 the even-lane indices.
func depthwisePlane(w *bytes.Buffer, k, s int) { planeKernel(w, k, s, false) }

// maxPoolPlane writes the matching max-pool kernels
//
//	func maxPlaneK<k>S<s>AVX512(out, in, w *float32, tab *dwEnt, oh, h, ldin, ow, nvec, sh, pt int, bias float32, flags int, lo, hi float32)
//
// out[oy*ow+x] = max over the window's taps inside the plane (w, bias, flags, lo and hi unused):
// the same walk, with lanes outside the row merged in as -Inf and VMAXPS for the FMA.
func maxPoolPlane(w *bytes.Buffer, k, s int) { planeKernel(w, k, s, true) }

func planeKernel(w *bytes.Buffer, k, s int, maxPool bool) {
	name := fmt.Sprintf("dwPlaneK%dS%dAVX512", k, s)
	if maxPool {
		name = fmt.Sprintf("maxPlaneK%dS%dAVX512", k, s)
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	label := func(l string) { fmt.Fprintf(w, "%s_%s:\n", name, l) }
	fmt.Fprintf(w, "// func %s(out, in, w *float32, tab *dwEnt, oh, h, ldin, ow, nvec, sh, pt int, bias float32, flags int, lo, hi float32)\n", name)
	fmt.Fprintf(w, "// Requires: AVX512F\n")
	// Frame: the k input row pointers of the current output row (0 for rows in the padding).
	fmt.Fprintf(w, "TEXT ·%s(SB), NOSPLIT, $%d-112\n", name, 8*k)
	// Registers: DI out row, SI in, R8 tab entries of the vector, CX vectors left, DX oy, R9 iy0 of the
	// row, R10 ldin in bytes, BX output vector, R11/R12/R13/AX scratch.
	p("MOVQ out+0(FP), DI")
	p("MOVQ in+8(FP), SI")
	if maxPool {
		p("MOVL $0xff800000, AX // -Inf")
		p("VPBROADCASTD AX, Z28")
	} else {
		p("MOVQ w+16(FP), AX")
		for i := 0; i < k*k; i++ {
			p("VBROADCASTSS %d(AX), Z%d // w[%d][%d]", 4*i, i, i/k, i%k)
		}
		p("VBROADCASTSS bias+88(FP), Z28")
	}
	if s == 2 {
		p("VMOVDQU32 dwEvenIdx<>(SB), Z29")
	}
	p("MOVQ ldin+48(FP), R10")
	p("SHLQ $2, R10")
	p("XORQ DX, DX // oy")
	p("MOVQ pt+80(FP), R9")
	p("NEGQ R9 // iy0 = oy*sh - pt")
	label("row")
	p("CMPQ DX, oh+32(FP)")
	p("JGE %s_done", name)
	for ky := 0; ky < k; ky++ {
		p("XORQ R11, R11")
		p("LEAQ %d(R9), R12 // iy", ky)
		p("CMPQ R12, $0")
		p("JLT %s_r%d", name, ky)
		p("CMPQ R12, h+40(FP)")
		p("JGE %s_r%d", name, ky)
		p("MOVQ R12, R11")
		p("IMULQ R10, R11")
		p("ADDQ SI, R11 // &in[iy][0]")
		label(fmt.Sprintf("r%d", ky))
		p("MOVQ R11, %d(SP)", 8*ky)
	}
	p("MOVQ tab+24(FP), R8")
	p("MOVQ nvec+64(FP), CX")
	p("MOVQ DI, BX // this vector's output")
	// The per-kx masks stay in K1.. for the whole vector when they fit (all but 5×5 stride 2).
	hoist := k*s <= 6
	maskReg := func(kx, h int) string { return fmt.Sprintf("K%d", 1+kx*s+h) }
	label("vec")
	p("VMOVAPS Z28, Z25 // acc = bias (-Inf for max)")
	p("MOVLQSX (R8), R13 // input column of lane 0 at kx = 0")
	p("SHLQ $2, R13")
	if hoist {
		for kx := 0; kx < k; kx++ {
			for h := 0; h < s; h++ {
				p("KMOVW %d(R8), %s", 8*kx+4+2*h, maskReg(kx, h))
			}
		}
	}
	for ky := 0; ky < k; ky++ {
		skip := fmt.Sprintf("ky%d", ky)
		p("MOVQ %d(SP), AX", 8*ky)
		p("TESTQ AX, AX")
		p("JZ %s_%s", name, skip)
		p("ADDQ R13, AX // &in[iy][off]")
		for kx := 0; kx < k; kx++ {
			wr := fmt.Sprintf("Z%d", ky*k+kx)
			m0, m1 := maskReg(kx, 0), maskReg(kx, 1)
			if !hoist {
				m0, m1 = "K1", "K2"
				p("KMOVW %d(R8), K1", 8*kx+4)
				p("KMOVW %d(R8), K2", 8*kx+6)
			}
			load := func(off int, m, z string) {
				if maxPool {
					// Lanes outside the row must not win: merge the load into -Inf.
					p("VMOVAPS Z28, %s", z)
					p("VMOVUPS %d(AX), %s, %s", off, m, z)
				} else {
					p("VMOVUPS.Z %d(AX), %s, %s", off, m, z)
				}
			}
			load(4*kx, m0, "Z26")
			if s == 2 {
				load(4*kx+64, m1, "Z27")
				p("VPERMT2PS Z27, Z29, Z26 // in[iy][2x+kx-PL]")
			}
			if maxPool {
				p("VMAXPS Z26, Z25, Z25 // acc = max(acc, tap)")
			} else {
				p("VFMADD231PS Z26, %s, Z25 // acc += w[%d][%d] * tap", wr, ky, kx)
			}
		}
		label(skip)
	}
	if maxPool {
		p("JMP %s_noclamp", name)
	}
	p("TESTQ $4, flags+96(FP)")
	p("JZ %s_noclamp", name)
	p("VMAXPS.BCST lo+104(FP), Z25, Z25")
	p("VMINPS.BCST hi+108(FP), Z25, Z25")
	label("noclamp")
	p("KMOVW %d(R8), K7", 8*k+4)
	p("VMOVUPS Z25, K7, (BX)")
	p("ADDQ $64, BX")
	p("ADDQ $%d, R8", 8*(k+1))
	p("DECQ CX")
	p("JNZ %s_vec", name)
	p("MOVQ ow+56(FP), AX")
	p("LEAQ (DI)(AX*4), DI")
	p("ADDQ sh+72(FP), R9")
	p("INCQ DX")
	p("JMP %s_row", name)
	label("done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}
