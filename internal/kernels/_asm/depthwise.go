package main

import (
	"bytes"
	"fmt"
)

// depthwise writes the AVX-512 row kernels of a k×k depthwise convolution (dilation 1, stride s along
// the row) over the interior columns of one output row:
//
//	func dwK<k>S<s>AVX512(out, in, w *float32, nv, rem, ldin int, bias float32, flags int, lo, hi float32)
//
// out[x] = bias + sum_{ky,kx} w[ky*k+kx] * in[ky*ldin + s*x + kx] for x < 16*nv+rem, then clamped to
// [lo, hi] when flags&4. nv full 16-wide vectors run first, then rem (1..16) lanes under a mask. Stride 2
// gathers the even or odd lanes of a 32-float window with VPERMT2PS; full vectors read one float past
// the last tap for even kx (the Go wrapper moves such a vector to the masked tail when it would leave
// the slice). Weights live in Z0..Z(k*k-1); Z25 accumulates, Z26/Z27 load, Z28 holds the bias, Z30/Z31
// the even/odd lane indices.
func depthwise(w *bytes.Buffer, k, s int) {
	name := fmt.Sprintf("dwK%dS%dAVX512", k, s)
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	rowReg := []string{"", "R10", "R11", "R12", "R13"}
	addr := func(off, ky int) string {
		if ky == 0 {
			return fmt.Sprintf("%d(SI)", off)
		}
		return fmt.Sprintf("%d(SI)(%s*1)", off, rowReg[ky])
	}
	fmt.Fprintf(w, "// func %s(out, in, w *float32, nv, rem, ldin int, bias float32, flags int, lo, hi float32)\n", name)
	fmt.Fprintf(w, "// Requires: AVX512F\n")
	fmt.Fprintf(w, "TEXT ·%s(SB), NOSPLIT, $0-72\n", name)
	p("MOVQ out+0(FP), DI")
	p("MOVQ in+8(FP), SI")
	p("MOVQ w+16(FP), R8")
	p("MOVQ nv+24(FP), CX")
	p("MOVQ rem+32(FP), DX")
	p("MOVQ ldin+40(FP), R10")
	p("SHLQ $2, R10 // one input row in bytes")
	if k > 2 {
		p("LEAQ (R10)(R10*1), R11 // 2 rows")
	}
	if k > 4 {
		p("LEAQ (R10)(R10*2), R12 // 3 rows")
		p("LEAQ (R11)(R11*1), R13 // 4 rows")
	}
	p("MOVQ flags+56(FP), BX")
	for i := 0; i < k*k; i++ {
		p("VBROADCASTSS %d(R8), Z%d // w[%d][%d]", 4*i, i, i/k, i%k)
	}
	p("VBROADCASTSS bias+48(FP), Z28")
	if s == 2 {
		p("VMOVDQU32 dwEvenIdx<>(SB), Z30")
		p("VMOVDQU32 dwOddIdx<>(SB), Z31")
	}
	body := func(masked bool) {
		p("VMOVAPS Z28, Z25 // acc = bias")
		for ky := 0; ky < k; ky++ {
			for kx := 0; kx < k; kx++ {
				wr := fmt.Sprintf("Z%d", ky*k+kx)
				if s == 1 {
					if masked {
						p("VMOVUPS.Z %s, K1, Z26", addr(4*kx, ky))
						p("VFMADD231PS Z26, %s, Z25 // acc += w[%d][%d] * in[%d][x+%d]", wr, ky, kx, ky, kx)
					} else {
						p("VFMADD231PS %s, %s, Z25 // acc += w[%d][%d] * in[%d][x+%d]", addr(4*kx, ky), wr, ky, kx, ky, kx)
					}
					continue
				}
				off := 4 * (kx &^ 1)
				idx, klo, khi := "Z30", "K2", "K3"
				if kx%2 == 1 {
					idx, klo, khi = "Z31", "K4", "K5"
				}
				if masked {
					p("VMOVUPS.Z %s, %s, Z26", addr(off, ky), klo)
					p("VMOVUPS.Z %s, %s, Z27", addr(off+64, ky), khi)
					p("VPERMT2PS Z27, %s, Z26 // in[%d][2x+%d] lanes", idx, ky, kx)
				} else {
					p("VMOVUPS %s, Z26", addr(off, ky))
					p("VPERMT2PS %s, %s, Z26 // in[%d][2x+%d] lanes", addr(off+64, ky), idx, ky, kx)
				}
				p("VFMADD231PS Z26, %s, Z25 // acc += w[%d][%d] * in[%d][2x+%d]", wr, ky, kx, ky, kx)
			}
		}
	}
	clamp := func(label string) {
		p("TESTQ $4, BX")
		p("JZ %s", label)
		p("VMAXPS.BCST lo+64(FP), Z25, Z25")
		p("VMINPS.BCST hi+68(FP), Z25, Z25")
		fmt.Fprintf(w, "%s:\n", label)
	}
	p("TESTQ CX, CX")
	p("JZ %s_tail", name)
	fmt.Fprintf(w, "%s_loop:\n", name)
	body(false)
	clamp(name + "_c1")
	p("VMOVUPS Z25, (DI)")
	p("ADDQ $64, DI")
	p("ADDQ $%d, SI", 64*s)
	p("DECQ CX")
	p("JNZ %s_loop", name)
	fmt.Fprintf(w, "%s_tail:\n", name)
	p("TESTQ DX, DX")
	p("JZ %s_done", name)
	// K1: rem output lanes. Stride 2: K2:K3 cover the 2*rem-1 inputs an even tap needs, K4:K5 the
	// 2*rem an odd tap needs (low and high 16 lanes of the 32-float window).
	p("MOVQ DX, CX")
	p("MOVQ $1, AX")
	p("SHLQ CX, AX")
	p("DECQ AX")
	p("KMOVW AX, K1")
	if s == 2 {
		p("LEAQ -1(DX)(DX*1), CX // 2*rem-1")
		p("MOVQ $1, AX")
		p("SHLQ CX, AX")
		p("DECQ AX")
		p("KMOVW AX, K2")
		p("SHRQ $16, AX")
		p("KMOVW AX, K3")
		p("INCQ CX // 2*rem")
		p("MOVQ $1, AX")
		p("SHLQ CX, AX")
		p("DECQ AX")
		p("KMOVW AX, K4")
		p("SHRQ $16, AX")
		p("KMOVW AX, K5")
	}
	body(true)
	clamp(name + "_c2")
	p("VMOVUPS Z25, K1, (DI)")
	fmt.Fprintf(w, "%s_done:\n", name)
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}

