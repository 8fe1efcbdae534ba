package f32

// Winograd F(4×4, 3×3) for stride-1, undilated 3×3 convolutions (Lavin & Gray, points 0, ±1, ±2).
// Each 4×4 output tile of each output channel is
//
//	Y = Aᵀ [ Σ_c (G g_c Gᵀ) ⊙ (Bᵀ d_c B) ] A
//
// where d_c is the 6×6 input patch of channel c under the tile and g_c the 3×3 filter. The 36
// element-wise products summed over c are 36 independent GEMMs U_ξ (cout×cin) · V_ξ (cin×tiles), run on
// the packed micro-kernels: 36 multiply-adds per 16 outputs per channel pair instead of 144.
//
// The layouts the three steps share:
//   - U (WinoPackWeights): 36·groups PackedA matrices, index g*36+ξ, each mg×C;
//   - V (WinoInput): per ξ, a PackB-layout block of kc rows (channels) × len(tiles) columns;
//   - M (the GEMM output, read by WinoOutput): per ξ, rows = output channels, columns = tiles.

// WinoTileOut is the output tile edge; WinoPoints the products per tile (6×6).
const (
	WinoTileOut = 4
	WinoPoints  = 36
)

// WinoTile locates one output tile: the image and the tile's top-left output position.
type WinoTile struct{ Img, OY, OX int32 }

// winoG is G of F(4×4, 3×3) (6×3).
var winoG = [6][3]float64{
	{1.0 / 4, 0, 0},
	{-1.0 / 6, -1.0 / 6, -1.0 / 6},
	{-1.0 / 6, 1.0 / 6, -1.0 / 6},
	{1.0 / 24, 1.0 / 12, 1.0 / 6},
	{1.0 / 24, -1.0 / 12, 1.0 / 6},
	{0, 0, 1},
}

// WinoPackedLen is the number of floats WinoPackWeights writes for cout×cin filters in groups.
func WinoPackedLen(cout, cin, groups int) int {
	return groups * WinoPoints * PackedALen(cout/groups, cin/groups)
}

// WinoPackWeights transforms w (cout × cin/groups × 3 × 3, ONNX order) into U_ξ = (G g Gᵀ)_ξ and packs
// each group's 36 matrices (cout/groups × cin/groups) for the current micro-kernel into dst
// (WinoPackedLen floats). The transform runs in float64; each U element is rounded once.
func WinoPackWeights(dst, w []float32, cout, cin, groups int) []PackedA {
	mg, cg := cout/groups, cin/groups
	plen := PackedALen(mg, cg)
	dst = dst[:groups*WinoPoints*plen]
	clear(dst)
	pas := make([]PackedA, groups*WinoPoints)
	for i := range pas {
		pas[i] = PackedA{M: mg, K: cg, MR: MR, Data: dst[i*plen : (i+1)*plen]}
	}
	mp := RoundUp(mg, MR)
	for co := 0; co < cout; co++ {
		gi, r := co/mg, co%mg
		for c := 0; c < cg; c++ {
			f := w[(co*cg+c)*9 : (co*cg+c)*9+9]
			// t = G·f (6×3), u = t·Gᵀ (6×6).
			var t [6][3]float64
			for i := 0; i < 6; i++ {
				for j := 0; j < 3; j++ {
					t[i][j] = winoG[i][0]*float64(f[j]) + winoG[i][1]*float64(f[3+j]) + winoG[i][2]*float64(f[6+j])
				}
			}
			pc := c / KC * KC
			kcl := min(KC, cg-pc)
			at := pc*mp + r/MR*MR*kcl + (c-pc)*MR + r%MR
			for i := 0; i < 6; i++ {
				for j := 0; j < 6; j++ {
					u := t[i][0]*winoG[j][0] + t[i][1]*winoG[j][1] + t[i][2]*winoG[j][2]
					pas[gi*WinoPoints+i*6+j].Data[at] = float32(u)
				}
			}
		}
	}
	return pas
}

// WinoInput writes Bᵀ d B for input channels [c0, c1) of the channel block [p0, p0+kc) of group
// channels at x[(img*cin + cbase + c)*H*W] (g: C, H, W, PT, PL of the convolution) and each tile into v:
// point ξ's block starts at v[ξ*ldv] and is the PackB layout of a kc × len(tiles) matrix (row c-p0,
// column = tile), NR-wide panels; the columns past len(tiles) up to the panel edge are zeroed.
func WinoInput(v []float32, ldv int, x []float32, g *ConvGeom, cin, cbase int, tiles []WinoTile, p0, kc, c0, c1 int) {
	nr := NR
	nt := len(tiles)
	ntp := RoundUp(nt, nr)
	hw := g.H * g.W
	var d [36]float32
	for c := c0; c < c1; c++ {
		p := c - p0
		for j, tl := range tiles {
			plane := x[(int(tl.Img)*cin+cbase+c)*hw : (int(tl.Img)*cin+cbase+c+1)*hw]
			iy0, ix0 := int(tl.OY)-g.PT, int(tl.OX)-g.PL
			if iy0 >= 0 && ix0 >= 0 && iy0+6 <= g.H && ix0+6 <= g.W {
				for r := 0; r < 6; r++ {
					copy(d[r*6:r*6+6], plane[(iy0+r)*g.W+ix0:])
				}
			} else {
				for r := 0; r < 6; r++ {
					iy := iy0 + r
					for q := 0; q < 6; q++ {
						ix := ix0 + q
						if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
							d[r*6+q] = plane[iy*g.W+ix]
						} else {
							d[r*6+q] = 0
						}
					}
				}
			}
			winoIn(&d, v, (j/nr)*nr*kc+p*nr+j%nr, ldv)
		}
		for j := nt; j < ntp; j++ {
			off := (j/nr)*nr*kc + p*nr + j%nr
			for xi := 0; xi < WinoPoints; xi++ {
				v[off+xi*ldv] = 0
			}
		}
	}
}

