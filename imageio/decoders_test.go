package imageio

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"

	"github.com/wanwu-ai/wanwu/internal/imagegen"
	"github.com/wanwu-ai/wanwu/tensor"
)

// reference decodes with the standard library / x/image decoder the streaming decoders replace,
// converted as imageio always converted them (toRGB), with the orientation applied.
func reference(t *testing.T, data []byte) *RGB {
	t.Helper()
	var img image.Image
	var err error
	switch Sniff(data) {
	case PNG:
		img, err = png.Decode(bytes.NewReader(data))
	case BMP:
		img, err = bmp.Decode(bytes.NewReader(data))
	case GIF:
		img, err = gif.Decode(bytes.NewReader(data))
	case WebP:
		img, err = webp.Decode(bytes.NewReader(data))
	default:
		t.Fatalf("no reference decoder for %q", Sniff(data))
	}
	if err != nil {
		t.Fatalf("reference decoder: %v", err)
	}
	return toRGB(img, Orientation(Sniff(data), data))
}

func samePixels(t *testing.T, what string, got, want *RGB) {
	t.Helper()
	if got.W != want.W || got.H != want.H {
		t.Fatalf("%s: %dx%d, want %dx%d", what, got.W, got.H, want.W, want.H)
	}
	if i := firstDiff(got.Pix, want.Pix, 0); !bytes.Equal(got.Pix, want.Pix) {
		t.Fatalf("%s: pixel %d,%d ch %d = %d, want %d", what, i/3%got.W, i/3/got.W, i%3, got.Pix[i], want.Pix[i])
	}
}

// pngVariants covers every colour type and bit depth PNG allows, interlaced or not, at sizes
// that leave partial bytes and empty Adam7 passes.
func pngVariants() map[string][]byte {
	out := map[string][]byte{}
	for _, ct := range []int{imagegen.Gray, imagegen.RGB, imagegen.Paletted, imagegen.GrayAlpha, imagegen.RGBA} {
		for _, depth := range []int{1, 2, 4, 8, 16} {
			if depth < 8 && ct != imagegen.Gray && ct != imagegen.Paletted || depth == 16 && ct == imagegen.Paletted {
				continue
			}
			for _, il := range []bool{false, true} {
				for _, sz := range [][2]int{{13, 7}, {1, 5}, {3, 1}, {33, 17}} {
					o := imagegen.PNGOptions{W: sz[0], H: sz[1], ColorType: ct, Depth: depth, Interlaced: il,
						Pixel: imagegen.Noise(uint32(ct*100 + depth)), TRNS: depth == 8, IDATSize: 17}
					if ct == imagegen.Paletted {
						o.PaletteSize = 1<<depth - 1 // one index past the palette decodes black
						if depth == 8 {
							o.PaletteSize = 200
						}
					}
					out[fmt.Sprintf("ct%d_d%d_il%v_%dx%d", ct, depth, il, sz[0], sz[1])] = imagegen.PNG(o)
				}
			}
		}
	}
	for _, h := range []int{1, 2, 65, 1000} {
		out[fmt.Sprintf("tall%d", h)] = imagegen.TallPNG(h, [3]byte{10, 200, 30})
	}
	out["exif6"] = imagegen.PNG(imagegen.PNGOptions{W: 9, H: 5, ColorType: imagegen.RGB, Depth: 8, Orientation: 6})
	return out
}

