package imageio

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/tensor"
)

// goldenCase is one entry of testdata/golden/golden.json, written by tools/imageio_golden/gen.py.
type goldenCase struct {
	Name, Src, Op, File string
	W, H, Shorter       int
	Mean, Std           []float32
}

func loadGolden(t *testing.T) []goldenCase {
	t.Helper()
	data, err := os.ReadFile("testdata/golden/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct{ Cases []goldenCase }
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return g.Cases
}

func goldenSource(t *testing.T, src string) string {
	if rest, ok := strings.CutPrefix(src, "shared:"); ok {
		return testutil.Shared(t, strings.Split(rest, "/")...)
	}
	return filepath.FromSlash(src)
}

// TestGoldenPillow compares decoding, resizing and the whole pipeline with Pillow/torchvision.
// Tolerance is ±1 per channel value (observed: bit-exact for every case, JPEG included, since
// imageio/jpegscale follows libjpeg-turbo); the count of differing values is logged.
func TestGoldenPillow(t *testing.T) {
	for _, c := range loadGolden(t) {
		t.Run(c.Name, func(t *testing.T) {
			path := goldenSource(t, c.Src)
			img, err := DecodeFile(path, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata/golden", c.File))
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			switch c.Op {
			case "decode":
				if img.W != c.W || img.H != c.H {
					t.Fatalf("decoded %dx%d, Pillow %dx%d", img.W, img.H, c.W, c.H)
				}
				got = img.Pix
			case "stretch", "shorter_crop":
				p := Preprocess{Width: c.W, Height: c.H, Resize: c.Op, ResizeShorter: c.Shorter, Layout: "NHWC", DType: "u8"}
				p, err = p.Normalized()
				if err != nil {
					t.Fatal(err)
				}
				dst := tensor.New(tensor.U8, p.Shape(1))
				if err := p.Into(img, dst, 0); err != nil {
					t.Fatal(err)
				}
				got = dst.Data
			case "f32_nchw":
				p := Preprocess{Width: c.W, Height: c.H, ResizeShorter: c.Shorter,
					Mean: [3]float32(c.Mean), Std: [3]float32(c.Std)}
				dst := tensor.New(tensor.F32, tensor.Shape{2, 3, c.H, c.W})
				if err := p.Into(img, dst, 1); err != nil {
					t.Fatal(err)
				}
				gotF := dst.F32()[3*c.W*c.H:]
				maxDiff, n := 0.0, 0
				for i := range gotF {
					w := float64(math.Float32frombits(binary.LittleEndian.Uint32(want[4*i:])))
					d := math.Abs(float64(gotF[i]) - w)
					maxDiff = max(maxDiff, d)
					if d > 1e-6 {
						n++
					}
				}
				// One pixel step is 1/255/std ≈ 0.0175; allow one step.
				if maxDiff > 1.0/255/0.224+1e-5 {
					t.Errorf("max |diff| %.6f vs torchvision (> one pixel step)", maxDiff)
				}
				t.Logf("f32 vs torchvision: %d/%d values differ, max |diff| %.3g", n, len(gotF), maxDiff)
				return
			default:
				t.Fatalf("unknown op %q", c.Op)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d bytes, want %d", len(got), len(want))
			}
			n, maxD := 0, 0
			for i := range got {
				d := int(got[i]) - int(want[i])
				d = max(d, -d)
				if d > 0 {
					n++
				}
				maxD = max(maxD, d)
			}
			const tol = 1
			if maxD > tol {
				i := firstDiff(got, want, tol)
				t.Errorf("max |diff| %d > %d (%d/%d values differ; first at pixel %d ch %d: got %d want %d)",
					maxD, tol, n, len(got), i/3, i%3, got[i], want[i])
			}
			t.Logf("vs Pillow: %d/%d values differ, max |diff| %d", n, len(got), maxD)
		})
	}
}

func firstDiff(a, b []byte, tol int) int {
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d > tol || d < -tol {
			return i
		}
	}
	return 0
}
