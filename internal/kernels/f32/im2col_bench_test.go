package f32

import (
	"fmt"
	"testing"
)

// BenchmarkIm2col packs 256-column tiles of ResNet-50 layers' im2col matrices, KC rows at a time,
// with the table-driven packer (Im2col) and the bounds-testing one (PackIm2col).
func BenchmarkIm2col(b *testing.B) {
	for _, g0 := range []ConvGeom{
		{C: 64, H: 56, W: 56, KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, DH: 1, DW: 1},
		{C: 128, H: 56, W: 56, KH: 3, KW: 3, SH: 2, SW: 2, PT: 1, PL: 1, DH: 1, DW: 1},
		{C: 512, H: 7, W: 7, KH: 3, KW: 3, SH: 1, SW: 1, PT: 1, PL: 1, DH: 1, DW: 1},
		{C: 3, H: 224, W: 224, KH: 7, KW: 7, SH: 2, SW: 2, PT: 3, PL: 3, DH: 1, DW: 1},
	} {
		g := withOut(g0)
		for _, table := range []bool{true, false} {
			b.Run(fmt.Sprintf("%dx%d_s%d_c%d@%d/table=%v", g.KH, g.KW, g.SH, g.C, g.H, table), func(b *testing.B) {
				x := make([]float32, g.C*g.H*g.W)
				ohw := g.OH * g.OW
				const tile = 256
				work := make([]float32, PackedBLen(KC, tile))
				var t Im2col
				timeBest(b, float64(g.K()*ohw), func() {
					for j0 := 0; j0 < ohw; j0 += tile {
						nc := min(tile, ohw-j0)
						if table {
							t.Init(&g, j0, nc)
						}
						for pc := 0; pc < g.K(); pc += KC {
							kc := min(KC, g.K()-pc)
							if table {
								t.Pack(work, x, pc, kc)
							} else {
								PackIm2col(work, x, &g, pc, kc, j0, nc)
							}
						}
					}
				})
			})
		}
	}
}
