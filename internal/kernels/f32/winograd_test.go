package f32

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// winoMats returns Bᵀ and Aᵀ of F(m×m, 3×3) as float64 matrices (the naive reference for the
// transforms; G is checked end to end by the ops Conv tests).
func winoMats(m int) (bt, at [][]float64) {
	if m == 2 {
		return [][]float64{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}},
			[][]float64{{1, 1, 1, 0}, {0, 1, -1, -1}}
	}
	return [][]float64{{4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0}, {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}},
		[][]float64{{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}}
}

// TestWinoTransformsLadder checks WinoInput and WinoOutput (the AVX-512 16-lane kernels on the
// AVX-512 rungs, the Go loops elsewhere, and the Go tails) against Bᵀ d B and Aᵀ m A computed naively,
// on tile counts that hit whole 16-lane groups, tails and panel edges, with guard-padded operands.
func TestWinoTransformsLadder(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(41, 42))
		for _, m := range []int{2, 4} {
			tt := m + 2
			np := tt * tt
			bt, at := winoMats(m)
			for _, nt := range []int{1, 15, 16, 17, 33, 70} {
				t.Run(fmt.Sprintf("F%d_tiles%d", m, nt), func(t *testing.T) {
					const wp, kc, p = 37, 3, 1
					pad := guarded(r, wp*(tt+9))
					offs := make([]int32, nt)
					for j := range offs {
						offs[j] = int32(r.IntN(10)*wp + r.IntN(wp-tt+1))
					}
					ntp := RoundUp(nt, NR)
					ldv := kc*ntp + 5
					v := guarded(r, np*ldv)
					WinoInput(v, ldv, pad, wp, offs, m, kc, p)
					checkGuard(t, "v", v)
					for j, o := range offs {
						for i := 0; i < tt; i++ {
							for k := 0; k < tt; k++ {
								var want float64 // (Bᵀ d B)[i][k]
								for a := 0; a < tt; a++ {
									for b := 0; b < tt; b++ {
										want += bt[i][a] * float64(pad[int(o)+a*wp+b]) * bt[k][b]
									}
								}
								got := v[(i*tt+k)*ldv+(j/NR)*NR*kc+p*NR+j%NR]
								if math.Abs(float64(got)-want) > 1e-4*(1+math.Abs(want)) {
									t.Fatalf("V tile %d ξ (%d,%d) = %v, want %v", j, i, k, got, want)
								}
							}
						}
					}
					for j := nt; j < ntp; j++ {
						if got := v[(j/NR)*NR*kc+p*NR+j%NR]; got != 0 {
							t.Fatalf("padding column %d = %v, want 0", j, got)
						}
					}

					// Output: tiles of a 2-image, 3-channel OH×OW output, the last row/column of tiles
					// overhanging the plane when OH, OW are not multiples of m.
					g := ConvGeom{OH: 2*m + 1, OW: m*(nt/2+1) - 1}
					ty, tw := (g.OH+m-1)/m, (g.OW+m-1)/m
					var tiles []WinoTile
					for img := 0; img < 2 && len(tiles) < nt; img++ {
						for y := 0; y < ty && len(tiles) < nt; y++ {
							for x := 0; x < tw && len(tiles) < nt; x++ {
								tiles = append(tiles, WinoTile{Img: int32(img), OY: int32(m * y), OX: int32(m * x)})
							}
						}
					}
					const cout, co0, co1 = 3, 1, 3
					ldr := RoundUp(len(tiles), NR)
					ldm := cout*ldr + 3
					mm := guarded(r, np*ldm)
					y := guarded(r, 2*cout*g.OH*g.OW)
					for i := range y {
						y[i] = float32(math.NaN())
					}
					bias := []float32{0.5, -0.25, 0.125}
					WinoOutput(y, mm, ldm, ldr, &g, m, cout, tiles, co0, co1, bias, true, -3, 3)
					checkGuard(t, "y", y)
					written := make([]bool, len(y))
					for co := co0; co < co1; co++ {
						for j, tl := range tiles {
							for i := 0; i < m; i++ {
								for k := 0; k < m; k++ {
									oy, ox := int(tl.OY)+i, int(tl.OX)+k
									if oy >= g.OH || ox >= g.OW {
										continue
									}
									want := float64(bias[co]) // (Aᵀ M A)[i][k] + bias, clamped
									for a := 0; a < tt; a++ {
										for b := 0; b < tt; b++ {
											want += at[i][a] * float64(mm[(a*tt+b)*ldm+co*ldr+j]) * at[k][b]
										}
									}
									want = min(max(want, -3), 3)
									at := (int(tl.Img)*cout+co)*g.OH*g.OW + oy*g.OW + ox
									written[at] = true
									if got := y[at]; math.Abs(float64(got)-want) > 1e-4*(1+math.Abs(want)) {
										t.Fatalf("Y channel %d tile %d (%d,%d) = %v, want %v", co, j, i, k, got, want)
									}
								}
							}
						}
					}
					for i, w := range written {
						if !w && !math.IsNaN(float64(y[i])) {
							t.Fatalf("y[%d] written outside the requested channels/tiles", i)
						}
					}
				})
			}
		}
	})
}
