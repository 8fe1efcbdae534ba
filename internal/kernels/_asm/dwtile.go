package main

import (
	"bytes"
	"fmt"
)

// transpose16 transposes the 16×16 floats in Z0..Z15 (row r in Zr) in place (column c ends in Zc),
// through Z16..Z31: 32-bit and 64-bit unpacks within 128-bit lanes, then two rounds of 128-bit lane
// shuffles.
func transpose16(p func(format string, args ...any)) {
	z := func(i int) string { return fmt.Sprintf("Z%d", i) }
	// After the unpacks, lane group L of Z(4i+j) holds column 4L+j of rows 4i..4i+3.
	for i := 0; i < 8; i++ {
		p("VUNPCKLPS %s, %s, %s", z(2*i+1), z(2*i), z(16+2*i))
		p("VUNPCKHPS %s, %s, %s", z(2*i+1), z(2*i), z(17+2*i))
	}
	for i := 0; i < 4; i++ {
		s := 16 + 4*i
		p("VUNPCKLPD %s, %s, %s", z(s+2), z(s), z(4*i))
		p("VUNPCKHPD %s, %s, %s", z(s+2), z(s), z(4*i+1))
		p("VUNPCKLPD %s, %s, %s", z(s+3), z(s+1), z(4*i+2))
		p("VUNPCKHPD %s, %s, %s", z(s+3), z(s+1), z(4*i+3))
	}
	// Column 4L+j gathers lane group L of Zj, Z(4+j), Z(8+j), Z(12+j).
	for j := 0; j < 4; j++ {
		t1, t2, t3, t4 := z(16+4*j), z(17+4*j), z(18+4*j), z(19+4*j)
		p("VSHUFF32X4 $0x44, %s, %s, %s", z(4+j), z(j), t1)
		p("VSHUFF32X4 $0xEE, %s, %s, %s", z(4+j), z(j), t2)
		p("VSHUFF32X4 $0x44, %s, %s, %s", z(12+j), z(8+j), t3)
		p("VSHUFF32X4 $0xEE, %s, %s, %s", z(12+j), z(8+j), t4)
		p("VSHUFF32X4 $0x88, %s, %s, %s", t3, t1, z(j))
		p("VSHUFF32X4 $0xDD, %s, %s, %s", t3, t1, z(4+j))
		p("VSHUFF32X4 $0x88, %s, %s, %s", t4, t2, z(8+j))
		p("VSHUFF32X4 $0xDD, %s, %s, %s", t4, t2, z(12+j))
	}
}

