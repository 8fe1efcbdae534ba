package imageio

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/tensor"
)

// naiveBilinear samples img at half-pixel centres with plain two-tap interpolation per axis.
func naiveBilinear(img *RGB, w, h int) []float64 {
	out := make([]float64, w*h*3)
	sx, sy := float64(img.W)/float64(w), float64(img.H)/float64(h)
	tap := func(c float64, n int) (int, int, float64) {
		c = math.Max(c, 0)
		i0 := int(c)
		if i0 >= n-1 {
			return n - 1, n - 1, 0
		}
		return i0, i0 + 1, c - float64(i0)
	}
	for y := 0; y < h; y++ {
		y0, y1, fy := tap((float64(y)+0.5)*sy-0.5, img.H)
		for x := 0; x < w; x++ {
			x0, x1, fx := tap((float64(x)+0.5)*sx-0.5, img.W)
			for c := 0; c < 3; c++ {
				p := func(xx, yy int) float64 { return float64(img.Pix[(yy*img.W+xx)*3+c]) }
				top := p(x0, y0)*(1-fx) + p(x1, y0)*fx
				bot := p(x0, y1)*(1-fx) + p(x1, y1)*fx
				out[(y*w+x)*3+c] = top*(1-fy) + bot*fy
			}
		}
	}
	return out
}

func TestPlainBilinearFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ iw, ih, w, h int }{{640, 480, 224, 224}, {100, 37, 13, 29}, {31, 17, 64, 40}} {
		img := NewRGB(c.iw, c.ih)
		for i := range img.Pix {
			img.Pix[i] = uint8(rng.IntN(256))
		}
		p := Preprocess{Width: c.w, Height: c.h, Resize: "stretch", Filter: "bilinear", Layout: "NHWC", DType: "u8"}
		dst := tensor.New(tensor.U8, p.Shape(1))
		if err := p.Into(img, dst, 0); err != nil {
			t.Fatal(err)
		}
		want := naiveBilinear(img, c.w, c.h)
		for i, v := range dst.U8() {
			// Two passes with uint8 rounding between them: at most one step off the exact value.
			if math.Abs(float64(v)-want[i]) > 1.01 {
				t.Fatalf("%v: value %d = %d, want %.2f", c, i, v, want[i])
			}
		}
	}
	if _, err := (Preprocess{Width: 8, Height: 8, Filter: "lanczos"}).Normalized(); err == nil {
		t.Error("unknown filter accepted")
	}
}
