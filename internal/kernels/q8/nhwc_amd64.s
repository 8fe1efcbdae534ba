//go:build amd64 && gc && !purego

#include "textflag.h"

// func copySegsAVX512(dst *uint8, ldd int, src *uint8, lds int, n, l int)
// Requires: AVX512F, AVX512BW
// Each run: whole 64-byte vectors, then a masked tail of l%64 bytes.
TEXT ·copySegsAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R8
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R9
	MOVQ n+32(FP), BX
	MOVQ l+40(FP), R10
	MOVQ R10, CX
	ANDQ $63, CX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVQ AX, K1 // tail mask
	SHRQ $6, R10 // whole vectors per run
csrun:
	MOVQ DI, DX
	MOVQ SI, R11
	MOVQ R10, CX
	TESTQ CX, CX
	JZ   cstail
csvec:
	VMOVDQU8 (R11), Z0
	VMOVDQU8 Z0, (DX)
	ADDQ $64, R11
	ADDQ $64, DX
	DECQ CX
	JNZ  csvec
cstail:
	KORTESTQ K1, K1
	JZ   csnext
	VMOVDQU8.Z (R11), K1, Z0
	VMOVDQU8 Z0, K1, (DX)
csnext:
	ADDQ R8, DI
	ADDQ R9, SI
	DECQ BX
	JNZ  csrun
	VZEROUPPER
	RET

// func maxSegsAVX512(dst *uint8, ldd int, src *uint8, lds int, n, l int)
// Requires: AVX512F, AVX512BW
TEXT ·maxSegsAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R8
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R9
	MOVQ n+32(FP), BX
	MOVQ l+40(FP), R10
	MOVQ R10, CX
	ANDQ $63, CX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVQ AX, K1
	SHRQ $6, R10
msrun:
	MOVQ DI, DX
	MOVQ SI, R11
	MOVQ R10, CX
	TESTQ CX, CX
	JZ   mstail
msvec:
	VMOVDQU8 (R11), Z0
	VPMAXUB (DX), Z0, Z0
	VMOVDQU8 Z0, (DX)
	ADDQ $64, R11
	ADDQ $64, DX
	DECQ CX
	JNZ  msvec
mstail:
	KORTESTQ K1, K1
	JZ   msnext
	VMOVDQU8.Z (R11), K1, Z0
	VMOVDQU8.Z (DX), K1, Z1
	VPMAXUB Z1, Z0, Z0
	VMOVDQU8 Z0, K1, (DX)
msnext:
	ADDQ R8, DI
	ADDQ R9, SI
	DECQ BX
	JNZ  msrun
	VZEROUPPER
	RET

// func sumPixelsAVX512(acc *int32, x *uint8, n, c int)
// Requires: AVX512F
// 16 channels at a time (masked tail of c%16, c a multiple of 4): widen each pixel's bytes to int32
// and add, over all n pixels, then add into acc.
TEXT ·sumPixelsAVX512(SB), NOSPLIT, $0-32
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), BX
	MOVQ c+24(FP), R8 // channels left
	MOVQ R8, R9       // pixel stride
spchan:
	MOVQ R8, CX
	CMPQ CX, $16
	JLT  sppart
	MOVL $0xffff, AX
	JMP  spmask
sppart:
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
spmask:
	KMOVW AX, K1
	VPXORD Z0, Z0, Z0
	MOVQ SI, DX
	MOVQ BX, CX
sppix:
	VPMOVZXBD.Z (DX), K1, Z1 // masked: no byte past the pixel's channels is read
	VPADDD Z1, Z0, Z0
	ADDQ R9, DX
	DECQ CX
	JNZ  sppix
	VMOVDQU32.Z (DI), K1, Z2
	VPADDD Z2, Z0, Z0
	VMOVDQU32 Z0, K1, (DI)
	ADDQ $64, DI
	ADDQ $16, SI
	SUBQ $16, R8
	JG   spchan
	VZEROUPPER
	RET
