package f32

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/ops/ref"
)

// TestDepthwiseClampLadder checks the depthwise row kernels (AVX-512 3×3/5×5, stride 1/2, and the
// portable paths) against ref.Conv on widths that hit full 16-lane vectors, masked tails, the stride-2
// over-read fallback and pure-border planes, with fused clamps and guard-padded operands.
func TestDepthwiseClampLadder(t *testing.T) { forEachImpl(t, testDepthwiseClamp) }

func testDepthwiseClamp(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, k := range []int{3, 5, 2} {
		for _, s := range []int{1, 2} {
			for _, pad := range []int{0, k / 2} {
				for _, hw := range [][2]int{{k, k}, {7, 13}, {9, 24}, {5, 33}, {6, 47}, {4, 64}, {3 + k, 112}} {
					g := withOut(ConvGeom{C: 1, H: hw[0], W: hw[1], KH: k, KW: k, SH: s, SW: s, PT: pad, PL: pad, DH: 1, DW: 1})
					if g.OH <= 0 || g.OW <= 0 {
						continue
					}
					for _, cl := range []struct {
						on     bool
						lo, hi float32
					}{{false, 0, 0}, {true, 0, float32(math.Inf(1))}, {true, -0.25, 0.5}} {
						name := fmt.Sprintf("k%d_s%d_p%d_%dx%d_clamp%v", k, s, pad, hw[0], hw[1], cl)
						x := guarded(r, g.H*g.W)
						w := guarded(r, k*k)
						bias := r.Float32() - 0.5
						want, _ := ref.Conv(x, [4]int{1, 1, g.H, g.W}, w, [4]int{1, 1, k, k}, []float32{bias},
							ref.Conv2D{Strides: [2]int{s, s}, Dilations: [2]int{1, 1}, Pads: [4]int{pad, pad, pad, pad}})
						// DepthwiseClamp, DepthwisePadded (strips of padded rows), then the plane kernels
						// (DepthwisePlan; DepthwisePadded again on rungs without them).
						for variant := range 3 {
							padded := variant == 1
							out := guarded(r, g.OH*g.OW)
							if variant == 2 {
								buf := make([]float32, DepthwiseStripLen)
								NewDepthwisePlan(&g).Plane(out, x, w, bias, cl.on, cl.lo, cl.hi, buf)
							} else if padded {
								// A small buffer forces several strips; NaN-filled and guarded, so
								// padding must be written and strips must stay inside it.
								buf := guarded(r, 7*((g.OW-1)*s+k))
								for i := range buf {
									buf[i] = float32(math.NaN())
								}
								DepthwisePadded(out, x, w, bias, &g, cl.on, cl.lo, cl.hi, buf)
								checkGuard(t, name+" buf", buf)
							} else {
								DepthwiseClamp(out, x, w, bias, &g, cl.on, cl.lo, cl.hi)
							}
							checkGuard(t, name+" out", out)
							for i, v := range want {
								if cl.on {
									v = min(max(v, cl.lo), cl.hi)
								}
								if d := out[i] - v; !(d <= 1e-5 && d >= -1e-5) {
									t.Fatalf("%s variant %d: element %d (%d,%d) = %v, want %v", name, variant, i, i/g.OW, i%g.OW, out[i], v)
								}
							}
						}
					}
				}
			}
		}
	}
}

// The AVX512 rung must really take the assembly row kernels (else the ladder test proves nothing).
func TestDepthwiseAsmTaken(t *testing.T) {
	for _, im := range Impls() {
		if im.Name != "AVX512" || !im.Available {
			continue
		}
		defer Use(im)()
		in, out, w := make([]float32, 5*40), make([]float32, 17), make([]float32, 25)
		for _, ks := range [][2]int{{3, 1}, {3, 2}, {5, 1}, {5, 2}} {
			if !depthwiseRowAsm(out, in, w, ks[0], ks[1], 40, 0, false, 0, 0) {
				t.Fatalf("k%d s%d: assembly kernel not used", ks[0], ks[1])
			}
		}
		return
	}
	t.Skip("no AVX-512 implementation on this CPU/build")
}

// The AVX2 rung must take the AVX2 3×3 kernels.
func TestDepthwiseAVX2Taken(t *testing.T) {
	for _, im := range Impls() {
		if im.Name != "AVX2" || !im.Available {
			continue
		}
		defer Use(im)()
		in, out, w := make([]float32, 3*60), make([]float32, 17), make([]float32, 9)
		for _, s := range []int{1, 2} {
			if !depthwiseRowAsm(out, in, w, 3, s, 60, 0, false, 0, 0) {
				t.Fatalf("s%d: AVX2 kernel not used", s)
			}
		}
		return
	}
	t.Skip("no AVX2 implementation on this CPU/build")
}