func TestPNGMatchesImagePNG(t *testing.T) {
	for name, data := range pngVariants() {
		got, err := DecodeBytes(data, DecodeOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		samePixels(t, name, got, reference(t, data))
	}
}

func TestBMPMatchesXImage(t *testing.T) {
	for _, bpp := range []int{1, 2, 4, 8, 24, 32} {
		for _, td := range []bool{false, true} {
			for _, hl := range []int{40, 108, 124} {
				for _, sz := range [][2]int{{13, 7}, {1, 9}, {9, 1}} {
					name := fmt.Sprintf("bpp%d_td%v_h%d_%dx%d", bpp, td, hl, sz[0], sz[1])
					data := imagegen.BMP(imagegen.BMPOptions{W: sz[0], H: sz[1], BPP: bpp, TopDown: td, HeaderLen: hl,
						Pixel: imagegen.Noise(uint32(bpp))})
					got, err := DecodeBytes(data, DecodeOptions{})
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					samePixels(t, name, got, reference(t, data))
				}
			}
		}
	}
	// A short palette: an index past it is an error, as in x/image/bmp.
	data := imagegen.BMP(imagegen.BMPOptions{W: 8, H: 2, BPP: 8, PaletteSize: 3, Pixel: imagegen.Noise(1)})
	if _, err := DecodeBytes(data, DecodeOptions{}); err == nil {
		t.Error("palette index past a 3-entry palette accepted")
	}
}

func TestGIFMatchesImageGIF(t *testing.T) {
	for _, il := range []bool{false, true} {
		for _, tr := range []int{-1, 7} {
			for _, sz := range [][2]int{{13, 7}, {1, 19}, {19, 1}, {5, 9}} {
				name := fmt.Sprintf("il%v_tr%d_%dx%d", il, tr, sz[0], sz[1])
				data := imagegen.GIF(imagegen.GIFOptions{W: sz[0], H: sz[1], Interlaced: il, Transparent: tr,
					Pixel: imagegen.Noise(3), ScreenW: sz[0] + 2})
				got, err := DecodeBytes(data, DecodeOptions{})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				samePixels(t, name, got, reference(t, data))
			}
		}
	}
}

func TestWebPMatchesXImage(t *testing.T) {
	for name, data := range map[string][]byte{
		"noise":    imagegen.WebP(imagegen.WebPOptions{W: 13, H: 7, Pixel: imagegen.Noise(5)}),
		"constant": imagegen.WebP(imagegen.WebPOptions{W: 300, H: 2}),
		"exif5":    imagegen.WebP(imagegen.WebPOptions{W: 6, H: 4, Pixel: imagegen.Noise(6), Orientation: 5}),
	} {
		got, err := DecodeBytes(data, DecodeOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		samePixels(t, name, got, reference(t, data))
	}
}

// TestFlatJPEGs checks the generator's JPEGs against image/jpeg (the flat JPEGs are exactly
// representable, so the decoders agree exactly) in every layout the tests use.
func TestFlatJPEGs(t *testing.T) {
	for _, o := range []imagegen.JPEGOptions{
		{W: 37, H: 21, Comps: 1, Level: [3]int{200}},
		{W: 37, H: 21, Comps: 3, Subsample420: true, Level: [3]int{-300, 100, -50}},
		{W: 37, H: 21, Comps: 3, Progressive: true, Level: [3]int{400, -100, 50}},
		{W: 17, H: 9, Comps: 1, Progressive: true, Level: [3]int{-8}},
		{W: 17, H: 9, Comps: 3, Subsample420: true, Progressive: true, Level: [3]int{8, 16, 24}},
	} {
		data := imagegen.JPEG(o)
		want, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%+v: image/jpeg: %v", o, err)
		}
		got, err := DecodeContext(context.Background(), data, DecodeOptions{})
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		r, g, b, _ := want.At(3, 3).RGBA()
		pr, pg, pb := got.At(3, 3)
		if d := max(absInt(int(r>>8)-int(pr)), absInt(int(g>>8)-int(pg)), absInt(int(b>>8)-int(pb))); d > 1 {
			t.Errorf("%+v: pixel %d,%d,%d, image/jpeg %d,%d,%d", o, pr, pg, pb, r>>8, g>>8, b>>8)
		}
	}
}

// TestPNGSkippedRowsUnfilter: a centre crop of a tall PNG reads only its middle rows; the rows
// above are unfiltered in bulk (in place, straight from the inflater's window) and those below
// only have their filter bytes checked. Every filter, colour type and depth, over several window
// refills, must still give what the whole decoded image gives.
func TestPNGSkippedRowsUnfilter(t *testing.T) {
	p, _ := Preprocess{Width: 5, Height: 5, ResizeShorter: 6, Layout: "NHWC", DType: "u8"}.Normalized()
	for _, ct := range []int{imagegen.Gray, imagegen.RGB, imagegen.Paletted, imagegen.GrayAlpha, imagegen.RGBA} {
		for _, depth := range []int{2, 8, 16} {
			if depth < 8 && ct != imagegen.Gray && ct != imagegen.Paletted || depth == 16 && ct == imagegen.Paletted {
				continue
			}
			for filter := 0; filter <= 5; filter++ { // 0 cycles the five filters row by row
				name := fmt.Sprintf("ct%d_d%d_f%d", ct, depth, filter)
				o := imagegen.PNGOptions{W: 7, H: 9000, ColorType: ct, Depth: depth, Filter: filter,
					Pixel: imagegen.Noise(uint32(ct*10 + depth + filter)), IDATSize: 4093}
				if ct == imagegen.Paletted {
					o.PaletteSize = 1 << depth
				}
				data := imagegen.PNG(o)
				img, err := DecodeBytes(data, DecodeOptions{})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				want := tensor.New(tensor.U8, p.Shape(1))
				if err := p.Into(img, want, 0); err != nil {
					t.Fatal(err)
				}
				got := tensor.New(tensor.U8, p.Shape(1))
				if err := p.DecodeInto(context.Background(), data, DecodeOptions{}, got, 0); err != nil {
					t.Fatalf("%s: DecodeInto: %v", name, err)
				}
				if !bytes.Equal(got.Data, want.Data) {
					t.Fatalf("%s: DecodeInto differs from Into(DecodeBytes) at %d", name, firstDiff(got.Data, want.Data, 0))
				}
			}
		}
	}
}
