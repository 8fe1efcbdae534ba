package f32

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestMulEpilogues walks the ISA ladder through MulPacked and MulDirect on awkward shapes (rows,
// columns and depth of 1, 3, 7, 13, 24 and past a block), with every epilogue (bias, +C, +Z, clamp)
// against a float64 reference, guard sentinels after every operand (A, B, C, Z, bias) and, when C is
// overwritten, NaN poison in C: the masked edge tiles must neither read nor write outside their
// slices, and B read in place must only be read in columns [0, n).
func TestMulEpilogues(t *testing.T) { forEachImpl(t, testMulEpilogues) }

func testMulEpilogues(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for _, m := range []int{1, 3, 7, 13, 24, 37} {
		for _, n := range []int{1, 3, 7, 13, 24, 70} {
			for _, k := range []int{1, 3, 13, 24, KC + 5} {
				for _, ep := range []struct{ acc, bias, add, clamp bool }{
					{false, false, false, false}, {false, true, true, true}, {true, false, true, false}, {true, true, false, true},
				} {
					for _, direct := range []bool{false, true} {
						if direct && !cur.full {
							continue
						}
						name := fmt.Sprintf("m%d_n%d_k%d_%+v_direct%v", m, n, k, ep, direct)
						testMulCase(t, r, name, m, n, k, ep.acc, ep.bias, ep.add, ep.clamp, direct)
					}
				}
			}
		}
	}
}

func testMulCase(t *testing.T, r *rand.Rand, name string, m, n, k int, acc, bias, add, clamp, direct bool) {
	t.Helper()
	lda, ldb, ldc := k+1, n+2, n+3
	a := guarded(r, (m-1)*lda+k)
	bm := guarded(r, (k-1)*ldb+n) // B(p, j) = bm[p*ldb+j]
	c := guarded(r, (m-1)*ldc+n)
	z := guarded(r, (m-1)*ldc+n)
	bs := guarded(r, m)
	want := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += float64(a[i*lda+p]) * float64(bm[p*ldb+j])
			}
			if bias {
				s += float64(bs[i])
			}
			if acc {
				s += float64(c[i*ldc+j])
			}
			if add {
				s += float64(z[i*ldc+j])
			}
			if clamp {
				s = math.Min(math.Max(s, -0.5), 0.75)
			}
			want[i*n+j] = s
		}
	}
	if !acc {
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				c[i*ldc+j] = float32(math.NaN())
			}
		}
	}
	before := append([]float32(nil), c...)
	pa := PackA(guarded(r, PackedALen(m, k)), false, m, k, 1, a, lda)
	for pc := 0; pc < k; pc += KC {
		kc := min(KC, k-pc)
		e := Epilogue{Acc: acc || pc > 0}
		if pc == 0 && bias {
			e.Bias = bs
		}
		if pc+kc == k {
			if add {
				e.Add = z
			}
			if clamp {
				e.Clamp, e.Lo, e.Hi = true, -0.5, 0.75
			}
		}
		if direct {
			MulDirect(&pa, 0, m, pc, kc, bm[pc*ldb:], ldb, n, c, ldc, e)
			continue
		}
		bp := guarded(r, PackedBLen(kc, n))
		PackB(bp, false, kc, n, bm[pc*ldb:], ldb)
		checkGuard(t, name+" packed B", bp)
		MulPacked(&pa, 0, m, pc, kc, bp, n, c, ldc, e)
	}
	for _, g := range []struct {
		what string
		s    []float32
	}{{"A", a}, {"B", bm}, {"C", c}, {"Z", z}, {"bias", bs}, {"packed A", pa.Data}} {
		checkGuard(t, name+" "+g.what, g.s)
	}
	tol := 1e-5 * float64(k+2)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			g, w := float64(c[i*ldc+j]), want[i*n+j]
			if !(math.Abs(g-w) <= tol*(1+math.Abs(w))) {
				t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, g, w)
			}
		}
		if i < m-1 {
			for j := n; j < ldc; j++ {
				if math.Float32bits(c[i*ldc+j]) != math.Float32bits(before[i*ldc+j]) {
					t.Fatalf("%s: element C[%d,%d] between rows written", name, i, j)
				}
			}
		}
	}
}
