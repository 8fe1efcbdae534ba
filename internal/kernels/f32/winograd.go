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

// WinoPoints is the most products per tile (6×6, F(4×4)); F(2×2, 3×3) has 16 (4×4). m, the output
// tile edge, selects the variant in every function below (4 or 2): F(4×4) cuts the multiply-adds 4×,
// F(2×2) 2.25× with far smaller rounding error (its transforms only add and halve).
const WinoPoints = 36

// WinoPointsOf is the number of element-wise products (GEMMs) of F(m×m, 3×3): (m+2)².
func WinoPointsOf(m int) int { return (m + 2) * (m + 2) }

// WinoTile locates one output tile: the image and the tile's top-left output position.
type WinoTile struct{ Img, OY, OX int32 }

// winoG2 is G of F(2×2, 3×3) (4×3).
var winoG2 = [4][3]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}

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
func WinoPackedLen(m, cout, cin, groups int) int {
	return groups * WinoPointsOf(m) * PackedALen(cout/groups, cin/groups)
}

// WinoPackWeights transforms w (cout × cin/groups × 3 × 3, ONNX order) into U_ξ = (G g Gᵀ)_ξ of
// F(m×m, 3×3) and packs each group's (m+2)² matrices (cout/groups × cin/groups) for the current
// micro-kernel into dst (WinoPackedLen floats), index group*(m+2)²+ξ, describing them in pas
// (groups*(m+2)² entries; returned). The transform runs in float64; each U element is rounded once.
// It allocates nothing, so a Conv whose W is computed at run time can pack into scratch.
func WinoPackWeights(pas []PackedA, dst, w []float32, m, cout, cin, groups int) []PackedA {
	t := m + 2
	np := t * t
	var G []([3]float64)
	switch m {
	case 4:
		G = winoG[:]
	case 2:
		G = winoG2[:]
	default:
		panic("f32: Winograd tile must be 2 or 4")
	}
	mg, cg := cout/groups, cin/groups
	plen := PackedALen(mg, cg)
	dst = dst[:groups*np*plen]
	clear(dst)
	pas = pas[:groups*np]
	for i := range pas {
		pas[i] = PackedA{M: mg, K: cg, MR: MR, Data: dst[i*plen : (i+1)*plen]}
	}
	mp := RoundUp(mg, MR)
	var tg [6][3]float64
	for co := 0; co < cout; co++ {
		gi, r := co/mg, co%mg
		for c := 0; c < cg; c++ {
			f := w[(co*cg+c)*9 : (co*cg+c)*9+9]
			// tg = G·f (t×3), u = tg·Gᵀ (t×t).
			for i := 0; i < t; i++ {
				for j := 0; j < 3; j++ {
					tg[i][j] = G[i][0]*float64(f[j]) + G[i][1]*float64(f[3+j]) + G[i][2]*float64(f[6+j])
				}
			}
			pc := c / KC * KC
			kcl := min(KC, cg-pc)
			at := pc*mp + r/MR*MR*kcl + (c-pc)*MR + r%MR
			for i := 0; i < t; i++ {
				for j := 0; j < t; j++ {
					u := tg[i][0]*G[j][0] + tg[i][1]*G[j][1] + tg[i][2]*G[j][2]
					pas[gi*np+i*t+j].Data[at] = float32(u)
				}
			}
		}
	}
	return pas
}

// WinoPad copies rows [r0, r0+rows) of the zero-padded input plane into dst (rows × wp floats): padded
// element (pr, pc) is plane[(pr-PT)*W + pc-PL], or 0 outside the H×W plane (g: H, W, PT, PL).
func WinoPad(dst, plane []float32, g *ConvGeom, r0, rows, wp int) {
	dst = dst[:rows*wp]
	plane = plane[:g.H*g.W]
	for r := 0; r < rows; r++ {
		row := dst[r*wp : (r+1)*wp]
		iy := r0 + r - g.PT
		if iy < 0 || iy >= g.H {
			clear(row)
			continue
		}
		lo := min(g.PL, wp)
		n := min(g.W, wp-lo)
		clear(row[:lo])
		copy(row[lo:lo+n], plane[iy*g.W:iy*g.W+n])
		clear(row[lo+n:])
	}
}

