package server

import (
	"testing"

	"github.com/wanwu-ai/wanwu/imageio"
)

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
