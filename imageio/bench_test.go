package imageio

import (
	"context"
	"os"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/imagegen"
	"github.com/wanwu-ai/wanwu/tensor"
)

// BenchmarkInto224 times the standard ImageNet preprocessing of a 1280x720 image (resize shorter
// side to 256, centre-crop 224, f32 NCHW).
func BenchmarkInto224(b *testing.B) {
	img := NewRGB(1280, 720)
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	p, _ := Preprocess{Width: 224, Height: 224}.Normalized()
	dst := tensor.New(tensor.F32, p.Shape(1))
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Into(img, dst, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeJPEG420 decodes a 4:2:0 fixture (fancy upsampling + libjpeg IDCT path).
func BenchmarkDecodeJPEG420(b *testing.B) {
	data, err := os.ReadFile("testdata/images/q420.jpg")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBytes(data, DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeIntoTallPNG streams a 1×4,000,000 grey PNG through the resize: the per-row cost
// that decides how long the hostile 1×100,000,000 photo takes.
func BenchmarkDecodeIntoTallPNG(b *testing.B) {
	data := imagegen.TallPNG(4_000_000, [3]byte{200, 100, 50})
	p, _ := Preprocess{Width: 224, Height: 224}.Normalized()
	dst := tensor.New(tensor.F32, p.Shape(1))
	b.SetBytes(4_000_000)
	for b.Loop() {
		if err := p.DecodeInto(context.Background(), data, DecodeOptions{}, dst, 0); err != nil {
			b.Fatal(err)
		}
	}
}
