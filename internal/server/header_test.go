package server

import (
	"context"
	"testing"

	"github.com/wanwu-ai/wanwu/imageio"
)

// The decode reservation must cover what decoding into the model's input really allocates (the Go
// allocator's count), for each format, from the header alone.
func TestDecodeReservationCoversAllocation(t *testing.T) {
	m := loadModel(t)
	inputs := map[string][]byte{"png": pngOf(300, 200)}
	for _, name := range []string{"parrot.jpg", "cat.bmp", "hot_dog.jpg", "cat_720p.jpg"} {
		inputs[name] = readShared(t, name)
	}
	for name, data := range inputs {
		h, err := imageio.ParseHeader(data)
		if err != nil {
			t.Fatal(err)
		}
		est := decodeReservation(m, h)
		got := allocatedBy(func() {
			if _, err := m.DecodeResized(context.Background(), data); err != nil {
				t.Fatal(err)
			}
		})
		if est < got {
			t.Errorf("%s (%dx%d %s): reservation %d < allocated %d", name, h.Width, h.Height, h.Format, est, got)
		}
		if est > 2*got+1<<20 {
			t.Errorf("%s: reservation %d is far above the %d allocated", name, est, got)
		}
	}
}
