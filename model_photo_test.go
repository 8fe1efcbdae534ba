package wanwu

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/internal/testutil"
)

// TestPhotoPeak: for the photo Load sized for, PhotoPeak is the chosen configuration's prediction; a
// larger photo costs more by at least its extra decoding bytes.
func TestPhotoPeak(t *testing.T) {
	mirror := filepath.Dir(testutil.Shared(t, "models", catalog.DefaultModel+".tflite"))
	sized, err := imageio.ReadHeader(testutil.Shared(t, "images", "grace_hopper.bmp"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(context.Background(), catalog.DefaultModel, WithBudget(256<<20, "test"), WithPhoto(sized),
		WithFetcher(&catalog.Fetcher{Home: t.TempDir(), Mirror: mirror}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got, want := m.PhotoPeak(sized), m.Config().PredictedPeakBytes; got != want {
		t.Errorf("PhotoPeak(the sized-for photo) = %d, want the chosen prediction %d", got, want)
	}
	// An Adam7 PNG cannot stream into the resize: its whole image is held, so a 10000x10000 one is
	// refused under the budget although its header is a few bytes.
	big := imageio.Header{Format: imageio.PNG, Width: 10000, Height: 10000, FileBytes: 100, Orientation: 1, Interlaced: true}
	opts := m.DecodeOptions()
	extra := big.FileBytes + big.Cost(m.pre, opts) - sized.FileBytes - sized.Cost(m.pre, opts)
	if got := m.PhotoPeak(big) - m.PhotoPeak(sized); got < extra {
		t.Errorf("a 10000x10000 Adam7 PNG adds %d bytes to the peak, less than its %d extra decoding bytes", got, extra)
	}
	if got := m.PhotoPeak(big); got <= 256<<20 {
		t.Errorf("PhotoPeak(10000x10000 Adam7 PNG) = %d, not over the 256 MiB budget", got)
	}
}
