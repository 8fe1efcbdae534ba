//go:build amd64 && gc && !purego

#include "textflag.h"

// Hand-written AVX2 forms of the q8 kernels: identical integers to the VNNI and Go forms. No
// VPMADDUBSW (its int16 pair sums saturate for u8×s8: 255·127·2 > 32767); instead both operands
// widen to int16 (VPMOVZXBW / VPMOVSXBW) and VPMADDWD sums pairs exactly into int32.

// dwordPerm undoes the lane interleave of VPACKSSDW+VPACKUSWB over four ymm of dwords.
DATA dwordPerm<>+0(SB)/4, $0
DATA dwordPerm<>+4(SB)/4, $4
DATA dwordPerm<>+8(SB)/4, $1
DATA dwordPerm<>+12(SB)/4, $5
DATA dwordPerm<>+16(SB)/4, $2
DATA dwordPerm<>+20(SB)/4, $6
DATA dwordPerm<>+24(SB)/4, $3
DATA dwordPerm<>+28(SB)/4, $7
GLOBL dwordPerm<>(SB), RODATA|NOPTR, $32

// tailMask: loading 32 bytes at tailMask+4*(8-r) gives r leading all-ones dwords.
DATA tailMask<>+0(SB)/8, $-1
DATA tailMask<>+8(SB)/8, $-1
DATA tailMask<>+16(SB)/8, $-1
DATA tailMask<>+24(SB)/8, $-1
DATA tailMask<>+32(SB)/8, $0
DATA tailMask<>+40(SB)/8, $0
DATA tailMask<>+48(SB)/8, $0
DATA tailMask<>+56(SB)/8, $0
GLOBL tailMask<>(SB), RODATA|NOPTR, $64

// Requantization operands live in the stack frame as broadcast ymm (AVX2 has 16 registers only).
// An RQ block at B: B+0 Mult, B+32 Left, B+64 Right, B+96 Mask, B+128 Half (160 bytes).
// FILLRQ broadcasts the RQ at P (Add 0, Mult 4, Left 8, Right 12, Mask 16, Half 20) into block B;
// clobbers Y15.
#define FILLRQ(P, B) \
	VPBROADCASTD 4(P), Y15; \
	VMOVDQU Y15, B+0(SP); \
	VPBROADCASTD 8(P), Y15; \
	VMOVDQU Y15, B+32(SP); \
	VPBROADCASTD 12(P), Y15; \
	VMOVDQU Y15, B+64(SP); \
	VPBROADCASTD 16(P), Y15; \
	VMOVDQU Y15, B+96(SP); \
	VPBROADCASTD 20(P), Y15; \
	VMOVDQU Y15, B+128(SP)

// FILLOUT broadcasts the rounding nudge (qword 2^30) and the RQOut at P (ZP 0, Lo 4, Hi 8) into
// C+0, C+32, C+64, C+96; clobbers AX, Y15.
#define FILLOUT(P, C) \
	MOVQ $0x40000000, AX; \
	MOVQ AX, X15; \
	VPBROADCASTQ X15, Y15; \
	VMOVDQU Y15, C+0(SP); \
	VPBROADCASTD 0(P), Y15; \
	VMOVDQU Y15, C+32(SP); \
	VPBROADCASTD 4(P), Y15; \
	VMOVDQU Y15, C+64(SP); \
	VPBROADCASTD 8(P), Y15; \
	VMOVDQU Y15, C+96(SP)

// MBQM sets the 8 lanes of X to MultiplyByQuantizedMultiplier(X) with the RQ block B and the nudge
// at N (see qconv_amd64.s's REQ for the derivation):
//   x = X << Left                           (wrapping)
//   h = (int64(x)*Mult + 2^30) >> 31        (low dword; even lanes via VPMULDQ, odd via a 32-bit shift)
//   r = (h >> Right) + ((h&Mask) - (h<0) > Half)   (RoundingDivideByPOT's rem > Half + (h<0))
#define MBQM(X, T1, T2, B, N) \
	VPSLLVD B+32(SP), X, X; \
	VPMULDQ B+0(SP), X, T1; \
	VPSRLQ $32, X, T2; \
	VPMULDQ B+0(SP), T2, T2; \
	VPADDQ N(SP), T1, T1; \
	VPADDQ N(SP), T2, T2; \
	VPSRLQ $31, T1, T1; \
	VPSLLQ $1, T2, T2; \
	VPBLENDD $0xAA, T2, T1, X; \
	VPAND B+96(SP), X, T1; \
	VPSRAD $31, X, T2; \
	VPADDD T2, T1, T1; \
	VPCMPGTD B+128(SP), T1, T1; \
	VPSRAVD B+64(SP), X, X; \
	VPSUBD T1, X, X

