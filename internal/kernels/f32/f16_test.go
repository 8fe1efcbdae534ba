package f32

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/tensor"
)

const sentinel16 = 0x7e5a // a NaN half: a guard read into a result shows up as NaN

// guarded16 returns n random halves in [-2, 2) (plus a few special values: subnormals, zeros, large
// magnitudes) followed by guard sentinels in the same backing array.
func guarded16(r *rand.Rand, n int) []uint16 {
	buf := make([]uint16, n+guard)
	for i := range buf[:n] {
		switch r.IntN(16) {
		case 0:
			buf[i] = uint16(r.IntN(0x400)) | uint16(r.IntN(2))<<15 // subnormal or zero
		case 1:
			buf[i] = tensor.F32ToF16(r.Float32()*60000 - 30000)
		default:
			buf[i] = tensor.F32ToF16(r.Float32()*4 - 2)
		}
	}
	for i := n; i < len(buf); i++ {
		buf[i] = sentinel16
	}
	return buf[:n]
}

func checkGuard16(t *testing.T, name string, s []uint16) {
	t.Helper()
	for i, v := range s[len(s):cap(s)] {
		if v != sentinel16 {
			t.Fatalf("%s: guard half %d past the end changed (%#x)", name, i, v)
		}
	}
}

func widenRef(s []uint16) []float32 {
	out := make([]float32, len(s))
	for i, h := range s {
		out[i] = tensor.F16ToF32(h)
	}
	return out
}

var awkwardLens = []int{0, 1, 3, 7, 13, 15, 16, 17, 24, 31, 32, 33, 63, 64, 65, 127, 129, 1000, 2051}

func TestWidenLadder(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, n := range awkwardLens {
			src := guarded16(r, n)
			dst := guarded(r, n)
			Widen(dst, src)
			checkGuard(t, fmt.Sprint("dst ", n), dst)
			checkGuard16(t, fmt.Sprint("src ", n), src)
			for i, want := range widenRef(src) {
				if math.Float32bits(dst[i]) != math.Float32bits(want) {
					t.Fatalf("n=%d: Widen[%d] of %#x = %v, want %v", n, i, src[i], dst[i], want)
				}
			}
		}
	})
}

func TestDot16Ladder(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for _, n := range awkwardLens {
			x, y := guarded(r, n), guarded16(r, n)
			var want float64
			var mag float64
			for i := range x {
				p := float64(x[i]) * float64(tensor.F16ToF32(y[i]))
				want += p
				mag += math.Abs(p)
			}
			got := Dot16(x, y)
			checkGuard16(t, fmt.Sprint("y ", n), y)
			if math.Abs(float64(got)-want) > 1e-6*mag+1e-6 {
				t.Fatalf("n=%d: Dot16 = %v, want %v", n, got, want)
			}
			// The same arithmetic as Dot on the widened halves.
			if d := Dot(x, widenRef(y)); d != got {
				t.Fatalf("n=%d: Dot16 = %v, Dot of the widened halves = %v", n, got, d)
			}
		}
	})
}

// TestMulPacked16MatchesF32: packing halves and widening per block gives bit for bit what the f32
// path gives on the widened weights, with the epilogue (bias on the first k block, clamp on the
// last), row ranges that start inside A and end mid-panel, and column tails.
// MulDirect16, where the kernel reads B in place, likewise matches MulDirect.
func TestMulPacked16MatchesF32(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		for _, sz := range [][3]int{{1, 1, 1}, {7, 13, 9}, {13, 300, 33}, {24, 257, 64}, {70, 576, 49}, {130, 27, 200}, {257, 520, 17}} {
			m, k, n := sz[0], sz[1], sz[2]
			a16 := guarded16(r, m*k)
			for i := range a16 { // keep magnitudes moderate so sums are well conditioned
				a16[i] = tensor.F32ToF16(tensor.F16ToF32(a16[i]) / 16384)
			}
			pa16 := PackA16(make([]uint16, PackedALen(m, k)), m, k, a16, k)
			pa := PackA(make([]float32, PackedALen(m, k)), false, m, k, 1, widenRef(a16), k)
			bias := randSlice(r, m)
			bmat := randSlice(r, k*n)
			bp := make([]float32, PackedBLen(min(k, KC), n))
			wbuf := guarded(r, Widen16Len())
			i0 := 0
			if m > MR {
				i0 = MR // a row range starting at the second panel
			}
			c16, c32 := guarded(r, (m-i0)*n), guarded(r, (m-i0)*n)
			copy(c32, c16)
			// MulDirect16 against MulDirect, B read in place with rows ldb > n apart (kernels that
			// need packed B have neither).
			full := Selected().full
			ldb := n + 3
			bstr := make([]float32, k*ldb)
			for p := 0; p < k; p++ {
				copy(bstr[p*ldb:p*ldb+n], bmat[p*n:(p+1)*n])
			}
			d16, d32 := guarded(r, (m-i0)*n), guarded(r, (m-i0)*n)
			copy(d32, d16)
			for pc := 0; pc < k; pc += KC {
				kcl := min(KC, k-pc)
				PackB(bp, false, kcl, n, bmat[pc*n:], n)
				ep := Epilogue{Acc: pc > 0}
				if pc == 0 {
					ep.Bias = bias
				}
				if pc+kcl == k {
					ep.Clamp, ep.Lo, ep.Hi = true, -0.5, 3
				}
				MulPacked16(&pa16, i0, m, pc, kcl, bp, n, c16, n, ep, wbuf)
				MulPacked(&pa, i0, m, pc, kcl, bp, n, c32, n, ep)
				if full {
					MulDirect16(&pa16, i0, m, pc, kcl, bstr[pc*ldb:], ldb, n, d16, n, ep, wbuf)
					MulDirect(&pa, i0, m, pc, kcl, bstr[pc*ldb:], ldb, n, d32, n, ep)
				}
			}
			checkGuard(t, "c", c16)
			checkGuard(t, "direct c", d16)
			for i := range d16 {
				if full && math.Float32bits(d16[i]) != math.Float32bits(d32[i]) {
					t.Fatalf("%v: direct C[%d] = %v, f32 path %v", sz, i, d16[i], d32[i])
				}
			}
			checkGuard(t, "wbuf", wbuf)
			checkGuard16(t, "a16", a16)
			for i := range c16 {
				if math.Float32bits(c16[i]) != math.Float32bits(c32[i]) {
					t.Fatalf("%v: C[%d] = %v, f32 path %v", sz, i, c16[i], c32[i])
				}
			}
			// And against the naive product.
			want := make([]float32, (m-i0)*n)
			af := widenRef(a16)
			naiveGemm(false, false, m-i0, n, k, 1, af[i0*k:], k, bmat, n, 0, want, n)
			for i := range want {
				w := min(max(want[i]+bias[i0+i/n], -0.5), 3)
				if math.Abs(float64(c16[i]-w)) > 1e-4*(1+math.Abs(float64(w))) {
					t.Fatalf("%v: C[%d] = %v, naive %v", sz, i, c16[i], w)
				}
				if full && math.Abs(float64(d16[i]-w)) > 1e-4*(1+math.Abs(float64(w))) {
					t.Fatalf("%v: direct C[%d] = %v, naive %v", sz, i, d16[i], w)
				}
			}
		}
	})
}

