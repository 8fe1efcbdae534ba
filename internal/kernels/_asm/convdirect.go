package main

import (
	"bytes"
	"fmt"
)

// convDirect writes the direct-convolution micro-kernel for a kw-wide window at stride s, nf blocks of
// 16 output channels by np output pixels of one row:
//
//	func name(in, w, t *float32, ldIn, plane, cb, kh, ldT int, bias *float32, flags int, lo, hi float32, pf uintptr)
//
// For each of cb input channels (planes `plane` floats apart) and kh window rows (ldIn floats apart),
// and each of the kw taps: T[f][p] += w[f] * in[kx + p*s], where w runs on through the packed weights,
// nf vectors of 16 output channels per tap. The accumulators start from T (flags&1) or zero; then
// T += bias (2), clamp to [lo, hi] (4), and T is stored back (vector p of block f at t + f*ldT + 16*p
// floats: the NCHW16c partial sums of a pixel run; tileToPlanes moves a finished band to NCHW). Each tap also prefetches the next
// cache line from pf on: the caller points it at weights a later call reads, which otherwise come
// from DRAM one miss at a time (a model's weights are read once per inference).
//
// Output channels are the vector lanes, so every lane is used whatever the plane's width (pixel
// lanes waste a quarter of a 32-wide tile on a 7×7 plane); the weights of one tap are loaded once
// per np pixels and each input value once per nf blocks: nf+np loads per nf·np FMAs.
//
// With half set (the ...H kernels) w holds IEEE halves, widened by VCVTPH2PS as each tap's vectors are
// loaded: fp16 weights stream half the bytes and need no widened copy (the conversion issues beside
// the FMAs, nf per nf·np of them).
func convDirect(w *bytes.Buffer, kw, s, nf, np int, half bool) {
	name := convDirectName(kw, s, nf, np, half)
	wsize := 64 // bytes of one tap's vector of 16 output channels
	if half {
		wsize = 32
	}
	acc := func(f, q int) string { return fmt.Sprintf("Z%d", q*nf+f) }
	fil := func(f int) string { return fmt.Sprintf("Z%d", 24+f) }
	bc := func(q int) string { return fmt.Sprintf("Z%d", 28+q%2) }
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	label := func(l string) { fmt.Fprintf(w, "%s_%s:\n", name, l) }
	// tile(f) is the address of block f's first vector in T: R11 + f*ldT (R12 bytes; R13 = 3*ldT).
	tile := func(f, q int) string {
		switch f {
		case 0:
			return fmt.Sprintf("%d(R11)", 64*q)
		case 1:
			return fmt.Sprintf("%d(R11)(R12*1)", 64*q)
		case 2:
			return fmt.Sprintf("%d(R11)(R12*2)", 64*q)
		}
		return fmt.Sprintf("%d(R11)(R13*1)", 64*q)
	}
	fmt.Fprintf(w, "// func %s(in, w, t *float32, ldIn, plane, cb, kh, ldT int, bias *float32, flags int, lo, hi float32, pf uintptr)\n", name)
	fmt.Fprintf(w, "// Requires: AVX512F\n")
	fmt.Fprintf(w, "TEXT ·%s(SB), NOSPLIT, $0-96\n", name)
	// Registers: SI the input channel's first window row, BX the current window row, DI the weights,
	// R8/R9 ldIn/plane in bytes, CX channels left, DX rows left, R10 flags, R11 T, R12/R13 ldT and
	// 3*ldT in bytes.
	p("MOVQ in+0(FP), SI")
	p("MOVQ w+8(FP), DI")
	p("MOVQ t+16(FP), R11")
	p("MOVQ ldIn+24(FP), R8")
	p("SHLQ $2, R8")
	p("MOVQ plane+32(FP), R9")
	p("SHLQ $2, R9")
	p("MOVQ cb+40(FP), CX")
	p("MOVQ ldT+56(FP), R12")
	p("SHLQ $2, R12")
	p("LEAQ (R12)(R12*2), R13")
	p("MOVQ flags+72(FP), R10")
	p("MOVQ pf+88(FP), R14")
	p("TESTQ $1, R10")
	p("JZ %s_zero", name)
	for q := 0; q < np; q++ {
		for f := 0; f < nf; f++ {
			p("VMOVUPS %s, %s", tile(f, q), acc(f, q))
		}
	}
	p("JMP %s_channel", name)
	label("zero")
	for q := 0; q < np; q++ {
		for f := 0; f < nf; f++ {
			p("VPXORD %s, %s, %s", acc(f, q), acc(f, q), acc(f, q))
		}
	}
	label("channel")
	p("MOVQ SI, BX")
	p("MOVQ kh+48(FP), DX")
	label("row")
	for kx := 0; kx < kw; kx++ {
		p("PREFETCHT0 %d(R14)", 64*kx)
		for f := 0; f < nf; f++ {
			if half {
				p("VCVTPH2PS %d(DI), %s", wsize*(kx*nf+f), fil(f))
			} else {
				p("VMOVUPS %d(DI), %s", wsize*(kx*nf+f), fil(f))
			}
		}
		for q := 0; q < np; q++ {
			p("VBROADCASTSS %d(BX), %s", 4*(kx+q*s), bc(q))
			for f := 0; f < nf; f++ {
				p("VFMADD231PS %s, %s, %s", bc(q), fil(f), acc(f, q))
			}
		}
	}
	p("ADDQ $%d, DI", wsize*kw*nf)
	p("ADDQ $%d, R14", 64*kw)
	p("ADDQ R8, BX")
	p("DECQ DX")
	p("JNZ %s_row", name)
	p("ADDQ R9, SI")
	p("DECQ CX")
	p("JNZ %s_channel", name)

	p("TESTQ $2, R10")
	p("JZ %s_nobias", name)
	p("MOVQ bias+64(FP), AX")
	for f := 0; f < nf; f++ {
		p("VMOVUPS %d(AX), %s", 64*f, fil(f))
		for q := 0; q < np; q++ {
			p("VADDPS %s, %s, %s", fil(f), acc(f, q), acc(f, q))
		}
	}
	label("nobias")
	p("TESTQ $4, R10")
	p("JZ %s_noclamp", name)
	p("VBROADCASTSS lo+80(FP), Z28")
	p("VBROADCASTSS hi+84(FP), Z29")
	for q := 0; q < np; q++ {
		for f := 0; f < nf; f++ {
			p("VMAXPS Z28, %s, %s", acc(f, q), acc(f, q))
			p("VMINPS Z29, %s, %s", acc(f, q), acc(f, q))
		}
	}
	label("noclamp")
	for q := 0; q < np; q++ {
		for f := 0; f < nf; f++ {
			p("VMOVUPS %s, %s", acc(f, q), tile(f, q))
		}
	}
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}