// planesToTile writes
//
//	func planesToTileAVX512(x *float32, hw int, t *float32, off *int32, n, adj int)
//
// which moves pixels [0, n) of 16 planes (plane c at x + c*hw floats) into a pixel-major tile: pixel
// i's 16 channels become the vector at t + off[i] - adj bytes (adj places a band of rows of a plane's
// tile at t). 16 pixels at a time go through a register
// transpose; the last run's loads are masked to the plane.
func planesToTile(w *bytes.Buffer) {
	const name = "planesToTileAVX512"
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	label := func(l string) { fmt.Fprintf(w, "%s_%s:\n", name, l) }
	fmt.Fprintf(w, "// func %s(x *float32, hw int, t *float32, off *int32, n, adj int)\n", name)
	fmt.Fprintf(w, "// Requires: AVX512F\n")
	fmt.Fprintf(w, "TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	// DX/R10/R11/R12 planes 0/4/8/12 at the run, R8 hw in bytes, R9 3*hw, DI t, BX off, CX pixels left.
	p("MOVQ x+0(FP), DX")
	p("MOVQ hw+8(FP), R8")
	p("SHLQ $2, R8")
	p("LEAQ (R8)(R8*2), R9")
	p("LEAQ (DX)(R8*4), R10")
	p("LEAQ (R10)(R8*4), R11")
	p("LEAQ (R11)(R8*4), R12")
	p("MOVQ t+16(FP), DI")
	p("SUBQ adj+40(FP), DI")
	p("MOVQ off+24(FP), BX")
	p("MOVQ n+32(FP), CX")
	p("KXNORW K0, K0, K1")
	rows := [4]string{"DX", "R10", "R11", "R12"}
	row := func(c int) string {
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
	label("loop")
	p("TESTQ CX, CX")
	p("JLE %s_done", name)
	p("CMPQ CX, $16")
	p("JGE %s_full", name)
	p("MOVL $1, AX")
	p("SHLL CX, AX")
	p("DECL AX")
	p("KMOVW AX, K1")
	label("full")
	for c := 0; c < 16; c++ {
		p("VMOVUPS.Z %s, K1, Z%d", row(c), c)
	}
	transpose16(p)
	for j := 0; j < 16; j++ {
		if j > 0 {
			p("CMPQ CX, $%d", j)
			p("JLE %s_next", name)
		}
		p("MOVLQSX %d(BX), AX", 4*j)
		p("VMOVUPS Z%d, (DI)(AX*1)", j)
	}
	label("next")
	p("ADDQ $64, BX")
	for _, b := range rows {
		p("ADDQ $64, %s", b)
	}
	p("SUBQ $16, CX")
	p("JMP %s_loop", name)
	label("done")
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}

// depthwiseTile writes the k×k depthwise kernel over a zero-padded pixel-major tile of 16 channels:
//
//	func dwTileK<k>AVX512(t, w, bias, out *float32, oh, ow, ldt, s, flags int, lo, hi float32)
//
// out[(oy*ow+ox)*16 + c] = clamp(bias[c] + sum_{ky,kx} w[(ky*k+kx)*16 + c] * t[((oy*s+ky)*ldt + ox*s+kx)*16 + c]),
// clamped to [lo, hi] with flags&4. With the channels on the lanes every lane works whatever the
// plane's size (the plane kernels leave 9 of 16 lanes idle on a 7×7 plane and pay their per-row
// set-up per 7 pixels). Weights stay in Z0..Z(k*k-1), the FMAs read the tile from memory.
func depthwiseTile(w *bytes.Buffer, k int) {
	name := fmt.Sprintf("dwTileK%dAVX512", k)
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	label := func(l string) { fmt.Fprintf(w, "%s_%s:\n", name, l) }
	fmt.Fprintf(w, "// func %s(t, w, bias, out *float32, oh, ow, ldt, s, flags int, lo, hi float32)\n", name)
	fmt.Fprintf(w, "// Requires: AVX512F\n")
	fmt.Fprintf(w, "TEXT ·%s(SB), NOSPLIT, $0-80\n", name)
	// SI the window row of output row oy, AX the pixel's window, DI out, R8 ldt*64 (a tile row in
	// bytes), R11 3*R8, R9 s*64 (a column step), R10 s*R8 (a row step), DX rows left, CX columns left.
	p("MOVQ w+8(FP), AX")
	for i := 0; i < k*k; i++ {
		p("VMOVUPS %d(AX), Z%d", 64*i, i)
	}
	p("MOVQ bias+16(FP), AX")
	p("VMOVUPS (AX), Z28")
	p("VBROADCASTSS lo+72(FP), Z29")
	p("VBROADCASTSS hi+76(FP), Z30")
	p("MOVQ t+0(FP), SI")
	p("MOVQ out+24(FP), DI")
	p("MOVQ ldt+48(FP), R8")
	p("SHLQ $6, R8")
	p("LEAQ (R8)(R8*2), R11")
	p("MOVQ s+56(FP), R9")
	p("MOVQ R9, R10")
	p("IMULQ R8, R10")
	p("SHLQ $6, R9")
	p("MOVQ oh+32(FP), DX")
	p("MOVQ flags+64(FP), R12")
	label("row")
	p("MOVQ SI, AX")
	p("MOVQ ow+40(FP), CX")
	label("col")
	p("VMOVAPS Z28, Z25")
	for ky := 0; ky < k; ky++ {
		var base string
		switch ky {
		case 0:
			base = "(AX)"
		case 1:
			base = "(AX)(R8*1)"
		case 2:
			base = "(AX)(R8*2)"
		case 3:
			base = "(AX)(R11*1)"
		case 4:
			base = "(AX)(R8*4)"
		}
		for kx := 0; kx < k; kx++ {
			p("VFMADD231PS %d%s, Z%d, Z25", 64*kx, base, ky*k+kx)
		}
	}
	p("TESTQ $4, R12")
	p("JZ %s_store", name)
	p("VMAXPS Z29, Z25, Z25")
	p("VMINPS Z30, Z25, Z25")
	label("store")
	p("VMOVUPS Z25, (DI)")
	p("ADDQ $64, DI")
	p("ADDQ R9, AX")
	p("DECQ CX")
	p("JNZ %s_col", name)
	p("ADDQ R10, SI")
	p("DECQ DX")
	p("JNZ %s_row", name)
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}

func depthwiseTileAll(w *bytes.Buffer) {
	planesToTile(w)
	for _, k := range []int{3, 5} {
		depthwiseTile(w, k)
	}
}
