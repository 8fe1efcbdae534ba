//go:build amd64 && gc && !purego

#include "textflag.h"

// Hand-written. Requantization register plan (TileRQ after its k loop, DW3x3RQ throughout):
//   Z16 Add, Z17 Mult, Z18 Left, Z19 Right, Z20 Mask, Z21 Half (one RQ, broadcast)
//   Z22, Z23 temporaries; Z24/Z25 per-column terms
//   Z26 qword 2^30 (the rounding nudge), Z27 all ones (-1), Z28 ZP, Z29 Lo, Z30 Hi; K3 odd dword lanes

// LOADRQ broadcasts the RQ at P (Add 0, Mult 4, Left 8, Right 12, Mask 16, Half 20).
#define LOADRQ(P) \
	VPBROADCASTD 0(P), Z16; \
	VPBROADCASTD 4(P), Z17; \
	VPBROADCASTD 8(P), Z18; \
	VPBROADCASTD 12(P), Z19; \
	VPBROADCASTD 16(P), Z20; \
	VPBROADCASTD 20(P), Z21

// LOADOUT sets Z26..Z30 and K3 from the RQOut at P (ZP 0, Lo 4, Hi 8); clobbers AX.
#define LOADOUT(P) \
	MOVQ $0x40000000, AX; \
	VPBROADCASTQ AX, Z26; \
	VPTERNLOGD $0xff, Z27, Z27, Z27; \
	VPBROADCASTD 0(P), Z28; \
	VPBROADCASTD 4(P), Z29; \
	VPBROADCASTD 8(P), Z30; \
	MOVL $0xAAAA, AX; \
	KMOVW AX, K3

// REQ turns 16 int32 accumulators ACC (+ COL) into clamp(MultiplyByQuantizedMultiplier(ACC+COL+Add)+ZP):
//   x = (ACC + COL + Add) << Left                       (wrapping, as TFLite's x * (1 << left))
//   h = (int64(x)*Mult + 2^30) >> 31                     (SaturatingRoundingDoublingHighMul: with the
//       nudge 1-2^30 for negative products and truncation toward zero, both signs reduce to this floor;
//       Mult >= 0 so the saturating case never occurs)
//   r = (h >> Right) + ((h & Mask) > Half + (h < 0))    (RoundingDivideByPOT)
//   ACC = min(max(r + ZP, Lo), Hi)
#define REQ(ACC, COL) \
	VPADDD COL, ACC, ACC; \
	VPADDD Z16, ACC, ACC; \
	VPSLLVD Z18, ACC, ACC; \
	VPMULDQ Z17, ACC, Z22; \
	VPSRLQ $32, ACC, Z23; \
	VPMULDQ Z17, Z23, Z23; \
	VPADDQ Z26, Z22, Z22; \
	VPADDQ Z26, Z23, Z23; \
	VPSRLQ $31, Z22, ACC; \
	VPSLLQ $1, Z23, Z23; \
	VMOVDQA32 Z23, K3, ACC; \
	VPANDD Z20, ACC, Z22; \
	VPSRAD $31, ACC, Z23; \
	VPSUBD Z23, Z21, Z23; \
	VPSRAVD Z19, ACC, ACC; \
	VPCMPGTD Z23, Z22, K4; \
	VPSUBD Z27, ACC, K4, ACC; \
	VPADDD Z28, ACC, ACC; \
	VPMAXSD Z29, ACC, ACC; \
	VPMINSD Z30, ACC, ACC

// ROWOUT requantizes row accumulators A (columns 0..15) and B (16..31) with the RQ at R11 and stores
// them under masks K1/K2 at DI; then stops after the last row, else steps R11 and DI.
#define ROWOUT(A, B) \
	LOADRQ(R11); \
	REQ(A, Z24); \
	REQ(B, Z25); \
	VPMOVDB A, K1, (DI); \
	VPMOVDB B, K2, 16(DI); \
	DECQ R12; \
	JZ   rqdone; \
	ADDQ $24, R11; \
	ADDQ R13, DI