// OUTB adds the zero point and clamps: X = min(max(X + ZP, Lo), Hi) with the block at C (FILLOUT).
#define OUTB(X, C) \
	VPADDD C+32(SP), X, X; \
	VPMAXSD C+64(SP), X, X; \
	VPMINSD C+96(SP), X, X

// func tile8x32AVX2(c *int32, a *int8, b *uint8, k4 int)
// Requires: AVX2
// Eight passes of 4 rows × 8 columns. Per k4 step: B's 8 columns widen to two ymm of int16 (4 columns
// × 4 k each), A's 4 rows to one ymm whose qwords VPERMQ broadcasts; VPMADDWD leaves per column two
// pair sums (k0+k1, k2+k3), added at the end by VPHADDD.
TEXT ·tile8x32AVX2(SB), NOSPLIT, $0-32
	MOVQ c+0(FP), DI
	MOVQ a+8(FP), R8
	MOVQ b+16(FP), R9
	MOVQ k4+24(FP), R10
	XORQ R11, R11             // row half: 0, 16 (byte offset into an A step)
t2rows:
	XORQ R12, R12             // column group: 0, 32, 64, 96 (byte offset into a B step)
t2cols:
	LEAQ (R8)(R11*1), SI
	LEAQ (R9)(R12*1), DX
	MOVQ R10, CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
t2loop:
	VPMOVZXBW (DX), Y8        // b[q][j0:j0+4][0:4] as int16
	VPMOVZXBW 16(DX), Y9      // b[q][j0+4:j0+8][0:4]
	VPMOVSXBW (SI), Y10       // a[q][i0:i0+4][0:4] as int16
	VPERMQ $0x00, Y10, Y11    // row i0's four weights in every qword
	VPMADDWD Y11, Y8, Y12
	VPADDD Y12, Y0, Y0        // c[i0][j0:j0+4] (pair sums) += ...
	VPMADDWD Y11, Y9, Y13
	VPADDD Y13, Y1, Y1
	VPERMQ $0x55, Y10, Y11    // row i0+1
	VPMADDWD Y11, Y8, Y12
	VPADDD Y12, Y2, Y2
	VPMADDWD Y11, Y9, Y13
	VPADDD Y13, Y3, Y3
	VPERMQ $0xAA, Y10, Y11    // row i0+2
	VPMADDWD Y11, Y8, Y12
	VPADDD Y12, Y4, Y4
	VPMADDWD Y11, Y9, Y13
	VPADDD Y13, Y5, Y5
	VPERMQ $0xFF, Y10, Y11    // row i0+3
	VPMADDWD Y11, Y8, Y12
	VPADDD Y12, Y6, Y6
	VPMADDWD Y11, Y9, Y13
	VPADDD Y13, Y7, Y7
	ADDQ $32, SI
	ADDQ $128, DX
	DECQ CX
	JNZ  t2loop
	// Pair sums -> column sums: VPHADDD gives columns [0 1 4 5 | 2 3 6 7]; VPERMQ 0xD8 orders them.
	MOVQ R11, AX
	SHLQ $5, AX               // row half * 4 rows * 128 bytes / 16
	ADDQ DI, AX
	ADDQ R12, AX              // &c[i0][j0]
	VPHADDD Y1, Y0, Y0
	VPERMQ $0xD8, Y0, Y0
	VMOVDQU Y0, 0(AX)
	VPHADDD Y3, Y2, Y2
	VPERMQ $0xD8, Y2, Y2
	VMOVDQU Y2, 128(AX)
	VPHADDD Y5, Y4, Y4
	VPERMQ $0xD8, Y4, Y4
	VMOVDQU Y4, 256(AX)
	VPHADDD Y7, Y6, Y6
	VPERMQ $0xD8, Y6, Y6
	VMOVDQU Y6, 384(AX)
	ADDQ $32, R12
	CMPQ R12, $128
	JLT  t2cols
	ADDQ $16, R11
	CMPQ R11, $32
	JLT  t2rows
	VZEROUPPER
	RET