// winoIn stores V = Bᵀ d B (6×6, row-major index ξ) at v[off+ξ*ldv].
func winoIn(d *[36]float32, v []float32, off, ldv int) {
	var t [36]float32
	// Bᵀ rows: (4,0,-5,0,1,0) (0,-4,-4,1,1,0) (0,4,-4,-1,1,0) (0,-2,-1,2,1,0) (0,2,-1,-2,1,0) (0,4,0,-5,0,1)
	for q := 0; q < 6; q++ {
		d0, d1, d2, d3, d4, d5 := d[q], d[6+q], d[12+q], d[18+q], d[24+q], d[30+q]
		a, b := d4-4*d2, d3-4*d1
		e, f := d4-d2, 2*(d3-d1)
		t[q] = 4*d0 - 5*d2 + d4
		t[6+q] = a + b
		t[12+q] = a - b
		t[18+q] = e + f
		t[24+q] = e - f
		t[30+q] = 4*d1 - 5*d3 + d5
	}
	_ = v[off+35*ldv]
	for r := 0; r < 6; r++ {
		row := (*[6]float32)(t[r*6:])
		d0, d1, d2, d3, d4, d5 := row[0], row[1], row[2], row[3], row[4], row[5]
		a, b := d4-4*d2, d3-4*d1
		e, f := d4-d2, 2*(d3-d1)
		o := off + r*6*ldv
		v[o] = 4*d0 - 5*d2 + d4
		v[o+ldv] = a + b
		v[o+2*ldv] = a - b
		v[o+3*ldv] = e + f
		v[o+4*ldv] = e - f
		v[o+5*ldv] = 4*d1 - 5*d3 + d5
	}
}

// WinoOutput computes, for output channels [co0, co1) (of cout per image) and each tile, Aᵀ m A from
// m (point ξ's matrix at m[ξ*ldm], row co, column = tile index, row stride ldr), adds bias[co] (nil:
// none), clamps to [lo, hi] when clamp is set, and stores the part of the 4×4 tile inside the OH×OW
// output plane y[(img*cout+co)*OH*OW].
func WinoOutput(y, m []float32, ldm, ldr int, g *ConvGeom, cout int, tiles []WinoTile, co0, co1 int,
	bias []float32, clamp bool, lo, hi float32) {
	ohw := g.OH * g.OW
	var mv [36]float32
	var o [16]float32
	for co := co0; co < co1; co++ {
		var bv float32
		if bias != nil {
			bv = bias[co]
		}
		for j, tl := range tiles {
			base := co*ldr + j
			_ = m[base+35*ldm]
			for xi := range mv {
				mv[xi] = m[base+xi*ldm]
			}
			winoOut(&mv, &o, bv)
			if clamp {
				for i, t := range o {
					o[i] = min(max(t, lo), hi)
				}
			}
			plane := y[(int(tl.Img)*cout+co)*ohw : (int(tl.Img)*cout+co+1)*ohw]
			oy, ox := int(tl.OY), int(tl.OX)
			rows, cols := min(4, g.OH-oy), min(4, g.OW-ox)
			for r := 0; r < rows; r++ {
				copy(plane[(oy+r)*g.OW+ox:(oy+r)*g.OW+ox+cols], o[r*4:r*4+cols])
			}
		}
	}
}

// winoOut sets o = Aᵀ m A + bias (4×4 from 6×6).
func winoOut(m *[36]float32, o *[16]float32, bias float32) {
	var t [24]float32
	// Aᵀ rows: (1,1,1,1,1,0) (0,1,-1,2,-2,0) (0,1,1,4,4,0) (0,1,-1,8,-8,1)
	for q := 0; q < 6; q++ {
		m0, m1, m2, m3, m4, m5 := m[q], m[6+q], m[12+q], m[18+q], m[24+q], m[30+q]
		s12, d12, s34, d34 := m1+m2, m1-m2, m3+m4, m3-m4
		t[q] = m0 + s12 + s34
		t[6+q] = d12 + 2*d34
		t[12+q] = s12 + 4*s34
		t[18+q] = d12 + 8*d34 + m5
	}
	for r := 0; r < 4; r++ {
		row := (*[6]float32)(t[r*6:])
		m0, m1, m2, m3, m4, m5 := row[0], row[1], row[2], row[3], row[4], row[5]
		s12, d12, s34, d34 := m1+m2, m1-m2, m3+m4, m3-m4
		oo := (*[4]float32)(o[r*4:])
		oo[0] = m0 + s12 + s34 + bias
		oo[1] = d12 + 2*d34 + bias
		oo[2] = s12 + 4*s34 + bias
		oo[3] = d12 + 8*d34 + m5 + bias
	}
}