// TestMaxPoolPlane checks the max-pool plane kernels (2×2 and 3×3, stride 1 and 2, padded or not)
// against a naive max over the in-plane taps, on widths with full vectors, masked tails and
// all-negative inputs (padding must never win as 0), with guarded operands.
// TestMaxPoolPlane checks the max-pool plane kernels against the definition (all-negative input, so a
// padding lane that leaked in as 0 would win), whole planes and two bands of rows; 3×3 stride 2 runs
// both the separable kernel and the per-tap one, with even and odd widths and one-sided pads.
func TestMaxPoolPlane(t *testing.T) {
	defer func(v bool) { maxPoolPerTap = v }(maxPoolPerTap)
	for _, perTap := range []bool{false, true} {
		maxPoolPerTap = perTap
		t.Run(fmt.Sprintf("perTap=%v", perTap), func(t *testing.T) { forEachImpl(t, testMaxPoolPlane) })
	}
}

func testMaxPoolPlane(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	ran := false
	for _, k := range []int{2, 3} {
		for _, s := range []int{1, 2} {
			for _, pads := range [][2]int{{0, 0}, {1, 1}, {1, 0}, {0, 1}} {
				for _, hw := range [][2]int{{k, k}, {7, 13}, {9, 24}, {5, 33}, {112, 112}, {113, 111}, {3, 47}, {2, 64}, {4, 65}} {
					g := withOut(ConvGeom{C: 1, H: hw[0], W: hw[1], KH: k, KW: k, SH: s, SW: s, PT: pads[0], PL: pads[1], DH: 1, DW: 1})
					pad := fmt.Sprint(pads)
					if g.OH <= 0 || g.OW <= 0 {
						continue
					}
					x := guarded(r, g.H*g.W)
					for i := range x {
						x[i] = -1 - x[i] // all negative
					}
					out := guarded(r, g.OH*g.OW)
					plan := NewMaxPoolPlan(&g)
					if k == 3 && s == 2 && plan.sep == nil {
						t.Fatalf("%dx%d p%s: no separable 3×3 stride-2 table", g.H, g.W, pad)
					}
					if !plan.MaxPlane(out, x) {
						continue
					}
					// And again in two bands of rows (as threads split a large plane).
					if half := g.OH / 2; half > 0 {
						rows := guarded(r, g.OH*g.OW)
						plan.MaxRows(rows[:half*g.OW], x, 0, half)
						plan.MaxRows(rows[half*g.OW:], x, half, g.OH)
						checkGuard(t, "rows", rows)
						for i := range rows {
							if rows[i] != out[i] {
								t.Fatalf("k%d s%d p%s %dx%d: MaxRows in two bands differs from MaxPlane at %d", k, s, pad, g.H, g.W, i)
							}
						}
					}
					ran = true
					checkGuard(t, "out", out)
					for oy := 0; oy < g.OH; oy++ {
						for ox := 0; ox < g.OW; ox++ {
							want := float32(math.Inf(-1))
							for ky := 0; ky < k; ky++ {
								for kx := 0; kx < k; kx++ {
									iy, ix := oy*s-pads[0]+ky, ox*s-pads[1]+kx
									if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
										want = max(want, x[iy*g.W+ix])
									}
								}
							}
							if got := out[oy*g.OW+ox]; got != want {
								t.Fatalf("k%d s%d p%s %dx%d: out[%d,%d] = %v, want %v", k, s, pad, g.H, g.W, oy, ox, got, want)
							}
						}
					}
				}
			}
		}
	}
	if !ran && (cur.id == idAVX512 || cur.id == idAVX512x8) {
		t.Fatal("no max-pool plane kernel ran on the AVX-512 rung")
	}
}

