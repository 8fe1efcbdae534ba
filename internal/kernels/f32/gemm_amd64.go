//go:build amd64 && gc && !purego

package f32

import (
	"unsafe"

	"github.com/wanwu-ai/wanwu/internal/cpu"
)

//go:generate sh -c "cd ../_asm && go run . -out ../f32/gemm_amd64.s"

// sgemm14x32AVX512 is the 14×32 AVX-512 micro-kernel: 28 zmm accumulators, two zmm B vectors and
// two broadcast A registers; 28 FMAs per 16 loads per k step.
//
//go:noescape
func sgemm14x32AVX512(k int, a, b, c *float32, ldc int, bias *float32, flags int, lo, hi float32)

// sgemm16x16AVX512 is a 16×16 AVX-512 tile (16 accumulators, one B vector, embedded-broadcast A):
// no row padding for channel counts that are multiples of 16 and finer column padding.
//
//go:noescape
func sgemm16x16AVX512(k int, a, b, c *float32, ldc int, bias *float32, flags int, lo, hi float32)

// sgemm6x16AVX2 is the 6×16 AVX2+FMA micro-kernel: 12 ymm accumulators of the 16 registers.
//
//go:noescape
func sgemm6x16AVX2(k int, a, b, c *float32, ldc int, bias *float32, flags int, lo, hi float32)

func archImpls() []*Impl {
	return []*Impl{
		{Name: "AVX512", MR: 14, NR: 32, Available: cpu.AVX512, id: idAVX512},
		{Name: "AVX512-16x16", MR: 16, NR: 16, Available: cpu.AVX512, id: idAVX512x16},
		{Name: "AVX2", MR: 6, NR: 16, Available: cpu.AVX2FMA, id: idAVX2},
	}
}

// runKernel calls micro-kernel id (see Impl).
func runKernel(id, k int, a, b, c []float32, ldc int, bias []float32, flags int, lo, hi float32) {
	switch id {
	case idAVX512:
		kernAVX512(k, a, b, c, ldc, bias, flags, lo, hi)
	case idAVX512x16:
		const mr, nr = 16, 16
		tileChecks(k, mr, nr, a, b, c, ldc, bias, flags)
		sgemm16x16AVX512(k, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, unsafe.SliceData(bias), flags, lo, hi)
	case idAVX2:
		kernAVX2(k, a, b, c, ldc, bias, flags, lo, hi)
	default:
		microKernel(k, a, b, c, ldc, bias, flags, lo, hi)
	}
}

// The wrappers bounds-check the whole tile once, so the assembly never runs past a slice.
func kernAVX512(k int, a, b, c []float32, ldc int, bias []float32, flags int, lo, hi float32) {
	const mr, nr = 14, 32
	tileChecks(k, mr, nr, a, b, c, ldc, bias, flags)
	sgemm14x32AVX512(k, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, unsafe.SliceData(bias), flags, lo, hi)
}

func kernAVX2(k int, a, b, c []float32, ldc int, bias []float32, flags int, lo, hi float32) {
	const mr, nr = 6, 16
	tileChecks(k, mr, nr, a, b, c, ldc, bias, flags)
	sgemm6x16AVX2(k, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, unsafe.SliceData(bias), flags, lo, hi)
}

func tileChecks(k, mr, nr int, a, b, c []float32, ldc int, bias []float32, flags int) {
	if len(a) < k*mr || len(b) < k*nr || ldc < nr || len(c) < (mr-1)*ldc+nr || (flags&flagBias != 0 && len(bias) < mr) {
		panic("f32: micro-kernel operand too short")
	}
}
