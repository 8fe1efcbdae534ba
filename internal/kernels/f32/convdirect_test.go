package f32

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/ops/ref"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestConvDirectMatchesReference runs ConvDirect over every generated window/stride, every block
// width (16..64 channels, and a last block narrower than the others), pixel runs of every length
// (plane widths 1..13 and 56) and channel counts on both sides of a 16-channel pass, in bands, and
// compares with ref.Conv: bias, a residual added before the ReLU-style clamp, half-precision weights
// (ConvDirect16, against the reference on the rounded weights), the padded strips, and the
// transposition into NCHW, with guards around every buffer.
func TestConvDirectMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	type tc struct {
		c, h, w, k, s, p, m int
	}
	cases := []tc{
		{3, 9, 7, 3, 1, 1, 16}, {16, 5, 5, 3, 1, 1, 32}, {17, 13, 11, 3, 1, 1, 48}, {40, 7, 7, 3, 1, 1, 80},
		{33, 14, 14, 3, 1, 1, 64}, {20, 4, 56, 3, 1, 1, 16}, {5, 1, 1, 3, 1, 1, 16}, {8, 6, 13, 3, 1, 0, 128},
		{3, 17, 19, 3, 2, 1, 32}, {24, 14, 14, 3, 2, 1, 64}, {9, 8, 8, 3, 2, 1, 144}, {50, 15, 15, 3, 2, 0, 16},
		{4, 8, 8, 3, 2, 0, 16}, {2, 40, 3, 3, 2, 3, 32}, {7, 9, 9, 3, 1, 4, 16},
		{40, 9, 9, 3, 1, 0, 80}, {300, 5, 9, 3, 2, 0, 64}, {20, 56, 56, 3, 1, 1, 64}, {8, 57, 57, 3, 2, 1, 16},
		{70, 29, 30, 3, 1, 1, 32}, {40, 7, 7, 3, 1, 1, 320}, {20, 9, 9, 3, 2, 1, 272},
		{3, 30, 29, 7, 2, 3, 64}, {5, 16, 17, 7, 2, 0, 16}, {2, 9, 70, 7, 2, 3, 48},
		{40, 7, 7, 1, 1, 0, 64}, {300, 1, 49, 1, 1, 0, 80}, {17, 1, 196, 1, 1, 0, 272}, {70, 3, 60, 3, 1, 1, 32},
	}
	for _, c := range cases {
		g := withOut(ConvGeom{C: c.c, H: c.h, W: c.w, KH: c.k, KW: c.k, SH: c.s, SW: c.s, PT: c.p, PL: c.p, DH: 1, DW: 1})
		if !ConvDirectSupported(&g, c.m) {
			if dwPlaneRung() {
				t.Fatalf("%+v m%d: not supported on the AVX-512 rung", g, c.m)
			}
			continue
		}
		for _, clamp := range []bool{false, true} {
			for _, threads := range []int{1, 2, 5} {
				t.Run(fmt.Sprintf("c%d_%dx%d_k%ds%dp%d_m%d_clamp%v_t%d", c.c, c.h, c.w, c.k, c.s, c.p, c.m, clamp, threads), func(t *testing.T) {
					x := randSlice(r, g.C*g.H*g.W)
					w := randSlice(r, c.m*g.K())
					half := threads == 1 && clamp // half-precision weights on some runs (ConvDirect16)
					var w16 []uint16
					if half {
						w16 = toHalves(w) // the reference sees the rounded weights
					}
					var bias []float32
					if clamp {
						bias = randSlice(r, c.m)
					}
					want, _ := ref.Conv(x, [4]int{1, g.C, g.H, g.W}, w, [4]int{c.m, g.C, g.KH, g.KW}, bias,
						ref.Conv2D{Strides: [2]int{g.SH, g.SW}, Dilations: [2]int{1, 1}, Pads: [4]int{g.PT, g.PL, g.PT, g.PL}})
					xg := append(guarded(r, len(x))[:0], x...)
					wp := guarded(r, ConvDirectPackedLen(c.m, &g))
					PackConvDirect(wp, w, c.m, &g)
					checkGuard(t, "packed W", wp)
					y := guarded(r, c.m*g.OH*g.OW)
					var z []float32 // a residual Add on some runs: added before the clamp
					if threads == 5 {
						z = guarded(r, c.m*g.OH*g.OW)[:c.m*g.OH*g.OW]
					}
					scratch := guarded(r, ConvDirectScratchLen(&g, c.m, threads))
					var wp16 []uint16
					if half {
						wp16 = guarded16(r, ConvDirectPackedLen(c.m, &g))
						PackConvDirect16(wp16, w16, c.m, &g)
						checkGuard16(t, "packed W16", wp16)
					}
					bands, rows := ConvDirectBands(&g, c.m, threads)
					step := ConvDirectBlock // calls of one block, and of several sharing their strips
					if threads != 2 {
						step = ConvDirectMaxChannels
					}
					for o0 := 0; o0 < c.m; o0 += step {
						for b := 0; b < bands; b++ {
							if half {
								ConvDirect16(&g, xg, wp16, y, z, bias, o0, min(step, c.m-o0), b*rows, min(g.OH, (b+1)*rows), clamp, 0, 0.5, scratch)
								continue
							}
							ConvDirect(&g, xg, wp, y, z, bias, o0, min(step, c.m-o0), b*rows, min(g.OH, (b+1)*rows), clamp, 0, 0.5, scratch)
						}
					}
					checkGuard(t, "Y", y)
					checkGuard(t, "scratch", scratch)
					for i := range want {
						if z != nil {
							want[i] += z[i]
						}
						if clamp {
							want[i] = min(max(want[i], 0), 0.5)
						}
						if d := float64(y[i] - want[i]); math.Abs(d) > 1e-4*(1+math.Abs(float64(want[i]))) {
							t.Fatalf("element %d = %v, want %v", i, y[i], want[i])
						}
					}
				})
			}
		}
	}
}

