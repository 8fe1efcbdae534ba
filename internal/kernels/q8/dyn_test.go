package q8

import (
	"math"
	"math/rand/v2"
	"testing"
)

// eachImpl runs f once per available implementation (the ISA ladder: VNNI, then pure Go).
func eachImpl(t *testing.T, f func(t *testing.T)) {
	for _, im := range Impls() {
		t.Run(im.Name, func(t *testing.T) {
			if !im.Available {
				t.Skipf("%s not available on this CPU/build", im.Name)
			}
			defer Use(im)()
			f(t)
		})
	}
}

const guard = 64

// guarded returns a slice of n elements followed by guard sentinel elements that must survive.
func guardedI32(n int) ([]int32, []int32) {
	b := make([]int32, n+guard)
	for i := range b[n:] {
		b[n+i] = 0x5a5a5a5a
	}
	return b[:n], b
}

func checkGuardI32(t *testing.T, full []int32, n int) {
	t.Helper()
	for i, v := range full[n:] {
		if v != 0x5a5a5a5a {
			t.Fatalf("guard element %d overwritten: %d", i, v)
		}
	}
}

func randI8(r *rand.Rand, n int) []int8 {
	s := make([]int8, n)
	for i := range s {
		s[i] = int8(r.IntN(255) - 127)
	}
	return s
}

func randU8(r *rand.Rand, n int) []uint8 {
	s := make([]uint8, n)
	for i := range s {
		s[i] = uint8(r.IntN(256))
	}
	return s
}

// TestPackedGemm checks PackA/PackB/Tile together against the naive product on awkward shapes:
// m, k, n not multiples of MR, 4, NR, including extremes (all-255 activations, ±127 weights).
func TestPackedGemm(t *testing.T) {
	eachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, sz := range [][3]int{{1, 1, 1}, {8, 4, 32}, {3, 7, 13}, {13, 147, 49}, {24, 9, 33}, {7, 576, 100}, {16, 4608, 17}} {
			m, k, n := sz[0], sz[1], sz[2]
			w := randI8(r, m*k)
			if m == 16 { // worst case for int32 range: all products 255*127
				for i := range w {
					w[i] = 127
				}
			}
			k4 := K4(k)
			ld := RoundUp(n, NR) + 5 // odd row stride
			x := randU8(r, 4*k4*ld)
			if m == 16 {
				for i := range x {
					x[i] = 255
				}
			}
			a := make([]int8, PackedALen(m, k))
			PackA(a, w, k, m, k)
			b := make([]uint8, PackedBLen(k, n)+guard)
			PackB(b, x, ld, k4, n)
			sums := make([]int32, m)
			RowSumsA(sums, a, m, k4)
			c, full := guardedI32(MR * NR)
			for i0 := 0; i0 < m; i0 += MR {
				for j0 := 0; j0 < n; j0 += NR {
					Tile(c, a[i0*k4*4:], b[j0*k4*4:], k4)
					checkGuardI32(t, full, MR*NR)
					for i := i0; i < min(i0+MR, m); i++ {
						var rs int32
						for p := 0; p < k; p++ {
							rs += int32(w[i*k+p])
						}
						if rs != sums[i] {
							t.Fatalf("%v: row sum %d = %d, want %d", sz, i, sums[i], rs)
						}
						for j := j0; j < min(j0+NR, n); j++ {
							var want int32
							for p := 0; p < k; p++ {
								want += int32(w[i*k+p]) * int32(x[p*ld+j])
							}
							if got := c[(i-i0)*NR+j-j0]; got != want {
								t.Fatalf("%v: c[%d,%d] = %d, want %d", sz, i, j, got, want)
							}
						}
					}
				}
			}
		}
	})
}

