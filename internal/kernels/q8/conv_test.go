package q8

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestEpiLayout pins the Epi field offsets the generated assembly reads (_gen/main.go's off* constants).
func TestEpiLayout(t *testing.T) {
	var e Epi
	got := []uintptr{unsafe.Offsetof(e.Bias), unsafe.Offsetof(e.Scale), unsafe.Offsetof(e.Res), unsafe.Offsetof(e.LdR),
		unsafe.Offsetof(e.ResScale), unsafe.Offsetof(e.ResZP), unsafe.Offsetof(e.Lo), unsafe.Offsetof(e.Hi),
		unsafe.Offsetof(e.ZP), unsafe.Offsetof(e.Mask), unsafe.Offsetof(e.LastRows)}
	want := []uintptr{0, 8, 16, 24, 32, 36, 40, 44, 48, 52, 56}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Epi offsets %v, the assembly reads %v", got, want)
	}
}

// refConvTile is ConvTile written from its definition on unpacked weights w[j][p] (k values each).
func refConvTile(a []uint8, lda int, w [][]int8, k int, rows int, e *Epi, bias []int32, scale []float32, res []uint8, y []uint8, ldy int) {
	for i := 0; i < rows; i++ {
		for j := 0; j < CN; j++ {
			if e.Mask&(1<<j) == 0 {
				continue
			}
			acc := bias[j]
			for p := 0; p < k; p++ {
				acc += int32(a[i*lda+p]) * int32(w[j][p])
			}
			v := float32(float32(acc) * scale[j])
			if res != nil {
				v += float32(float32(int32(res[i*e.LdR+j])-e.ResZP) * e.ResScale)
			}
			y[i*ldy+j] = RequantByte(v, e.Lo, e.Hi, e.ZP)
		}
	}
}

// TestConvTile checks ConvTile under every implementation against the definition on awkward shapes:
// k not a multiple of 4 (zero-padded), 1..3 blocks with 1..CM rows in the last, masked column tails,
// with and without a residual, extreme operands (255 × ±127 over 4608 inputs), clamps that bite, and
// guard bytes around every output row that must survive.
func TestConvTile(t *testing.T) {
	eachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		type tc struct {
			k, tiles, last int
			mask           uint32
			res, extreme   bool
		}
		var cases []tc
		for _, k := range []int{1, 4, 7, 64, 147, 196, 576, 4608} {
			for _, last := range []int{1, 5, CM} {
				for _, tiles := range []int{1, 3} {
					cases = append(cases, tc{k, tiles, last, 0xffffffff, k%2 == 0, false})
				}
			}
			cases = append(cases, tc{k, 2, 7, 0x00ffffff, true, false}, tc{k, 1, 3, 0x1, false, false}, tc{k, 2, CM, 0xffff, true, false})
		}
		cases = append(cases, tc{4608, 2, CM, 0xffffffff, true, true}, tc{4608, 1, 4, 0x7fffffff, false, true})
		for _, c := range cases {
			k4 := K4(c.k)
			lda := 4*k4 + 12 // odd strides: rows do not start on vector boundaries
			ldy := CN + 9
			rows := (c.tiles-1)*CM + c.last
			a := randU8(r, c.tiles*CM*lda)
			w := make([][]int8, CN)
			packed := make([]int8, PackedConvLen(CN, c.k))
			for j := range w {
				w[j] = randI8(r, c.k)
				if c.extreme {
					for p := range w[j] {
						w[j][p] = 127 * int8(1-2*(j%2))
					}
				}
				for p, v := range w[j] {
					SetConv(packed, c.k, j, p, v)
				}
			}
			if c.extreme {
				for i := range a {
					a[i] = 255
				}
			}
			for i := 0; i < c.tiles*CM; i++ { // bytes past k in a row meet zero weights
				for p := c.k; p < 4*k4; p++ {
					a[i*lda+p] = uint8(r.IntN(256))
				}
			}
			bias := make([]int32, CN)
			scale := make([]float32, CN)
			for j := range bias {
				bias[j] = int32(r.IntN(20001) - 10000)
				scale[j] = (0.2 + r.Float32()) / float32(c.k) / 64
				if c.extreme {
					scale[j] = 1e-6
				}
			}
			e := Epi{Bias: &bias[0], Scale: &scale[0], LdR: ldy + 3, Lo: -7, Hi: 240, ZP: 9, Mask: c.mask, LastRows: c.last}
			if c.k%3 == 0 {
				e.Lo, e.Hi, e.ZP = 0, 100, 0 // a ReLU-like clamp that bites
			}
			var res []uint8
			if c.res {
				res = randU8(r, rows*e.LdR)
				e.Res, e.ResScale, e.ResZP = &res[0], 0.37+r.Float32(), int32(r.IntN(256))
			}
			want := make([]uint8, rows*ldy)
			got := make([]uint8, rows*ldy)
			for i := range want {
				want[i], got[i] = 0xa5, 0xa5
			}
			refConvTile(a, lda, w, c.k, rows, &e, bias, scale, res, want, ldy)
			ConvTile(a, lda, packed, k4, got, ldy, c.tiles, &e)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("k=%d tiles=%d last=%d mask=%x res=%v: y[%d][%d] = %d, want %d", c.k, c.tiles, c.last, c.mask, c.res, i/ldy, i%ldy, got[i], want[i])
				}
			}
		}
	})
}

// BenchmarkConvTile times the tile kernel over one panel on ResNet-50's reduction lengths (A and the
// panel cache-resident): GMAC per second of thread CPU time, best 10 µs chunk; compare with bench/cpu_peak_vnni.c's vnni_macs_1thr.
func BenchmarkConvTile(b *testing.B) {
	for _, k := range []int{64, 256, 576, 1152, 4608} {
		for _, v := range []struct {
			name   string
			mr, nr int
			f      func(a *uint8, lda int, b *int8, k4 int, y *uint8, ldy int, tiles int, e *Epi)
		}{{"12x32", 12, 32, convTile12x32VNNI}} {
			b.Run(fmt.Sprintf("k%d/%s", k, v.name), func(b *testing.B) {
				if !useVNNI {
					b.Skip("no VNNI")
				}
				const tiles = 8
				k4 := K4(k)
				a := make([]uint8, tiles*v.mr*k)
				w := make([]int8, k4*4*v.nr)
				y := make([]uint8, tiles*v.mr*v.nr)
				bias := make([]int32, v.nr)
				scale := make([]float32, v.nr)
				e := Epi{Bias: &bias[0], Scale: &scale[0], Hi: 255, Mask: ^uint32(0), LastRows: v.mr}
				macs := float64(tiles * v.mr * v.nr * k)
				reps := max(1, int(2e7/macs)) // ~50 µs chunks
				var rate float64
				for i := 0; i < b.N; i++ {
					rate = max(rate, bestRate(200, reps, macs, func() { v.f(&a[0], k, &w[0], k4, &y[0], v.nr, tiles, &e) }))
				}
				b.ReportMetric(rate/1e9, "GMAC/s")
			})
		}
	}
}
