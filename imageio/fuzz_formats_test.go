package imageio

import (
	"bytes"
	"context"
	"image"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/vp8l"

	"github.com/wanwu-ai/wanwu/internal/imagegen"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Fuzz targets, one per decoder. Each checks, on arbitrary input: no panic; a decoded image
// no larger than its header declares; what DecodeInto allocates within Header.Cost; DecodeInto
// equal to Into(DecodeContext); and, where the decoder replaced a library one, the same pixels
// as the library whenever both decode. Seeds: generated variants plus testdata/fuzz/<target>.
// `make fuzz-smoke` runs each for a few seconds; longer:
//
//	go test -run '^$' -fuzz FuzzDecodePNG -fuzztime 5m -fuzzminimizetime 5s ./imageio

// fuzzLimit keeps the fuzzer from asking for large images through headers.
const fuzzLimit = 1 << 20

var fuzzPre = Preprocess{Width: 13, Height: 9, Resize: "stretch", Layout: "NHWC", DType: "u8"}

// totalAlloc is the heap allocated so far (cumulative, whatever the collector does).
func totalAlloc() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.TotalAlloc)
}

func fuzzDecoder(t *testing.T, data []byte, ref func([]byte) (image.Image, error)) {
	opts := DecodeOptions{MaxPixels: fuzzLimit}
	h, herr := ParseHeader(data)
	m, err := DecodeContext(context.Background(), data, opts)
	if err != nil {
		return
	}
	if herr != nil {
		t.Fatalf("decoded, but the header does not parse: %v", herr)
	}
	if int64(m.W)*int64(m.H) > int64(h.Width)*int64(h.Height) || len(m.Pix) != m.W*m.H*3 {
		t.Fatalf("decoded %dx%d (%d bytes) from a %dx%d header", m.W, m.H, len(m.Pix), h.Width, h.Height)
	}
	if ref != nil {
		if img, rerr := ref(data); rerr == nil {
			samePixels(t, "vs the library decoder", m, toRGB(img, h.Orientation))
		}
	}
	p, _ := fuzzPre.Normalized()
	want := tensor.New(tensor.U8, p.Shape(1))
	if err := p.Into(m, want, 0); err != nil {
		t.Fatal(err)
	}
	got := tensor.New(tensor.U8, p.Shape(1))
	before := totalAlloc()
	err = p.DecodeInto(context.Background(), data, opts, got, 0)
	used := totalAlloc() - before
	if err != nil {
		t.Fatalf("DecodeContext decoded it but DecodeInto: %v", err)
	}
	if !bytes.Equal(got.Data, want.Data) {
		t.Fatal("DecodeInto differs from Into(DecodeContext)")
	}
	if c := h.Cost(p, opts); used > c+fuzzSlack && !raceEnabled {
		t.Fatalf("DecodeInto allocated %d bytes, Header.Cost %d", used, c)
	}
}

// addSeeds adds the committed corpus files of the target's format and generated variants.
func addSeeds(f *testing.F, format Format, gen map[string][]byte) {
	files, _ := filepath.Glob("testdata/images/*")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil && Sniff(data) == format && len(data) < 16<<10 {
			f.Add(data)
		}
	}
	for _, d := range gen {
		if len(d) < 16<<10 {
			f.Add(d)
		}
	}
}

func FuzzDecodePNG(f *testing.F) {
	addSeeds(f, PNG, pngVariants())
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecoder(t, data, func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) })
	})
}

func FuzzDecodeBMP(f *testing.F) {
	seeds := map[string][]byte{}
	for _, bpp := range []int{1, 2, 4, 8, 24, 32} {
		seeds[strconv.Itoa(bpp)] = imagegen.BMP(imagegen.BMPOptions{W: 7, H: 5, BPP: bpp, TopDown: bpp == 8, Pixel: imagegen.Noise(1)})
	}
	addSeeds(f, BMP, seeds)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecoder(t, data, func(b []byte) (image.Image, error) { return bmp.Decode(bytes.NewReader(b)) })
	})
}