// WinoInput writes V = Bᵀ d B of F(m×m, 3×3) for one input channel, row p of a kc-row block, for each
// tile j whose (m+2)×(m+2) patch d starts at pad[offs[j]] (row stride wp; see WinoPad), into v: point
// ξ's block starts at
// v[ξ*ldv] and is the PackB layout of a kc × len(offs) matrix (column j = tile), NR-wide panels; the
// columns past len(offs) up to the panel edge are zeroed.
func WinoInput(v []float32, ldv int, pad []float32, wp int, offs []int32, m, kc, p int) {
	t := m + 2
	np := t * t
	nr := NR
	nt := len(offs)
	ntp := RoundUp(nt, nr)
	var d [36]float32
	j := 0
	if winoAsm() {
		var tmp [WinoPoints * 16]float32
		for ; j+16 <= nt; j += 16 {
			if j%nr+16 > nr {
				break // a 16-lane group must not straddle panels (NR is 16 or 32 on these kernels)
			}
			winoInVec(m, v, ldv, pad, wp, offs[j:j+16], (j/nr)*nr*kc+p*nr+j%nr, &tmp)
		}
	}
	for ; j < nt; j++ {
		o := int(offs[j])
		src := pad[o : o+(t-1)*wp+t]
		for r := 0; r < t; r++ {
			copy(d[r*t:r*t+t], src[r*wp:])
		}
		if m == 4 {
			winoIn(&d, v, (j/nr)*nr*kc+p*nr+j%nr, ldv)
		} else {
			winoIn2((*[16]float32)(d[:16]), v, (j/nr)*nr*kc+p*nr+j%nr, ldv)
		}
	}
	for j := nt; j < ntp; j++ {
		off := (j/nr)*nr*kc + p*nr + j%nr
		for xi := 0; xi < np; xi++ {
			v[off+xi*ldv] = 0
		}
	}
}

