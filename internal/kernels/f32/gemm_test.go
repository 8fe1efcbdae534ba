package f32

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

const guard = 8

// guarded returns a slice of n random floats followed by guard sentinels in the same backing array,
// so an overrun past n is detectable with checkGuard.
func guarded(r *rand.Rand, n int) []float32 {
	buf := make([]float32, n+guard)
	for i := range buf {
		buf[i] = r.Float32()*2 - 1
	}
	for i := n; i < len(buf); i++ {
		buf[i] = sentinel
	}
	return buf[:n]
}

var sentinel = float32(math.Float32frombits(0x7fc0beef))

func checkGuard(t *testing.T, name string, s []float32) {
	t.Helper()
	g := s[len(s):cap(s)]
	for i, v := range g {
		if math.Float32bits(v) != 0x7fc0beef {
			t.Fatalf("%s: guard element %d past the end overwritten (%v)", name, i, v)
		}
	}
}

func naiveGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			old := float64(0)
			if beta != 0 {
				old = float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(float64(alpha)*s + old)
		}
	}
}

// forEachImpl runs f as one subtest per micro-kernel (AVX512 / AVX2 / Generic), skipping those this
// CPU (or GODEBUG, or the purego tag) rules out, so one run walks the whole ISA ladder.
func forEachImpl(t *testing.T, f func(t *testing.T)) {
	for _, im := range Impls() {
		t.Run(im.Name, func(t *testing.T) {
			if !im.Available {
				t.Skipf("%s not available on this CPU", im.Name)
			}
			defer Use(im)()
			f(t)
		})
	}
}

func TestGemmAwkwardSizes(t *testing.T) { forEachImpl(t, testGemmAwkwardSizes) }

func testGemmAwkwardSizes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := []int{1, 3, 7, 13, 24}
	ks := []int{1, 3, 7, 13, 24, 300, 517}
	for _, m := range append(sizes, 70) {
		for _, n := range append(sizes, 530) {
			for _, k := range ks {
				if m*n*k > 1_000_000 {
					continue
				}
				for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {2, -0.5}} {
						name := fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v_a%v_b%v", m, n, k, tr[0], tr[1], ab[0], ab[1])
						lda := k + 1
						if tr[0] {
							lda = m + 2
						}
						ldb := n + 3
						if tr[1] {
							ldb = k + 1
						}
						ldc := n + 1
						rowsA, rowsB := m, k
						if tr[0] {
							rowsA = k
						}
						if tr[1] {
							rowsB = n
						}
						a := guarded(r, rowsA*lda)
						b := guarded(r, rowsB*ldb)
						c := guarded(r, (m-1)*ldc+n)
						want := append([]float32(nil), c...)
						if ab[1] == 0 {
							// beta == 0 must not read C: poison it with NaN.
							for i := range c {
								c[i] = float32(math.NaN())
							}
						}
						work := guarded(r, GemmWorkLen(m, n, k))
						naiveGemm(tr[0], tr[1], m, n, k, ab[0], a, lda, b, ldb, ab[1], want, ldc)
						Gemm(tr[0], tr[1], m, n, k, ab[0], a, lda, b, ldb, ab[1], c, ldc, work)
						checkGuard(t, name+" C", c)
						checkGuard(t, name+" work", work)
						tol := 1e-5 * float64(k+1)
						for i := 0; i < m; i++ {
							for j := 0; j < n; j++ {
								g, w := c[i*ldc+j], want[i*ldc+j]
								if math.Abs(float64(g-w)) > tol*(1+math.Abs(float64(w))) {
									t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, g, w)
								}
							}
							// The gap between rows (ldc > n) must be untouched.
							if i < m-1 && c[i*ldc+n] != want[i*ldc+n] && !(ab[1] == 0) {
								t.Fatalf("%s: padding element after row %d written", name, i)
							}
						}
					}
				}
			}
		}
	}
}

func TestGemmNoAlloc(t *testing.T) {
	m, n, k := 37, 45, 300
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	work := make([]float32, GemmWorkLen(m, n, k))
	if got := testing.AllocsPerRun(5, func() { Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n, work) }); got != 0 {
		t.Fatalf("Gemm allocates %v times per call", got)
	}
}

func BenchmarkSgemm(b *testing.B) {
	for _, im := range Impls() {
		if !im.Available {
			continue
		}
		b.Run(im.Name, func(b *testing.B) {
			defer Use(im)()
			benchSgemm(b)
		})
	}
}

func benchSgemm(b *testing.B) {
	for _, s := range []int{64, 256, 512, 1024} {
		b.Run(fmt.Sprint(s), func(b *testing.B) {
			m, n, k := s, s, s
			x, y, z := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
			for i := range x {
				x[i] = float32(i%7) * 0.1
			}
			for i := range y {
				y[i] = float32(i%5) * 0.1
			}
			work := make([]float32, GemmWorkLen(m, n, k))
			timeBest(b, 2*float64(m*n*k), func() { Gemm(false, false, m, n, k, 1, x, k, y, n, 0, z, n, work) })
		})
	}
}