// convDirectShapes are the windows and strides convDirect is generated for: ResNet's 3×3 layers
// (stride 1 and the stride-2 downsampling ones), its 7×7 stride-2 stem (three input channels; 0.87 /
// 0.80 of the GEMM's time on one / two threads once the tile no longer went out by VSCATTERDPS, which
// was a fifth of each call) and pointwise 1×1 layers on small planes, whose pixels the caller treats
// as one row (ops/conv_direct.go: 0.81 of the GEMM's time at 7×7, where the GEMM fills 49 of 64
// pixel lanes). Measured and left to the GEMM: 1×1 stride 2 (1.10-1.23: W streams from DRAM either
// way).
var convDirectShapes = []struct{ kw, s int }{{3, 1}, {3, 2}, {7, 2}, {1, 1}}

// convDirectMaxNF and convDirectMaxNP bound the register tile: nf·np accumulators ≤ 24, nf filter
// vectors and two broadcast registers.
const (
	convDirectMaxNF = 4
	convDirectMaxNP = 6
)

func convDirectAll(w *bytes.Buffer) {
	padPlane(w)
	maxPoolTile(w)
	tileToPlanes(w, false)
	tileToPlanes(w, true)
	for _, half := range []bool{false, true} {
		for _, sh := range convDirectShapes {
			for nf := 1; nf <= convDirectMaxNF; nf++ {
				for np := 1; np <= convDirectMaxNP; np++ {
					convDirect(w, sh.kw, sh.s, nf, np, half)
				}
			}
		}
	}
}

