//go:build unix

package hostile

import (
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"
)

// TestWritersDecode: at sizes the standard decoders handle quickly, each writer produces a file they
// decode to the declared size and the intended flat colour, and header-only files declare their size.
func TestWritersDecode(t *testing.T) {
	dir := t.TempDir()
	black, grey := color.RGBA{0, 0, 0, 255}, color.RGBA{128, 128, 128, 255}
	cases := []struct {
		name   string
		write  func(string) error
		decode func(io.Reader) (image.Image, error)
		w, h   int
		want   color.RGBA
	}{
		{"rgb.png", func(p string) error { return writePNG(p, pngSpec{Width: 37, Height: 19, BitDepth: 8, ColorType: 2}) }, png.Decode, 37, 19, black},
		{"adam7.png", func(p string) error {
			return writePNG(p, pngSpec{Width: 37, Height: 19, BitDepth: 16, ColorType: 6, Interlaced: true})
		}, png.Decode, 37, 19, color.RGBA{}},
		{"adam7_1xN.png", func(p string) error {
			return writePNG(p, pngSpec{Width: 1, Height: 100, BitDepth: 16, ColorType: 2, Interlaced: true})
		}, png.Decode, 1, 100, black},
		{"baseline.jpg", func(p string) error { return writeJPEG(p, jpegSpec{Width: 35, Height: 17}) }, jpeg.Decode, 35, 17, grey},
		{"progressive.jpg", func(p string) error { return writeJPEG(p, jpegSpec{Width: 35, Height: 17, Progressive: true}) }, jpeg.Decode, 35, 17, grey},
		{"valid_bomb.jpg", func(p string) error {
			return writeJPEG(p, jpegSpec{Width: 35, Height: 17, Progressive: true, Scans: validScanBomb()})
		}, jpeg.Decode, 35, 17, grey},
		{"long_eob_runs.jpg", func(p string) error { return writeJPEG(p, jpegSpec{Width: 2048, Height: 256, Progressive: true}) }, jpeg.Decode, 2048, 256, grey},
		{"flat.gif", func(p string) error { return writeGIF(p, gifSpec{Width: 300, Height: 200}) }, gif.Decode, 300, 200, black},
		{"flat.bmp", func(p string) error { return writeBMP(p, bmpSpec{Width: 5, Height: 3}) }, bmp.Decode, 5, 3, black},
		{"flat.webp", func(p string) error { return writeWebP(p, webpSpec{Width: 33, Height: 7}) }, webp.Decode, 33, 7, black},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name)
			if err := c.write(p); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := c.decode(f)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if b := img.Bounds(); b.Dx() != c.w || b.Dy() != c.h {
				t.Fatalf("decoded %dx%d, want %dx%d", b.Dx(), b.Dy(), c.w, c.h)
			}
			for y := 0; y < c.h; y++ {
				for x := 0; x < c.w; x++ {
					r, g, b, a := img.At(x, y).RGBA()
					if got := (color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}); got != c.want {
						t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, got, c.want)
					}
				}
			}
		})
	}
	headers := []struct {
		name   string
		write  func(string) error
		config func(io.Reader) (image.Config, error)
		w, h   int
	}{
		{"h.png", func(p string) error {
			return writePNG(p, pngSpec{Width: 10000, Height: 10000, BitDepth: 8, ColorType: 2, HeaderOnly: true})
		}, png.DecodeConfig, 10000, 10000},
		{"h.jpg", func(p string) error { return writeJPEG(p, jpegSpec{Width: 10000, Height: 9000, HeaderOnly: true}) }, jpeg.DecodeConfig, 10000, 9000},
		{"h.gif", func(p string) error { return writeGIF(p, gifSpec{Width: 10000, Height: 10000, HeaderOnly: true}) }, gif.DecodeConfig, 10000, 10000},
		{"h.bmp", func(p string) error { return writeBMP(p, bmpSpec{Width: 10000, Height: 10000, HeaderOnly: true}) }, bmp.DecodeConfig, 10000, 10000},
		{"h.webp", func(p string) error { return writeWebP(p, webpSpec{Width: 16384, Height: 6103, HeaderOnly: true}) }, webp.DecodeConfig, 16384, 6103},
		{"vp8.webp", writeVP8HeaderOnly, webp.DecodeConfig, 16383, 16383},
	}
	for _, c := range headers {
		p := filepath.Join(dir, c.name)
		if err := c.write(p); err != nil {
			t.Fatal(err)
		}
		f, _ := os.Open(p)
		cfg, err := c.config(f)
		f.Close()
		if err != nil || cfg.Width != c.w || cfg.Height != c.h {
			t.Errorf("%s: config %dx%d, %v; want %dx%d", c.name, cfg.Width, cfg.Height, err, c.w, c.h)
		}
	}
}

func TestValidScanBombIsValid(t *testing.T) {
	scans := validScanBomb()
	if len(scans) != 14+63*14 {
		t.Fatalf("%d scans", len(scans))
	}
	// Every coefficient goes from Al=13 down to 0 one bit at a time, first pass before refinements.
	al := map[byte]int{}
	for _, s := range scans {
		for k := s.Ss; k <= s.Se; k++ {
			prev, seen := al[k]
			switch {
			case !seen && s.Ah != 0, seen && (int(s.Ah) != prev || s.Al != s.Ah-1):
				t.Fatalf("scan %+v breaks the progression of coefficient %d", s, k)
			}
			al[k] = int(s.Al)
		}
	}
}
