package f32

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/ops/ref"
)

var convGeoms = []ConvGeom{
	{C: 3, H: 9, W: 7, KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, DH: 1, DW: 1},
	{C: 5, H: 13, W: 11, KH: 3, KW: 2, SH: 2, SW: 3, PT: 0, PL: 2, DH: 2, DW: 1},
	{C: 1, H: 1, W: 17, KH: 1, KW: 5, SH: 1, SW: 2, PT: 0, PL: 3, DH: 1, DW: 2},
	{C: 7, H: 6, W: 6, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1},
	{C: 2, H: 17, W: 19, KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, DH: 1, DW: 1},
	{C: 1, H: 3, W: 3, KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, DH: 1, DW: 1},
	{C: 1, H: 12, W: 10, KH: 3, KW: 3, SH: 1, SW: 1, PT: 0, PL: 0, DH: 1, DW: 1},
	{C: 13, H: 8, W: 9, KH: 5, KW: 5, SH: 1, SW: 1, PT: 2, PL: 2, DH: 1, DW: 1},
}

// withOut fills OH/OW from the reference output-size rule (bottom/right pads equal top/left).
func withOut(g ConvGeom) ConvGeom {
	g.OH = ref.OutSize(g.H, g.KH, g.SH, g.DH, g.PT, g.PT, false)
	g.OW = ref.OutSize(g.W, g.KW, g.SW, g.DW, g.PL, g.PL, false)
	return g
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// TestIm2colGemmMatchesReference builds a convolution from PackIm2col + MulPacked over several
// column tilings (KC-row blocks where K > KC) and compares it with ref.Conv.
func TestIm2colGemmMatchesReference(t *testing.T) {
	forEachImpl(t, testIm2colGemm)
}

func testIm2colGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, g0 := range convGeoms {
		g := withOut(g0)
		for _, m := range []int{1, 3, 7, 13} {
			for _, tile := range []int{NR, 3 * NR, 1 << 20} {
				t.Run(fmt.Sprintf("%+v_m%d_tile%d", g, m, tile), func(t *testing.T) {
					x := randSlice(r, g.C*g.H*g.W)
					w := randSlice(r, m*g.K())
					bias := randSlice(r, m)
					want, _ := ref.Conv(x, [4]int{1, g.C, g.H, g.W}, w, [4]int{m, g.C, g.KH, g.KW}, bias,
						ref.Conv2D{Strides: [2]int{g.SH, g.SW}, Dilations: [2]int{g.DH, g.DW}, Pads: [4]int{g.PT, g.PL, g.PT, g.PL}})
					ohw := g.OH * g.OW
					pa := PackA(guarded(r, PackedALen(m, g.K())), false, m, g.K(), 1, w, g.K())
					c := guarded(r, m*ohw)
					for j0 := 0; j0 < ohw; j0 += tile {
						nc := min(tile, ohw-j0)
						for pc := 0; pc < g.K(); pc += KC {
							kcl := min(KC, g.K()-pc)
							bp := guarded(r, PackedBLen(kcl, nc))
							PackIm2col(bp, x, &g, pc, kcl, j0, nc)
							checkGuard(t, "packed B", bp)
							// Bias on the first k block, ReLU on the last, as convolution uses them.
							ep := Epilogue{Acc: pc > 0, Clamp: pc+kcl == g.K(), Lo: 0, Hi: float32(math.Inf(1))}
							if pc == 0 {
								ep.Bias = bias
							}
							MulPacked(&pa, 0, m, pc, kcl, bp, nc, c[j0:], ohw, ep)
						}
					}
					checkGuard(t, "C", c)
					for i := range want {
						want[i] = max(want[i], 0)
						if d := c[i] - want[i]; d > 1e-4 || d < -1e-4 {
							t.Fatalf("element %d = %v, want %v", i, c[i], want[i])
						}
					}
				})
			}
		}
	}
}

func TestDepthwiseMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, g0 := range convGeoms {
		g := withOut(g0)
		x := randSlice(r, g.H*g.W)
		w := randSlice(r, g.KH*g.KW)
		want, _ := ref.Conv(x, [4]int{1, 1, g.H, g.W}, w, [4]int{1, 1, g.KH, g.KW}, []float32{0.5},
			ref.Conv2D{Strides: [2]int{g.SH, g.SW}, Dilations: [2]int{g.DH, g.DW}, Pads: [4]int{g.PT, g.PL, g.PT, g.PL}})
		out := guarded(r, g.OH*g.OW)
		Depthwise(out, x, w, 0.5, &g)
		checkGuard(t, "out", out)
		for i := range want {
			if d := out[i] - want[i]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("%+v: element %d = %v, want %v", g, i, out[i], want[i])
			}
		}
	}
}