// convDirectName is the kernel's symbol: convDirect<kw>x<kw>s<s>F<nf>P<np>[H]AVX512.
func convDirectName(kw, s, nf, np int, half bool) string {
	h := ""
	if half {
		h = "H"
	}
	return fmt.Sprintf("convDirect%dx%ds%dF%dP%d%sAVX512", kw, kw, s, nf, np, h)
}

// convDirectGo writes the Go side of convDirectAll: one declaration per kernel and the table
// convDirectKernels[shape][nf-1][np-1] (shape: the index in convDirectShapes).
func convDirectGo(w *bytes.Buffer) {
	fmt.Fprint(w, `// Code generated by internal/kernels/_asm. DO NOT EDIT.

//go:build amd64 && gc && !purego

package f32

`)
	fmt.Fprintf(w, "// convDirectShapes are the (window, stride) pairs with kernels, in the table's order.\n")
	fmt.Fprintf(w, "var convDirectShapes = [][2]int{")
	for i, sh := range convDirectShapes {
		if i > 0 {
			fmt.Fprint(w, ", ")
		}
		fmt.Fprintf(w, "{%d, %d}", sh.kw, sh.s)
	}
	fmt.Fprint(w, "}\n\n")
	fmt.Fprintf(w, "const (\n\tconvDirectMaxNF = %d\n\tconvDirectMaxNP = %d\n)\n\n", convDirectMaxNF, convDirectMaxNP)
	for _, half := range []bool{false, true} {
		table := "convDirectKernels"
		if half {
			table = "convDirectKernels16"
			fmt.Fprint(w, "\n// convDirectKernels16 are the kernels for weights in IEEE halves.\n")
		}
		fmt.Fprintf(w, "var %s = [%d][convDirectMaxNF][convDirectMaxNP]convDirectFunc{\n", table, len(convDirectShapes))
		for _, sh := range convDirectShapes {
			fmt.Fprint(w, "\t{\n")
			for nf := 1; nf <= convDirectMaxNF; nf++ {
				fmt.Fprint(w, "\t\t{")
				for np := 1; np <= convDirectMaxNP; np++ {
					if np > 1 {
						fmt.Fprint(w, ", ")
					}
					fmt.Fprint(w, convDirectName(sh.kw, sh.s, nf, np, half))
				}
				fmt.Fprint(w, "},\n")
			}
			fmt.Fprint(w, "\t},\n")
		}
		fmt.Fprint(w, "}\n")
	}
	fmt.Fprint(w, "\n//go:noescape\nfunc tileToPlanesAVX512(t, y *float32, n, ohw int)\n")
	fmt.Fprint(w, "\n//go:noescape\nfunc tileToPlanesAddAVX512(t, y, z *float32, n, ohw, flags int, lo, hi float32)\n")
	fmt.Fprint(w, "\n//go:noescape\nfunc maxPoolTileAVX512(dst, r0, r1, r2 *float32, pw, ow int)\n")
	fmt.Fprint(w, "\n//go:noescape\nfunc padPlaneAVX512(dst, src *float32, h, w, r0, r1, wp, pt, pl int, masks *uint16, nch int)\n")
	for _, half := range []bool{false, true} {
		for _, sh := range convDirectShapes {
			for nf := 1; nf <= convDirectMaxNF; nf++ {
				for np := 1; np <= convDirectMaxNP; np++ {
					fmt.Fprintf(w, "\n//go:noescape\nfunc %s(in, w, t *float32, ldIn, plane, cb, kh, ldT int, bias *float32, flags int, lo, hi float32, pf uintptr)\n",
						convDirectName(sh.kw, sh.s, nf, np, half))
				}
			}
		}
	}
}

