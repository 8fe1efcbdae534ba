package f32

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/ops/ref"
)

// TestWinoDirectMatchesReference runs WinoDirect against ref.Conv: even and odd planes (a last tile
// half outside the plane in either direction), pads 0 to 2, one-tile and one-pixel planes, rows of
// tiles on both sides of a 16-tile group, channel counts on both sides of a pass, block widths 16 to
// 64 and a narrower last block, several calls over bands (and over 64-channel blocks at two
// threads), bias, a residual added before the clamp, half-precision U (WinoDirect16, against the
// reference on the rounded weights, within what rounding U to halves costs), with guards around
// every buffer.
func TestWinoDirectMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	cases := []struct{ c, h, w, p, m int }{
		{64, 56, 56, 1, 64}, {3, 9, 7, 1, 16}, {16, 5, 5, 1, 32}, {17, 13, 11, 1, 48}, {40, 7, 7, 1, 80},
		{33, 14, 14, 1, 64}, {20, 4, 56, 1, 16}, {5, 1, 1, 1, 16}, {8, 6, 13, 0, 128}, {7, 9, 9, 2, 16},
		{130, 28, 28, 1, 128}, {70, 29, 30, 1, 32}, {40, 7, 7, 1, 320}, {256, 14, 14, 1, 256}, {9, 3, 3, 0, 16},
		{6, 2, 67, 1, 16}, {65, 33, 2, 1, 272},
	}
	for _, c := range cases {
		g := withOut(ConvGeom{C: c.c, H: c.h, W: c.w, KH: 3, KW: 3, SH: 1, SW: 1, PT: c.p, PL: c.p, DH: 1, DW: 1})
		if !WinoDirectSupported(&g, c.m) {
			if dwPlaneRung() {
				t.Fatalf("%+v m%d: not supported on the AVX-512 rung", g, c.m)
			}
			continue
		}
		for _, threads := range []int{1, 2, 3, 4} {
			clamp := threads != 2
			half := threads == 4
			t.Run(fmt.Sprintf("c%d_%dx%d_p%d_m%d_t%d_half%v", c.c, c.h, c.w, c.p, c.m, threads, half), func(t *testing.T) {
				x := randSlice(r, g.C*g.H*g.W)
				w := randSlice(r, c.m*g.K())
				var w16 []uint16
				if half {
					w16 = toHalves(w) // the reference sees the rounded weights
				}
				var bias []float32
				if threads != 3 {
					bias = randSlice(r, c.m)
				}
				want, _ := ref.Conv(x, [4]int{1, g.C, g.H, g.W}, w, [4]int{c.m, g.C, 3, 3}, bias,
					ref.Conv2D{Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: [4]int{g.PT, g.PL, g.PT, g.PL}})
				xg := append(guarded(r, len(x))[:0], x...)
				up := guarded(r, WinoDirectPackedLen(c.m, g.C))
				PackWinoDirect(up, w, c.m, g.C)
				checkGuard(t, "packed U", up)
				var up16 []uint16
				if half {
					up16 = guarded16(r, WinoDirectPackedLen(c.m, g.C))
					PackWinoDirect16(up16, w16, c.m, g.C)
					checkGuard16(t, "packed U16", up16)
				}
				y := guarded(r, c.m*g.OH*g.OW)
				var z []float32 // a residual Add on some runs: added before the clamp
				if threads == 3 {
					z = guarded(r, c.m*g.OH*g.OW)[:c.m*g.OH*g.OW]
				}
				scratch := guarded(r, WinoDirectScratchLen(&g, c.m, threads))
				bands, rows := WinoDirectBands(&g, c.m, threads)
				if rows%2 != 0 || bands*rows < g.OH || (bands-1)*rows >= g.OH {
					t.Fatalf("bands %d of %d rows for %d rows", bands, rows, g.OH)
				}
				step := ConvDirectBlock // calls of one block, and of several sharing their V
				if threads != 2 {
					step = ConvDirectMaxChannels
				}
				for o0 := 0; o0 < c.m; o0 += step {
					for b := 0; b < bands; b++ {
						if half {
							WinoDirect16(&g, xg, up16, y, z, bias, o0, min(step, c.m-o0), b*rows, min(g.OH, (b+1)*rows), clamp, 0, 0.5, scratch)
							continue
						}
						WinoDirect(&g, xg, up, y, z, bias, o0, min(step, c.m-o0), b*rows, min(g.OH, (b+1)*rows), clamp, 0, 0.5, scratch)
					}
				}
				checkGuard(t, "Y", y)
				checkGuard(t, "scratch", scratch)
				// Rounding U to halves (relative 2⁻¹¹) errs like rounding the weights once more, over the
				// 16 products of each of the C·3·3 terms: measured 1e-4 to 3e-4 of the layer's scale.
				tol, scale := 1e-4, 0.0
				if half {
					tol = 5e-4
					for _, v := range want {
						scale = max(scale, math.Abs(float64(v)))
					}
				}
				for i := range want {
					if z != nil {
						want[i] += z[i]
					}
					if clamp {
						want[i] = min(max(want[i], 0), 0.5)
					}
					if d := float64(y[i] - want[i]); math.Abs(d) > tol*(1+math.Abs(float64(want[i]))+scale) {
						t.Fatalf("element %d (channel %d, pixel %d) = %v, want %v", i, i/(g.OH*g.OW), i%(g.OH*g.OW), y[i], want[i])
					}
				}
			})
		}
	}
}

// BenchmarkWinoDirect times WinoDirect over ResNet-50's stride-1 3×3 shapes on one thread (padding,
// both transforms and the transposition included; GFLOP/s of the direct convolution it replaces, so
// %peak above 100 is the multiply-adds Winograd saves).
func BenchmarkWinoDirect(b *testing.B) {
	for _, c := range []struct{ c, h, m int }{{64, 56, 64}, {128, 28, 128}, {256, 14, 256}, {512, 7, 512}, {64, 112, 64}} {
		g := withOut(ConvGeom{C: c.c, H: c.h, W: c.h, KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, DH: 1, DW: 1})
		if !WinoDirectSupported(&g, c.m) {
			b.Skip("no Winograd direct kernels here")
		}
		b.Run(fmt.Sprintf("c%d_%dx%d_m%d", c.c, c.h, c.h, c.m), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			x := randSlice(r, g.C*g.H*g.W)
			w := randSlice(r, c.m*g.K())
			bias := randSlice(r, c.m)
			up := make([]float32, WinoDirectPackedLen(c.m, g.C))
			PackWinoDirect(up, w, c.m, g.C)
			y := make([]float32, c.m*g.OH*g.OW)
			scratch := make([]float32, WinoDirectScratchLen(&g, c.m, 1))
			bands, rows := WinoDirectBands(&g, c.m, 1)
			timeBest(b, 2*float64(c.m*g.OH*g.OW*g.K()), func() {
				for o0 := 0; o0 < c.m; o0 += ConvDirectMaxChannels {
					for bd := 0; bd < bands; bd++ {
						WinoDirect(&g, x, up, y, nil, bias, o0, min(ConvDirectMaxChannels, c.m-o0), bd*rows, min(g.OH, (bd+1)*rows), true, 0, float32(math.Inf(1)), scratch)
					}
				}
			})
		})
	}
}