// func tileRQ8x32VNNI(y *byte, ldy int, a *int8, b *uint8, k4 int, col *int32, p *RQ, o *RQOut, rows, cols int)
// Requires: AVX512F, AVX512BW, AVX512_VNNI
TEXT ·tileRQ8x32VNNI(SB), NOSPLIT, $0-80
	MOVQ o+56(FP), R10
	LOADOUT(R10)
	MOVQ a+16(FP), SI
	MOVQ b+24(FP), DX
	MOVQ k4+32(FP), CX
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
rqloop:
	VMOVDQU32 (DX), Z16       // b[q][0:16][0:4]
	VMOVDQU32 64(DX), Z17     // b[q][16:32][0:4]
	VPBROADCASTD 0(SI), Z18   // a[q][0][0:4] in every lane
	VPBROADCASTD 4(SI), Z19
	VPBROADCASTD 8(SI), Z20
	VPBROADCASTD 12(SI), Z21
	VPBROADCASTD 16(SI), Z22
	VPBROADCASTD 20(SI), Z23
	VPBROADCASTD 24(SI), Z24
	VPBROADCASTD 28(SI), Z25
	VPDPBUSD Z18, Z16, Z0     // c[0][0:16] += a[q][0] · b[q][0:16]
	VPDPBUSD Z18, Z17, Z1
	VPDPBUSD Z19, Z16, Z2
	VPDPBUSD Z19, Z17, Z3
	VPDPBUSD Z20, Z16, Z4
	VPDPBUSD Z20, Z17, Z5
	VPDPBUSD Z21, Z16, Z6
	VPDPBUSD Z21, Z17, Z7
	VPDPBUSD Z22, Z16, Z8
	VPDPBUSD Z22, Z17, Z9
	VPDPBUSD Z23, Z16, Z10
	VPDPBUSD Z23, Z17, Z11
	VPDPBUSD Z24, Z16, Z12
	VPDPBUSD Z24, Z17, Z13
	VPDPBUSD Z25, Z16, Z14
	VPDPBUSD Z25, Z17, Z15
	ADDQ $32, SI
	ADDQ $128, DX
	DECQ CX
	JNZ  rqloop
	MOVQ col+40(FP), AX
	VMOVDQU32 (AX), Z24       // col[0:16]
	VMOVDQU32 64(AX), Z25     // col[16:32]
	MOVQ cols+72(FP), CX      // K1, K2 = store masks of columns 0..15, 16..31
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	SHRQ $16, AX
	KMOVW AX, K2
	MOVQ y+0(FP), DI
	MOVQ ldy+8(FP), R13
	MOVQ p+48(FP), R11
	MOVQ rows+64(FP), R12
	ROWOUT(Z0, Z1)
	ROWOUT(Z2, Z3)
	ROWOUT(Z4, Z5)
	ROWOUT(Z6, Z7)
	ROWOUT(Z8, Z9)
	ROWOUT(Z10, Z11)
	ROWOUT(Z12, Z13)
	ROWOUT(Z14, Z15)
rqdone:
	VZEROUPPER
	RET

// func colSumsVNNI(s *int32, b *uint8, k4, nb int, f int32)
// Requires: AVX512F, AVX512_VNNI
TEXT ·colSumsVNNI(SB), NOSPLIT, $0-36
	MOVQ s+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ k4+16(FP), R8
	MOVQ nb+24(FP), BX
	MOVL f+32(FP), AX
	VPBROADCASTD AX, Z30
	MOVL $0x01010101, AX
	VPBROADCASTD AX, Z31      // s8 weights 1,1,1,1
csblock:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	MOVQ R8, CX
csloop:
	VMOVDQU32 (SI), Z2        // b[q][0:16][0:4]
	VMOVDQU32 64(SI), Z3      // b[q][16:32][0:4]
	VPDPBUSD Z31, Z2, Z0      // s[0:16] += Σt b[q][j][t]
	VPDPBUSD Z31, Z3, Z1
	ADDQ $128, SI
	DECQ CX
	JNZ  csloop
	VPMULLD Z30, Z0, Z0       // * f
	VPMULLD Z30, Z1, Z1
	VMOVDQU32 Z0, (DI)
	VMOVDQU32 Z1, 64(DI)
	ADDQ $128, DI
	DECQ BX
	JNZ  csblock
	VZEROUPPER
	RET

// func dw3x3RQVNNI(y *byte, x *uint8, ld, oh, ow, stride int, w *int8, f int32, p *RQ, o *RQOut, idx *byte)
// Requires: AVX512F, AVX512BW, AVX512_VBMI, AVX512_VNNI
// 16 output pixels per step: VPERMB gathers each pixel's three taps of one input row into its dword,
// VPDPBUSD multiplies them by the row's three weights (and, for f, by ones).
TEXT ·dw3x3RQVNNI(SB), NOSPLIT, $0-88
	MOVQ o+72(FP), R10
	LOADOUT(R10)
	MOVQ p+64(FP), R10
	LOADRQ(R10)
	VPXORD Z24, Z24, Z24          // no per-column term
	MOVQ w+48(FP), AX
	VPBROADCASTD 0(AX), Z10       // w[0][0:4]
	VPBROADCASTD 4(AX), Z11       // w[1][0:4]
	VPBROADCASTD 8(AX), Z12       // w[2][0:4]
	MOVL $0x00FFFFFF, AX
	VPBROADCASTD AX, Z22
	VPANDD Z22, Z10, Z10          // the fourth byte of each row is not a tap: zero it
	VPANDD Z22, Z11, Z11
	VPANDD Z22, Z12, Z12
	MOVL $0x00010101, AX
	VPBROADCASTD AX, Z13          // ones for taps 0..2
	MOVL f+56(FP), AX
	VPBROADCASTD AX, Z14
	MOVQ idx+80(FP), AX
	VMOVDQU8 (AX), Z15
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ oh+24(FP), R9
	MOVQ ow+32(FP), R11
	MOVQ stride+40(FP), R13
	MOVQ R13, R12
	IMULQ R8, R12                 // input step per output row: stride*ld
	SHLQ $4, R13                  // input step per 16 outputs: 16*stride