func FuzzDecodeGIF(f *testing.F) {
	addSeeds(f, GIF, map[string][]byte{
		"plain":  imagegen.GIF(imagegen.GIFOptions{W: 9, H: 7, Transparent: -1, Pixel: imagegen.Noise(2)}),
		"interl": imagegen.GIF(imagegen.GIFOptions{W: 9, H: 11, Interlaced: true, Transparent: 5, Pixel: imagegen.Noise(3)}),
		"frame":  imagegen.GIF(imagegen.GIFOptions{W: 4, H: 3, ScreenW: 9, ScreenH: 9, Transparent: -1}),
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecoder(t, data, func(b []byte) (image.Image, error) { return gif.Decode(bytes.NewReader(b)) })
	})
}

// FuzzDecodeWebP compares lossless images with x/image/vp8l (lossy ones are x/image's own).
func FuzzDecodeWebP(f *testing.F) {
	addSeeds(f, WebP, map[string][]byte{
		"noise": imagegen.WebP(imagegen.WebPOptions{W: 9, H: 7, Pixel: imagegen.Noise(4)}),
		"const": imagegen.WebP(imagegen.WebPOptions{W: 40, H: 3}),
		"exif":  imagegen.WebP(imagegen.WebPOptions{W: 5, H: 6, Pixel: imagegen.Noise(5), Orientation: 7}),
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecoder(t, data, func(b []byte) (image.Image, error) {
			info, err := parseWebP(b)
			if err != nil || !info.lossless {
				return nil, errWebP
			}
			return vp8l.Decode(bytes.NewReader(info.chunk))
		})
	})
}

// FuzzDecodeJPEG covers baseline and progressive JPEGs, at full size and DCT-scaled.
func FuzzDecodeJPEG(f *testing.F) {
	addSeeds(f, JPEG, map[string][]byte{
		"base":  imagegen.JPEG(imagegen.JPEGOptions{W: 19, H: 11, Comps: 3, Subsample420: true, Level: [3]int{9, 8, 7}}),
		"prog":  imagegen.JPEG(imagegen.JPEGOptions{W: 19, H: 11, Comps: 3, Progressive: true, Level: [3]int{9, 8, 7}}),
		"gray":  imagegen.JPEG(imagegen.JPEGOptions{W: 30, H: 20, Comps: 1, Progressive: true, Scans: longProgressionSeed()}),
		"exif6": imagegen.JPEG(imagegen.JPEGOptions{W: 12, H: 7, Comps: 1, Orientation: 6}),
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecoder(t, data, nil)
		// DCT-scaled decoding through DecodeInto within its cost too.
		h, err := ParseHeader(data)
		if err != nil {
			return
		}
		p, _ := fuzzPre.Normalized()
		opts := DecodeOptions{MaxPixels: fuzzLimit, MinWidth: p.Width, MinHeight: p.Height}
		dst := tensor.New(tensor.U8, p.Shape(1))
		before := totalAlloc()
		if p.DecodeInto(context.Background(), data, opts, dst, 0) == nil {
			if used, c := totalAlloc()-before, h.Cost(p, opts); used > c+fuzzSlack && !raceEnabled {
				t.Fatalf("scaled DecodeInto allocated %d bytes, Header.Cost %d", used, c)
			}
		}
	})
}

// longProgressionSeed is a short successive-approximation progression for one component.
func longProgressionSeed() []imagegen.Scan {
	return []imagegen.Scan{{Comps: []int{0}}, {Comps: []int{0}, Ss: 1, Se: 9, Al: 2},
		{Comps: []int{0}, Ss: 1, Se: 9, Ah: 2, Al: 1}, {Comps: []int{0}, Ss: 10, Se: 63}, {Comps: []int{0}, Ss: 1, Se: 9, Ah: 1}}
}
