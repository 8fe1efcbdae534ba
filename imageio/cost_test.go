package imageio

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/imagegen"
	"github.com/wanwu-ai/wanwu/tensor"
)

// allocated is the heap f allocates, with the collector off (so it is also f's peak heap growth)
// and sync.Pools emptied first (so pooled scratch counts).
func allocated(f func()) int64 {
	runtime.GC()
	runtime.GC() // a second cycle empties the pools' victim caches
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return int64(b.TotalAlloc - a.TotalAlloc)
}

// allocatedWithin is allocated(f), measured again (up to twice more, keeping the least) when it exceeds
// bound: TotalAlloc counts the whole process, so a runtime or testing goroutine that allocates during f
// adds a few hundred bytes now and then, while f's own allocation is the same every run.
func allocatedWithin(bound int64, f func()) int64 {
	got := allocated(f)
	for i := 0; i < 2 && got > bound; i++ {
		got = min(got, allocated(f))
	}
	return got
}

// costCases are images of every format and variant the cost model distinguishes.
func costCases() map[string][]byte {
	c := map[string][]byte{}
	for name, data := range pngVariants() {
		c["png_"+name] = data
	}
	for _, ct := range []int{imagegen.Gray, imagegen.RGB, imagegen.Paletted, imagegen.GrayAlpha, imagegen.RGBA} {
		depths := []int{8, 16}
		if ct == imagegen.Paletted {
			depths = []int{1, 8}
		}
		for _, d := range depths {
			for _, il := range []bool{false, true} {
				c[fmt.Sprintf("png_big_ct%d_d%d_il%v", ct, d, il)] = imagegen.PNG(imagegen.PNGOptions{
					W: 700, H: 500, ColorType: ct, Depth: d, Interlaced: il, Pixel: imagegen.Gradient})
			}
		}
	}
	for o := 1; o <= 8; o++ {
		c[fmt.Sprintf("png_orient%d", o)] = imagegen.PNG(imagegen.PNGOptions{W: 600, H: 400, ColorType: imagegen.RGB, Depth: 8, Orientation: o})
		c[fmt.Sprintf("jpeg_orient%d", o)] = imagegen.JPEG(imagegen.JPEGOptions{W: 640, H: 480, Comps: 3, Subsample420: true, Orientation: o})
		c[fmt.Sprintf("jpeg_prog_orient%d", o)] = imagegen.JPEG(imagegen.JPEGOptions{W: 640, H: 480, Comps: 3, Progressive: true, Orientation: o})
		c[fmt.Sprintf("webp_orient%d", o)] = imagegen.WebP(imagegen.WebPOptions{W: 300, H: 200, Pixel: imagegen.Noise(2), Orientation: o})
	}
	c["png_tall"] = imagegen.PNG(imagegen.PNGOptions{W: 1, H: 200000, ColorType: imagegen.RGB, Depth: 8, Pixel: imagegen.Flat})
	c["png_wide"] = imagegen.PNG(imagegen.PNGOptions{W: 200000, H: 1, ColorType: imagegen.RGB, Depth: 8, Pixel: imagegen.Flat})
	c["png_tall_adam7_16"] = imagegen.PNG(imagegen.PNGOptions{W: 3, H: 100000, ColorType: imagegen.RGBA, Depth: 16, Interlaced: true, Pixel: imagegen.Flat})
	for _, bpp := range []int{1, 4, 8, 24, 32} {
		c[fmt.Sprintf("bmp_%d", bpp)] = imagegen.BMP(imagegen.BMPOptions{W: 500, H: 300, BPP: bpp})
	}
	c["bmp_tall"] = imagegen.BMP(imagegen.BMPOptions{W: 1, H: 300000, BPP: 8, Pixel: imagegen.Flat})
	for _, il := range []bool{false, true} {
		c[fmt.Sprintf("gif_il%v", il)] = imagegen.GIF(imagegen.GIFOptions{W: 500, H: 300, Interlaced: il, Transparent: -1})
	}
	c["gif_tall"] = imagegen.GIF(imagegen.GIFOptions{W: 1, H: 60000, Transparent: -1, Pixel: imagegen.Flat})
	c["gif_small_frame"] = imagegen.GIF(imagegen.GIFOptions{W: 40, H: 30, ScreenW: 400, ScreenH: 300, Transparent: 3})
	for _, comps := range []int{1, 3} {
		for _, prog := range []bool{false, true} {
			for _, sub := range []bool{false, true} {
				c[fmt.Sprintf("jpeg_c%d_prog%v_420%v", comps, prog, sub)] = imagegen.JPEG(imagegen.JPEGOptions{
					W: 1000, H: 700, Comps: comps, Progressive: prog, Subsample420: sub, Level: [3]int{100, -40, 60}})
			}
		}
	}
	c["jpeg_tall"] = imagegen.JPEG(imagegen.JPEGOptions{W: 8, H: 65535, Comps: 3, Subsample420: true})
	c["jpeg_wide_prog"] = imagegen.JPEG(imagegen.JPEGOptions{W: 65535, H: 16, Comps: 3, Progressive: true})
	c["webp_lossless"] = imagegen.WebP(imagegen.WebPOptions{W: 500, H: 300, Pixel: imagegen.Noise(1)})
	c["webp_tall_constant"] = imagegen.WebP(imagegen.WebPOptions{W: 1, H: 16383})
	files, _ := filepath.Glob("testdata/images/*")
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil {
			c["file_"+filepath.Base(f)] = data
		}
	}
	return c
}

