package main

import (
	"bytes"
	"fmt"
)

// winoDirectAll writes the transforms of the channels-on-lanes Winograd F(2×2, 3×3) path
// (f32.WinoDirect): the input transform with the tiles on the lanes, straight into the layout the
// pointwise direct kernels broadcast from, and the output transform with the output channels on the
// lanes, straight into the tile tileToPlanes moves to NCHW.
func winoDirectAll(w *bytes.Buffer) {
	lanes(w)
	winoDirectIn(w)
	winoDirectOut(w)
}

// winoDirectIn writes
//
//	func winoDirectInAVX512(v, pad *float32, ldXi, vplane, wp, pplane, tw, trows, chans int)
//
// which, for chans channels (pad planes pplane floats apart, v planes vplane apart), trows rows of tw
// tiles and every tile (i, j), reads the 4×4 patch at pad + 2i*wp + 2j (rows wp floats apart) and
// stores its 16 values V = Bᵀ d B at v + ξ*ldXi + i*tw + j. Sixteen tiles go at once: each patch row
// is loaded as the even and odd columns of two 32-float runs, the second shifted by two floats (the
// patch's columns 2j, 2j+1, 2j+2, 2j+3 are then lanes j of four vectors), and Bᵀ (rows) and B
// (columns) are adds and subtracts on whole vectors. A last group of fewer than 16 tiles stores under
// a mask; its loads may read up to 34 floats past the row's first tile (the caller leaves room).
func winoDirectIn(w *bytes.Buffer) {
	const name = "winoDirectInAVX512"
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	label := func(l string) { fmt.Fprintf(w, "%s_%s:\n", name, l) }
	fmt.Fprintf(w, "// func %s(v, pad *float32, ldXi, vplane, wp, pplane, tw, trows, chans int)\n// Requires: AVX512F\nTEXT ·%s(SB), NOSPLIT, $0-72\n", name, name)
	// Registers: DI the channel's v, SI its pad; R14/R15 the tile row's v and pad; AX the group's v,
	// BX the group's pad; R8 ldXi bytes, R9 3*ldXi, R10 4*ldXi; R12 wp bytes, R13 3*wp; CX tiles
	// left in the row; DX tile rows left; R11 channels left. Z30/Z31 the even/odd lane indices.
	p("MOVQ v+0(FP), DI")
	p("MOVQ pad+8(FP), SI")
	p("MOVQ ldXi+16(FP), R8")
	p("SHLQ $2, R8")
	p("LEAQ (R8)(R8*2), R9")
	p("LEAQ (R8)(R8*1), R10")
	p("SHLQ $1, R10")
	p("MOVQ wp+32(FP), R12")
	p("SHLQ $2, R12")
	p("LEAQ (R12)(R12*2), R13")
	p("MOVQ chans+64(FP), R11")
	p("VMOVDQU32 dwEvenIdx<>(SB), Z30")
	p("VMOVDQU32 dwOddIdx<>(SB), Z31")
	p("TESTQ R11, R11")
	p("JLE %s_done", name)
	label("channel")
	p("MOVQ DI, R14")
	p("MOVQ SI, R15")
	p("MOVQ trows+56(FP), DX")
	label("trow")
	p("MOVQ R14, AX")
	p("MOVQ R15, BX")
	p("MOVQ tw+48(FP), CX")
	label("group")
	// K1: the group's tiles (all 16, or the row's last few).
	p("MOVQ $0xffff, R9")
	p("CMPQ CX, $16")
	p("JGE %s_full", name)
	p("MOVQ $1, R9")
	p("SHLQ CX, R9")
	p("DECQ R9")
	label("full")
	p("KMOVW R9, K1")
	p("LEAQ (R8)(R8*2), R9")
	// Q(k, r): kind k (0 even, 1 odd, 2 even shifted, 3 odd shifted) of patch row r, in Z(4k+r).
	rowAddr := func(off, r int) string {
		switch r {
		case 0:
			return fmt.Sprintf("%d(BX)", off)
		case 1:
			return fmt.Sprintf("%d(BX)(R12*1)", off)
		case 2:
			return fmt.Sprintf("%d(BX)(R12*2)", off)
		}
		return fmt.Sprintf("%d(BX)(R13*1)", off)
	}
	for r := 0; r < 4; r++ {
		for _, sh := range []int{0, 1} {
			e, o := fmt.Sprintf("Z%d", 8*sh+r), fmt.Sprintf("Z%d", 8*sh+4+r)
			p("VMOVUPS %s, %s", rowAddr(8*sh, r), e)
			p("VMOVAPS %s, %s", e, o)
			p("VPERMT2PS %s, Z30, %s", rowAddr(8*sh+64, r), e)
			p("VPERMT2PS %s, Z31, %s", rowAddr(8*sh+64, r), o)
		}
	}
	// Bᵀ over the rows of each kind: t0 = q0-q2, t1 = q1+q2 (into Z16+k), t2 = q2-q1, t3 = q1-q3.
	t := func(k, a int) string {
		if a == 1 {
			return fmt.Sprintf("Z%d", 16+k)
		}
		return fmt.Sprintf("Z%d", 4*k+a)
	}
	for k := 0; k < 4; k++ {
		q := func(r int) string { return fmt.Sprintf("Z%d", 4*k+r) }
		p("VADDPS %s, %s, Z%d", q(2), q(1), 16+k)
		p("VSUBPS %s, %s, %s", q(2), q(0), q(0))
		p("VSUBPS %s, %s, %s", q(1), q(2), q(2))
		p("VSUBPS %s, %s, %s", q(3), q(1), q(3))
	}
	// B over the columns of each row a: columns 2j..2j+3 are kinds 0, 1, 2, 3.
	for a := 0; a < 4; a++ {
		e, o, e2, o2 := t(0, a), t(1, a), t(2, a), t(3, a)
		p("VSUBPS %s, %s, Z20", e2, e)
		p("VADDPS %s, %s, Z21", e2, o)
		p("VSUBPS %s, %s, Z22", o, e2)
		p("VSUBPS %s, %s, Z23", o2, o)
		p("VMOVUPS Z20, K1, (AX)")
		p("VMOVUPS Z21, K1, (AX)(R8*1)")
		p("VMOVUPS Z22, K1, (AX)(R8*2)")
		p("VMOVUPS Z23, K1, (AX)(R9*1)")
		if a < 3 {
			p("ADDQ R10, AX")
		}
	}
	// Back to point 0, on to the next 16 tiles.
	p("SUBQ R10, AX")
	p("SUBQ R10, AX")
	p("SUBQ R10, AX")
	p("ADDQ $64, AX")
	p("ADDQ $128, BX")
	p("SUBQ $16, CX")
	p("JG %s_group", name)
	// Next tile row: two padded rows down, tw tiles on.
	p("LEAQ (R15)(R12*2), R15")
	p("MOVQ tw+48(FP), CX")
	p("LEAQ (R14)(CX*4), R14")
	p("DECQ DX")
	p("JNZ %s_trow", name)
	p("MOVQ vplane+24(FP), CX")
	p("LEAQ (DI)(CX*4), DI")
	p("MOVQ pplane+40(FP), CX")
	p("LEAQ (SI)(CX*4), SI")
	p("DECQ R11")
	p("JNZ %s_channel", name)
	label("done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}

// winoDirectOut writes
//
//	func winoDirectOutAVX512(t, m *float32, ldXi, tw, trows, ow int, bias *float32, flags int, lo, hi float32)
//
// which, for 16 output channels and trows rows of tw tiles, reads tile (i, j)'s 16 products (vectors of
// 16 channels at m + ξ*ldXi + 16*(i*tw + j)), forms its 2×2 outputs Aᵀ M A, adds the bias vector
// (flags&2) and clamps to [lo, hi] (flags&4), and stores output pixel (2i+a, 2j+b) at
// t + 16*((2i+a)*ow + 2j+b): the pixel-major tile of tileToPlanes. The tiles of a row go right to
// left: on an odd-wide plane the last tile's second column lands on the next row's first pixel,
// which the row's first tile (or the next tile row) then overwrites; past the last row the caller
// leaves room.
func winoDirectOut(w *bytes.Buffer) {
	const name = "winoDirectOutAVX512"
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	label := func(l string) { fmt.Fprintf(w, "%s_%s:\n", name, l) }
	fmt.Fprintf(w, "// func %s(t, m *float32, ldXi, tw, trows, ow int, bias *float32, flags int, lo, hi float32)\n// Requires: AVX512F\nTEXT ·%s(SB), NOSPLIT, $0-72\n", name, name)
	// Registers: DI the tile row's first output pixel, SI its first tile's products; AX/BX the current
	// tile's; R8 ldXi bytes, R9 3*ldXi, R10 4*ldXi; R12 ow*64 (a pixel row); CX tiles left; DX rows.
	p("MOVQ t+0(FP), DI")
	p("MOVQ m+8(FP), SI")
	p("MOVQ ldXi+16(FP), R8")
	p("SHLQ $2, R8")
	p("LEAQ (R8)(R8*2), R9")
	p("LEAQ (R8)(R8*1), R10")
	p("SHLQ $1, R10")
	p("MOVQ ow+40(FP), R12")
	p("SHLQ $6, R12")
	p("MOVQ trows+32(FP), DX")
	p("MOVQ flags+56(FP), R11")
	p("VPXORD Z28, Z28, Z28")
	p("TESTQ $2, R11")
	p("JZ %s_nobias", name)
	p("MOVQ bias+48(FP), R13")
	p("VMOVUPS (R13), Z28")
	label("nobias")
	p("VBROADCASTSS lo+64(FP), Z29")
	p("VBROADCASTSS hi+68(FP), Z30")
	p("TESTQ DX, DX")
	p("JLE %s_done", name)
	label("trow")
	p("MOVQ tw+24(FP), CX")
	label("tile")
	// Tile CX-1 of the row: products at SI + 64*(CX-1), outputs at DI + 128*(CX-1).
	p("LEAQ -1(CX), R13")
	p("MOVQ R13, AX")
	p("SHLQ $6, AX")
	p("ADDQ SI, AX")
	p("MOVQ R13, BX")
	p("SHLQ $7, BX")
	p("ADDQ DI, BX")
	for a := 0; a < 4; a++ {
		for b := 0; b < 4; b++ {
			switch b {
			case 0:
				p("VMOVUPS (AX), Z%d", 4*a+b)
			case 1:
				p("VMOVUPS (AX)(R8*1), Z%d", 4*a+b)
			case 2:
				p("VMOVUPS (AX)(R8*2), Z%d", 4*a+b)
			case 3:
				p("VMOVUPS (AX)(R9*1), Z%d", 4*a+b)
			}
		}
		if a < 3 {
			p("ADDQ R10, AX")
		}
	}
	// Aᵀ over the rows: s_b = m0b + m1b + m2b (Z16+b), d_b = m1b - m2b - m3b (Z20+b).
	for b := 0; b < 4; b++ {
		p("VADDPS Z%d, Z%d, Z%d", 4+b, b, 16+b)
		p("VADDPS Z%d, Z%d, Z%d", 8+b, 16+b, 16+b)
		p("VSUBPS Z%d, Z%d, Z%d", 8+b, 4+b, 20+b)
		p("VSUBPS Z%d, Z%d, Z%d", 12+b, 20+b, 20+b)
	}
	// A over the columns, then bias and clamp.
	for i, src := range [2]int{16, 20} {
		y0, y1 := 24+2*i, 25+2*i
		p("VADDPS Z%d, Z%d, Z%d", src+1, src, y0)
		p("VADDPS Z%d, Z%d, Z%d", src+2, y0, y0)
		p("VSUBPS Z%d, Z%d, Z%d", src+2, src+1, y1)
		p("VSUBPS Z%d, Z%d, Z%d", src+3, y1, y1)
	}
	for y := 24; y < 28; y++ {
		p("VADDPS Z28, Z%d, Z%d", y, y)
	}
	p("TESTQ $4, R11")
	p("JZ %s_store", name)
	for y := 24; y < 28; y++ {
		p("VMAXPS Z29, Z%d, Z%d", y, y)
		p("VMINPS Z30, Z%d, Z%d", y, y)
	}
	label("store")
	p("VMOVUPS Z24, (BX)")
	p("VMOVUPS Z25, 64(BX)")
	p("VMOVUPS Z26, (BX)(R12*1)")
	p("VMOVUPS Z27, 64(BX)(R12*1)")
	p("DECQ CX")
	p("JNZ %s_tile", name)
	// Next tile row: tw tiles of products on, two pixel rows down.
	p("MOVQ tw+24(FP), CX")
	p("SHLQ $6, CX")
	p("ADDQ CX, SI")
	p("LEAQ (DI)(R12*2), DI")
	p("DECQ DX")
	p("JNZ %s_trow", name)
	label("done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}
