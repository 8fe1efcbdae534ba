package jpegscale

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestTruncatedAndCorrupt: every prefix and many single-byte corruptions of baseline and
// progressive files either decode or return an error — never panic.
func TestTruncatedAndCorrupt(t *testing.T) {
	for _, name := range []string{"s420.jpg", "prog420.jpg", "grayprog.jpg", "cmyk.jpg"} {
		data := fixture(t, name)
		for n := 0; n < len(data); n += 7 {
			for _, s := range []int{1, 8} {
				_, _, err := DecodeWith(bytes.NewReader(data[:n]), Options{Scale: s})
				if err == nil {
					t.Errorf("%s truncated to %d bytes at 1/%d: no error", name, n, s)
				}
			}
		}
		for i := 2; i < len(data); i += 5 {
			c := bytes.Clone(data)
			c[i] ^= 0x5a
			for _, s := range []int{1, 2, 4, 8} {
				DecodeWith(bytes.NewReader(c), Options{Scale: s, MaxPixels: 1 << 16})
			}
		}
	}
}

func TestErrors(t *testing.T) {
	base := fixture(t, "s420.jpg")
	i := bytes.Index(base, []byte{0xff, 0xc0})
	arith := bytes.Clone(base)
	arith[i+1] = 0xc9
	_, _, err := Decode(bytes.NewReader(arith), 1, 1)
	if err == nil || !strings.Contains(err.Error(), "arithmetic") {
		t.Errorf("arithmetic SOF: %v", err)
	}
	_, _, err = DecodeWith(bytes.NewReader(base), Options{MaxPixels: 100})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("pixel limit: %v", err)
	}
	cfg, err := DecodeConfig(bytes.NewReader(fixture(t, "prog420.jpg")))
	if err != nil || cfg != (Config{Width: 61, Height: 41, Components: 3, Progressive: true,
		Sampling: [4][2]int{{2, 2}, {1, 1}, {1, 1}}, FirstScanComponents: 3}) {
		t.Errorf("DecodeConfig = %+v, %v", cfg, err)
	}
	if _, _, err := Decode(bytes.NewReader([]byte("not a jpeg")), 1, 1); err == nil {
		t.Error("garbage decoded")
	}
}

// FuzzDecode: arbitrary input must never panic; the source is capped at 1 MP so the fuzzer
// cannot ask for gigabytes through the header.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"s444.jpg", "s422.jpg", "s420.jpg", "prog420.jpg", "gray.jpg", "grayprog.jpg", "cmyk.jpg", "tiny.jpg"} {
		f.Add(fixture(f, name), uint8(0))
	}
	f.Add(encode(f, synth(19, 13, false, 3), 70), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, sc uint8) {
		s := []int{1, 2, 4, 8}[sc%4]
		img, scale, err := DecodeWith(bytes.NewReader(data), Options{Scale: s, MaxPixels: 1 << 20})
		if err != nil {
			return
		}
		if scale != s || len(img.Pix) != img.W*img.H*3 {
			t.Fatalf("scale %d (want %d), %dx%d with %d bytes", scale, s, img.W, img.H, len(img.Pix))
		}
		cfg, err := DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("decoded but DecodeConfig failed: %v", err)
		}
		if w, h := ScaledSize(cfg.Width, cfg.Height, s); w != img.W || h != img.H {
			t.Fatalf("config %dx%d at 1/%d but image %dx%d", cfg.Width, cfg.Height, s, img.W, img.H)
		}
	})
}
