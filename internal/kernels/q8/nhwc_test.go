package q8

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestSegKernels checks CopySegs, MaxSegs and SumPixels under every implementation against plain
// loops: run lengths around the 64-byte vector (tails 0..63), strides shorter and longer than a run,
// guard bytes after the last run.
func TestSegKernels(t *testing.T) {
	eachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, l := range []int{4, 12, 60, 64, 68, 128, 196, 252, 1536} {
			for _, n := range []int{1, 2, 7} {
				lds, ldd := l+r.IntN(9), l+r.IntN(9)+4
				src := randU8(r, (n-1)*lds+l)
				dst := randU8(r, (n-1)*ldd+l+guard)
				want := append([]uint8(nil), dst...)
				for i := 0; i < n; i++ {
					copy(want[i*ldd:i*ldd+l], src[i*lds:])
				}
				got := append([]uint8(nil), dst...)
				CopySegs(got, ldd, src, lds, n, l)
				if !bytes.Equal(got, want) {
					t.Fatalf("CopySegs l=%d n=%d differs", l, n)
				}
				want = append(want[:0], dst...)
				for i := 0; i < n; i++ {
					for j := 0; j < l; j++ {
						want[i*ldd+j] = max(want[i*ldd+j], src[i*lds+j])
					}
				}
				got = append(got[:0], dst...)
				MaxSegs(got, ldd, src, lds, n, l)
				if !bytes.Equal(got, want) {
					t.Fatalf("MaxSegs l=%d n=%d differs", l, n)
				}
			}
		}
		for _, c := range []int{4, 12, 16, 20, 64, 1004, 2048} {
			for _, n := range []int{1, 3, 49} {
				x := randU8(r, n*c)
				if c == 2048 {
					for i := range x {
						x[i] = 255
					}
				}
				acc := make([]int32, c+guard)
				want := make([]int32, c+guard)
				for i := range acc {
					acc[i] = int32(i)
					want[i] = int32(i)
				}
				for p := 0; p < n; p++ {
					for j := 0; j < c; j++ {
						want[j] += int32(x[p*c+j])
					}
				}
				SumPixels(acc, x, n, c)
				for i := range acc {
					if acc[i] != want[i] {
						t.Fatalf("SumPixels c=%d n=%d: acc[%d] = %d, want %d", c, n, i, acc[i], want[i])
					}
				}
			}
		}
	})
}

// geoms are awkward windows: padding on every side, strides 1-3, dilation 2, kernels wider than the
// padded input's interior, 1×1 with stride, one-pixel planes.
var geoms = []Geom{
	{N: 1, H: 5, W: 7, C: 4, KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, DH: 1, DW: 1},
	{N: 2, H: 9, W: 8, C: 8, KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, DH: 1, DW: 1},
	{N: 1, H: 11, W: 13, C: 4, KH: 7, KW: 7, SH: 2, SW: 2, PT: 3, PL: 3, DH: 1, DW: 1},
	{N: 1, H: 6, W: 6, C: 12, KH: 3, KW: 2, SH: 1, SW: 3, PT: 2, PL: 0, DH: 2, DW: 2},
	{N: 2, H: 7, W: 7, C: 16, KH: 1, KW: 1, SH: 2, SW: 2},
	{N: 1, H: 1, W: 1, C: 4, KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, DH: 1, DW: 1},
	{N: 1, H: 4, W: 3, C: 68, KH: 5, KW: 5, SH: 1, SW: 1, PT: 2, PL: 2, DH: 1, DW: 1},
}

func fillOut(g *Geom, pb, pr int) {
	g.OH = (g.H+g.PT+pb-(g.KH-1)*g.DH-1)/g.SH + 1
	g.OW = (g.W+g.PL+pr-(g.KW-1)*g.DW-1)/g.SW + 1
}

// TestIm2colMaxPool checks Im2col (every row range, including ranges starting and ending inside an
// output row and crossing images) and MaxPool against their definitions, under every implementation.
func TestIm2colMaxPool(t *testing.T) {
	eachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for gi, g := range geoms {
			fillOut(&g, g.PT, g.PL)
			x := randU8(r, g.N*g.H*g.W*g.C)
			const zp = 77
			P := g.N * g.OH * g.OW
			K := g.K()
			ld := K + 8
			ref := make([]uint8, P*ld)
			for p := 0; p < P; p++ {
				n, oy, ox := p/(g.OH*g.OW), p/g.OW%g.OH, p%g.OW
				for ky := 0; ky < g.KH; ky++ {
					for kx := 0; kx < g.KW; kx++ {
						iy, ix := oy*g.SH-g.PT+ky*g.DH, ox*g.SW-g.PL+kx*g.DW
						for ch := 0; ch < g.C; ch++ {
							v := uint8(zp)
							if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
								v = x[((n*g.H+iy)*g.W+ix)*g.C+ch]
							}
							ref[p*ld+(ky*g.KW+kx)*g.C+ch] = v
						}
					}
				}
			}
			for _, rng := range [][2]int{{0, P}, {1, P - 1}, {g.OW - 1, min(P, 2*g.OW+1)}, {P / 2, P}} {
				p0, p1 := rng[0], rng[1]
				if p0 >= p1 {
					continue
				}
				got := make([]uint8, (p1-p0)*ld)
				for i := range got {
					got[i] = 0xee
				}
				Im2col(got, ld, x, &g, zp, p0, p1)
				for p := p0; p < p1; p++ {
					if !bytes.Equal(got[(p-p0)*ld:(p-p0)*ld+K], ref[p*ld:p*ld+K]) {
						t.Fatalf("geom %d rows [%d,%d): row %d differs\n got %v\nwant %v", gi, p0, p1, p, got[(p-p0)*ld:(p-p0)*ld+K], ref[p*ld:p*ld+K])
					}
					for _, v := range got[(p-p0)*ld+K : (p-p0+1)*ld] {
						if v != 0xee {
							t.Fatalf("geom %d: Im2col wrote past the row", gi)
						}
					}
				}
			}
			y := make([]uint8, P*g.C+guard)
			MaxPool(y, x, &g)
			for p := 0; p < P; p++ {
				for ch := 0; ch < g.C; ch++ {
					want, any := uint8(0), false
					for tap := 0; tap < g.KH*g.KW; tap++ {
						ky, kx := tap/g.KW, tap%g.KW
						n, oy, ox := p/(g.OH*g.OW), p/g.OW%g.OH, p%g.OW
						iy, ix := oy*g.SH-g.PT+ky*g.DH, ox*g.SW-g.PL+kx*g.DW
						if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
							want, any = max(want, x[((n*g.H+iy)*g.W+ix)*g.C+ch]), true
						}
					}
					if !any {
						want = 0
					}
					if y[p*g.C+ch] != want {
						t.Fatalf("geom %d: MaxPool pixel %d channel %d = %d, want %d", gi, p, ch, y[p*g.C+ch], want)
					}
				}
			}
			for _, v := range y[P*g.C:] {
				if v != 0 {
					t.Fatalf("geom %d: MaxPool wrote past y", gi)
				}
			}
		}
	})
}