// func rqRowsAVX2(y *byte, ldy int, c *int32, col *int32, p *RQ, o *RQOut, rows int)
// Requires: AVX2
// y[i*ldy+j] = o.Byte(p[i].Apply(c[i*32+j] + col[j])) for i < rows, j < 32 (32 bytes per row).
// Frame: 0 RQ block, 160 Add, 192 out block (nudge, ZP, Lo, Hi).
TEXT ·rqRowsAVX2(SB), NOSPLIT, $320-56
	MOVQ o+40(FP), R10
	FILLOUT(R10, 192)
	MOVQ y+0(FP), DI
	MOVQ ldy+8(FP), R8
	MOVQ c+16(FP), SI
	MOVQ col+24(FP), DX
	MOVQ p+32(FP), R11
	MOVQ rows+48(FP), CX
	VMOVDQU dwordPerm<>(SB), Y14
	VPCMPEQW Y13, Y13, Y13
	VPSRLW $8, Y13, Y13          // 0x00ff in every word
rqrow:
	FILLRQ(R11, 0)
	VPBROADCASTD 0(R11), Y12     // Add
	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	VPADDD 0(DX), Y0, Y0         // + col[j]
	VPADDD 32(DX), Y1, Y1
	VPADDD 64(DX), Y2, Y2
	VPADDD 96(DX), Y3, Y3
	VPADDD Y12, Y0, Y0           // + Add
	VPADDD Y12, Y1, Y1
	VPADDD Y12, Y2, Y2
	VPADDD Y12, Y3, Y3
	MBQM(Y0, Y4, Y5, 0, 192)
	MBQM(Y1, Y6, Y7, 0, 192)
	MBQM(Y2, Y8, Y9, 0, 192)
	MBQM(Y3, Y10, Y11, 0, 192)
	OUTB(Y0, 192)
	OUTB(Y1, 192)
	OUTB(Y2, 192)
	OUTB(Y3, 192)
	// Values are in [-128, 255]: pack to words exactly, keep each low byte, pack to bytes, reorder.
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPAND Y13, Y0, Y0
	VPAND Y13, Y2, Y2
	VPACKUSWB Y2, Y0, Y0
	VPERMD Y0, Y14, Y0
	VMOVDQU Y0, (DI)
	ADDQ R8, DI
	ADDQ $128, SI
	ADDQ $24, R11
	DECQ CX
	JNZ  rqrow
	VZEROUPPER
	RET

// func colSumsAVX2(s *int32, b *uint8, k4, nb int, f int32)
// Requires: AVX2
// VPMADDUBSW against ones is exact here (pair sums <= 510); VPMADDWD with ones finishes each dword.
TEXT ·colSumsAVX2(SB), NOSPLIT, $0-36
	MOVQ s+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ k4+16(FP), R8
	MOVQ nb+24(FP), BX
	MOVL f+32(FP), AX
	MOVQ AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x01010101, AX
	MOVQ AX, X14
	VPBROADCASTD X14, Y14        // s8 ones
	VPCMPEQW Y13, Y13, Y13
	VPSRLW $15, Y13, Y13         // int16 ones
c2block:
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	MOVQ R8, CX
c2loop:
	VMOVDQU 0(SI), Y4            // b[q][0:8][0:4]
	VMOVDQU 32(SI), Y5
	VMOVDQU 64(SI), Y6
	VMOVDQU 96(SI), Y7
	VPMADDUBSW Y14, Y4, Y4       // pairs of bytes summed to int16
	VPMADDUBSW Y14, Y5, Y5
	VPMADDUBSW Y14, Y6, Y6
	VPMADDUBSW Y14, Y7, Y7
	VPMADDWD Y13, Y4, Y4         // and pairs of those to int32
	VPMADDWD Y13, Y5, Y5
	VPMADDWD Y13, Y6, Y6
	VPMADDWD Y13, Y7, Y7
	VPADDD Y4, Y0, Y0
	VPADDD Y5, Y1, Y1
	VPADDD Y6, Y2, Y2
	VPADDD Y7, Y3, Y3
	ADDQ $128, SI
	DECQ CX
	JNZ  c2loop
	VPMULLD Y15, Y0, Y0          // * f
	VPMULLD Y15, Y1, Y1
	VPMULLD Y15, Y2, Y2
	VPMULLD Y15, Y3, Y3
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y2, 64(DI)
	VMOVDQU Y3, 96(DI)
	ADDQ $128, DI
	DECQ BX
	JNZ  c2block
	VZEROUPPER
	RET