// TestDepthwiseTile checks the tiled depthwise kernel (16 channels on the lanes) against ref.Conv:
// 3×3 and 5×5 windows, strides 1 and 2, no padding, the usual and asymmetric pads, planes from 1×1 to
// 45×50 (one band of rows and many) and rows wider than a 16-pixel run, with and without bias and clamp, over a sub-range of the
// channels, with guards around every buffer.
func TestDepthwiseTile(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	g0 := withOut(ConvGeom{C: 1, H: 7, W: 7, KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, DH: 1, DW: 1})
	if NewDepthwiseTile(&g0) == nil {
		if dwPlaneRung() {
			t.Fatal("no tiled depthwise kernel on the AVX-512 rung")
		}
		t.Skip("no tiled depthwise kernel on this rung")
	}
	for _, k := range []int{3, 5} {
		for _, s := range []int{1, 2} {
			for _, pads := range [][2]int{{0, 0}, {k / 2, k / 2}, {2, 0}} {
				for _, hw := range [][2]int{{1, 1}, {k, k}, {7, 7}, {14, 14}, {5, 19}, {28, 28}, {3, 40}, {30, 61}, {45, 50}} {
					g := withOut(ConvGeom{C: 1, H: hw[0], W: hw[1], KH: k, KW: k, SH: s, SW: s, PT: pads[0], PL: pads[1], DH: 1, DW: 1})
					if g.OH <= 0 || g.OW <= 0 {
						continue
					}
					for _, cl := range []struct {
						on     bool
						lo, hi float32
						bias   bool
					}{{false, 0, 0, false}, {true, 0, 6, true}, {true, -0.25, 0.5, false}} {
						t.Run(fmt.Sprintf("k%d_s%d_p%v_%dx%d_%v", k, s, pads, hw[0], hw[1], cl), func(t *testing.T) {
							const c = 48
							d := NewDepthwiseTile(&g)
							x := guarded(r, c*g.H*g.W)
							w := randSlice(r, c*k*k)
							var bias []float32
							if cl.bias {
								bias = randSlice(r, c)
							}
							wp := guarded(r, c*k*k)
							PackDepthwiseTile(wp, w, c, k*k)
							y := guarded(r, c*g.OH*g.OW)
							before := append([]float32(nil), y...)
							scratch := guarded(r, d.ScratchLen())
							for i := range scratch {
								scratch[i] = float32(math.NaN()) // the padding must be cleared, not assumed
							}
							// Rows in two calls, as two threads split a large plane.
							d.Run(y, x, wp, bias, 16, c, 0, g.OH/2, cl.on, cl.lo, cl.hi, scratch)
							d.Run(y, x, wp, bias, 16, c, g.OH/2, g.OH, cl.on, cl.lo, cl.hi, scratch)
							checkGuard(t, "Y", y)
							checkGuard(t, "packed W", wp)
							ohw := g.OH * g.OW
							for ch := 0; ch < c; ch++ {
								got := y[ch*ohw : (ch+1)*ohw]
								if ch < 16 {
									for i := range got {
										if got[i] != before[ch*ohw+i] {
											t.Fatalf("channel %d outside [16, 48) written", ch)
										}
									}
									continue
								}
								var b []float32
								if bias != nil {
									b = bias[ch : ch+1]
								}
								want, _ := ref.Conv(x[ch*g.H*g.W:(ch+1)*g.H*g.W], [4]int{1, 1, g.H, g.W}, w[ch*k*k:(ch+1)*k*k], [4]int{1, 1, k, k}, b,
									ref.Conv2D{Strides: [2]int{s, s}, Dilations: [2]int{1, 1}, Pads: [4]int{pads[0], pads[1], pads[0], pads[1]}})
								for i := range want {
									if cl.on {
										want[i] = min(max(want[i], cl.lo), cl.hi)
									}
									if d := float64(got[i] - want[i]); math.Abs(d) > 1e-5*(1+math.Abs(float64(want[i]))) {
										t.Fatalf("channel %d pixel %d = %v, want %v", ch, i, got[i], want[i])
									}
								}
							}
						})
					}
				}
			}
		}
	}
}

// BenchmarkDepthwiseTileBands times DepthwiseTile.Run on MobileNetV2's depthwise shapes with bands of
// 32, 64 and 128 KiB of input rows and one band per plane, alternating run by run, and reports each
// one's minimum (µs; one thread). It is what dwTileBandBytes is set from.
func BenchmarkDepthwiseTileBands(b *testing.B) {
	for _, cc := range []struct{ c, h, s int }{{144, 56, 1}, {144, 56, 2}, {192, 28, 1}, {192, 28, 2}, {576, 14, 1}} {
		g := withOut(ConvGeom{C: 1, H: cc.h, W: cc.h, KH: 3, KW: 3, SH: cc.s, SW: cc.s, PT: 1, PL: 1, DH: 1, DW: 1})
		if NewDepthwiseTile(&g) == nil {
			b.Skip("no tiled depthwise kernel here")
		}
		b.Run(fmt.Sprintf("c%d_%dx%d_s%d", cc.c, cc.h, cc.h, cc.s), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			x := randSlice(r, cc.c*g.H*g.W)
			w := make([]float32, cc.c*9)
			PackDepthwiseTile(w, randSlice(r, cc.c*9), cc.c, 9)
			bias := randSlice(r, cc.c)
			y := make([]float32, cc.c*g.OH*g.OW)
			var plans []*DepthwiseTile
			for _, kib := range []int{32, 64, 128, 1 << 20} {
				d := NewDepthwiseTile(&g)
				rows := (kib << 10) / (64 * d.ldt)
				d.bandRows = min(g.OH, max(1, (rows-g.KH)/g.SH+1))
				plans = append(plans, d)
			}
			best := make([]time.Duration, len(plans))
			scratch := make([][]float32, len(plans))
			for i, d := range plans {
				best[i] = time.Hour
				scratch[i] = make([]float32, d.ScratchLen())
			}
			for i := 0; i < max(b.N, 15); i++ {
				for j, d := range plans {
					t0 := time.Now()
					d.Run(y, x, w, bias, 0, cc.c, 0, g.OH, true, 0, 6, scratch[j])
					best[j] = min(best[j], time.Since(t0))
				}
			}
			for j, name := range []string{"32K", "64K", "128K", "plane"} {
				b.ReportMetric(float64(best[j].Nanoseconds())/1e3, name+"-µs")
			}
		})
	}
}
