package q8

import (
	"math"
	"math/rand/v2"
	"testing"
)

// randRQ returns a requantization like TFLite's (a real multiplier in (2^-20, 2^3)), sometimes at
// the edges of the representable shifts and multipliers.
func randRQ(r *rand.Rand) RQ {
	var rq Requant
	switch r.IntN(6) {
	case 0:
		rq = Requant{Mult: math.MaxInt32, Shift: -31}
	case 1:
		rq = Requant{Mult: 1 << 30, Shift: 3}
	default:
		rq = NewRequant(math.Exp2(r.Float64()*23 - 20))
	}
	return NewRQ(rq, int32(r.IntN(1<<20)-1<<19))
}

func randOut(r *rand.Rand) RQOut {
	if r.IntN(2) == 0 { // i8 output
		return RQOut{ZP: int32(r.IntN(256) - 128), Lo: -128, Hi: int32(r.IntN(128))}
	}
	return RQOut{ZP: int32(r.IntN(256)), Lo: int32(r.IntN(20)), Hi: 255 - int32(r.IntN(20))}
}

func guardedU8(n int) ([]byte, []byte) {
	b := make([]byte, n+guard)
	for i := range b[n:] {
		b[n+i] = 0xa5
	}
	return b[:n], b
}

func checkGuardU8(t *testing.T, full []byte, n int) {
	t.Helper()
	for i, v := range full[n:] {
		if v != 0xa5 {
			t.Fatalf("guard byte %d overwritten: %d", i, v)
		}
	}
}

// TestRQApplyMatchesRequant pins RQ to the reference arithmetic it unpacks.
func TestRQApplyMatchesRequant(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		p := randRQ(r)
		x := int32(r.Uint32())
		want := MultiplyByQuantizedMultiplier(x+p.Add, p.Mult, int(p.Left-p.Right))
		if got := p.Apply(x); got != want {
			t.Fatalf("Apply(%d) = %d, want %d (%+v)", x, got, want, p)
		}
	}
}

// TestTileRQ checks the fused GEMM tile + requantization against the naive product followed by the
// reference MultiplyByQuantizedMultiplier, for every row/column count, extreme operands and
// accumulators that exercise both rounding directions and the clamp; stores stay inside rows×cols.
func TestTileRQ(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	eachImpl(t, func(t *testing.T) {
		for it := 0; it < 300; it++ {
			k4 := 1 + r.IntN(40)
			rows, cols := 1+r.IntN(MR), 1+r.IntN(NR)
			if it%7 == 0 {
				rows, cols = MR, NR
			}
			a := randI8(r, k4*MR*4)
			b := randU8(r, k4*NR*4)
			if it%11 == 0 { // extremes: all products at the edge of the range
				for i := range a {
					a[i] = -128
				}
				for i := range b {
					b[i] = 255
				}
			}
			col := make([]int32, NR)
			for j := range col {
				col[j] = int32(r.IntN(1<<22) - 1<<21)
			}
			p := make([]RQ, MR)
			for i := range p {
				p[i] = randRQ(r)
			}
			o := randOut(r)
			ldy := cols + r.IntN(5)
			n := (rows-1)*ldy + cols
			y, full := guardedU8(n)
			for i := range y {
				y[i] = 0xa5
			}
			TileRQ(y, ldy, a, b, k4, col, p, &o, rows, cols)
			checkGuardU8(t, full, n)
			for i := 0; i < MR; i++ {
				for j := 0; j < ldy; j++ {
					at := i*ldy + j
					if at >= n {
						break
					}
					if i >= rows || j >= cols {
						if y[at] != 0xa5 {
							t.Fatalf("byte outside the tile written at row %d col %d", i, j)
						}
						continue
					}
					var acc int32
					for q := 0; q < k4; q++ {
						for s := 0; s < 4; s++ {
							acc += int32(a[(q*MR+i)*4+s]) * int32(b[(q*NR+j)*4+s])
						}
					}
					want := o.Byte(MultiplyByQuantizedMultiplier(acc+col[j]+p[i].Add, p[i].Mult, int(p[i].Left-p[i].Right)))
					if y[at] != want {
						t.Fatalf("it %d (%d×%d k4 %d): y[%d][%d] = %d, want %d (acc %d, %+v)", it, rows, cols, k4, i, j, y[at], want, acc, p[i])
					}
				}
			}
		}
	})
}

func TestColSums(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	eachImpl(t, func(t *testing.T) {
		for _, c := range []struct{ k4, nb int }{{1, 1}, {3, 2}, {17, 3}, {64, 1}} {
			b := randU8(r, c.k4*c.nb*NR*4)
			f := int32(r.IntN(256) - 128)
			s, full := guardedI32(c.nb * NR)
			ColSums(s, b, c.k4, c.nb, f)
			checkGuardI32(t, full, c.nb*NR)
			for blk := 0; blk < c.nb; blk++ {
				for j := 0; j < NR; j++ {
					var want int32
					for q := 0; q < c.k4; q++ {
						for u := 0; u < 4; u++ {
							want += int32(b[((blk*c.k4+q)*NR+j)*4+u])
						}
					}
					if got := s[blk*NR+j]; got != want*f {
						t.Fatalf("%+v: s[%d] = %d, want %d", c, blk*NR+j, got, want*f)
					}
				}
			}
		}
	})
}