// func packB32AVX2(dst *uint8, src *uint8, ld, k4, nb int)
// Requires: AVX2
// Four rows of 32 bytes interleave bytewise then wordwise (within 128-bit lanes), and VPERM2I128
// puts the column quarters back in order.
TEXT ·packB32AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ k4+24(FP), R9
	MOVQ nb+32(FP), BX
	LEAQ (R8)(R8*2), R10         // 3*ld
p2block:
	MOVQ SI, DX
	MOVQ R9, CX
p2loop:
	VMOVDQU (DX), Y0             // row 4q, columns 0..31
	VMOVDQU (DX)(R8*1), Y1       // row 4q+1
	VMOVDQU (DX)(R8*2), Y2       // row 4q+2
	VMOVDQU (DX)(R10*1), Y3      // row 4q+3
	VPUNPCKLBW Y1, Y0, Y4        // (r0,r1) byte pairs, columns 0-7 | 16-23
	VPUNPCKHBW Y1, Y0, Y5        // columns 8-15 | 24-31
	VPUNPCKLBW Y3, Y2, Y6        // (r2,r3)
	VPUNPCKHBW Y3, Y2, Y7
	VPUNPCKLWD Y6, Y4, Y0        // dwords (r0,r1,r2,r3): columns 0-3 | 16-19
	VPUNPCKHWD Y6, Y4, Y1        // 4-7 | 20-23
	VPUNPCKLWD Y7, Y5, Y2        // 8-11 | 24-27
	VPUNPCKHWD Y7, Y5, Y3        // 12-15 | 28-31
	VPERM2I128 $0x20, Y1, Y0, Y4 // columns 0-7
	VPERM2I128 $0x20, Y3, Y2, Y5 // 8-15
	VPERM2I128 $0x31, Y1, Y0, Y6 // 16-23
	VPERM2I128 $0x31, Y3, Y2, Y7 // 24-31
	VMOVDQU Y4, 0(DI)
	VMOVDQU Y5, 32(DI)
	VMOVDQU Y6, 64(DI)
	VMOVDQU Y7, 96(DI)
	ADDQ $128, DI
	LEAQ (DX)(R8*4), DX          // next four rows
	DECQ CX
	JNZ  p2loop
	ADDQ $32, SI                 // next column block
	DECQ BX
	JNZ  p2block
	VZEROUPPER
	RET

// func gemv64AVX2(acc *int32, x *uint8, w *int8, groups, k4 int)
// Requires: AVX2
// Per group, two passes of 32 outputs: x's four bytes of a k4 step widen to int16 and repeat in every
// qword; each 16 weight bytes (4 outputs × 4 k) widen to int16; VPMADDWD leaves two pair sums per
// output, added by VPHADDD at the end.
TEXT ·gemv64AVX2(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), R8
	MOVQ w+16(FP), R9
	MOVQ groups+24(FP), BX
	MOVQ k4+32(FP), R10
	MOVQ R10, R11
	SHLQ $8, R11                 // bytes per group: k4*256
g2group:
	XORQ R12, R12                // pass: output offset 0 or 32 (byte offset 128 into a k4 step)
g2pass:
	LEAQ (R9)(R12*1), SI
	MOVQ R8, DX
	MOVQ R10, CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