// toHalves rounds w to half precision in place and returns the halves.
func toHalves(w []float32) []uint16 {
	w16 := make([]uint16, len(w))
	for i, v := range w {
		w16[i] = tensor.F32ToF16(v)
		w[i] = tensor.F16ToF32(w16[i])
	}
	return w16
}

// BenchmarkConvDirect times ConvDirect over ResNet-50's 3×3 shapes and its 7×7 stem on one thread (padded strips and
// the transposition included; GFLOP/s of the direct convolution, %peak as timeBest).
func BenchmarkConvDirect(b *testing.B) {
	for _, c := range []struct{ c, h, k, s, p, m int }{
		{64, 56, 3, 1, 1, 64}, {128, 28, 3, 1, 1, 128}, {256, 14, 3, 1, 1, 256}, {512, 7, 3, 1, 1, 512}, {3, 224, 7, 2, 3, 64},
		{128, 56, 3, 2, 1, 128}, {256, 28, 3, 2, 1, 256}, {512, 14, 3, 2, 1, 512},
	} {
		g := withOut(ConvGeom{C: c.c, H: c.h, W: c.h, KH: c.k, KW: c.k, SH: c.s, SW: c.s, PT: c.p, PL: c.p, DH: 1, DW: 1})
		if !ConvDirectSupported(&g, c.m) {
			b.Skip("no direct kernels here")
		}
		b.Run(fmt.Sprintf("c%d_%dx%d_k%ds%d_m%d", c.c, c.h, c.h, c.k, c.s, c.m), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			x := randSlice(r, g.C*g.H*g.W)
			w := randSlice(r, c.m*g.K())
			bias := randSlice(r, c.m)
			wp := make([]float32, ConvDirectPackedLen(c.m, &g))
			PackConvDirect(wp, w, c.m, &g)
			y := make([]float32, c.m*g.OH*g.OW)
			scratch := make([]float32, ConvDirectScratchLen(&g, c.m, 1))
			bands, rows := ConvDirectBands(&g, c.m, 1)
			timeBest(b, 2*float64(c.m*g.OH*g.OW*g.K()), func() {
				for o0 := 0; o0 < c.m; o0 += ConvDirectMaxChannels {
					for bd := 0; bd < bands; bd++ {
						ConvDirect(&g, x, wp, y, nil, bias, o0, min(ConvDirectMaxChannels, c.m-o0), bd*rows, min(g.OH, (bd+1)*rows), true, 0, float32(math.Inf(1)), scratch)
					}
				}
			})
		})
	}
}