func TestPackBPad(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct{ k, n, ld int }{{1, 1, 1}, {5, 3, 7}, {8, 33, 40}, {13, 70, 70}} {
		k4 := K4(c.k)
		src := randU8(r, (c.k-1)*c.ld+c.n)
		dst := make([]uint8, PackedBLen(c.k, c.n))
		PackBPad(dst, src, c.ld, c.k, k4, c.n)
		for j := 0; j < RoundUp(c.n, NR); j++ {
			for p := 0; p < 4*k4; p++ {
				var want uint8
				if p < c.k && j < c.n {
					want = src[p*c.ld+j]
				}
				if got := dst[((j/NR*k4+p/4)*NR+j%NR)*4+p%4]; got != want {
					t.Fatalf("%+v: (%d,%d) = %d, want %d", c, p, j, got, want)
				}
			}
		}
	}
}

// TestDW3x3RQ checks the depthwise kernel against the direct definition on odd widths (tails of
// 1..15 lanes), both strides, with and without the u8-weight term f, writing nothing past oh×ow.
func TestDW3x3RQ(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	if !DWAvailable() {
		t.Logf("vector depthwise unavailable (%s); checking the Go form only", Active())
	}
	eachImpl(t, func(t *testing.T) {
		// Also as on a VNNI CPU without VBMI (VPERMB): there the AVX2 depthwise kernel runs.
		defer func(v bool) { useVBMI = v }(useVBMI)
		for _, vbmi := range []bool{useVBMI, false} {
			useVBMI = vbmi
			checkDW3x3RQ(t, r)
		}
	})
}

func checkDW3x3RQ(t *testing.T, r *rand.Rand) {
	t.Helper()
	{
		for _, c := range []struct{ oh, ow, s int }{{1, 1, 1}, {3, 7, 1}, {2, 16, 1}, {5, 17, 2}, {4, 33, 2}, {1, 112, 1}, {2, 56, 2}, {7, 7, 1}, {3, 14, 1}, {3, 31, 2}, {2, 28, 2}} {
			for _, f := range []int32{0, int32(r.IntN(256) - 128)} {
				ld := (c.ow-1)*c.s + 3 + r.IntN(3)
				x := randU8(r, DWSrcLen(ld, c.oh, c.ow, c.s))
				var w [12]int8
				for i := range w {
					w[i] = int8(r.IntN(256) - 128)
				}
				p, o := randRQ(r), randOut(r)
				n := c.oh * c.ow
				y, full := guardedU8(n)
				DW3x3RQ(y, x, ld, c.oh, c.ow, c.s, &w, f, &p, &o)
				checkGuardU8(t, full, n)
				for oy := 0; oy < c.oh; oy++ {
					for ox := 0; ox < c.ow; ox++ {
						var acc int32
						for ky := 0; ky < 3; ky++ {
							for kx := 0; kx < 3; kx++ {
								acc += int32(x[(oy*c.s+ky)*ld+ox*c.s+kx]) * (int32(w[ky*4+kx]) + f)
							}
						}
						want := o.Byte(MultiplyByQuantizedMultiplier(acc+p.Add, p.Mult, int(p.Left-p.Right)))
						if got := y[oy*c.ow+ox]; got != want {
							t.Fatalf("%+v f %d vbmi %v: y[%d][%d] = %d, want %d", c, f, useVBMI, oy, ox, got, want)
						}
					}
				}
			}
		}
	}
}

// TestAddU8 checks the vector quantized Add against TFLite's reference arithmetic on every tail
// length, including extreme scale ratios.
func TestAddU8(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	eachImpl(t, func(t *testing.T) {
		for it := 0; it < 200; it++ {
			n := 1 + r.IntN(70)
			sa, sb := 0.001+r.Float64(), 0.001+r.Float64()
			if it%5 == 0 {
				sb = sa * 100
			}
			sc := 0.01 + r.Float64()
			twice := 2 * max(sa, sb)
			p := AddRQ{A: NewRQ(NewRequant(sa/twice), 0), B: NewRQ(NewRequant(sb/twice), 0),
				Out: NewRQ(NewRequant(twice/(float64(1<<20)*sc)), 0),
				ZA:  int32(r.IntN(256)), ZB: int32(r.IntN(256)), O: randOut(r)}
			a, b := randU8(r, n), randU8(r, n)
			y, full := guardedU8(n)
			AddU8(y, a, b, &p)
			checkGuardU8(t, full, n)
			for i := range y {
				va, vb := int32(a[i])-p.ZA, int32(b[i])-p.ZB
				s := MultiplyByQuantizedMultiplier(va*(1<<20), p.A.Mult, int(p.A.Left-p.A.Right)) +
					MultiplyByQuantizedMultiplier(vb*(1<<20), p.B.Mult, int(p.B.Left-p.B.Right))
				want := byte(Clamp(MultiplyByQuantizedMultiplier(s, p.Out.Mult, int(p.Out.Left-p.Out.Right))+p.O.ZP, p.O.Lo, p.O.Hi))
				if y[i] != want {
					t.Fatalf("it %d n %d: y[%d] = %d, want %d", it, n, i, y[i], want)
				}
			}
		}
	})
}