g2loop:
	VPBROADCASTD (DX), X8
	VPMOVZXBW X8, Y8             // x[4q:4q+4] as int16, four times
	VPMOVSXBW 0(SI), Y9          // w[q][o0:o0+4][0:4]
	VPMOVSXBW 16(SI), Y10
	VPMOVSXBW 32(SI), Y11
	VPMOVSXBW 48(SI), Y12
	VPMADDWD Y8, Y9, Y9
	VPMADDWD Y8, Y10, Y10
	VPMADDWD Y8, Y11, Y11
	VPMADDWD Y8, Y12, Y12
	VPADDD Y9, Y0, Y0
	VPADDD Y10, Y1, Y1
	VPADDD Y11, Y2, Y2
	VPADDD Y12, Y3, Y3
	VPMOVSXBW 64(SI), Y9
	VPMOVSXBW 80(SI), Y10
	VPMOVSXBW 96(SI), Y11
	VPMOVSXBW 112(SI), Y12
	VPMADDWD Y8, Y9, Y9
	VPMADDWD Y8, Y10, Y10
	VPMADDWD Y8, Y11, Y11
	VPMADDWD Y8, Y12, Y12
	VPADDD Y9, Y4, Y4
	VPADDD Y10, Y5, Y5
	VPADDD Y11, Y6, Y6
	VPADDD Y12, Y7, Y7
	ADDQ $4, DX
	ADDQ $256, SI
	DECQ CX
	JNZ  g2loop
	VPHADDD Y1, Y0, Y0
	VPERMQ $0xD8, Y0, Y0
	VPHADDD Y3, Y2, Y2
	VPERMQ $0xD8, Y2, Y2
	VPHADDD Y5, Y4, Y4
	VPERMQ $0xD8, Y4, Y4
	VPHADDD Y7, Y6, Y6
	VPERMQ $0xD8, Y6, Y6
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y2, 32(DI)
	VMOVDQU Y4, 64(DI)
	VMOVDQU Y6, 96(DI)
	ADDQ $128, DI
	ADDQ $128, R12
	CMPQ R12, $256
	JLT  g2pass
	ADDQ R11, R9
	DECQ BX
	JNZ  g2group
	VZEROUPPER
	RET

// func dw3x3RQAVX2(y *byte, x *uint8, ld, oh, ow, stride int, w *int32, p *RQ, o *RQOut)
// Requires: AVX2
// w holds per kernel row ky the int16 pairs (w0+f, w1+f) and (w2+f, 0). 16 outputs per step:
//   stride 1: dword d of the bytes widened from x+0 / x+1 / x+2 / x+3 pairs the taps (kx 0,1) and
//             (kx 2, unused) of outputs 2d and 2d+1, so VPMADDWD sums even and odd outputs exactly;
//             VPUNPCK{L,H}DQ then interleave them (within 128-bit lanes).
//   stride 2: dword d of x+0 / x+2 is (kx 0,1) / (kx 2, unused) of output d; x+16 / x+18 for d+8.
// Either way L = outputs [0-3 | 8-11] and H = [4-7 | 12-15], which VPACKSSDW puts back in order.
// Frame: 0 RQ block, 160 Add, 192 out block, 320 16-byte tail buffer.
TEXT ·dw3x3RQAVX2(SB), NOSPLIT, $352-72
	MOVQ o+64(FP), R10
	FILLOUT(R10, 192)
	MOVQ p+56(FP), R10
	FILLRQ(R10, 0)
	VPBROADCASTD 0(R10), Y15
	VMOVDQU Y15, 160(SP)
	MOVQ w+48(FP), AX
	VPBROADCASTD 0(AX), Y8       // (w[0][0]+f, w[0][1]+f)
	VPBROADCASTD 4(AX), Y9       // (w[0][2]+f, 0)
	VPBROADCASTD 8(AX), Y10      // ky = 1
	VPBROADCASTD 12(AX), Y11
	VPBROADCASTD 16(AX), Y12     // ky = 2
	VPBROADCASTD 20(AX), Y13
	VPCMPEQW Y14, Y14, Y14
	VPSRLW $8, Y14, Y14          // 0x00ff in every word
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ oh+24(FP), R9
	MOVQ ow+32(FP), R11
	MOVQ stride+40(FP), R13
	MOVQ R13, R12
	IMULQ R8, R12                // input step per output row: stride*ld
	SHLQ $4, R13                 // input step per 16 outputs: 16*stride
	LEAQ (R8)(R8*1), R14         // 2*ld
