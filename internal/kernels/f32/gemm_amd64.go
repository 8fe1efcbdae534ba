//go:build amd64 && gc && !purego

package f32

import (
	"unsafe"

	"github.com/wanwu-ai/wanwu/internal/cpu"
)

//go:generate sh -c "cd ../_asm && go run . -dir ../f32"

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

// sgemm8x16AVX512 is the 8×32 kernel's half-width twin (8 zmm accumulators): the 8×32 tile runs it
// for a column panel of at most 16 columns, which would otherwise pay for 32 (a 14×14 plane's last
// panel holds 4 of them).
//
//go:noescape
func sgemm8x16AVX512(k int, a, b *float32, ldb int, c *float32, ldc int, bias, z *float32, flags, rows, cols int, lo, hi float32)

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

// halfPanels: the 8×32 tile runs panels of at most 16 columns on its 8×16 twin (runKernel).
func halfPanels() bool { return cur.id == idAVX512x8 }

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
		if t.cols <= 16 {
			sgemm8x16AVX512(t.k, a, b, t.ldb, c, t.ldc, bias, z, t.flags, t.rows, t.cols, t.lo, t.hi)
			return
		}
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