// TestConvDirectPool checks ConvDirectPool against the reference convolution followed by a 3×3
// stride-2 max pool padded by one (the window clipped to the plane): ResNet's 7×7 stem and 3×3
// layers, even and odd planes (a last pooled row or column whose window runs past the plane), one
// and two 64-channel blocks (the second narrower), pooled rows split into one to four calls (each
// later call recomputes the row above it), half-precision weights, guards around every buffer.
func TestConvDirectPool(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	cases := []struct{ c, h, w, k, s, p, m int }{
		{3, 30, 29, 7, 2, 3, 64}, {3, 224, 224, 7, 2, 3, 64}, {8, 13, 11, 3, 1, 1, 32}, {5, 9, 8, 3, 1, 1, 80},
		{4, 6, 130, 3, 1, 1, 16}, {6, 17, 17, 3, 2, 1, 48}, {2, 5, 5, 3, 1, 0, 16},
	}
	for _, c := range cases {
		g := withOut(ConvGeom{C: c.c, H: c.h, W: c.w, KH: c.k, KW: c.k, SH: c.s, SW: c.s, PT: c.p, PL: c.p, DH: 1, DW: 1})
		if !ConvDirectSupported(&g, c.m) {
			if dwPlaneRung() {
				t.Fatalf("%+v m%d: not supported on the AVX-512 rung", g, c.m)
			}
			continue
		}
		ph, pw := ConvDirectPoolDims(&g)
		for _, calls := range []int{1, 2, 4} {
			half := calls == 2
			t.Run(fmt.Sprintf("c%d_%dx%d_k%ds%dp%d_m%d_calls%d_half%v", c.c, c.h, c.w, c.k, c.s, c.p, c.m, calls, half), func(t *testing.T) {
				x := randSlice(r, g.C*g.H*g.W)
				w := randSlice(r, c.m*g.K())
				bias := randSlice(r, c.m)
				var w16 []uint16
				if half {
					w16 = toHalves(w)
				}
				conv, _ := ref.Conv(x, [4]int{1, g.C, g.H, g.W}, w, [4]int{c.m, g.C, g.KH, g.KW}, bias,
					ref.Conv2D{Strides: [2]int{g.SH, g.SW}, Dilations: [2]int{1, 1}, Pads: [4]int{g.PT, g.PL, g.PT, g.PL}})
				const lo, hi = -0.25, 0.5
				want := make([]float32, c.m*ph*pw)
				for o := 0; o < c.m; o++ {
					for qy := 0; qy < ph; qy++ {
						for qx := 0; qx < pw; qx++ {
							m := float32(math.Inf(-1))
							for iy := max(2*qy-1, 0); iy <= min(2*qy+1, g.OH-1); iy++ {
								for ix := max(2*qx-1, 0); ix <= min(2*qx+1, g.OW-1); ix++ {
									m = max(m, min(max(conv[(o*g.OH+iy)*g.OW+ix], lo), hi))
								}
							}
							want[(o*ph+qy)*pw+qx] = m
						}
					}
				}
				xg := append(guarded(r, len(x))[:0], x...)
				y := guarded(r, c.m*ph*pw)
				scratch := guarded(r, ConvDirectPoolScratchLen(&g))
				var wp []float32
				var wp16 []uint16
				if half {
					wp16 = guarded16(r, ConvDirectPackedLen(c.m, &g))
					PackConvDirect16(wp16, w16, c.m, &g)
				} else {
					wp = guarded(r, ConvDirectPackedLen(c.m, &g))
					PackConvDirect(wp, w, c.m, &g)
				}
				for i := 0; i < calls; i++ {
					py0, py1 := i*ph/calls, (i+1)*ph/calls
					if py0 == py1 {
						continue
					}
					if half {
						ConvDirectPool16(&g, xg, wp16, y, bias, 0, c.m, py0, py1, true, lo, hi, scratch)
					} else {
						ConvDirectPool(&g, xg, wp, y, bias, 0, c.m, py0, py1, true, lo, hi, scratch)
					}
				}
				checkGuard(t, "Y", y)
				checkGuard(t, "scratch", scratch)
				for i := range want {
					if d := float64(y[i] - want[i]); math.Abs(d) > 1e-4*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("element %d (channel %d, pooled row %d) = %v, want %v", i, i/(ph*pw), i%(ph*pw)/pw, y[i], want[i])
					}
				}
			})
		}
	}
}

