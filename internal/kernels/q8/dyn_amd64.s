//go:build amd64 && gc && !purego

#include "textflag.h"

// func kernel8x32VNNI(c *int32, a *int8, b *uint8, k4 int)
// Requires: AVX512F, AVX512_VNNI
// Z(2i), Z(2i+1) accumulate row i, columns 0..15 and 16..31; Z16/Z17 hold the B lanes of one k4 step.
TEXT ·kernel8x32VNNI(SB), NOSPLIT, $0-32
	MOVQ c+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ k4+24(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
loop8x32:
	VMOVDQU32 (DX), Z16   // b[q][0:16][0:4]
	VMOVDQU32 64(DX), Z17 // b[q][16:32][0:4]
	VPBROADCASTD 0(SI), Z18  // a[q][0][0:4] in every lane
	VPBROADCASTD 4(SI), Z19  // a[q][1][0:4] in every lane
	VPBROADCASTD 8(SI), Z20  // a[q][2][0:4] in every lane
	VPBROADCASTD 12(SI), Z21  // a[q][3][0:4] in every lane
	VPBROADCASTD 16(SI), Z22  // a[q][4][0:4] in every lane
	VPBROADCASTD 20(SI), Z23  // a[q][5][0:4] in every lane
	VPBROADCASTD 24(SI), Z24  // a[q][6][0:4] in every lane
	VPBROADCASTD 28(SI), Z25  // a[q][7][0:4] in every lane
	VPDPBUSD Z18, Z16, Z0   // c[0][0:16] += a[q][0] · b[q][0:16]
	VPDPBUSD Z18, Z17, Z1
	VPDPBUSD Z19, Z16, Z2   // c[1][0:16] += a[q][1] · b[q][0:16]
	VPDPBUSD Z19, Z17, Z3
	VPDPBUSD Z20, Z16, Z4   // c[2][0:16] += a[q][2] · b[q][0:16]
	VPDPBUSD Z20, Z17, Z5
	VPDPBUSD Z21, Z16, Z6   // c[3][0:16] += a[q][3] · b[q][0:16]
	VPDPBUSD Z21, Z17, Z7
	VPDPBUSD Z22, Z16, Z8   // c[4][0:16] += a[q][4] · b[q][0:16]
	VPDPBUSD Z22, Z17, Z9
	VPDPBUSD Z23, Z16, Z10   // c[5][0:16] += a[q][5] · b[q][0:16]
	VPDPBUSD Z23, Z17, Z11
	VPDPBUSD Z24, Z16, Z12   // c[6][0:16] += a[q][6] · b[q][0:16]
	VPDPBUSD Z24, Z17, Z13
	VPDPBUSD Z25, Z16, Z14   // c[7][0:16] += a[q][7] · b[q][0:16]
	VPDPBUSD Z25, Z17, Z15
	ADDQ $32, SI
	ADDQ $128, DX
	DECQ CX
	JNZ  loop8x32
	VMOVDQU32 Z0, 0(DI)
	VMOVDQU32 Z1, 64(DI)
	VMOVDQU32 Z2, 128(DI)
	VMOVDQU32 Z3, 192(DI)
	VMOVDQU32 Z4, 256(DI)
	VMOVDQU32 Z5, 320(DI)
	VMOVDQU32 Z6, 384(DI)
	VMOVDQU32 Z7, 448(DI)
	VMOVDQU32 Z8, 512(DI)
	VMOVDQU32 Z9, 576(DI)
	VMOVDQU32 Z10, 640(DI)
	VMOVDQU32 Z11, 704(DI)
	VMOVDQU32 Z12, 768(DI)
	VMOVDQU32 Z13, 832(DI)
	VMOVDQU32 Z14, 896(DI)
	VMOVDQU32 Z15, 960(DI)
	VZEROUPPER
	RET

// func gemv64VNNI(acc *int32, x *uint8, w *int8, groups, k4 int)
// Requires: AVX512F, AVX512_VNNI
// Per group: Z0..Z3 (even k4 steps) and Z4..Z7 (odd ones) accumulate 64 outputs; x's four bytes of a
// k4 step are broadcast to every lane.
TEXT ·gemv64VNNI(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), R8
	MOVQ w+16(FP), SI
	MOVQ groups+24(FP), BX
	MOVQ k4+32(FP), R9
	SHRQ $1, R9 // pairs of k4 steps
gvgroup:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	MOVQ R8, DX
	MOVQ R9, CX
gvloop:
	VPBROADCASTD (DX), Z8  // x[4q:4q+4] in every lane
	VPBROADCASTD 4(DX), Z9 // x[4q+4:4q+8]
	VPDPBUSD 0(SI), Z8, Z0
	VPDPBUSD 64(SI), Z8, Z1
	VPDPBUSD 128(SI), Z8, Z2
	VPDPBUSD 192(SI), Z8, Z3
	VPDPBUSD 256(SI), Z9, Z4
	VPDPBUSD 320(SI), Z9, Z5
	VPDPBUSD 384(SI), Z9, Z6
	VPDPBUSD 448(SI), Z9, Z7
	ADDQ $8, DX
	ADDQ $512, SI
	DECQ CX
	JNZ  gvloop
	VPADDD Z4, Z0, Z0
	VPADDD Z5, Z1, Z1
	VPADDD Z6, Z2, Z2
	VPADDD Z7, Z3, Z3
	VMOVDQU32 Z0, 0(DI)
	VMOVDQU32 Z1, 64(DI)
	VMOVDQU32 Z2, 128(DI)
	VMOVDQU32 Z3, 192(DI)
	ADDQ $256, DI
	DECQ BX
	JNZ  gvgroup
	VZEROUPPER
	RET

// func packB32(dst *uint8, src *uint8, ld, k4, nb int)
// Requires: AVX512F
// Four rows of 16 bytes widen to dwords, shift into byte lanes 0..3 and OR into one zmm.
TEXT ·packB32(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ k4+24(FP), R9
	MOVQ nb+32(FP), BX
	LEAQ (R8)(R8*2), R10 // 3*ld
pbblock:
	MOVQ SI, DX
	MOVQ R9, CX
pbloop:
	VPMOVZXBD (DX), Z0          // row 4q, columns 0..15
	VPMOVZXBD (DX)(R8*1), Z1    // row 4q+1
	VPMOVZXBD (DX)(R8*2), Z2    // row 4q+2
	VPMOVZXBD (DX)(R10*1), Z3   // row 4q+3
	VPMOVZXBD 16(DX), Z4        // the same rows, columns 16..31
	VPMOVZXBD 16(DX)(R8*1), Z5
	VPMOVZXBD 16(DX)(R8*2), Z6
	VPMOVZXBD 16(DX)(R10*1), Z7
	VPSLLD $8, Z1, Z1
	VPSLLD $16, Z2, Z2
	VPSLLD $24, Z3, Z3
	VPSLLD $8, Z5, Z5
	VPSLLD $16, Z6, Z6
	VPSLLD $24, Z7, Z7
	VPTERNLOGD $0xfe, Z1, Z2, Z3 // Z3 |= Z2 | Z1
	VPTERNLOGD $0xfe, Z5, Z6, Z7
	VPORD Z0, Z3, Z3
	VPORD Z4, Z7, Z7
	VMOVDQU32 Z3, (DI)
	VMOVDQU32 Z7, 64(DI)
	ADDQ $128, DI
	LEAQ (DX)(R8*4), DX // next four rows
	DECQ CX
	JNZ  pbloop
	ADDQ $32, SI // next column block
	DECQ BX
	JNZ  pbblock
	VZEROUPPER
	RET

// func quantizeAVX512(dst *uint8, src *float32, n int, inv, zp float32)
// Requires: AVX512F
TEXT ·quantizeAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	VBROADCASTSS inv+24(FP), Z1
	VBROADCASTSS zp+28(FP), Z2
	VPXORD Z3, Z3, Z3
qloop:
	VMULPS (SI), Z1, Z0   // x * inv, rounded to float32 (no FMA, matching the Go form)
	VADDPS Z2, Z0, Z0     // + zp
	VCVTPS2DQ Z0, Z0      // round to nearest even
	VPMAXSD Z3, Z0, Z0    // >= 0
	VPMOVUSDB Z0, (DI)    // <= 255, narrow to bytes
	ADDQ $64, SI
	ADDQ $16, DI
	DECQ CX
	JNZ  qloop
	VZEROUPPER
	RET

// func minMaxAVX512(src *float32, n int) (lo, hi float32)
// Requires: AVX512F
TEXT ·minMaxAVX512(SB), NOSPLIT, $0-24
	MOVQ src+0(FP), SI
	MOVQ n+8(FP), CX
	SHRQ $4, CX
	VMOVUPS (SI), Z0
	VMOVAPS Z0, Z1
	ADDQ $64, SI
	DECQ CX
	JZ   mmreduce
mmloop:
	VMOVUPS (SI), Z2
	VMINPS Z2, Z0, Z0
	VMAXPS Z2, Z1, Z1
	ADDQ $64, SI
	DECQ CX
	JNZ  mmloop
mmreduce:
	VEXTRACTF32X8 $1, Z0, Y2
	VMINPS Y2, Y0, Y0
	VEXTRACTF32X8 $1, Z1, Y3
	VMAXPS Y3, Y1, Y1
	VEXTRACTF128 $1, Y0, X2
	VMINPS X2, X0, X0
	VEXTRACTF128 $1, Y1, X3
	VMAXPS X3, X1, X1
	VSHUFPS $0x4e, X0, X0, X2
	VMINPS X2, X0, X0
	VSHUFPS $0x4e, X1, X1, X3
	VMAXPS X3, X1, X1
	VSHUFPS $0xb1, X0, X0, X2
	VMINPS X2, X0, X0
	VSHUFPS $0xb1, X1, X1, X3
	VMAXPS X3, X1, X1
	VMOVSS X0, lo+16(FP)
	VMOVSS X1, hi+20(FP)
	VZEROUPPER
	RET

// func dequantTileAVX512(y *float32, ldy int, c *int32, ldc, m, n int, s, off *float32, lo, hi float32)
// Requires: AVX512F
TEXT ·dequantTileAVX512(SB), NOSPLIT, $0-72
	MOVQ y+0(FP), DI
	MOVQ ldy+8(FP), R8
	SHLQ $2, R8
	MOVQ c+16(FP), SI
	MOVQ ldc+24(FP), R9
	SHLQ $2, R9
	MOVQ m+32(FP), BX
	MOVQ n+40(FP), R10
	MOVQ s+48(FP), R11
	MOVQ off+56(FP), R12
	VBROADCASTSS lo+64(FP), Z6
	VBROADCASTSS hi+68(FP), Z7
	MOVQ R10, CX
	ANDQ $15, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1 // tail mask: the n%16 last columns
	SHRQ $4, R10 // full vectors per row
dqrow:
	VBROADCASTSS (R11), Z4
	VBROADCASTSS (R12), Z5
	MOVQ SI, DX
	MOVQ DI, R13
	MOVQ R10, CX
	TESTQ CX, CX
	JZ   dqtail
dqvec:
	VCVTDQ2PS (DX), Z0
	VFMADD213PS Z5, Z4, Z0 // c*s + off
	VMAXPS Z6, Z0, Z0
	VMINPS Z7, Z0, Z0
	VMOVUPS Z0, (R13)
	ADDQ $64, DX
	ADDQ $64, R13
	DECQ CX
	JNZ  dqvec
dqtail:
	KORTESTW K1, K1
	JZ   dqnext
	VMOVDQU32.Z (DX), K1, Z0
	VCVTDQ2PS Z0, Z0
	VFMADD213PS Z5, Z4, Z0
	VMAXPS Z6, Z0, Z0
	VMINPS Z7, Z0, Z0
	VMOVUPS Z0, K1, (R13)
dqnext:
	ADDQ R8, DI
	ADDQ R9, SI
	ADDQ $4, R11
	ADDQ $4, R12
	DECQ BX
	JNZ  dqrow
	VZEROUPPER
	RET

// func dequantVecAVX512(y *float32, c *int32, s, off *float32, n int, lo, hi float32)
// Requires: AVX512F
TEXT ·dequantVecAVX512(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ c+8(FP), SI
	MOVQ s+16(FP), R8
	MOVQ off+24(FP), R9
	MOVQ n+32(FP), CX
	SHRQ $4, CX
	VBROADCASTSS lo+40(FP), Z6
	VBROADCASTSS hi+44(FP), Z7
dvloop:
	VCVTDQ2PS (SI), Z0
	VMOVUPS (R9), Z1
	VFMADD132PS (R8), Z1, Z0 // c*s + off
	VMAXPS Z6, Z0, Z0
	VMINPS Z7, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, R8
	ADDQ $64, R9
	DECQ CX
	JNZ  dvloop
	VZEROUPPER
	RET