// padPlane writes
//
//	func padPlaneAVX512(dst, src *float32, h, w, r0, r1, wp, pt, pl int, masks *uint16, nch int)
//
// which fills rows [r0, r1) of one zero-padded plane (wp floats a row; dst is row r0) from src (h rows
// of w): a row r holds src row r-pt shifted right by pl, or zeros outside the input. masks holds nch pairs per
// 16-float chunk of a row: the lanes loaded from src (the rest read as zero; a masked-off lane may lie
// before src or past its end and does not fault) and the lanes stored (the last chunk's tail).
func padPlane(w *bytes.Buffer) {
	const name = "padPlaneAVX512"
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	label := func(l string) { fmt.Fprintf(w, "%s_%s:\n", name, l) }
	fmt.Fprintf(w, "// func %s(dst, src *float32, h, w, r0, r1, wp, pt, pl int, masks *uint16, nch int)\n", name)
	fmt.Fprintf(w, "// Requires: AVX512F\n")
	fmt.Fprintf(w, "TEXT ·%s(SB), NOSPLIT, $0-88\n", name)
	// DI the row, SI src row r-pt shifted left by pl floats, BX the row index, R8 r1, R9 wp bytes,
	// R10 w bytes, R11 the masks, R12 the chunks, DX chunk counter, AX offset in the row.
	p("MOVQ dst+0(FP), DI")
	p("MOVQ r0+32(FP), BX")
	p("MOVQ r1+40(FP), R8")
	p("MOVQ wp+48(FP), R9")
	p("SHLQ $2, R9")
	p("MOVQ w+24(FP), R10")
	p("SHLQ $2, R10")
	p("MOVQ masks+72(FP), R11")
	p("MOVQ nch+80(FP), R12")
	// SI = src + (r0-pt)*w*4 - pl*4
	p("MOVQ BX, AX")
	p("SUBQ pt+56(FP), AX")
	p("IMULQ R10, AX")
	p("MOVQ src+8(FP), SI")
	p("ADDQ AX, SI")
	p("MOVQ pl+64(FP), AX")
	p("SHLQ $2, AX")
	p("SUBQ AX, SI")
	p("VPXORD Z1, Z1, Z1")
	label("row")
	p("CMPQ BX, R8")
	p("JGE %s_done", name)
	p("MOVQ BX, AX")
	p("SUBQ pt+56(FP), AX")
	p("JL %s_zero", name)
	p("CMPQ AX, h+16(FP)")
	p("JGE %s_zero", name)
	p("XORQ DX, DX")
	p("XORQ AX, AX")
	label("copy")
	p("KMOVW (R11)(DX*4), K1")
	p("KMOVW 2(R11)(DX*4), K2")
	p("VMOVUPS.Z (SI)(AX*1), K1, Z0")
	p("VMOVUPS Z0, K2, (DI)(AX*1)")
	p("ADDQ $64, AX")
	p("INCQ DX")
	p("CMPQ DX, R12")
	p("JLT %s_copy", name)
	p("JMP %s_next", name)
	label("zero")
	p("XORQ DX, DX")
	p("XORQ AX, AX")
	label("clear")
	p("KMOVW 2(R11)(DX*4), K2")
	p("VMOVUPS Z1, K2, (DI)(AX*1)")
	p("ADDQ $64, AX")
	p("INCQ DX")
	p("CMPQ DX, R12")
	p("JLT %s_clear", name)
	label("next")
	p("ADDQ R9, DI")
	p("ADDQ R10, SI")
	p("INCQ BX")
	p("JMP %s_row", name)
	label("done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}

// tileToPlanes writes
//
//	func tileToPlanesAVX512(t, y *float32, n, ohw int)
//	func tileToPlanesAddAVX512(t, y, z *float32, n, ohw, flags int, lo, hi float32)
//
// which move n pixels of 16 channels (t: pixel-major, the convDirect tile of one block) into 16 NCHW
// output rows (channel c's n pixels at y + c*ohw), 16 pixels at a time through a 16×16 register
// transpose: the store of a finished block is 16 full-row stores rather than a 16-lane scatter per
// pixel. The Add form first adds the residual z (laid out as y) and then, with flags&4, clamps to
// [lo, hi] (the activation follows the residual Add). A last run of fewer than 16 pixels loads z and
// stores y under a mask; its loads of t still read 16 vectors (the caller leaves room).
func tileToPlanes(w *bytes.Buffer, add bool) {
	name := "tileToPlanesAVX512"
	if add {
		name = "tileToPlanesAddAVX512"
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	label := func(l string) { fmt.Fprintf(w, "%s_%s:\n", name, l) }
	z := func(i int) string { return fmt.Sprintf("Z%d", i) }
	if add {
		fmt.Fprintf(w, "// func %s(t, y, z *float32, n, ohw, flags int, lo, hi float32)\n", name)
		fmt.Fprintf(w, "// Requires: AVX512F\n")
		fmt.Fprintf(w, "TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	} else {
		fmt.Fprintf(w, "// func %s(t, y *float32, n, ohw int)\n", name)
		fmt.Fprintf(w, "// Requires: AVX512F\n")
		fmt.Fprintf(w, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
	}
	// SI t, DX/R10/R11/R12 output rows 0/4/8/12 of the run (BX/DI/R13/R14 the residual's), R8 ohw in
	// bytes, R9 3*ohw, CX pixels left.
	n, ohw := "n+16(FP)", "ohw+24(FP)"
	if add {
		n, ohw = "n+24(FP)", "ohw+32(FP)"
	}
	p("MOVQ t+0(FP), SI")
	p("MOVQ y+8(FP), DX")
	p("MOVQ %s, CX", n)
	p("MOVQ %s, R8", ohw)
	p("SHLQ $2, R8")
	p("LEAQ (R8)(R8*2), R9")
	p("LEAQ (DX)(R8*4), R10")
	p("LEAQ (R10)(R8*4), R11")
	p("LEAQ (R11)(R8*4), R12")
	if add {
		p("MOVQ z+16(FP), BX")
		p("LEAQ (BX)(R8*4), DI")
		p("LEAQ (DI)(R8*4), R13")
		p("LEAQ (R13)(R8*4), R14")
	}
	p("KXNORW K0, K0, K1")
	label("loop")
	p("TESTQ CX, CX")
	p("JLE %s_done", name)
	p("CMPQ CX, $16")
	p("JGE %s_full", name)
	// The last run: lanes [0, n) of each row.
	p("MOVL $1, AX")
	p("SHLL CX, AX")
	p("DECL AX")
	p("KMOVW AX, K1")
	label("full")
	for i := 0; i < 16; i++ {
		p("VMOVUPS %d(SI), %s", 64*i, z(i))
	}
	transpose16(p)
	rowOf := func(rows [4]string, c int) string {
		b := rows[c/4]
		switch c % 4 {
		case 0:
			return "(" + b + ")"
		case 1:
			return "(" + b + ")(R8*1)"
		case 2:
			return "(" + b + ")(R8*2)"
		}
		return "(" + b + ")(R9*1)"
	}
	yRows := [4]string{"DX", "R10", "R11", "R12"}
	zRows := [4]string{"BX", "DI", "R13", "R14"}
	if add {
		for c := 0; c < 16; c++ {
			p("VMOVUPS.Z %s, K1, %s", rowOf(zRows, c), z(16+c))
			p("VADDPS %s, %s, %s", z(16+c), z(c), z(c))
		}
		p("TESTQ $4, flags+40(FP)")
		p("JZ %s_store", name)
		for c := 0; c < 16; c++ {
			p("VMAXPS.BCST lo+48(FP), %s, %s", z(c), z(c))
			p("VMINPS.BCST hi+52(FP), %s, %s", z(c), z(c))
		}
		label("store")
	}
	for c := 0; c < 16; c++ {
		p("VMOVUPS %s, K1, %s", z(c), rowOf(yRows, c))
	}
	p("ADDQ $1024, SI")
	for _, b := range yRows {
		p("ADDQ $64, %s", b)
	}
	if add {
		for _, b := range zRows {
			p("ADDQ $64, %s", b)
		}
	}
	p("SUBQ $16, CX")
	p("JMP %s_loop", name)
	label("done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}

// maxPoolTile writes
//
//	func maxPoolTileAVX512(dst, r0, r1, r2 *float32, pw, ow int)
//
// which max-pools three rows of a convDirect tile (pixel-major, one 16-channel vector per pixel, ow
// pixels a row) with a 3-wide window at stride 2 padded by one column: dst's pixel px (pw of them) is
// the lane-wise maximum of pixels 2px-1, 2px and 2px+1 of each row, those outside the row left out
// (the clipped index repeats one inside: a maximum does not mind). The caller passes a row twice
// for a window row outside the plane. Channels on the lanes need no permutes: nine loads and eight
// maxima a pixel.
func maxPoolTile(w *bytes.Buffer) {
	const name = "maxPoolTileAVX512"
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	label := func(l string) { fmt.Fprintf(w, "%s_%s:\n", name, l) }
	fmt.Fprintf(w, "// func %s(dst, r0, r1, r2 *float32, pw, ow int)\n", name)
	fmt.Fprintf(w, "// Requires: AVX512F\n")
	fmt.Fprintf(w, "TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	// DI dst, R8/R9/R10 the rows, CX pixels left, AX the byte offset of column 2px, BX/DX of the
	// columns left and right of it (clipped), R11 the last column's offset.
	p("MOVQ dst+0(FP), DI")
	p("MOVQ r0+8(FP), R8")
	p("MOVQ r1+16(FP), R9")
	p("MOVQ r2+24(FP), R10")
	p("MOVQ pw+32(FP), CX")
	p("MOVQ ow+40(FP), R11")
	p("DECQ R11")
	p("SHLQ $6, R11")
	p("XORQ AX, AX")
	p("TESTQ CX, CX")
	p("JLE %s_done", name)
	label("loop")
	p("MOVQ AX, BX")
	p("SUBQ $64, BX")
	p("CMOVQLT AX, BX")
	p("LEAQ 64(AX), DX")
	p("CMPQ DX, R11")
	p("CMOVQGT AX, DX")
	p("VMOVUPS (R8)(BX*1), Z0")
	p("VMOVUPS (R9)(BX*1), Z1")
	p("VMOVUPS (R10)(BX*1), Z2")
	p("VMAXPS (R8)(AX*1), Z0, Z0")
	p("VMAXPS (R9)(AX*1), Z1, Z1")
	p("VMAXPS (R10)(AX*1), Z2, Z2")
	p("VMAXPS (R8)(DX*1), Z0, Z0")
	p("VMAXPS (R9)(DX*1), Z1, Z1")
	p("VMAXPS (R10)(DX*1), Z2, Z2")
	p("VMAXPS Z1, Z0, Z0")
	p("VMAXPS Z2, Z0, Z0")
	p("VMOVUPS Z0, (DI)")
	p("ADDQ $64, DI")
	p("ADDQ $128, AX")
	p("DECQ CX")
	p("JNZ %s_loop", name)
	label("done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}
