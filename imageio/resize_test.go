package imageio

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/imagegen"
	"github.com/wanwu-ai/wanwu/tensor"
)

// refAxis is the table-only coefficient computation imageio used before resizing was
// streamed: Pillow's precompute_coeffs + normalize_coeffs_8bpc for outputs [first, first+n).
type refAxis struct {
	start, count []int
	k            [][]int32
}

func refPrepare(in, out, first, n int, antialias bool) refAxis {
	scale := float64(in) / float64(out)
	filterscale := max(scale, 1)
	if !antialias {
		filterscale = 1
	}
	support := filterscale
	var a refAxis
	for i := range n {
		center := (float64(first+i) + 0.5) * scale
		ss := 1 / filterscale
		xmin := max(int(center-support+0.5), 0)
		xmax := min(int(center+support+0.5), in) - xmin
		ws := make([]float64, xmax)
		ww := 0.0
		for x := range xmax {
			v := math.Abs((float64(x+xmin) - center + 0.5) * ss)
			if v < 1 {
				v = 1 - v
			} else {
				v = 0
			}
			ws[x] = v
			ww += v
		}
		k := make([]int32, xmax)
		for x := range k {
			v := ws[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				k[x] = int32(-0.5 + v*(1<<precisionBits))
			} else {
				k[x] = int32(0.5 + v*(1<<precisionBits))
			}
		}
		a.start, a.count, a.k = append(a.start, xmin), append(a.count, xmax), append(a.k, k)
	}
	return a
}

// referenceResize is the pre-streaming Preprocess pipeline: the horizontal pass over every
// source row the window reads into a temporary image, then the vertical pass; it returns the
// w×h window of a resize to rw×rh at (left, top) as packed RGB.
func referenceResize(img *RGB, rw, rh, left, top, w, h int, antialias bool) []uint8 {
	ax := refPrepare(img.W, rw, left, w, antialias)
	ay := refPrepare(img.H, rh, top, h, antialias)
	y0 := ay.start[0]
	y1 := ay.start[h-1] + ay.count[h-1]
	tmp := make([]uint8, (y1-y0)*w*3)
	for y := y0; y < y1; y++ {
		src := img.Pix[y*img.W*3:]
		for x := range w {
			var acc [3]int32
			for c := range acc {
				acc[c] = 1 << (precisionBits - 1)
			}
			for j, k := range ax.k[x] {
				for c := range 3 {
					acc[c] += int32(src[(ax.start[x]+j)*3+c]) * k
				}
			}
			for c := range 3 {
				tmp[((y-y0)*w+x)*3+c] = clip8(acc[c])
			}
		}
	}
	out := make([]uint8, w*h*3)
	for i := range h {
		for x := range w * 3 {
			s := int32(1 << (precisionBits - 1))
			for j, k := range ay.k[i] {
				s += int32(tmp[(ay.start[i]-y0+j)*w*3+x]) * k
			}
			out[i*w*3+x] = clip8(s)
		}
	}
	return out
}

func randomImage(rng *rand.Rand, w, h int) *RGB {
	img := NewRGB(w, h)
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
	}
	return img
}

// checkResize compares Into (streamed, pooled scratch) with the reference for one case.
func checkResize(t *testing.T, img *RGB, p Preprocess) {
	t.Helper()
	p, err := p.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	p.Layout, p.DType = "NHWC", "u8"
	dst := tensor.New(tensor.U8, p.Shape(1))
	if err := p.Into(img, dst, 0); err != nil {
		t.Fatal(err)
	}
	rw, rh, left, top := p.Geometry(img.W, img.H)
	want := referenceResize(img, rw, rh, left, top, p.Width, p.Height, p.Filter == "antialias")
	if i := firstDiff(dst.Data, want, 0); !bytes.Equal(dst.Data, want) {
		t.Fatalf("%dx%d -> %+v: value %d = %d, reference %d", img.W, img.H, p, i, dst.Data[i], want[i])
	}
}

// TestResizeMatchesReference: the streaming resize (with lazily computed coefficients for wide
// filters) equals the table-based two-pass one over random sizes, extreme aspect ratios, both
// filters and both geometries, including with scratch reused between very different resizes.
func TestResizeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	sizes := [][2]int{{1, 1}, {1, 3000}, {3000, 1}, {2, 70000}, {70000, 2}, {640, 480}, {7, 5}, {224, 224}, {225, 223}}
	for range 30 {
		sizes = append(sizes, [2]int{1 + rng.IntN(400), 1 + rng.IntN(400)})
	}
	for _, sz := range sizes {
		img := randomImage(rng, sz[0], sz[1])
		for _, p := range []Preprocess{
			{Width: 1 + rng.IntN(64), Height: 1 + rng.IntN(64), Resize: "stretch"},
			{Width: 1 + rng.IntN(64), Height: 1 + rng.IntN(64), Resize: "stretch", Filter: "bilinear"},
			{Width: 16, Height: 12, ResizeShorter: 20},
			{Width: 16, Height: 12, ResizeShorter: 17, Filter: "bilinear"},
		} {
			checkResize(t, img, p)
		}
	}
}