dwrow:
	MOVQ SI, DX
	MOVQ DI, BX
	MOVQ R11, CX
dwchunk:
	MOVQ $0xFFFF, AX
	CMPQ CX, $16
	JGE  dwfull
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
dwfull:
	KMOVW AX, K1
	VPERMB (DX), Z15, Z2          // lane j = x[ky=0][j*s : j*s+4]
	VPERMB (DX)(R8*1), Z15, Z3    // ky = 1
	VPERMB (DX)(R8*2), Z15, Z4    // ky = 2
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPDPBUSD Z10, Z2, Z0          // acc += Σkx x·w[0][kx]
	VPDPBUSD Z11, Z3, Z0
	VPDPBUSD Z12, Z4, Z0
	VPDPBUSD Z13, Z2, Z1          // sum += Σkx x
	VPDPBUSD Z13, Z3, Z1
	VPDPBUSD Z13, Z4, Z1
	VPMULLD Z14, Z1, Z1
	VPADDD Z1, Z0, Z0             // acc += f*sum
	REQ(Z0, Z24)
	VPMOVDB Z0, K1, (BX)
	ADDQ R13, DX
	ADDQ $16, BX
	SUBQ $16, CX
	JG   dwchunk
	ADDQ R12, SI
	ADDQ R11, DI
	DECQ R9
	JNZ  dwrow
	VZEROUPPER
	RET

// MBQM is MultiplyByQuantizedMultiplier of the 16 lanes of X (REQ without Add, zero point and clamp).
#define MBQM(X, MULT, LEFT, RIGHT, MASK, HALF, T1, T2) \
	VPSLLVD LEFT, X, X; \
	VPMULDQ MULT, X, T1; \
	VPSRLQ $32, X, T2; \
	VPMULDQ MULT, T2, T2; \
	VPADDQ Z26, T1, T1; \
	VPADDQ Z26, T2, T2; \
	VPSRLQ $31, T1, X; \
	VPSLLQ $1, T2, T2; \
	VMOVDQA32 T2, K3, X; \
	VPANDD MASK, X, T1; \
	VPSRAD $31, X, T2; \
	VPSUBD T2, HALF, T2; \
	VPSRAVD RIGHT, X, X; \
	VPCMPGTD T2, T1, K4; \
	VPSUBD Z27, X, K4, X

// func addU8AVX512(y, a, b *byte, n int, p *AddRQ)
// Requires: AVX512F, AVX512BW
// AddRQ: A at 0, B at 24, Out at 48 (Mult +4, Left +8, Right +12, Mask +16, Half +20), ZA 72, ZB 76,
// O at 80 (ZP, Lo, Hi).
TEXT ·addU8AVX512(SB), NOSPLIT, $0-40
	MOVQ p+32(FP), R10
	LEAQ 80(R10), R11
	LOADOUT(R11)
	VPBROADCASTD 4(R10), Z10
	VPBROADCASTD 8(R10), Z11
	VPBROADCASTD 12(R10), Z12
	VPBROADCASTD 16(R10), Z13
	VPBROADCASTD 20(R10), Z14
	VPBROADCASTD 28(R10), Z15
	VPBROADCASTD 32(R10), Z16
	VPBROADCASTD 36(R10), Z17
	VPBROADCASTD 40(R10), Z18
	VPBROADCASTD 44(R10), Z19
	VPBROADCASTD 52(R10), Z20
	VPBROADCASTD 56(R10), Z21
	VPBROADCASTD 60(R10), Z22
	VPBROADCASTD 64(R10), Z23
	VPBROADCASTD 68(R10), Z24
	VPBROADCASTD 72(R10), Z25
	VPBROADCASTD 76(R10), Z31
	MOVQ y+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
addloop:
	MOVQ $0xFFFF, AX
	CMPQ CX, $16
	JGE  addfull
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
addfull:
	KMOVW AX, K1
	VPMOVZXBD.Z (SI), K1, Z0      // a[0:16]
	VPMOVZXBD.Z (DX), K1, Z1      // b[0:16]
	VPSUBD Z25, Z0, Z0            // a - ZA
	VPSUBD Z31, Z1, Z1            // b - ZB
	VPSLLD $20, Z0, Z0
	VPSLLD $20, Z1, Z1
	MBQM(Z0, Z10, Z11, Z12, Z13, Z14, Z2, Z3)
	MBQM(Z1, Z15, Z16, Z17, Z18, Z19, Z2, Z3)
	VPADDD Z1, Z0, Z0
	MBQM(Z0, Z20, Z21, Z22, Z23, Z24, Z2, Z3)
	VPADDD Z28, Z0, Z0
	VPMAXSD Z29, Z0, Z0
	VPMINSD Z30, Z0, Z0
	VPMOVDB Z0, K1, (DI)
	ADDQ $16, SI
	ADDQ $16, DX
	ADDQ $16, DI
	SUBQ $16, CX
	JG   addloop
	VZEROUPPER
	RET
