package server

import (
	"testing"

	"github.com/wanwu-ai/wanwu/imageio"
)

// The decode reservation must cover what decoding really allocates (the Go allocator's count), at full
// size and at the DCT scale the test model's resize allows, for each format.
func TestDecodeReservationCoversAllocation(t *testing.T) {
	m := loadModel(t)
	inputs := map[string][]byte{"png": pngOf(300, 200)}
	for _, name := range []string{"parrot.jpg", "cat.bmp", "hot_dog.jpg", "cat_720p.jpg"} {
		inputs[name] = readShared(t, name)
	}
	for name, data := range inputs {
		for _, opts := range []imageio.DecodeOptions{{}, m.DecodeOptions()} {
			h, err := imageio.ParseHeader(data)
			if err != nil {
				t.Fatal(err)
			}
			est := decodeReservation(h, opts)
			got := allocatedBy(func() {
				if _, err := imageio.DecodeBytes(data, opts); err != nil {
					t.Fatal(err)
				}
			})
			if est < got {
				t.Errorf("%s %+v (%dx%d %s): reservation %d < allocated %d", name, opts, h.Width, h.Height, h.Format, est, got)
			}
			if est > 4*got+4<<20 {
				t.Errorf("%s %+v: reservation %d is far above the %d allocated", name, opts, est, got)
			}
		}
	}
}
