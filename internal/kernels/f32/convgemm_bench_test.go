package f32

import (
	"fmt"
	"testing"

	"github.com/wanwu-ai/wanwu/tensor"
)

// resnetGEMMs are ResNet-50's convolutions at 224×224 as GEMMs: M = output channels, N = output
// pixels, K = input channels × kernel taps (the stem and one of each distinct 1×1 and 3×3 layer).
var resnetGEMMs = []struct {
	name    string
	m, n, k int
}{
	{"stem7x7_64@112", 64, 12544, 147},
	{"1x1_64-256@56", 256, 3136, 64},
	{"1x1_256-64@56", 64, 3136, 256},
	{"3x3_64@56", 64, 3136, 576},
	{"1x1_256-128@56", 128, 3136, 256},
	{"3x3_128@28", 128, 784, 1152},
	{"1x1_128-512@28", 512, 784, 128},
	{"1x1_512-128@28", 128, 784, 512},
	{"3x3_256@14", 256, 196, 2304},
	{"1x1_256-1024@14", 1024, 196, 256},
	{"1x1_1024-256@14", 256, 196, 1024},
	{"3x3_512@7", 512, 49, 4608},
	{"1x1_512-2048@7", 2048, 49, 512},
	{"1x1_2048-512@7", 512, 49, 2048},
}

// BenchmarkConvGEMM times the GEMM of a convolution as ops.Conv runs it on one thread: A (the
// weights) packed once, B (K×N, the input of a 1×1 convolution) walked in tiles of at most 256
// columns, each either packed KC rows at a time (PackB) or read in place (MulDirect), with the
// bias epilogue; f16=true keeps A in halves (PackA16), widened block by block as MulPacked16 and
// MulDirect16 do for fp16 weights.
func BenchmarkConvGEMM(b *testing.B) {
	for _, s := range resnetGEMMs {
		for _, im := range Impls() {
			for _, direct := range []bool{false, true} {
				for _, half := range []bool{false, true} {
					if !im.Available || (direct && !im.full) {
						continue
					}
					b.Run(fmt.Sprintf("%s/%s/direct=%v/f16=%v", s.name, im.Name, direct, half), func(b *testing.B) {
						defer Use(im)()
						benchConvGEMM(b, s.m, s.n, s.k, direct, half)
					})
				}
			}
		}
	}
}

func benchConvGEMM(b *testing.B, m, n, k int, direct, half bool) {
	a := make([]float32, m*k)
	x := make([]float32, k*n)
	for i := range a {
		a[i] = float32(i%7) * 0.01
	}
	for i := range x {
		x[i] = float32(i%5) * 0.1
	}
	bias := make([]float32, m)
	pa := PackA(make([]float32, PackedALen(m, k)), false, m, k, 1, a, k)
	a16 := make([]uint16, m*k)
	for i, v := range a {
		a16[i] = tensor.F32ToF16(v)
	}
	pa16 := PackA16(make([]uint16, PackedALen(m, k)), m, k, a16, k)
	wide := make([]float32, Widen16Len())
	c := make([]float32, m*n)
	const tile = 256
	work := make([]float32, PackedBLen(KC, tile))
	timeBest(b, 2*float64(m*n*k), func() {
		for j0 := 0; j0 < n; j0 += tile {
			nc := min(tile, n-j0)
			for pc := 0; pc < k; pc += KC {
				kc := min(KC, k-pc)
				ep := Epilogue{Acc: pc > 0}
				if pc == 0 {
					ep.Bias = bias
				}
				switch {
				case direct && half:
					MulDirect16(&pa16, 0, m, pc, kc, x[pc*n+j0:], n, nc, c[j0:], n, ep, wide)
				case direct:
					MulDirect(&pa, 0, m, pc, kc, x[pc*n+j0:], n, nc, c[j0:], n, ep)
				case half:
					PackB(work, false, kc, nc, x[pc*n+j0:], n)
					MulPacked16(&pa16, 0, m, pc, kc, work, nc, c[j0:], n, ep, wide)
				default:
					PackB(work, false, kc, nc, x[pc*n+j0:], n)
					MulPacked(&pa, 0, m, pc, kc, work, nc, c[j0:], n, ep)
				}
			}
		}
	})
}