// TestIm2colTable checks the table-driven packer (the AVX-512 kernel on that rung, Go elsewhere)
// against PackIm2col's direct bounds tests on every test geometry plus ResNet-like ones, for column
// ranges that start mid-row, row blocks that start mid-channel, and NaN-poisoned padding around the
// input (a lane that read outside its plane would carry it into the packed block).
func TestIm2colTable(t *testing.T) { forEachImpl(t, testIm2colTable) }

func testIm2colTable(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	geoms := append([]ConvGeom{
		{C: 3, H: 23, W: 23, KH: 7, KW: 7, SH: 2, SW: 2, PT: 3, PL: 3, DH: 1, DW: 1},
		{C: 4, H: 14, W: 14, KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, DH: 1, DW: 1},
		{C: 6, H: 7, W: 7, KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, DH: 1, DW: 1},
		{C: 5, H: 12, W: 12, KH: 1, KW: 1, SH: 2, SW: 2, DH: 1, DW: 1},
		{C: 3, H: 9, W: 40, KH: 3, KW: 3, SH: 1, SW: 1, PT: 2, PL: 2, DH: 2, DW: 2},
		{C: 2, H: 5, W: 1, KH: 3, KW: 1, SH: 1, SW: 1, PT: 1, PL: 0, DH: 1, DW: 1},
		{C: 2, H: 11, W: 11, KH: 3, KW: 3, SH: 3, SW: 3, PT: 1, PL: 1, DH: 1, DW: 1},
		{C: 3, H: 10, W: 9, KH: 3, KW: 3, SH: 2, SW: 2, PT: 0, PL: 2, DH: 1, DW: 1},
		{C: 2, H: 9, W: 10, KH: 2, KW: 4, SH: 2, SW: 2, PT: 1, PL: 0, DH: 1, DW: 1},
	}, convGeoms...)
	var tab Im2col
	for _, g0 := range geoms {
		g := withOut(g0)
		ohw := g.OH * g.OW
		const pad = 64
		buf := make([]float32, g.C*g.H*g.W+2*pad)
		for i := range buf {
			buf[i] = float32(math.NaN())
		}
		x := buf[pad : pad+g.C*g.H*g.W]
		for i := range x {
			x[i] = r.Float32()*2 - 1
		}
		for _, cols := range [][2]int{{0, ohw}, {1, min(ohw-1, 37)}, {ohw / 3, ohw - ohw/3}, {max(ohw-5, 0), min(5, ohw)}} {
			j0, nc := cols[0], cols[1]
			if nc <= 0 {
				continue
			}
			tab.Init(&g, j0, nc)
			for _, rows := range [][2]int{{0, g.K()}, {1, g.K() - 1}, {g.K() / 2, g.K() - g.K()/2}} {
				p0, kc := rows[0], rows[1]
				if kc <= 0 {
					continue
				}
				want := make([]float32, PackedBLen(kc, nc))
				PackIm2col(want, x, &g, p0, kc, j0, nc)
				got := guarded(r, PackedBLen(kc, nc))
				tab.Pack(got, x, p0, kc)
				checkGuard(t, "packed", got)
				cmpPacked(t, fmt.Sprintf("%+v cols [%d,+%d) rows [%d,+%d)", g, j0, nc, p0, kc), got, want, kc)
				if g.SH != 2 || g.SW != 2 || g.DH != 1 || g.DW != 1 {
					continue
				}
				// The same columns from the input split into phases (NaN where an odd phase has no
				// element, so reading one shows).
				plen := Polyphase2Len(g.H, g.W, true)
				ph := guarded(r, g.C*plen)
				for i := range ph {
					ph[i] = float32(math.NaN())
				}
				for c := 0; c < g.C; c++ {
					Polyphase2(ph[c*plen:(c+1)*plen], x[c*g.H*g.W:(c+1)*g.H*g.W], g.H, g.W, true)
				}
				checkGuard(t, "phases", ph)
				var pt Im2col
				pt.InitPhases(&g, j0, nc)
				got = guarded(r, PackedBLen(kc, nc))
				pt.Pack(got, ph, p0, kc)
				checkGuard(t, "packed from phases", got)
				cmpPacked(t, fmt.Sprintf("phases %+v cols [%d,+%d) rows [%d,+%d)", g, j0, nc, p0, kc), got, want, kc)
			}
		}
	}
}

func cmpPacked(t *testing.T, name string, got, want []float32, kc int) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d (panel %d row %d lane %d) = %v, want %v", name, i, i/(NR*kc), i%(NR*kc)/NR, i%NR, got[i], want[i])
		}
	}
}
