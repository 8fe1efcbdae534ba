package q8

import (
	"math/rand/v2"
	"testing"
)

func naiveGemm(m, n, k int, a []int16, b []uint8) []int32 {
	c := make([]int32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s int32
			for p := 0; p < k; p++ {
				s += int32(a[i*k+p]) * int32(b[p*n+j])
			}
			c[i*n+j] = s
		}
	}
	return c
}

func TestGemmAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, sz := range [][3]int{{1, 1, 1}, {3, 7, 13}, {4, 24, 9}, {13, 5, 24}, {7, 49, 160}, {17, 1, 3}} {
		m, n, k := sz[0], sz[1], sz[2]
		a := make([]int16, m*k)
		for i := range a {
			a[i] = int16(r.IntN(511) - 255)
		}
		b := make([]uint8, k*n+7) // guard tail must not be read into the result
		for i := range b {
			b[i] = uint8(r.IntN(256))
		}
		c := make([]int32, m*n)
		for i := range c {
			c[i] = 12345 // Gemm overwrites
		}
		Gemm(m, n, k, a, k, b, n, c, n)
		want := naiveGemm(m, n, k, a, b)
		for i := range want {
			if c[i] != want[i] {
				t.Fatalf("%v: c[%d]=%d want %d", sz, i, c[i], want[i])
			}
		}
		var rs = make([]int32, m)
		RowSums(m, k, a, rs)
		for i := 0; i < m; i++ {
			ones := make([]uint8, k)
			for p := range ones {
				ones[p] = 1
			}
			if d := Dot(a[i*k:(i+1)*k], ones); d != rs[i] {
				t.Fatalf("row %d: Dot with ones %d != RowSums %d", i, d, rs[i])
			}
		}
	}
}

func TestGemmStrided(t *testing.T) {
	// A 5x3 block out of bigger matrices: strides must be honoured and nothing outside written.
	r := rand.New(rand.NewPCG(5, 6))
	const lda, ldb, ldc = 11, 9, 7
	m, n, k := 5, 3, 4
	a := make([]int16, m*lda)
	b := make([]uint8, k*ldb)
	for i := range a {
		a[i] = int16(r.IntN(200) - 100)
	}
	for i := range b {
		b[i] = uint8(r.IntN(256))
	}
	c := make([]int32, m*ldc)
	for i := range c {
		c[i] = -1
	}
	Gemm(m, n, k, a, lda, b, ldb, c, ldc)
	for i := 0; i < m; i++ {
		for j := 0; j < ldc; j++ {
			var want int32 = -1
			if j < n {
				want = 0
				for p := 0; p < k; p++ {
					want += int32(a[i*lda+p]) * int32(b[p*ldb+j])
				}
			}
			if c[i*ldc+j] != want {
				t.Fatalf("c[%d,%d]=%d want %d", i, j, c[i*ldc+j], want)
			}
		}
	}
}

func TestGemmNoAlloc(t *testing.T) {
	a, b, c := make([]int16, 8*16), make([]uint8, 16*32), make([]int32, 8*32)
	if n := testing.AllocsPerRun(10, func() { Gemm(8, 32, 16, a, 16, b, 32, c, 32) }); n != 0 {
		t.Fatalf("Gemm allocates %v times", n)
	}
}