func TestGemv(t *testing.T) {
	eachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, sz := range [][2]int{{1, 1}, {64, 8}, {13, 7}, {130, 2048}, {1000, 13}, {65, 9}} {
			n, k := sz[0], sz[1]
			w := randI8(r, n*k)
			x := make([]uint8, GemvXLen(k))
			copy(x, randU8(r, k))
			p := make([]int8, PackedGemvLen(n, k))
			for i := range p {
				p[i] = 99 // PackGemv must write (or zero) every byte
			}
			// Pack in two calls, as the quantization pass does with row chunks.
			h := n / 2
			PackGemv(p, w, k, n, k, 0, h)
			PackGemv(p, w[h*k:], k, n, k, h, n)
			groups := (n + GV - 1) / GV
			acc, full := guardedI32(groups * GV)
			Gemv(acc, x, p, k, 0, groups)
			checkGuardI32(t, full, groups*GV)
			sums := make([]int32, n)
			GemvSums(sums, p, n, k)
			for j := 0; j < groups*GV; j++ {
				var want, rs int32
				if j < n {
					for q := 0; q < k; q++ {
						want += int32(w[j*k+q]) * int32(x[q])
						rs += int32(w[j*k+q])
					}
					if sums[j] != rs {
						t.Fatalf("%v: sum %d = %d want %d", sz, j, sums[j], rs)
					}
				}
				if acc[j] != want {
					t.Fatalf("%v: acc[%d] = %d, want %d", sz, j, acc[j], want)
				}
			}
			if groups > 1 { // a sub-range of groups
				Gemv(acc, x, p, k, 1, groups)
				for j := 0; j < (groups-1)*GV; j++ {
					var want int32
					if jj := j + GV; jj < n {
						for q := 0; q < k; q++ {
							want += int32(w[jj*k+q]) * int32(x[q])
						}
					}
					if acc[j] != want {
						t.Fatalf("%v groups 1..: acc[%d] = %d, want %d", sz, j, acc[j], want)
					}
				}
			}
		}
	})
}

func TestQuantizeMinMax(t *testing.T) {
	eachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, n := range []int{1, 15, 16, 17, 100, 1037} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(r.NormFloat64()*3 + 1)
			}
			x[r.IntN(n)] = 0.5 // an exact tie after scaling below, for the rounding rule
			lo, hi := MinMax(x)
			wlo, whi := x[0], x[0]
			for _, v := range x {
				wlo, whi = min(wlo, v), max(whi, v)
			}
			if lo != wlo || hi != whi {
				t.Fatalf("n=%d: MinMax = %g,%g want %g,%g", n, lo, hi, wlo, whi)
			}
			scale, zp := Params(lo, hi)
			inv := 1 / scale
			q := make([]uint8, n+guard)
			for i := range q[n:] {
				q[n+i] = 0xa5
			}
			Quantize(q, x, inv, zp)
			for i, v := range x {
				want := math.RoundToEven(float64(float32(v*inv) + float32(zp)))
				want = min(max(want, 0), 255)
				if float64(q[i]) != want {
					t.Fatalf("n=%d: q[%d] = %d, want %g (x=%g)", n, i, q[i], want, v)
				}
				// Dequantized value is within half a step of x.
				if d := math.Abs(float64(scale*(float32(q[i])-float32(zp)) - v)); d > 0.5001*float64(scale) {
					t.Fatalf("n=%d: |dequant - x| = %g > scale/2 (%g)", n, d, scale/2)
				}
			}
			for i, v := range q[n:] {
				if v != 0xa5 {
					t.Fatalf("n=%d: guard byte %d overwritten", n, i)
				}
			}
		}
	})
}

func TestParams(t *testing.T) {
	for _, c := range []struct {
		lo, hi float32
		zp     uint8
	}{{0, 0, 0}, {0, 10, 0}, {-10, 0, 255}, {-1, 3, 64}, {2, 5, 0}, {-5, -2, 255}} {
		s, zp := Params(c.lo, c.hi)
		if zp != c.zp {
			t.Errorf("Params(%g,%g) zp = %d, want %d", c.lo, c.hi, zp, c.zp)
		}
		// 0 must be exactly representable (padding and ReLU zeros stay exact).
		if lo := min(c.lo, 0); c.hi > lo && math.Abs(float64(s*(float32(0)-float32(zp))-lo)) > 0.5*float64(s)+1e-6 {
			t.Errorf("Params(%g,%g): q=0 maps to %g, want about %g", c.lo, c.hi, s*(-float32(zp)), lo)
		}
	}
}