func TestGemm16MatchesF32(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, tc := range []struct {
			m, n, k int
			transB  bool
		}{{1, 1000, 1280, true}, {2, 37, 65, true}, {1, 31, 7, false}, {3, 70, 300, true}, {8, 1001, 513, true}, {5, 600, 33, false}} {
			a := randSlice(r, tc.m*tc.k)
			b16 := guarded16(r, tc.n*tc.k)
			ldb := tc.n
			if tc.transB {
				ldb = tc.k
			}
			c16, c32 := guarded(r, tc.m*tc.n), guarded(r, tc.m*tc.n)
			copy(c32, c16)
			work := make([]float32, GemmWorkLen(tc.m, tc.n, tc.k))
			Gemm16(false, tc.transB, tc.m, tc.n, tc.k, 1, a, tc.k, b16, ldb, 0.5, c16, tc.n, work)
			Gemm(false, tc.transB, tc.m, tc.n, tc.k, 1, a, tc.k, widenRef(b16), ldb, 0.5, c32, tc.n, work)
			checkGuard(t, "c", c16)
			checkGuard16(t, "b16", b16)
			for i := range c16 {
				if math.Float32bits(c16[i]) != math.Float32bits(c32[i]) {
					t.Fatalf("%+v: C[%d] = %v, f32 path %v", tc, i, c16[i], c32[i])
				}
			}
		}
	})
}

func TestF16KernelsNoAlloc(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m, k, n := 64, 300, 70
	a16 := guarded16(r, m*k)
	pa := PackA16(make([]uint16, PackedALen(m, k)), m, k, a16, k)
	bp := make([]float32, PackedBLen(KC, n))
	c := make([]float32, m*n)
	wbuf := make([]float32, Widen16Len())
	x := randSlice(r, 1000)
	y := guarded16(r, 1000)
	if n := testing.AllocsPerRun(5, func() {
		MulPacked16(&pa, 0, m, 0, KC, bp, n, c, n, Epilogue{}, wbuf)
		MulDirect16(&pa, 0, m, 0, KC, bp, n, n, c, n, Epilogue{}, wbuf)
		Dot16(x, y)
	}); n != 0 {
		t.Fatalf("%v allocations per run", n)
	}
}

// TestPackRowA16: packing f32 rows one by one equals PackA16 of the rounded matrix, and UnpackA16
// inverts it, for every micro-kernel's MR (row tails, several KC blocks).
func TestPackRowA16(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(15, 16))
		for _, sz := range [][2]int{{1, 1}, {13, 7}, {15, 300}, {33, 513}} {
			m, k := sz[0], sz[1]
			w := randSlice(r, m*k)
			h := make([]uint16, m*k)
			tensor.F32sToF16s(h, w)
			want := PackA16(make([]uint16, PackedALen(m, k)), m, k, h, k)
			got := make([]uint16, PackedALen(m, k))
			for i := 0; i < m; i++ {
				if !PackRowA16(got, m, k, i, w[i*k:]) {
					t.Fatal("finite weights reported as overflowing")
				}
			}
			for i := range got {
				if got[i] != want.Data[i] {
					t.Fatalf("%v: packed[%d] = %#x, PackA16 %#x", sz, i, got[i], want.Data[i])
				}
			}
			back := make([]uint16, m*k)
			UnpackA16(back, &want)
			for i := range back {
				if back[i] != h[i] {
					t.Fatalf("%v: unpacked[%d] = %#x, want %#x", sz, i, back[i], h[i])
				}
			}
		}
		big := []float32{1, 7e4}
		if PackRowA16(make([]uint16, PackedALen(1, 2)), 1, 2, 0, big) {
			t.Error("70000 fits in a half?")
		}
	})
}