d2row:
	MOVQ SI, DX
	MOVQ DI, BX
	MOVQ R11, CX
d2chunk:
	CMPQ R13, $16
	JNE  d2s2
	VPMOVZXBW (DX), Y0           // ky = 0: even outputs, kx 0,1
	VPMADDWD Y8, Y0, Y0
	VPMOVZXBW 2(DX), Y2          // even outputs, kx 2
	VPMADDWD Y9, Y2, Y2
	VPADDD Y2, Y0, Y0
	VPMOVZXBW 1(DX), Y1          // odd outputs, kx 0,1
	VPMADDWD Y8, Y1, Y1
	VPMOVZXBW 3(DX), Y3          // odd outputs, kx 2
	VPMADDWD Y9, Y3, Y3
	VPADDD Y3, Y1, Y1
	VPMOVZXBW (DX)(R8*1), Y2     // ky = 1
	VPMADDWD Y10, Y2, Y2
	VPADDD Y2, Y0, Y0
	VPMOVZXBW 2(DX)(R8*1), Y3
	VPMADDWD Y11, Y3, Y3
	VPADDD Y3, Y0, Y0
	VPMOVZXBW 1(DX)(R8*1), Y2
	VPMADDWD Y10, Y2, Y2
	VPADDD Y2, Y1, Y1
	VPMOVZXBW 3(DX)(R8*1), Y3
	VPMADDWD Y11, Y3, Y3
	VPADDD Y3, Y1, Y1
	VPMOVZXBW (DX)(R14*1), Y2    // ky = 2
	VPMADDWD Y12, Y2, Y2
	VPADDD Y2, Y0, Y0
	VPMOVZXBW 2(DX)(R14*1), Y3
	VPMADDWD Y13, Y3, Y3
	VPADDD Y3, Y0, Y0
	VPMOVZXBW 1(DX)(R14*1), Y2
	VPMADDWD Y12, Y2, Y2
	VPADDD Y2, Y1, Y1
	VPMOVZXBW 3(DX)(R14*1), Y3
	VPMADDWD Y13, Y3, Y3
	VPADDD Y3, Y1, Y1
	VPUNPCKLDQ Y1, Y0, Y2        // outputs 0-3 | 8-11
	VPUNPCKHDQ Y1, Y0, Y3        // 4-7 | 12-15
	JMP  d2req
d2s2:
	VPMOVZXBW (DX), Y0           // ky = 0: outputs 0-7, kx 0,1
	VPMADDWD Y8, Y0, Y0
	VPMOVZXBW 2(DX), Y2          // kx 2
	VPMADDWD Y9, Y2, Y2
	VPADDD Y2, Y0, Y0
	VPMOVZXBW 16(DX), Y1         // outputs 8-15
	VPMADDWD Y8, Y1, Y1
	VPMOVZXBW 18(DX), Y3
	VPMADDWD Y9, Y3, Y3
	VPADDD Y3, Y1, Y1
	VPMOVZXBW (DX)(R8*1), Y2     // ky = 1
	VPMADDWD Y10, Y2, Y2
	VPADDD Y2, Y0, Y0
	VPMOVZXBW 2(DX)(R8*1), Y3
	VPMADDWD Y11, Y3, Y3
	VPADDD Y3, Y0, Y0
	VPMOVZXBW 16(DX)(R8*1), Y2
	VPMADDWD Y10, Y2, Y2
	VPADDD Y2, Y1, Y1
	VPMOVZXBW 18(DX)(R8*1), Y3
	VPMADDWD Y11, Y3, Y3
	VPADDD Y3, Y1, Y1
	VPMOVZXBW (DX)(R14*1), Y2    // ky = 2
	VPMADDWD Y12, Y2, Y2
	VPADDD Y2, Y0, Y0
	VPMOVZXBW 2(DX)(R14*1), Y3
	VPMADDWD Y13, Y3, Y3
	VPADDD Y3, Y0, Y0
	VPMOVZXBW 16(DX)(R14*1), Y2
	VPMADDWD Y12, Y2, Y2
	VPADDD Y2, Y1, Y1
	VPMOVZXBW 18(DX)(R14*1), Y3
	VPMADDWD Y13, Y3, Y3
	VPADDD Y3, Y1, Y1
	VPERM2I128 $0x20, Y1, Y0, Y2 // outputs 0-3 | 8-11
	VPERM2I128 $0x31, Y1, Y0, Y3 // 4-7 | 12-15
