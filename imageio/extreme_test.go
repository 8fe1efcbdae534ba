package imageio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/internal/imagegen"
	"github.com/wanwu-ai/wanwu/tensor"
)

// extremeImages are very tall, very wide and 100 MP images of every format whose encoded form
// stays small (flat content), generated here rather than committed.
func extremeImages(short bool) map[string][]byte {
	tallPNG := 100_000_000
	if short {
		tallPNG = 2_000_000
	}
	return map[string][]byte{
		"png 1x100M": imagegen.TallPNG(tallPNG, [3]byte{200, 100, 50}),
		"png 1Mx1":   imagegen.PNG(imagegen.PNGOptions{W: 1_000_000, H: 1, ColorType: imagegen.RGB, Depth: 8, Pixel: imagegen.Flat}),
		"png 16-bit RGBA Adam7 10MP": imagegen.PNG(imagegen.PNGOptions{W: 3163, H: 3162, ColorType: imagegen.RGBA, Depth: 16,
			Interlaced: true, Pixel: imagegen.Flat, Filter: 3, Level: 9}),
		"bmp 1x4M":             imagegen.BMP(imagegen.BMPOptions{W: 1, H: 4_000_000, BPP: 8, Pixel: imagegen.Flat}),
		"bmp 4Mx1":             imagegen.BMP(imagegen.BMPOptions{W: 4_000_000, H: 1, BPP: 24, Pixel: imagegen.Flat}),
		"gif 1x65535":          imagegen.GIF(imagegen.GIFOptions{W: 1, H: 65535, Transparent: -1, Pixel: imagegen.Flat}),
		"gif 65535x1":          imagegen.GIF(imagegen.GIFOptions{W: 65535, H: 1, Transparent: -1, Pixel: imagegen.Flat}),
		"gif 100MP":            imagegen.GIF(imagegen.GIFOptions{W: 65535, H: 1525, Interlaced: true, Transparent: -1, Pixel: imagegen.Flat}),
		"jpeg 100MP":           imagegen.JPEG(imagegen.JPEGOptions{W: 65535, H: 1525, Comps: 3, Subsample420: true, Level: [3]int{300, -200, 100}}),
		"jpeg 8x65535":         imagegen.JPEG(imagegen.JPEGOptions{W: 8, H: 65535, Comps: 3, Subsample420: true}),
		"jpeg prog 100MP":      imagegen.JPEG(imagegen.JPEGOptions{W: 10000, H: 10000, Comps: 3, Subsample420: true, Progressive: true}),
		"webp 100MP":           imagegen.WebP(imagegen.WebPOptions{W: 16383, H: 6103}),
		"webp 1x16383":         imagegen.WebP(imagegen.WebPOptions{W: 1, H: 16383}),
		"webp 16383x1 rotated": imagegen.WebP(imagegen.WebPOptions{W: 16383, H: 1, Orientation: 6}),
	}
}

// TestExtremeImages decodes each extreme image for the default model (stretch to 224, plain
// bilinear) and for torchvision's pipeline (shorter side 256, 224 crop, antialiased): what it
// allocates stays within Header.Cost, the streamed formats cost a few MiB whatever their size,
// and none takes more than about 2 s of CPU.
func TestExtremeImages(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts and CPU time under -race")
	}
	pres := []Preprocess{
		{Width: 224, Height: 224, Resize: "stretch", Filter: "bilinear", Layout: "NHWC", DType: "u8"},
		{Width: 224, Height: 224, Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}},
	}
	for name, data := range extremeImages(testing.Short()) {
		h, err := ParseHeader(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, p := range pres {
			p, _ = p.Normalized()
			opts := DecodeOptions{MinWidth: p.Width, MinHeight: p.Height}
			dst := tensor.New(p.TensorDType(), p.Shape(1))
			var derr error
			var used time.Duration
			got := allocated(func() {
				start := cpuTime()
				derr = p.DecodeInto(context.Background(), data, opts, dst, 0)
				used = cpuTime() - start
			})
			if derr != nil {
				t.Fatalf("%s: %v", name, derr)
			}
			cost := h.Cost(p, opts)
			t.Logf("%-26s pre%d: %7d KB file, allocated %8.2f MiB, predicted %8.2f MiB, %v CPU",
				name, i, len(data)>>10, float64(got)/(1<<20), float64(cost)/(1<<20), used.Round(time.Millisecond))
			if got > cost {
				t.Errorf("%s pre%d: allocated %d > predicted %d", name, i, got, cost)
			}
			if used > 3*time.Second { // about 2 s on an idle core; this machine is shared
				t.Errorf("%s pre%d: %v of CPU", name, i, used)
			}
		}
	}
	// Wide PNGs and BMPs need their rows (a PNG's filters read the previous one): 100M×1 is
	// predicted as what it is, so that a budget refuses it rather than the process running out.
	wide := Header{Format: PNG, Width: 100_000_000, Height: 1, Orientation: 1, pngBits: 24}
	p, _ := pres[0].Normalized()
	if c := wide.Cost(p, DecodeOptions{}); c < 600<<20 {
		t.Errorf("100Mx1 PNG predicted %d bytes, want at least its two 300 MB rows", c)
	}
}

