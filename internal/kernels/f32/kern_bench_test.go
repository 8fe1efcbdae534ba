package f32

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// timeBest runs f b.N times on a locked OS thread and reports, besides the usual ns/op, the
// throughput of the fastest call (GFLOP/s), the throughput per CPU-second of all calls (GFLOP/cpu-s)
// and, where this build has the FMA loop, the fastest call's throughput as a percentage of the fastest
// FMA loop timed between the calls (%peak). On a machine shared with other work the fastest call is
// the figure least disturbed by time slicing, and the interleaved peak follows the clock, which moves
// with what the other core runs; compare with ../../shared/bench/cpu_peak.c run in the same session.
func timeBest(b *testing.B, flop float64, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f() // warm caches and page tables
	const peakPasses = 2048
	best, bestPeak := time.Duration(1<<63-1), time.Duration(1<<63-1)
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		c0 := threadCPU()
		t0 := time.Now()
		f()
		best = min(best, time.Since(t0))
		cpu += threadCPU() - c0
		t0 = time.Now()
		if fmaPeak(peakPasses) {
			bestPeak = min(bestPeak, time.Since(t0))
		}
	}
	b.StopTimer()
	b.ReportMetric(flop/best.Seconds()/1e9, "GFLOP/s")
	if cpu > 0 {
		b.ReportMetric(flop*float64(b.N)/cpu.Seconds()/1e9, "GFLOP/cpu-s")
	}
	if bestPeak < time.Hour {
		peak := peakPasses * FMALoopFlops / bestPeak.Seconds()
		b.ReportMetric(100*flop/best.Seconds()/peak, "%peak")
	}
}

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
				t := tileArgs{k: k, a: a, b: bb, ldb: im.NR, c: c, ldc: im.NR, flags: flagAcc, rows: im.MR, cols: im.NR}
				timeBest(b, 32*float64(k*im.MR*im.NR), func() {
					for range 16 {
						runKernel(im, &t)
					}
				})
			})
		}
	}
}

// BenchmarkFMAPeak is cpu_peak.c's FMA loop timed like the kernel benchmarks (fastest call of b.N):
// the single-core peak the GEMM figures are a fraction of.
func BenchmarkFMAPeak(b *testing.B) {
	const n = 4096
	if !fmaPeak(1) {
		b.Skip("no AVX-512 FMA loop in this build")
	}
	timeBest(b, n*FMALoopFlops, func() { fmaPeak(n) })
}