// TestCostBoundsAllocation measures what DecodeInto and DecodeContext allocate for every case
// and preprocessing and checks it against Header.Cost / DecodeCost: never above the prediction,
// and the prediction at most 1.5x the measure plus 64 KiB.
func TestCostBoundsAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts under -race")
	}
	pres := []Preprocess{
		{Width: 224, Height: 224, Resize: "stretch", Filter: "bilinear", Layout: "NHWC", DType: "u8"},
		{Width: 224, Height: 224},
		{Width: 96, Height: 64, Resize: "stretch"},
	}
	cases := costCases()
	names := make([]string, 0, len(cases))
	for n := range cases {
		names = append(names, n)
	}
	sort.Strings(names)
	check := func(t *testing.T, what string, measured, predicted int64, loose bool) {
		t.Helper()
		if testing.Verbose() {
			t.Logf("%s: allocated %d, predicted %d", what, measured, predicted)
		}
		if measured > predicted {
			t.Errorf("%s: allocated %d bytes, predicted %d", what, measured, predicted)
		}
		if !loose && predicted > measured*3/2+64<<10 {
			t.Errorf("%s: predicted %d bytes, allocated only %d", what, predicted, measured)
		}
	}
	for _, name := range names {
		data := cases[name]
		h, err := ParseHeader(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// A header read from the start of the file only (ReadHeader reads 256 KiB) must still
		// bound the decode; it may be looser (a GIF's first frame, a JPEG's first scan or a
		// lossless WebP's codes may lie past it).
		prefix, err := ParseHeader(data[:min(len(data), 200)])
		if err == nil {
			prefix.FileBytes, prefix.partial = int64(len(data)), len(data) > 200
		}
		loose := false
		for i, p := range pres {
			p, _ = p.Normalized()
			for _, opts := range []DecodeOptions{{}, {MinWidth: p.Width, MinHeight: p.Height}} {
				dst := tensor.New(p.TensorDType(), p.Shape(1))
				var derr error
				got := allocatedWithin(h.Cost(p, opts), func() { derr = p.DecodeInto(context.Background(), data, opts, dst, 0) })
				if derr != nil {
					t.Fatalf("%s: %v", name, derr)
				}
				check(t, fmt.Sprintf("%s pre%d %+v DecodeInto", name, i, opts), got, h.Cost(p, opts), loose)
				if err == nil {
					check(t, fmt.Sprintf("%s pre%d %+v DecodeInto, header from 200 bytes", name, i, opts), got, prefix.Cost(p, opts), true)
				}
			}
		}
		var derr error
		got := allocatedWithin(h.DecodeCost(0, 0)-h.FileBytes, func() { _, derr = DecodeContext(context.Background(), data, DecodeOptions{}) })
		if derr != nil {
			t.Fatal(derr)
		}
		check(t, name+" DecodeContext", got, h.DecodeCost(0, 0)-h.FileBytes, loose)
	}
}

// TestReadHeaderFindsTrailingEXIF: ReadHeader reads 256 KiB, but finds the orientation of a PNG
// or WebP whose EXIF comes after the pixels by walking the chunk headers, so the cost does not
// have to assume the worst orientation.
func TestReadHeaderFindsTrailingEXIF(t *testing.T) {
	dir := t.TempDir()
	png := imagegen.PNG(imagegen.PNGOptions{W: 700, H: 500, ColorType: imagegen.RGB, Depth: 8, Pixel: imagegen.Noise(1)})
	iend := len(png) - 12
	png = append(append(append([]byte{}, png[:iend]...), imagegen.Chunk("eXIf", imagegen.EXIF(6))...), png[iend:]...)
	web := imagegen.WebP(imagegen.WebPOptions{W: 400, H: 300, Pixel: imagegen.Noise(2), Orientation: 8})
	for _, c := range []struct {
		name string
		data []byte
		want int
	}{{"late.png", png, 6}, {"late.webp", web, 8}} {
		if len(c.data) <= headerPeek {
			t.Fatalf("%s: %d bytes, not past the header peek", c.name, len(c.data))
		}
		path := filepath.Join(dir, c.name)
		os.WriteFile(path, c.data, 0o644)
		h, err := ReadHeader(path)
		if err != nil {
			t.Fatal(err)
		}
		if h.Orientation != c.want || h.partial {
			t.Errorf("%s: orientation %d (unsure %v), want %d", c.name, h.Orientation, h.partial, c.want)
		}
		if full, _ := ParseHeader(c.data); full.Orientation != c.want {
			t.Errorf("%s: ParseHeader orientation %d", c.name, full.Orientation)
		}
	}
}
