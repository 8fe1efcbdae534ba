package f32

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestGenericKernels checks the portable micro-kernels (both tiles, whichever the build selects)
// directly against a float64 triple loop: every row count up to three panels, every column count up
// to NR, k around each unrolled loop's boundary (1, the 4-step and 16-step loops and their tails, past
// genericChunk), B packed or read in place with a longer stride, and each epilogue flag. The stores
// must stop at rows × cols: guard sentinels after C and a poisoned gap past each row's columns.
func TestGenericKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	kernels := []struct {
		name   string
		mr, nr int
		run    func(*tileArgs)
	}{
		{"2x4", 2, 4, genericKernel2x4},
		{"4x4", 4, 4, genericKernel4x4},
	}
	ks := []int{1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 19, 20, 31, 32, 33, 36, 63, 64, 147, 255, 256, genericChunk + 45}
	flagSets := []int{0, flagAcc, flagBias, flagClamp, flagAdd, flagAcc | flagBias | flagAdd | flagClamp}
	for _, kn := range kernels {
		for _, k := range ks {
			for rows := 1; rows <= 3*kn.mr; rows++ {
				for cols := 1; cols <= kn.nr; cols++ {
					for _, ldb := range []int{kn.nr, kn.nr + 3} {
						for _, flags := range flagSets {
							name := fmt.Sprintf("%s/k%d_rows%d_cols%d_ldb%d_flags%d", kn.name, k, rows, cols, ldb, flags)
							checkGenericKernel(t, r, name, kn.mr, kn.run, k, rows, cols, ldb, flags)
						}
					}
				}
			}
		}
	}
}

func checkGenericKernel(t *testing.T, r *rand.Rand, name string, mr int, run func(*tileArgs), k, rows, cols, ldb, flags int) {
	t.Helper()
	panels := (rows + mr - 1) / mr
	const ldc = 7 // > NR: a gap after each row's columns that must stay untouched
	a := guarded(r, panels*mr*k)
	b := guarded(r, (k-1)*ldb+cols)
	c := guarded(r, (rows-1)*ldc+cols)
	z := guarded(r, (rows-1)*ldc+cols)
	bias := guarded(r, rows)
	const lo, hi = -0.75, 0.75
	want := append([]float32(nil), c...)
	for i := 0; i < rows; i++ {
		p, ri := i/mr, i%mr
		for j := 0; j < cols; j++ {
			var s float64
			for q := 0; q < k; q++ {
				s += float64(a[p*mr*k+q*mr+ri]) * float64(b[q*ldb+j])
			}
			if flags&flagBias != 0 {
				s += float64(bias[i])
			}
			if flags&flagAcc != 0 {
				s += float64(c[i*ldc+j])
			}
			if flags&flagAdd != 0 {
				s += float64(z[i*ldc+j])
			}
			if flags&flagClamp != 0 {
				s = min(max(s, lo), hi)
			}
			want[i*ldc+j] = float32(s)
		}
	}
	if flags&flagAcc == 0 {
		// Without flagAcc C is write-only: poison the elements the kernel overwrites.
		for i := 0; i < rows; i++ {
			for j := 0; j < cols; j++ {
				c[i*ldc+j] = float32(math.NaN())
			}
		}
	}
	ta := tileArgs{k: k, a: a, b: b, ldb: ldb, c: c, ldc: ldc, flags: flags, rows: rows, cols: cols, lo: lo, hi: hi}
	if flags&flagBias != 0 {
		ta.bias = bias
	}
	if flags&flagAdd != 0 {
		ta.z = z
	}
	tileChecks(mr, 4, &ta)
	run(&ta)
	checkGuard(t, name+" C", c)
	tol := 1e-6 * float64(k+4)
	for i := range c {
		g, w := c[i], want[i]
		if i%ldc >= cols {
			if math.Float32bits(g) != math.Float32bits(w) {
				t.Fatalf("%s: C[%d] past the tile's columns written: %v, was %v", name, i, g, w)
			}
			continue
		}
		if math.IsNaN(float64(g)) || math.Abs(float64(g-w)) > tol*(1+math.Abs(float64(w))) {
			t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i/ldc, i%ldc, g, w)
		}
	}
}

// TestDotPacked checks the unrolled packed dot kernels alone, for every k up to three 16-step
// iterations plus tails, on values whose products and sums are exact in float32, so the result must
// equal the triple loop bit for bit whatever order the kernel adds in.
func TestDotPacked(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for k := 0; k <= 3*16+5; k++ {
		a2, a4, b := make([]float32, 2*k), make([]float32, 4*k), make([]float32, 4*k)
		for _, s := range [][]float32{a2, a4, b} {
			for i := range s {
				s[i] = float32(r.IntN(17) - 8)
			}
		}
		got2 := dot2x4Packed(k, a2, b)
		got4 := dot4x4Packed(k, a4, b)
		for i := 0; i < 4; i++ {
			for j := 0; j < 4; j++ {
				var w2, w4 float32
				for p := 0; p < k; p++ {
					w4 += a4[p*4+i] * b[p*4+j]
					if i < 2 {
						w2 += a2[p*2+i] * b[p*4+j]
					}
				}
				if i < 2 && got2[i*4+j] != w2 {
					t.Fatalf("dot2x4Packed k=%d: [%d,%d] = %v, want %v", k, i, j, got2[i*4+j], w2)
				}
				if got4[i*4+j] != w4 {
					t.Fatalf("dot4x4Packed k=%d: [%d,%d] = %v, want %v", k, i, j, got4[i*4+j], w4)
				}
			}
		}
	}
}