func TestDequant(t *testing.T) {
	eachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, sz := range [][2]int{{1, 1}, {8, 32}, {3, 17}, {5, 16}, {8, 7}, {2, 100}} {
			m, n := sz[0], sz[1]
			ldc, ldy := n+3, n+5
			c := make([]int32, m*ldc)
			for i := range c {
				c[i] = int32(r.IntN(1<<20) - 1<<19)
			}
			s, off := make([]float32, m), make([]float32, m)
			for i := range s {
				s[i], off[i] = float32(r.Float64()*1e-3), float32(r.NormFloat64())
			}
			for _, bounds := range [][2]float32{{float32(math.Inf(-1)), float32(math.Inf(1))}, {0, float32(math.Inf(1))}, {0, 6}} {
				y := make([]float32, m*ldy)
				for i := range y {
					y[i] = -777
				}
				Dequant(y, ldy, c, ldc, m, n, s, off, bounds[0], bounds[1])
				for i := 0; i < m; i++ {
					for j := 0; j < ldy; j++ {
						got := y[i*ldy+j]
						if j >= n {
							if got != -777 {
								t.Fatalf("%v: y[%d,%d] written past n", sz, i, j)
							}
							continue
						}
						want := float32(math.Min(math.Max(float64(c[i*ldc+j])*float64(s[i])+float64(off[i]), float64(bounds[0])), float64(bounds[1])))
						if d := math.Abs(float64(got - want)); d > 1e-6*math.Max(1, math.Abs(float64(want))) {
							t.Fatalf("%v: y[%d,%d] = %g, want %g", sz, i, j, got, want)
						}
					}
				}
			}
			// DequantVec: per-element scale.
			n2 := m * n
			s2, o2 := make([]float32, n2), make([]float32, n2)
			for i := range s2 {
				s2[i], o2[i] = float32(r.Float64()*1e-3), float32(r.NormFloat64())
			}
			y2 := make([]float32, n2+1)
			y2[n2] = -777
			DequantVec(y2[:n2], c, s2, o2, 0, float32(math.Inf(1)))
			if y2[n2] != -777 {
				t.Fatal("DequantVec wrote past the end")
			}
			for j := 0; j < n2; j++ {
				want := max(float64(c[j])*float64(s2[j])+float64(o2[j]), 0)
				if d := math.Abs(float64(y2[j]) - want); d > 1e-6*math.Max(1, math.Abs(want)) {
					t.Fatalf("DequantVec y[%d] = %g want %g", j, y2[j], want)
				}
			}
		}
	})
}

func TestDynKernelsNoAlloc(t *testing.T) {
	eachImpl(t, func(t *testing.T) {
		a, b, c := make([]int8, MR*16*4), make([]uint8, NR*16*4), make([]int32, MR*NR)
		x := make([]float32, 100)
		q := make([]uint8, 100)
		if n := testing.AllocsPerRun(10, func() {
			Tile(c, a, b, 16)
			MinMax(x)
			Quantize(q, x, 1, 3)
		}); n != 0 {
			t.Fatalf("allocates %v times", n)
		}
	})
}

func BenchmarkTile(b *testing.B) {
	for _, im := range Impls() {
		if !im.Available {
			continue
		}
		b.Run(im.Name, func(b *testing.B) {
			defer Use(im)()
			const k4 = 576 / 4
			a, bb, c := make([]int8, MR*k4*4), make([]uint8, NR*k4*4), make([]int32, MR*NR)
			b.SetBytes(0)
			for i := 0; i < b.N; i++ {
				Tile(c, a, bb, k4)
			}
			b.ReportMetric(float64(MR*NR*k4*4)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}
