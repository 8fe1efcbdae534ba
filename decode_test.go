package wanwu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/internal/imagegen"
	"github.com/wanwu-ai/wanwu/internal/testutil"
)

// ClassifyBytes (decoding streamed into the resize) gives the same scores as Classify on the
// fully decoded photo, and DecodeResized photos batch like full ones.
func TestClassifyBytesMatchesClassify(t *testing.T) {
	m := loadCatalog(t, "mobilenet_v1_0.25_128_quant")
	ctx := context.Background()
	var resized []*imageio.RGB
	var want []Result
	for _, name := range []string{"parrot.jpg", "cat.bmp", "grace_hopper.bmp", "hot_dog.jpg"} {
		data, err := os.ReadFile(testutil.Shared(t, "images", name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := imageio.DecodeBytes(data, m.DecodeOptions())
		if err != nil {
			t.Fatal(err)
		}
		w, err := m.Classify(ctx, img, 5)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.ClassifyBytes(ctx, data, 5)
		if err != nil {
			t.Fatal(err)
		}
		for i := range w.Predictions {
			if got.Predictions[i].Index != w.Predictions[i].Index || got.Predictions[i].Score != w.Predictions[i].Score {
				t.Fatalf("%s: ClassifyBytes %+v, Classify %+v", name, got.Predictions[i], w.Predictions[i])
			}
		}
		r, err := m.DecodeResized(ctx, data)
		if err != nil {
			t.Fatal(err)
		}
		if h, w := m.InputSize(); r.W != w || r.H != h {
			t.Fatalf("DecodeResized %dx%d, model input %dx%d", r.W, r.H, w, h)
		}
		resized = append(resized, r)
		want = append(want, w)
	}
	batch, err := m.ClassifyBatch(ctx, resized, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i := range batch {
		if batch[i].Predictions[0] != want[i].Predictions[0] {
			t.Errorf("batch item %d: %+v, want %+v", i, batch[i].Predictions[0], want[i].Predictions[0])
		}
	}
}

// A 1×1,000,000 PNG (the 668 MiB case) is classified at a predicted and actual cost of
// well under a megabyte of decoding, and a done context stops ClassifyBytes.
func TestClassifyTallPhoto(t *testing.T) {
	m := loadCatalog(t, "mobilenet_v2_1.0_224_quant")
	data := imagegen.TallPNG(1_000_000, [3]byte{120, 80, 200})
	path := filepath.Join(t.TempDir(), "tall.png")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ClassifyFile(context.Background(), path, 1); err != nil {
		t.Fatal(err)
	}
	h, err := imageio.ReadHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	if c := m.DecodeCost(h); c > 2<<20 {
		t.Errorf("1x1,000,000 PNG: predicted decode cost %d bytes", c)
	}
	big := imagegen.TallPNG(30_000_000, [3]byte{1, 2, 3})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := m.ClassifyBytes(ctx, big, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ClassifyBytes after the deadline: %v", err)
	}
}