// depthwiseAVX2 writes the AVX2+FMA row kernel of a 3×3 depthwise convolution (dilation 1, stride s)
// over full 8-wide vectors only (the Go wrapper finishes the last len%8 columns):
//
//	func dwK3S<s>AVX2(out, in, w *float32, nv, ldin int, bias float32, flags int, lo, hi float32)
//
// out[x] = bias + sum_{ky,kx} w[ky*3+kx] * in[ky*ldin + s*x + kx] for x < 8*nv, then clamped to
// [lo, hi] when flags&4. Stride 2 loads the 16-float window of each tap's pair of vectors and keeps the
// even or odd lanes with VSHUFPS + VPERMPD (AVX2 has no two-source permute); each vector reads one
// float past its last even tap (the wrapper keeps the last vector in Go when that would leave the
// slice). Weights live in Y0..Y8; Y9 holds the bias, Y10 accumulates, Y11/Y12 load, Y13/Y14 clamp.
func depthwiseAVX2(w *bytes.Buffer, s int) {
	const k = 3
	name := fmt.Sprintf("dwK3S%dAVX2", s)
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	rowReg := []string{"", "R10", "R11"}
	addr := func(off, ky int) string {
		if ky == 0 {
			return fmt.Sprintf("%d(SI)", off)
		}
		return fmt.Sprintf("%d(SI)(%s*1)", off, rowReg[ky])
	}
	fmt.Fprintf(w, "// func %s(out, in, w *float32, nv, ldin int, bias float32, flags int, lo, hi float32)\n", name)
	fmt.Fprintf(w, "// Requires: AVX, AVX2, FMA\n")
	fmt.Fprintf(w, "TEXT ·%s(SB), NOSPLIT, $0-64\n", name)
	p("MOVQ out+0(FP), DI")
	p("MOVQ in+8(FP), SI")
	p("MOVQ w+16(FP), R8")
	p("MOVQ nv+24(FP), CX")
	p("MOVQ ldin+32(FP), R10")
	p("SHLQ $2, R10 // one input row in bytes")
	p("LEAQ (R10)(R10*1), R11 // 2 rows")
	p("MOVQ flags+48(FP), BX")
	for i := 0; i < k*k; i++ {
		p("VBROADCASTSS %d(R8), Y%d // w[%d][%d]", 4*i, i, i/k, i%k)
	}
	p("VBROADCASTSS bias+40(FP), Y9")
	p("VBROADCASTSS lo+56(FP), Y13")
	p("VBROADCASTSS hi+60(FP), Y14")
	p("TESTQ CX, CX")
	p("JZ %s_done", name)
	fmt.Fprintf(w, "%s_loop:\n", name)
	p("VMOVAPS Y9, Y10 // acc = bias")
	for ky := 0; ky < k; ky++ {
		for kx := 0; kx < k; kx++ {
			wr := fmt.Sprintf("Y%d", ky*k+kx)
			if s == 1 {
				p("VFMADD231PS %s, %s, Y10 // acc += w[%d][%d] * in[%d][x+%d]", addr(4*kx, ky), wr, ky, kx, ky, kx)
				continue
			}
			off := 4 * (kx &^ 1)
			sel := "$0x88" // even lanes of each 128-bit half
			if kx%2 == 1 {
				sel = "$0xDD" // odd lanes
			}
			p("VMOVUPS %s, Y11", addr(off, ky))
			p("VMOVUPS %s, Y12", addr(off+32, ky))
			p("VSHUFPS %s, Y12, Y11, Y11 // in[%d][2x+%d] lanes, qwords 0 2 1 3", sel, ky, kx)
			p("VPERMPD $0xD8, Y11, Y11 // in order")
			p("VFMADD231PS Y11, %s, Y10 // acc += w[%d][%d] * in[%d][2x+%d]", wr, ky, kx, ky, kx)
		}
	}
	p("TESTQ $4, BX")
	p("JZ %s_store", name)
	p("VMAXPS Y13, Y10, Y10")
	p("VMINPS Y14, Y10, Y10")
	fmt.Fprintf(w, "%s_store:\n", name)
	p("VMOVUPS Y10, (DI)")
	p("ADDQ $32, DI")
	p("ADDQ $%d, SI", 32*s)
	p("DECQ CX")
	p("JNZ %s_loop", name)
	fmt.Fprintf(w, "%s_done:\n", name)
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}