d2req:
	VPADDD 160(SP), Y2, Y2       // + Add
	VPADDD 160(SP), Y3, Y3
	MBQM(Y2, Y0, Y1, 0, 192)
	MBQM(Y3, Y4, Y5, 0, 192)
	OUTB(Y2, 192)
	OUTB(Y3, 192)
	VPACKSSDW Y3, Y2, Y2         // words: outputs 0-7 | 8-15
	VPAND Y14, Y2, Y2
	VPACKUSWB Y2, Y2, Y2
	VPERMQ $0x08, Y2, Y2         // bytes 0-15 in the low 128 bits
	CMPQ CX, $16
	JLT  d2tail
	VMOVDQU X2, (BX)
	ADDQ R13, DX
	ADDQ $16, BX
	SUBQ $16, CX
	JG   d2chunk
	JMP  d2next
d2tail:
	VMOVDQU X2, 320(SP)          // the last ow%16 outputs, one byte at a time
	XORQ AX, AX
d2tbyte:
	MOVB 320(SP)(AX*1), R10
	MOVB R10, (BX)(AX*1)
	INCQ AX
	CMPQ AX, CX
	JLT  d2tbyte
d2next:
	ADDQ R12, SI
	ADDQ R11, DI
	DECQ R9
	JNZ  d2row
	VZEROUPPER
	RET

// func addU8AVX2(y, a, b *byte, n int, p *AddRQ)
// Requires: AVX2
// n a positive multiple of 8. AddRQ: A at 0, B at 24, Out at 48, ZA 72, ZB 76, O at 80.
// Frame: 0 A block, 160 B block, 320 Out block, 480 ZA, 512 ZB, 544 out block (nudge, ZP, Lo, Hi).
TEXT ·addU8AVX2(SB), $704-40
	MOVQ p+32(FP), R10
	LEAQ 80(R10), R11
	FILLOUT(R11, 544)
	FILLRQ(R10, 0)
	LEAQ 24(R10), R11
	FILLRQ(R11, 160)
	LEAQ 48(R10), R11
	FILLRQ(R11, 320)
	VPBROADCASTD 72(R10), Y15
	VMOVDQU Y15, 480(SP)
	VPBROADCASTD 76(R10), Y15
	VMOVDQU Y15, 512(SP)
	VPCMPEQW Y14, Y14, Y14
	VPSRLW $8, Y14, Y14          // 0x00ff in every word
	MOVQ y+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
a2loop:
	VPMOVZXBD (SI), Y0           // a[0:8]
	VPMOVZXBD (DX), Y1           // b[0:8]
	VPSUBD 480(SP), Y0, Y0       // a - ZA
	VPSUBD 512(SP), Y1, Y1       // b - ZB
	VPSLLD $20, Y0, Y0
	VPSLLD $20, Y1, Y1
	MBQM(Y0, Y2, Y3, 0, 544)
	MBQM(Y1, Y4, Y5, 160, 544)
	VPADDD Y1, Y0, Y0
	MBQM(Y0, Y2, Y3, 320, 544)
	OUTB(Y0, 544)
	VEXTRACTI128 $1, Y0, X1
	VPACKSSDW X1, X0, X0         // words 0-7
	VPAND X14, X0, X0
	VPACKUSWB X0, X0, X0
	MOVQ X0, (DI)
	ADDQ $8, SI
	ADDQ $8, DX
	ADDQ $8, DI
	DECQ CX
	JNZ  a2loop
	VZEROUPPER
	RET

// func quantizeAVX2(dst *uint8, src *float32, n int, inv, zp float32)
// Requires: AVX2
// n a positive multiple of 8; the same steps as quantizeAVX512.
TEXT ·quantizeAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	VBROADCASTSS inv+24(FP), Y1
	VBROADCASTSS zp+28(FP), Y2
	VPXOR Y3, Y3, Y3
	VPCMPEQD Y4, Y4, Y4
	VPSRLD $24, Y4, Y4           // 255
