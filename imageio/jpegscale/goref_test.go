package jpegscale

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/testutil"
)

func gorootTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "image", "testdata", name))
	if err != nil {
		t.Skipf("Go's image testdata not available: %v", err)
	}
	return data
}

// TestGoldenGoTestdata decodes the JPEGs of Go's own image/testdata (4:1:0, 4:1:1, 4:4:0,
// 4:2:2, restart markers, RGB, CMYK, separate DC scans, progressive variants) at every
// scale and checks the SHA-256 of the result against Pillow's draft decode (goroot.txt).
func TestGoldenGoTestdata(t *testing.T) {
	hashGolden(t, "goroot.txt", gorootTestdata)
}

// TestGoldenSharedPhotos does the same for the team's real photos (../shared/images).
func TestGoldenSharedPhotos(t *testing.T) {
	hashGolden(t, "shared.txt", func(t testing.TB, name string) []byte {
		data, err := os.ReadFile(testutil.Shared(t, "images", name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	})
}

func hashGolden(t *testing.T, list string, load func(testing.TB, string) []byte) {
	f, err := os.Open(filepath.Join("testdata", list))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 5 || strings.HasPrefix(fs[0], "#") {
			continue
		}
		name, sum := fs[0], fs[4]
		s, _ := strconv.Atoi(fs[1])
		ow, _ := strconv.Atoi(fs[2])
		oh, _ := strconv.Atoi(fs[3])
		t.Run(fmt.Sprintf("%s/1:%d", name, s), func(t *testing.T) {
			data := load(t, name)
			img, scale, err := DecodeWith(bytes.NewReader(data), Options{Scale: s})
			if err != nil {
				t.Fatal(err)
			}
			if scale != s || img.W != ow || img.H != oh {
				t.Fatalf("got 1/%d %dx%d, want 1/%d %dx%d", scale, img.W, img.H, s, ow, oh)
			}
			h := sha256.Sum256(img.Pix)
			if hex.EncodeToString(h[:]) != sum {
				t.Errorf("output differs from Pillow's draft decode (sha256 %x)", h[:8])
			}
		})
	}
}

// goRGB decodes with Go's image/jpeg and converts to packed RGB with image/color.
func goRGB(t testing.TB, data []byte) ([]uint8, int, int) {
	t.Helper()
	m, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b := m.Bounds()
	out := make([]uint8, 0, b.Dx()*b.Dy()*3)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA)
			out = append(out, c.R, c.G, c.B)
		}
	}
	return out, b.Dx(), b.Dy()
}

// synth draws a photo-like test picture: smooth shading, edges and noise.
func synth(w, h int, gray bool, seed int64) image.Image {
	rng := rand.New(rand.NewSource(seed))
	if gray {
		m := image.NewGray(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				v := (x*255/max(w-1, 1) + y*3) % 256
				if (x/9+y/7)%3 == 0 {
					v = 255 - v
				}
				m.Pix[y*m.Stride+x] = uint8(min(max(v+rng.Intn(9)-4, 0), 255))
			}
		}
		return m
	}
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			i := y*m.Stride + 4*x
			// Colour varies smoothly; detail (edges, noise) is in luma, as in photos.
			l := (x/5+y/3)%2*60 - 30 + rng.Intn(7)
			m.Pix[i] = uint8(min(max(40+x*170/max(w-1, 1)+l, 0), 255))
			m.Pix[i+1] = uint8(min(max(40+y*170/max(h-1, 1)+l, 0), 255))
			m.Pix[i+2] = uint8(min(max(110+l, 0), 255))
			m.Pix[i+3] = 255
		}
	}
	return m
}

func encode(t testing.TB, m image.Image, q int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFullScaleVsGo: at 1/1 the output matches Go's image/jpeg. Grayscale and 4:4:4 differ
// only by IDCT and YCbCr->RGB rounding (libjpeg's islow and jdcolor vs Go's). Subsampled
// colour also differs by chroma upsampling (libjpeg's triangle filter, which we follow, vs
// Go's replication), so there luma is compared: 0.299R+0.587G+0.114B cancels the chroma terms
// of the YCbCr->RGB matrix, leaving the luma decode (pixels with a clipped channel excluded).
func TestFullScaleVsGo(t *testing.T) {
	type tcase struct {
		name string
		data []byte
		rgb  bool // compare RGB (gray, 4:4:4) rather than luma
	}
	var cases []tcase
	for _, sz := range [][2]int{{1, 1}, {7, 9}, {15, 17}, {45, 29}, {64, 48}, {97, 61}} {
		cases = append(cases,
			tcase{fmt.Sprintf("gray%dx%d", sz[0], sz[1]), encode(t, synth(sz[0], sz[1], true, 1), 90), true},
			tcase{fmt.Sprintf("color420_%dx%d", sz[0], sz[1]), encode(t, synth(sz[0], sz[1], false, 1), 90), false})
	}
	for _, name := range []string{"video-005.gray.jpeg", "video-005.gray.q50.2x2.progressive.jpeg",
		"video-001.q50.444.jpeg", "video-001.q50.444.progressive.jpeg"} {
		cases = append(cases, tcase{name, gorootTestdata(t, name), true})
	}
	for _, name := range []string{"video-001.restart2.jpeg", "video-001.q50.420.progressive.jpeg",
		"video-001.q50.410.jpeg", "video-001.q50.440.progressive.jpeg",
		"video-001.separate.dc.progression.progressive.jpeg", "video-001.jpeg"} {
		cases = append(cases, tcase{name, gorootTestdata(t, name), false})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, w, h := goRGB(t, tc.data)
			img, scale, err := DecodeWith(bytes.NewReader(tc.data), Options{Scale: 1})
			if err != nil {
				t.Fatal(err)
			}
			if scale != 1 || img.W != w || img.H != h {
				t.Fatalf("got 1/%d %dx%d want %dx%d", scale, img.W, img.H, w, h)
			}
			a, b := img.Pix, want
			tol := 2 // gray: IDCT rounding
			if strings.Contains(tc.name, "444") {
				tol = 3 // a 1-level chroma IDCT difference becomes up to 1.772 levels in B
			}
			if !tc.rgb {
				a, b = luma(img.Pix, want), luma(want, img.Pix)
				tol = 3
			}
			d, _ := maxDiff(a, b)
			t.Logf("vs Go image/jpeg (%s): max %d mean %.3f over %d values", map[bool]string{true: "RGB", false: "luma"}[tc.rgb], d, meanDiff(a, b), len(a))
			if d > tol {
				t.Errorf("max diff %d > %d", d, tol)
			}
		})
	}
}

