package main

import (
	"bytes"
	"fmt"
)

// winograd writes the AVX-512 transforms of Winograd F(4×4, 3×3) (f32/winograd.go), 16 tiles per
// call, one tile per lane:
//
//	func winoInAVX512(v *float32, ldv int, pad *float32, wp int, offs *int32, tmp *float32)
//
// gathers each tile's 6×6 patch d from pad (row stride wp floats; patch origin offs[lane]) and stores
// V = Bᵀ d B, point ξ at v[ξ*ldv : ξ*ldv+16];
//
//	func winoOutAVX512(o, m *float32, ldm int, bias float32, flags int, lo, hi float32, tmp *float32)
//
// loads point ξ's 16 tiles from m[ξ*ldm : ξ*ldm+16] and stores Y = Aᵀ M A + bias, clamped to [lo, hi]
// when flags&4, output (r, c) of the tile at o[(r*4+c)*16 : +16]. Both run the row pass into tmp (36
// vectors) and the column pass from it. Z28..Z30 hold the constants.
func winograd(w *bytes.Buffer) {
	winogradK(w, 4)
	winogradK(w, 2)
}

// winogradK writes the F(m×m, 3×3) pair (m = 4: 6×6 patches, 36 points; m = 2: 4×4, 16 points); the
// F(2×2) kernels are named winoIn2AVX512 / winoOut2AVX512 and keep the same contracts with t = 4.
func winogradK(w *bytes.Buffer, m int) {
	t := m + 2
	suffix := ""
	if m == 2 {
		suffix = "2"
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, "\t"+format+"\n", args...) }
	// strides: R10..R13, BX = t, 2t, 3t, 4t, 5t times the point stride in bytes (in R8).
	strides := func() {
		if t == 4 {
			p("MOVQ R8, R10")
			p("SHLQ $2, R10 // 4 points")
		} else {
			p("LEAQ (R8)(R8*2), R10")
			p("SHLQ $1, R10 // 6 points")
		}
		p("LEAQ (R10)(R10*1), R11 // 2t")
		p("LEAQ (R11)(R10*1), R12 // 3t")
		p("LEAQ (R11)(R11*1), R13 // 4t")
		p("LEAQ (R13)(R10*1), BX // 5t")
	}
	at := func(base string, r int) string {
		return [...]string{"(" + base + ")", "(" + base + ")(R10*1)", "(" + base + ")(R11*1)", "(" + base + ")(R12*1)", "(" + base + ")(R13*1)", "(" + base + ")(BX*1)"}[r]
	}
	konst := func(reg string, bits uint32, v string) {
		p("MOVL $0x%08x, AX // %s", bits, v)
		p("VPBROADCASTD AX, %s", reg)
	}
	// bt computes the six rows of Bᵀ·(Z0..Z5) into Z6, Z9, Z10, Z13, Z14, Z15 (Z28 = 4, Z29 = 5).
	bt := func() []string {
		p("VMOVAPS Z4, Z6")
		p("VFMADD231PS Z28, Z0, Z6 // 4d0 + d4")
		p("VFNMADD231PS Z29, Z2, Z6 // - 5d2")
		p("VMOVAPS Z4, Z7")
		p("VFNMADD231PS Z28, Z2, Z7 // a = d4 - 4d2")
		p("VMOVAPS Z3, Z8")
		p("VFNMADD231PS Z28, Z1, Z8 // b = d3 - 4d1")
		p("VADDPS Z8, Z7, Z9 // a + b")
		p("VSUBPS Z8, Z7, Z10 // a - b")
		p("VSUBPS Z2, Z4, Z11 // e = d4 - d2")
		p("VSUBPS Z1, Z3, Z12")
		p("VADDPS Z12, Z12, Z12 // f = 2(d3 - d1)")
		p("VADDPS Z12, Z11, Z13 // e + f")
		p("VSUBPS Z12, Z11, Z14 // e - f")
		p("VMOVAPS Z5, Z15")
		p("VFMADD231PS Z28, Z1, Z15 // 4d1 + d5")
		p("VFNMADD231PS Z29, Z3, Z15 // - 5d3")
		return []string{"Z6", "Z9", "Z10", "Z13", "Z14", "Z15"}
	}
	if m == 2 {
		// Bᵀ rows: (1,0,-1,0) (0,1,1,0) (0,-1,1,0) (0,1,0,-1).
		bt = func() []string {
			p("VSUBPS Z2, Z0, Z6 // d0 - d2")
			p("VADDPS Z2, Z1, Z7 // d1 + d2")
			p("VSUBPS Z1, Z2, Z8 // d2 - d1")
			p("VSUBPS Z3, Z1, Z9 // d1 - d3")
			return []string{"Z6", "Z7", "Z8", "Z9"}
		}
	}
	// at4 computes the four rows of Aᵀ·(Z0..Z5) into Z10, Z11, Z12, Z13 (Z28 = 2, Z29 = 4, Z30 = 8).
	at4 := func() []string {
		p("VADDPS Z2, Z1, Z6 // s12")
		p("VSUBPS Z2, Z1, Z7 // d12")
		p("VADDPS Z4, Z3, Z8 // s34")
		p("VSUBPS Z4, Z3, Z9 // d34")
		p("VADDPS Z6, Z0, Z10")
		p("VADDPS Z8, Z10, Z10 // m0 + s12 + s34")
		p("VMOVAPS Z7, Z11")
		p("VFMADD231PS Z28, Z9, Z11 // d12 + 2 d34")
		p("VMOVAPS Z6, Z12")
		p("VFMADD231PS Z29, Z8, Z12 // s12 + 4 s34")
		p("VADDPS Z5, Z7, Z13")
		p("VFMADD231PS Z30, Z9, Z13 // d12 + 8 d34 + m5")
		return []string{"Z10", "Z11", "Z12", "Z13"}
	}
	if m == 2 {
		// Aᵀ rows: (1,1,1,0) (0,1,-1,-1).
		at4 = func() []string {
			p("VADDPS Z1, Z0, Z10")
			p("VADDPS Z2, Z10, Z10 // m0 + m1 + m2")
			p("VSUBPS Z2, Z1, Z11")
			p("VSUBPS Z3, Z11, Z11 // m1 - m2 - m3")
			return []string{"Z10", "Z11"}
		}
	}

	fmt.Fprintf(w, "// func winoIn%sAVX512(v *float32, ldv int, pad *float32, wp int, offs *int32, tmp *float32)\n", suffix)
	fmt.Fprintf(w, "// Requires: AVX512F\n")
	fmt.Fprintf(w, "TEXT ·winoIn%sAVX512(SB), NOSPLIT, $0-48\n", suffix)
	p("MOVQ v+0(FP), DI")
	p("MOVQ ldv+8(FP), R8")
	p("SHLQ $2, R8 // point stride in bytes")
	p("MOVQ pad+16(FP), SI")
	p("MOVQ wp+24(FP), R9")
	p("SHLQ $2, R9 // pad row in bytes")
	p("MOVQ offs+32(FP), AX")
	p("VMOVDQU32 (AX), Z31 // patch origins, one per lane")
	p("MOVQ tmp+40(FP), DX")
	konst("Z28", 0x40800000, "4")
	konst("Z29", 0x40a00000, "5")
	for r := 0; r < t; r++ {
		for q := 0; q < t; q++ {
			p("KXNORW K0, K0, K%d", q+1)
			p("VGATHERDPS %d(SI)(Z31*4), K%d, Z%d // d[%d][%d] of each lane's patch", 4*q, q+1, q, r, q)
		}
		for k, reg := range bt() {
			p("VMOVUPS %s, %d(DX) // tmp[%d][%d] = (d Bᵀ)[%d][%d]", reg, 64*(r*t+k), r, k, r, k)
		}
		if r < t-1 {
			p("ADDQ R9, SI // next patch row")
		}
	}
	strides()
	for k := 0; k < t; k++ {
		for r := 0; r < t; r++ {
			p("VMOVUPS %d(DX), Z%d", 64*(r*t+k), r)
		}
		for r, reg := range bt() {
			p("VMOVUPS %s, %s // v[ξ=%d]", reg, at("DI", r), r*t+k)
		}
		if k < t-1 {
			p("ADDQ R8, DI")
		}
	}
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)

	fmt.Fprintf(w, "// func winoOut%sAVX512(o, m *float32, ldm int, bias float32, flags int, lo, hi float32, tmp *float32)\n", suffix)
	fmt.Fprintf(w, "// Requires: AVX512F\n")
	fmt.Fprintf(w, "TEXT ·winoOut%sAVX512(SB), NOSPLIT, $0-56\n", suffix)
	p("MOVQ o+0(FP), DI")
	p("MOVQ m+8(FP), SI")
	p("MOVQ ldm+16(FP), R8")
	p("SHLQ $2, R8 // point stride in bytes")
	p("MOVQ flags+32(FP), R9")
	p("MOVQ tmp+48(FP), DX")
	p("VBROADCASTSS bias+24(FP), Z27")
	p("VBROADCASTSS lo+40(FP), Z25")
	p("VBROADCASTSS hi+44(FP), Z26")
	konst("Z28", 0x40000000, "2")
	konst("Z29", 0x40800000, "4")
	konst("Z30", 0x41000000, "8")
	strides()
	for q := 0; q < t; q++ {
		for r := 0; r < t; r++ {
			p("VMOVUPS %s, Z%d // m[ξ=%d]", at("SI", r), r, r*t+q)
		}
		for r, reg := range at4() {
			p("VMOVUPS %s, %d(DX) // tmp[%d][%d] = (Aᵀ m)[%d][%d]", reg, 64*(r*t+q), r, q, r, q)
		}
		if q < t-1 {
			p("ADDQ R8, SI")
		}
	}
	for r := 0; r < m; r++ {
		for q := 0; q < t; q++ {
			p("VMOVUPS %d(DX), Z%d", 64*(r*t+q), q)
		}
		regs := at4()
		for _, reg := range regs {
			p("VADDPS Z27, %s, %s // + bias", reg, reg)
		}
		p("TESTQ $4, R9")
		p("JZ wout%s_store%d", suffix, r)
		for _, reg := range regs {
			p("VMAXPS Z25, %s, %s", reg, reg)
			p("VMINPS Z26, %s, %s", reg, reg)
		}
		fmt.Fprintf(w, "wout%s_store%d:\n", suffix, r)
		for c, reg := range regs {
			p("VMOVUPS %s, %d(DI) // y[%d][%d]", reg, 64*(r*m+c), r, c)
		}
	}
	p("VZEROUPPER")
	p("RET")
	fmt.Fprintln(w)
}
