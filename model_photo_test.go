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
	big := imageio.Header{Format: imageio.BMP, Width: 10000, Height: 10000, FileBytes: 54, Orientation: 1}
	extra := big.DecodeCost(m.DecodeOptions().MinWidth, m.DecodeOptions().MinHeight) -
		sized.DecodeCost(m.DecodeOptions().MinWidth, m.DecodeOptions().MinHeight)
	if got := m.PhotoPeak(big) - m.PhotoPeak(sized); got < extra {
		t.Errorf("a 10000x10000 BMP adds %d bytes to the peak, less than its %d extra decoding bytes", got, extra)
	}
}