// winoIn2 stores V = Bᵀ d B of F(2×2) (4×4, row-major index ξ) at v[off+ξ*ldv].
func winoIn2(d *[16]float32, v []float32, off, ldv int) {
	var t [16]float32
	// Bᵀ rows: (1,0,-1,0) (0,1,1,0) (0,-1,1,0) (0,1,0,-1)
	for q := 0; q < 4; q++ {
		d0, d1, d2, d3 := d[q], d[4+q], d[8+q], d[12+q]
		t[q], t[4+q], t[8+q], t[12+q] = d0-d2, d1+d2, d2-d1, d1-d3
	}
	_ = v[off+15*ldv]
	for r := 0; r < 4; r++ {
		d0, d1, d2, d3 := t[r*4], t[r*4+1], t[r*4+2], t[r*4+3]
		o := off + r*4*ldv
		v[o] = d0 - d2
		v[o+ldv] = d1 + d2
		v[o+2*ldv] = d2 - d1
		v[o+3*ldv] = d1 - d3
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

// WinoOutput computes, for output channels [co0, co1) (of cout per image) and each tile, Aᵀ m A of
// F(tm×tm, 3×3) from m (point ξ's matrix at m[ξ*ldm], row co, column = tile index, row stride ldr),
// adds bias[co] (nil: none), clamps to [lo, hi] when clamp is set, and stores the part of the tm×tm
// tile inside the OH×OW output plane y[(img*cout+co)*OH*OW].
func WinoOutput(y, m []float32, ldm, ldr int, g *ConvGeom, tm, cout int, tiles []WinoTile, co0, co1 int,
	bias []float32, clamp bool, lo, hi float32) {
	np := WinoPointsOf(tm)
	ohw := g.OH * g.OW
	var mv [36]float32
	var o [16]float32
	for co := co0; co < co1; co++ {
		var bv float32
		if bias != nil {
			bv = bias[co]
		}
		j := 0
		if winoAsm() {
			var tmp [WinoPoints * 16]float32
			var ov [16 * 16]float32 // output (r, c) of lane t at ov[(r*4+c)*16+t]
			for ; j+16 <= len(tiles); j += 16 {
				winoOutVec(tm, &ov, m, co*ldr+j, ldm, bv, clamp, lo, hi, &tmp)
				for t, tl := range tiles[j : j+16] {
					plane := y[(int(tl.Img)*cout+co)*ohw : (int(tl.Img)*cout+co+1)*ohw]
					oy, ox := int(tl.OY), int(tl.OX)
					rows, cols := min(tm, g.OH-oy), min(tm, g.OW-ox)
					if tm == 2 && rows == 2 && cols == 2 {
						d := (*[2]float32)(plane[oy*g.OW+ox:])
						d[0], d[1] = ov[t], ov[16+t]
						d = (*[2]float32)(plane[(oy+1)*g.OW+ox:])
						d[0], d[1] = ov[32+t], ov[48+t]
						continue
					}
					if rows == 4 && cols == 4 {
						for r := 0; r < 4; r++ {
							d := (*[4]float32)(plane[(oy+r)*g.OW+ox:])
							d[0], d[1], d[2], d[3] = ov[(r*4)*16+t], ov[(r*4+1)*16+t], ov[(r*4+2)*16+t], ov[(r*4+3)*16+t]
						}
						continue
					}
					for r := 0; r < rows; r++ {
						for c := 0; c < cols; c++ {
							plane[(oy+r)*g.OW+ox+c] = ov[(r*tm+c)*16+t]
						}
					}
				}
			}
		}
		for ; j < len(tiles); j++ {
			tl := tiles[j]
			base := co*ldr + j
			_ = m[base+(np-1)*ldm]
			for xi := 0; xi < np; xi++ {
				mv[xi] = m[base+xi*ldm]
			}
			if tm == 4 {
				winoOut(&mv, &o, bv)
			} else {
				winoOut2((*[16]float32)(mv[:16]), (*[4]float32)(o[:4]), bv)
			}
			if clamp {
				for i, t := range o[:tm*tm] {
					o[i] = min(max(t, lo), hi)
				}
			}
			plane := y[(int(tl.Img)*cout+co)*ohw : (int(tl.Img)*cout+co+1)*ohw]
			oy, ox := int(tl.OY), int(tl.OX)
			rows, cols := min(tm, g.OH-oy), min(tm, g.OW-ox)
			for r := 0; r < rows; r++ {
				copy(plane[(oy+r)*g.OW+ox:(oy+r)*g.OW+ox+cols], o[r*tm:r*tm+cols])
			}
		}
	}
}

// winoOut2 sets o = Aᵀ m A + bias of F(2×2) (2×2 from 4×4).
func winoOut2(m *[16]float32, o *[4]float32, bias float32) {
	var t [8]float32
	// Aᵀ rows: (1,1,1,0) (0,1,-1,-1)
	for q := 0; q < 4; q++ {
		m0, m1, m2, m3 := m[q], m[4+q], m[8+q], m[12+q]
		t[q], t[4+q] = m0+m1+m2, m1-m2-m3
	}
	for r := 0; r < 2; r++ {
		m0, m1, m2, m3 := t[r*4], t[r*4+1], t[r*4+2], t[r*4+3]
		o[r*2] = m0 + m1 + m2 + bias
		o[r*2+1] = m1 - m2 - m3 + bias
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

// WinoVector reports whether the Winograd transforms run as vector kernels under the selected
// micro-kernel (the AVX-512 rungs); elsewhere they are scalar Go loops.
func WinoVector() bool { return winoAsm() }
