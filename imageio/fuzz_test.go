package imageio

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/wanwu-ai/wanwu/tensor"
)

// FuzzDecodePreprocess feeds arbitrary bytes through decoding and both resize modes: any input
// must give an error or a consistent image, never a panic or an oversized allocation (the pixel
// limit is lowered to 4 MP so the fuzzer cannot make us allocate much). Seeds: the small fixtures
// plus the committed corpus in testdata/fuzz/FuzzDecodePreprocess.
// Run: go test -run '^$' -fuzz FuzzDecodePreprocess -fuzztime 60s -fuzzminimizetime 2s ./imageio
// (the default minimisation of 60 s per new input makes progress look stalled).
func FuzzDecodePreprocess(f *testing.F) {
	files, _ := filepath.Glob("testdata/images/*")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil && len(data) < 8<<10 {
			f.Add(data)
		}
	}
	for _, h := range hugeHeaders() {
		f.Add(h)
	}
	stretch := Preprocess{Width: 7, Height: 5, Resize: "stretch", Layout: "NHWC", DType: "u8"}
	crop := Preprocess{Width: 8, Height: 8, ResizeShorter: 9}
	dstU8 := tensor.New(tensor.U8, tensor.Shape{1, 5, 7, 3})
	dstF32 := tensor.New(tensor.F32, tensor.Shape{1, 3, 8, 8})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeBytes(data, DecodeOptions{MaxPixels: 4 << 20})
		if err != nil {
			return
		}
		if m.W <= 0 || m.H <= 0 || len(m.Pix) != m.W*m.H*3 {
			t.Fatalf("inconsistent image %dx%d with %d bytes", m.W, m.H, len(m.Pix))
		}
		if err := stretch.Into(m, dstU8, 0); err != nil {
			t.Fatal(err)
		}
		if err := crop.Into(m, dstF32, 0); err != nil {
			t.Fatal(err)
		}
	})
}