// TestStreamedOrientationsAndOrder: DecodeInto (rows streamed through the orientation sinks,
// bottom-up for BMP) equals Into on the fully decoded image, for every orientation and layout.
func TestStreamedOrientationsAndOrder(t *testing.T) {
	pres := []Preprocess{
		{Width: 31, Height: 17, Resize: "stretch", Layout: "NHWC", DType: "u8"},
		{Width: 8, Height: 8, ResizeShorter: 11, Layout: "NHWC", DType: "u8"},
		{Width: 9, Height: 13, ResizeShorter: 15, Filter: "bilinear", Layout: "NHWC", DType: "u8"},
		// A plain bilinear downscale reads two rows in several: decoders skip the rest.
		{Width: 7, Height: 4, Resize: "stretch", Filter: "bilinear", Layout: "NHWC", DType: "u8"},
	}
	var files [][]byte
	for o := 1; o <= 8; o++ {
		files = append(files,
			imagegen.PNG(imagegen.PNGOptions{W: 53, H: 29, ColorType: imagegen.RGB, Depth: 8, Orientation: o, Pixel: imagegen.Noise(uint32(o))}),
			imagegen.JPEG(imagegen.JPEGOptions{W: 40, H: 30, Comps: 3, Orientation: o, Level: [3]int{200, 40, -90}}),
			imagegen.WebP(imagegen.WebPOptions{W: 23, H: 41, Orientation: o, Pixel: imagegen.Noise(uint32(o))}))
	}
	files = append(files, imagegen.BMP(imagegen.BMPOptions{W: 33, H: 21, BPP: 24, Pixel: imagegen.Noise(4)}),
		imagegen.PNG(imagegen.PNGOptions{W: 33, H: 47, ColorType: imagegen.RGBA, Depth: 16, Interlaced: true, Pixel: imagegen.Noise(5)}),
		imagegen.GIF(imagegen.GIFOptions{W: 27, H: 35, Interlaced: true, Transparent: -1, Pixel: imagegen.Noise(6)}))
	for fi, data := range files {
		img, err := DecodeBytes(data, DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pres {
			p, _ = p.Normalized()
			want := tensor.New(tensor.U8, p.Shape(1))
			if err := p.Into(img, want, 0); err != nil {
				t.Fatal(err)
			}
			got := tensor.New(tensor.U8, p.Shape(1))
			if err := p.DecodeInto(context.Background(), data, DecodeOptions{}, got, 0); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Data, want.Data) {
				t.Fatalf("file %d (%s, orientation %d) %+v: DecodeInto differs from Into(DecodeBytes) at %d",
					fi, Sniff(data), Orientation(Sniff(data), data), p, firstDiff(got.Data, want.Data, 0))
			}
			// DecodeResized then Into only normalises, to the same result.
			r, err := p.DecodeResized(context.Background(), data, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			again := tensor.New(tensor.U8, p.Shape(1))
			if err := p.Into(r, again, 0); err != nil || !bytes.Equal(again.Data, want.Data) {
				t.Fatalf("file %d: Into(DecodeResized) differs (%v)", fi, err)
			}
		}
	}
}

// fuzzSlack allows for what the fuzzing engine's own goroutines allocate while a fuzz target
// measures its allocations (TotalAlloc is process-wide).
const fuzzSlack = 32 << 10

// FuzzResize: random source sizes (extreme aspect ratios included), output sizes, geometries
// and filters; the streaming resize must equal the reference two-pass one and allocate no more
// than the resizer's share of Header.Cost.
func FuzzResize(f *testing.F) {
	f.Add(uint16(1), uint16(2000), uint8(7), uint8(9), uint8(0), uint64(1))
	f.Add(uint16(3000), uint16(1), uint8(200), uint8(3), uint8(1), uint64(2))
	f.Add(uint16(37), uint16(29), uint8(64), uint8(64), uint8(2), uint64(3))
	f.Add(uint16(5), uint16(5), uint8(250), uint8(250), uint8(3), uint64(4))
	f.Fuzz(func(t *testing.T, w, h uint16, ow, oh, mode uint8, seed uint64) {
		if w == 0 || h == 0 || ow == 0 || oh == 0 || int(w)*int(h) > 1<<20 {
			return
		}
		rng := rand.New(rand.NewPCG(seed, 1))
		img := randomImage(rng, int(w), int(h))
		p := Preprocess{Width: int(ow), Height: int(oh), Resize: "stretch"}
		if mode&1 == 1 {
			p.Filter = "bilinear"
		}
		if mode&2 == 2 {
			p.Resize, p.ResizeShorter = "shorter_crop", max(int(ow), int(oh))+int(mode>>2)
		}
		checkResize(t, img, p)
		if raceEnabled {
			return
		}
		pn, _ := p.Normalized()
		g := pn.plan(img.W, img.H)
		var rz resizer
		got := allocated(func() { pn.initResizer(&rz, img.W, img.H); rz.pushImage(img) })
		if got > g.bytes+fuzzSlack {
			t.Fatalf("resizer allocated %d bytes, planned %d", got, g.bytes)
		}
	})
}
