package server

import (
	"testing"

	"github.com/wanwu-ai/wanwu/imageio"
)

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512MiB", 512 << 20, true}, {"1GiB", 1 << 30, true}, {"300M", 300 << 20, true}, {"300MB", 300e6, true},
		{"20mib", 20 << 20, true}, {"1.5GiB", 3 << 29, true}, {"4096", 4096, true}, {" 64 KiB ", 64 << 10, true},
		{"1k", 1024, true}, {"7B", 7, true},
		{"", 0, false}, {"MiB", 0, false}, {"-1MiB", 0, false}, {"12XB", 0, false}, {"1e30GiB", 0, false}, {"1..2M", 0, false},
	} {
		got, err := ParseSize(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
	if s := FormatSize(300 << 20); s != "300.0 MiB" {
		t.Errorf("FormatSize = %q", s)
	}
}

// The decode reservation must cover what decoding really allocates: measured with the Go allocator's
// counters for a few photos of each format.
func TestDecodeEstimateCoversAllocation(t *testing.T) {
	for _, name := range []string{"parrot.jpg", "cat.bmp", "hot_dog.jpg"} {
		data := readShared(t, name)
		h, err := probe(data)
		if err != nil {
			t.Fatal(err)
		}
		est := h.decodeBytes(data)
		got := allocatedBy(func() {
			if _, err := imageio.DecodeBytes(data, imageio.DecodeOptions{}); err != nil {
				t.Fatal(err)
			}
		})
		if est < got {
			t.Errorf("%s (%dx%d %s): estimate %d < allocated %d", name, h.w, h.h, h.format, est, got)
		}
		if est > 4*got+2<<20 {
			t.Errorf("%s: estimate %d is far above the %d allocated", name, est, got)
		}
	}
	png := pngOf(300, 200)
	h, _ := probe(png)
	if got, est := allocatedBy(func() { imageio.DecodeBytes(png, imageio.DecodeOptions{}) }), h.decodeBytes(png); est < got {
		t.Errorf("png: estimate %d < allocated %d", est, got)
	}
}
