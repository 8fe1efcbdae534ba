//go:build amd64 && gc && !purego

package f32

import (
	"unsafe"

	"github.com/wanwu-ai/wanwu/internal/cpu"
)

//go:generate sh -c "cd ../_asm && go run . -out ../f32/gemm_amd64.s"

// sgemm14x32AVX512 is a 14×32 AVX-512 micro-kernel (the whole tileArgs contract): 28 zmm
// accumulators, two zmm B vectors and two broadcast A registers; 28 FMAs per 16 loads per k step.
// It ran as fast as the 8×32 tile on L1-resident panels but pads 64- and 128-channel layers to 70
// and 140 rows; it stays for the ISA-ladder tests and for comparison (BenchmarkConvGEMM).
//
//go:noescape
func sgemm14x32AVX512(k int, a, b *float32, ldb int, c *float32, ldc int, bias, z *float32, flags, rows, cols int, lo, hi float32)

// sgemm8x32AVX512 is the 8×32 AVX-512 micro-kernel (the whole tileArgs contract; 16 zmm
// accumulators, 16 FMAs per 10 loads per k step): at the FMA peak on L1-resident panels, and no row
// padding for channel counts that are multiples of 8 (every ResNet and MobileNet layer).
//
//go:noescape
func sgemm8x32AVX512(k int, a, b *float32, ldb int, c *float32, ldc int, bias, z *float32, flags, rows, cols int, lo, hi float32)

// sgemm6x16AVX2 is the 6×16 AVX2+FMA micro-kernel: 12 ymm accumulators of the 16 registers. It
// computes full tiles from packed B only (no masks: AVX2 has no registers left for them).
//
//go:noescape
func sgemm6x16AVX2(k int, a, b, c *float32, ldc int, bias *float32, flags int, lo, hi float32)

func archImpls() []*Impl {
	return []*Impl{
		{Name: "AVX512", MR: 8, NR: 32, Available: cpu.AVX512, id: idAVX512x8, full: true, direct: true},
		{Name: "AVX512-14x32", MR: 14, NR: 32, Available: cpu.AVX512, id: idAVX512, full: true, direct: true},
		{Name: "AVX2", MR: 6, NR: 16, Available: cpu.AVX2FMA, id: idAVX2},
	}
}

// runKernel calls micro-kernel im on t, after checking that t stays inside its slices.
func runKernel(im *Impl, t *tileArgs) {
	tileChecks(im.MR, im.NR, t)
	var bias, z *float32
	if t.flags&flagBias != 0 {
		bias = unsafe.SliceData(t.bias)
	}
	if t.flags&flagAdd != 0 {
		z = unsafe.SliceData(t.z)
	}
	a, b, c := unsafe.SliceData(t.a), unsafe.SliceData(t.b), unsafe.SliceData(t.c)
	switch im.id {
	case idAVX512:
		sgemm14x32AVX512(t.k, a, b, t.ldb, c, t.ldc, bias, z, t.flags, t.rows, t.cols, t.lo, t.hi)
	case idAVX512x8:
		sgemm8x32AVX512(t.k, a, b, t.ldb, c, t.ldc, bias, z, t.flags, t.rows, t.cols, t.lo, t.hi)
	case idAVX2:
		sgemm6x16AVX2(t.k, a, b, c, t.ldc, bias, t.flags, t.lo, t.hi)
	case idGeneric4x4:
		genericKernel4x4(t)
	default:
		genericKernel2x4(t)
	}
}

// fmaPeakAVX512 runs n passes of 12 independent register-only FMAs (BenchmarkFMAPeak).
//
//go:noescape
func fmaPeakAVX512(n int)

// fmaPeak runs n passes of 12 independent 16-lane FMAs, or reports false where this build has none.
func fmaPeak(n int) bool {
	if !cpu.AVX512 {
		return false
	}
	fmaPeakAVX512(n)
	return true
}

// im2colPanelAVX512 packs kc rows of one 32-wide im2col panel from an Im2col table (see _asm).
//
//go:noescape
func im2colPanelAVX512(panel, in *float32, hw int, ents *im2colEnt, nseg, used, taps, t0, kc, stride int)

func im2colAsm() bool { return (cur.id == idAVX512 || cur.id == idAVX512x8) && NR == 32 }

func im2colPanelAsm(panel, in []float32, hw int, ents []im2colEnt, nseg, used, taps, t0, kc, stride int) {
	if len(panel) < kc*32 || len(ents) < taps*nseg || used < 1 || used > nseg || t0 < 0 || (kc > 0 && len(in) < ((t0+kc-1)/taps+1)*hw) {
		panic("f32: im2col panel operands too short")
	}
	im2colPanelAVX512(unsafe.SliceData(panel), unsafe.SliceData(in), hw, unsafe.SliceData(ents), nseg, used, taps, t0, kc, stride)
}

// packB32AVX512 copies kc rows of cols <= 32 floats (lds apart) into a zero-padded 32-wide panel.
//
//go:noescape
func packB32AVX512(dst, src *float32, lds, kc, cols int)

// packA8AVX512 packs one full 8-row panel of a row-major A (scaled by alpha) for kc columns.
//
//go:noescape
func packA8AVX512(dst, src *float32, lda, kc int, alpha float32)

// packBPanelAsm packs one NR-wide panel of a row-major B with the vector kernel, or reports false.
func packBPanelAsm(panel, b []float32, ldb, kc, cols int) bool {
	if NR != 32 || (cur.id != idAVX512 && cur.id != idAVX512x8) {
		return false
	}
	if kc > 0 && (len(panel) < kc*32 || cols < 1 || cols > 32 || len(b) < (kc-1)*ldb+cols) {
		panic("f32: packB panel operands too short")
	}
	if kc > 0 {
		packB32AVX512(unsafe.SliceData(panel), unsafe.SliceData(b), ldb, kc, cols)
	}
	return true
}

// packAPanelAsm packs one full MR-row panel of a row-major A with the vector kernel, or reports false.
func packAPanelAsm(panel, a []float32, lda, kc int, alpha float32) bool {
	if MR != 8 || cur.id != idAVX512x8 {
		return false
	}
	if kc > 0 && (len(panel) < kc*8 || len(a) < 7*lda+kc) {
		panic("f32: packA panel operands too short")
	}
	if kc > 0 {
		packA8AVX512(unsafe.SliceData(panel), unsafe.SliceData(a), lda, kc, alpha)
	}
	return true
}