q2loop:
	VMULPS (SI), Y1, Y0          // x * inv, rounded to float32
	VADDPS Y2, Y0, Y0            // + zp
	VCVTPS2DQ Y0, Y0             // round to nearest even
	VPMAXSD Y3, Y0, Y0           // >= 0
	VPMINSD Y4, Y0, Y0           // <= 255
	VEXTRACTI128 $1, Y0, X5
	VPACKUSDW X5, X0, X0
	VPACKUSWB X0, X0, X0
	MOVQ X0, (DI)
	ADDQ $32, SI
	ADDQ $8, DI
	DECQ CX
	JNZ  q2loop
	VZEROUPPER
	RET

// func minMaxAVX2(src *float32, n int) (lo, hi float32)
// Requires: AVX
// n a positive multiple of 8.
TEXT ·minMaxAVX2(SB), NOSPLIT, $0-24
	MOVQ src+0(FP), SI
	MOVQ n+8(FP), CX
	SHRQ $3, CX
	VMOVUPS (SI), Y0
	VMOVAPS Y0, Y1
	ADDQ $32, SI
	DECQ CX
	JZ   m2reduce
m2loop:
	VMOVUPS (SI), Y2
	VMINPS Y2, Y0, Y0
	VMAXPS Y2, Y1, Y1
	ADDQ $32, SI
	DECQ CX
	JNZ  m2loop
m2reduce:
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

// func dequantTileAVX2(y *float32, ldy int, c *int32, ldc, m, n int, s, off *float32, lo, hi float32)
// Requires: AVX2, FMA
// Any n: the n%8 last columns load and store under a VPMASKMOVD / VMASKMOVPS mask.
TEXT ·dequantTileAVX2(SB), NOSPLIT, $0-72
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
	VBROADCASTSS lo+64(FP), Y6
	VBROADCASTSS hi+68(FP), Y7
	MOVQ R10, R14
	ANDQ $7, R14                 // tail columns
	MOVQ $8, AX
	SUBQ R14, AX
	LEAQ tailMask<>(SB), CX
	VMOVDQU (CX)(AX*4), Y8       // tail mask
	SHRQ $3, R10                 // full vectors per row
dt2row:
	VBROADCASTSS (R11), Y4
	VBROADCASTSS (R12), Y5
	MOVQ SI, DX
	MOVQ DI, R13
	MOVQ R10, CX
	TESTQ CX, CX
	JZ   dt2tail
dt2vec:
	VCVTDQ2PS (DX), Y0
	VFMADD213PS Y5, Y4, Y0       // c*s + off
	VMAXPS Y6, Y0, Y0
	VMINPS Y7, Y0, Y0
	VMOVUPS Y0, (R13)
	ADDQ $32, DX
	ADDQ $32, R13
	DECQ CX
	JNZ  dt2vec
dt2tail:
	TESTQ R14, R14
	JZ   dt2next
	VPMASKMOVD (DX), Y8, Y0
	VCVTDQ2PS Y0, Y0
	VFMADD213PS Y5, Y4, Y0
	VMAXPS Y6, Y0, Y0
	VMINPS Y7, Y0, Y0
	VMASKMOVPS Y0, Y8, (R13)
dt2next:
	ADDQ R8, DI
	ADDQ R9, SI
	ADDQ $4, R11
	ADDQ $4, R12
	DECQ BX
	JNZ  dt2row
	VZEROUPPER
	RET

// func dequantVecAVX2(y *float32, c *int32, s, off *float32, n int, lo, hi float32)
// Requires: AVX2, FMA
// n a positive multiple of 8.
TEXT ·dequantVecAVX2(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ c+8(FP), SI
	MOVQ s+16(FP), R8
	MOVQ off+24(FP), R9
	MOVQ n+32(FP), CX
	SHRQ $3, CX
	VBROADCASTSS lo+40(FP), Y6
	VBROADCASTSS hi+44(FP), Y7
dv2loop:
	VCVTDQ2PS (SI), Y0
	VMOVUPS (R9), Y1
	VFMADD132PS (R8), Y1, Y0     // c*s + off
	VMAXPS Y6, Y0, Y0
	VMINPS Y7, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ CX
	JNZ  dv2loop
	VZEROUPPER
	RET