// luma returns 0.299R+0.587G+0.114B (rounded) for the pixels of p where neither p nor q
// has a clipped channel.
func luma(p, q []uint8) []uint8 {
	var out []uint8
	for i := 0; i+2 < len(p); i += 3 {
		clipped := false
		for c := range 3 {
			clipped = clipped || p[i+c] == 0 || p[i+c] == 255 || q[i+c] == 0 || q[i+c] == 255
		}
		if !clipped {
			out = append(out, uint8((299*int(p[i])+587*int(p[i+1])+114*int(p[i+2])+500)/1000))
		}
	}
	return out
}

func meanDiff(a, b []uint8) float64 {
	s := 0
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		s += d
	}
	return float64(s) / float64(max(len(a), 1))
}

// boxDown averages s x s pixel groups (partial groups at the right/bottom edges).
func boxDown(pix []uint8, w, h, s int) ([]uint8, int, int) {
	ow, oh := ScaledSize(w, h, s)
	out := make([]uint8, ow*oh*3)
	for oy := range oh {
		for ox := range ow {
			for c := range 3 {
				sum, n := 0, 0
				for y := oy * s; y < min(oy*s+s, h); y++ {
					for x := ox * s; x < min(ox*s+s, w); x++ {
						sum += int(pix[(y*w+x)*3+c])
						n++
					}
				}
				out[(oy*ow+ox)*3+c] = uint8((sum + n/2) / n)
			}
		}
	}
	return out, ow, oh
}

// TestScaledVsBoxDownscale: DCT-domain scaling approximates box-averaging the full decode.
// Grayscale at 1/8 is the DC term, i.e. the exact block mean before clamping.
func TestScaledVsBoxDownscale(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"gray", encode(t, synth(203, 131, true, 1), 92)},
		{"color420", encode(t, synth(203, 131, false, 2), 92)},
		{"goroot444", nil},
	} {
		data := tc.data
		if data == nil {
			data = gorootTestdata(t, "video-001.q50.444.jpeg")
		}
		full, _, err := DecodeWith(bytes.NewReader(data), Options{Scale: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []int{2, 4, 8} {
			want, ow, oh := boxDown(full.Pix, full.W, full.H, s)
			img, _, err := DecodeWith(bytes.NewReader(data), Options{Scale: s})
			if err != nil {
				t.Fatal(err)
			}
			if img.W != ow || img.H != oh {
				t.Fatalf("%s 1/%d: %dx%d want %dx%d", tc.name, s, img.W, img.H, ow, oh)
			}
			// Interior only: edge blocks of a non-multiple-of-8 image average replicated
			// padding the encoder invented, not just visible pixels.
			var a, b []uint8
			for y := 0; y < (full.H/8*8)/s; y++ {
				row := y * ow * 3
				n := (full.W / 8 * 8) / s * 3
				a = append(a, img.Pix[row:row+n]...)
				b = append(b, want[row:row+n]...)
			}
			d, _ := maxDiff(a, b)
			mean := meanDiff(a, b)
			t.Logf("%s 1/%d vs box-downscaled 1/1: max %d mean %.3f", tc.name, s, d, mean)
			tol := map[int]float64{2: 3, 4: 4, 8: 5}[s]
			if mean > tol {
				t.Errorf("%s 1/%d: mean diff %.3f > %.1f", tc.name, s, mean, tol)
			}
			if tc.name == "gray" && s == 8 && d > 2 {
				t.Errorf("gray 1/8 (DC/8) vs block mean: max %d > 2", d)
			}
		}
	}
}

func TestChooseScale(t *testing.T) {
	for _, tc := range []struct{ w, h, mw, mh, want int }{
		{6000, 4000, 256, 256, 8}, {6000, 4000, 224, 224, 8}, {640, 480, 256, 256, 1},
		{640, 480, 224, 224, 2}, {2048, 1536, 256, 256, 4}, {2047, 1536, 256, 256, 4},
		{2040, 2040, 256, 256, 4}, {2041, 2041, 256, 256, 8}, {100, 100, 0, 0, 8}, {10, 10, 20, 20, 1},
	} {
		if got := ChooseScale(tc.w, tc.h, tc.mw, tc.mh); got != tc.want {
			t.Errorf("ChooseScale(%d,%d,%d,%d) = %d, want %d", tc.w, tc.h, tc.mw, tc.mh, got, tc.want)
		}
		s := ChooseScale(tc.w, tc.h, tc.mw, tc.mh)
		sw, sh := ScaledSize(tc.w, tc.h, s)
		if s > 1 && (sw < tc.mw || sh < tc.mh) {
			t.Errorf("%v: scaled %dx%d below minimum", tc, sw, sh)
		}
	}
}