// BenchmarkConvDirectPool times ConvDirectPool against ConvDirect followed by the max-pool plane
// kernel (the unfused Conv and MaxPool steps) on ResNet-50's stem, one thread, runs alternating in
// one process; it reports each one's fastest run and their ratio.
//
//	go test -run XXX -bench ConvDirectPool -benchtime 40x -cpu 1 ./internal/kernels/f32/
func BenchmarkConvDirectPool(b *testing.B) {
	g := withOut(ConvGeom{C: 3, H: 224, W: 224, KH: 7, KW: 7, SH: 2, SW: 2, PT: 3, PL: 3, DH: 1, DW: 1})
	const m = 64
	if !ConvDirectSupported(&g, m) {
		b.Skip("no direct kernels here")
	}
	r := rand.New(rand.NewPCG(1, 2))
	x := randSlice(r, g.C*g.H*g.W)
	w := randSlice(r, m*g.K())
	bias := randSlice(r, m)
	wp := make([]float32, ConvDirectPackedLen(m, &g))
	PackConvDirect(wp, w, m, &g)
	ph, pw := ConvDirectPoolDims(&g)
	conv := make([]float32, m*g.OH*g.OW)
	pooled := make([]float32, m*ph*pw)
	pg := withOut(ConvGeom{C: 1, H: g.OH, W: g.OW, KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, DH: 1, DW: 1})
	plan := NewDepthwisePlan(&pg)
	scratch := make([]float32, max(ConvDirectScratchLen(&g, m, 1), ConvDirectPoolScratchLen(&g)))
	bands, rows := ConvDirectBands(&g, m, 1)
	inf := float32(math.Inf(1))
	best := [2]time.Duration{time.Hour, time.Hour}
	for i := 0; i < max(b.N, 5); i++ {
		t0 := time.Now()
		for bd := 0; bd < bands; bd++ {
			ConvDirect(&g, x, wp, conv, nil, bias, 0, m, bd*rows, min(g.OH, (bd+1)*rows), true, 0, inf, scratch)
		}
		for c := 0; c < m; c++ {
			if !plan.MaxPlane(pooled[c*ph*pw:(c+1)*ph*pw], conv[c*g.OH*g.OW:(c+1)*g.OH*g.OW]) {
				b.Skip("no max-pool plane kernel here")
			}
		}
		best[0] = min(best[0], time.Since(t0))
		t0 = time.Now()
		ConvDirectPool(&g, x, wp, pooled, bias, 0, m, 0, ph, true, 0, inf, scratch)
		best[1] = min(best[1], time.Since(t0))
	}
	b.ReportMetric(float64(best[0].Microseconds()), "unfused-µs")
	b.ReportMetric(float64(best[1].Microseconds()), "fused-µs")
	b.ReportMetric(best[1].Seconds()/best[0].Seconds(), "fused/unfused")
}