// TestHeaderOnlyBombs: headers declaring large images followed by no pixel data fail at once
// with a truncation error, allocating little (the streamed formats cost a row or two).
func TestHeaderOnlyBombs(t *testing.T) {
	// Each is a small valid file whose header is patched to declare 10000×10000.
	bmp := imagegen.BMP(imagegen.BMPOptions{W: 10000, H: 1, BPP: 24})[:54]
	binary.LittleEndian.PutUint32(bmp[22:], 10000)
	ihdr := []byte{0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10, 8, 2, 0, 0, 0}
	png := append([]byte("\x89PNG\r\n\x1a\n"), imagegen.Chunk("IHDR", ihdr)...)
	gif := imagegen.GIF(imagegen.GIFOptions{W: 10000, H: 1, Transparent: -1})[:800]
	binary.LittleEndian.PutUint16(gif[8:], 10000)        // screen height
	binary.LittleEndian.PutUint16(gif[13+768+7:], 10000) // first frame's height
	webp := imagegen.WebP(imagegen.WebPOptions{W: 2, H: 2, Pixel: imagegen.Noise(1)})
	bits := uint32(9999) | 9999<<14 // width-1, height-1 after the 0x2f signature
	webp[21], webp[22], webp[23] = byte(bits), byte(bits>>8), byte(bits>>16)
	webp[24] = webp[24]&0xf0 | byte(bits>>24)
	full := map[string][]byte{
		"bmp":  bmp,
		"png":  png,
		"gif":  gif,
		"jpeg": imagegen.JPEG(imagegen.JPEGOptions{W: 10000, H: 10000, Comps: 3})[:200],
		"webp": webp,
	}
	p, _ := Preprocess{Width: 224, Height: 224}.Normalized()
	for name, data := range full {
		dst := tensor.New(p.TensorDType(), p.Shape(1))
		var err error
		got := allocated(func() { err = p.DecodeInto(context.Background(), data, DecodeOptions{}, dst, 0) })
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want a truncation", name, err)
		}
		if got > 8<<20 && !raceEnabled { // WebP: the LZ77 window (4 MiB) comes before the pixels
			t.Errorf("%s: a header-only file allocated %d bytes", name, got)
		}
		t.Logf("%s (%d bytes): %v; allocated %d bytes", name, len(data), err, got)
	}
}

// TestCancelEveryFormat: a deadline stops the decode of a large image of every format soon
// after it passes, with the context's error.
func TestCancelEveryFormat(t *testing.T) {
	imgs := map[string][]byte{
		"png":  imagegen.TallPNG(20_000_000, [3]byte{1, 2, 3}),
		"bmp":  imagegen.BMP(imagegen.BMPOptions{W: 1, H: 8_000_000, BPP: 8, Pixel: imagegen.Flat}),
		"gif":  imagegen.GIF(imagegen.GIFOptions{W: 65535, H: 1525, Transparent: -1, Pixel: imagegen.Flat}),
		"jpeg": imagegen.JPEG(imagegen.JPEGOptions{W: 10000, H: 10000, Comps: 3, Progressive: true}),
		"webp": imagegen.WebP(imagegen.WebPOptions{W: 16383, H: 6103}),
	}
	p, _ := Preprocess{Width: 224, Height: 224, Resize: "stretch"}.Normalized()
	for name, data := range imgs {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		dst := tensor.New(p.TensorDType(), p.Shape(1))
		start := time.Now()
		err := p.DecodeInto(ctx, data, DecodeOptions{}, dst, 0)
		el := time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: err = %v, want context.DeadlineExceeded", name, err)
		}
		t.Logf("%s: stopped after %v: %v", name, el.Round(time.Millisecond), err)
		if el > 500*time.Millisecond {
			t.Errorf("%s: stopped %v after a 20 ms deadline", name, el)
		}
	}
}

func TestMain(m *testing.M) {
	if os.Getenv("IMAGEIO_EXTREME_LIST") != "" {
		for name, d := range extremeImages(false) {
			fmt.Println(name, len(d))
		}
	}
	os.Exit(m.Run())
}
