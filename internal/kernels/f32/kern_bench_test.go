package f32

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkMicroKernel times the selected-ISA micro-kernels alone on L1-resident panels: the ceiling
// the blocked GEMM can reach.
func BenchmarkMicroKernel(b *testing.B) {
	for _, im := range Impls() {
		if !im.Available {
			continue
		}
		for _, k := range []int{64, 256} {
			b.Run(fmt.Sprintf("%s/k%d", im.Name, k), func(b *testing.B) {
				a := make([]float32, k*im.MR)
				bb := make([]float32, k*im.NR)
				c := make([]float32, im.MR*im.NR)
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				cpu0 := threadCPU()
				for i := 0; i < b.N; i++ {
					runKernel(im.id, k, a, bb, c, im.NR, nil, flagAcc, 0, 0)
				}
				flop := 2 * float64(k*im.MR*im.NR) * float64(b.N)
				b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				if cpu := threadCPU() - cpu0; cpu > 0 {
					b.ReportMetric(flop/cpu.Seconds()/1e9, "GFLOP/cpu-s")
				}
			})
		}
	}
}
