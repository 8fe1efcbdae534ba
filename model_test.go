package wanwu

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/internal/testutil"
)

func loadCatalog(t *testing.T, name string) *Model {
	t.Helper()
	mirror := filepath.Dir(testutil.Shared(t, "models", name+".tflite"))
	m, err := Load(context.Background(), name, WithFetcher(&catalog.Fetcher{Home: t.TempDir(), Mirror: mirror}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// The unambiguous shared photos must land in the right class at top-1, for both the uint8 per-tensor
// and the int8 per-channel MobileNetV2 (indices count the background class, as the models do).
func TestRealPhotosTop1(t *testing.T) {
	cases := []struct {
		photo   string
		english string // label_en at top-1
		zh      string // the Chinese label must contain this
	}{
		{"parrot.jpg", "macaw", "鹦鹉"},
		{"cat.bmp", "Egyptian cat", "猫"},
		{"cat_720p.jpg", "Egyptian cat", "猫"},
		{"grace_hopper.bmp", "military uniform", "军装"},
		{"hot_dog.jpg", "hotdog", "热狗"},
		{"bird.bmp", "chickadee", "山雀"},
		{"dragonfly.bmp", "dragonfly", "蜻蜓"},
	}
	for _, model := range []string{"mobilenet_v2_1.0_224_quant", "tf2_mobilenet_v2_1.0_224_ptq"} {
		m := loadCatalog(t, model)
		for _, c := range cases {
			res, err := m.ClassifyFile(context.Background(), testutil.Shared(t, "images", c.photo), 3)
			if err != nil {
				t.Fatalf("%s %s: %v", model, c.photo, err)
			}
			top := res.Predictions[0]
			if top.LabelEn != c.english || !strings.Contains(top.Label, c.zh) {
				t.Errorf("%s %s: top-1 %q/%q (%.2f), want %q/%q", model, c.photo, top.LabelEn, top.Label, top.Score, c.english, c.zh)
			}
		}
	}
}

func TestConcurrentClassifyIsSafe(t *testing.T) {
	m := loadCatalog(t, "mobilenet_v1_0.25_128_quant")
	photo := testutil.Shared(t, "images", "parrot.jpg")
	want, err := m.ClassifyFile(context.Background(), photo, 1)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := m.ClassifyFile(context.Background(), photo, 1)
			if err != nil || got.Predictions[0] != want.Predictions[0] {
				t.Errorf("concurrent run: %v %+v, want %+v", err, got.Predictions, want.Predictions)
			}
		}()
	}
	wg.Wait()
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	for _, model := range []string{
		filepath.Join(t.TempDir(), "missing.onnx"),
		testutil.Shared(t, "images", "cat.bmp"), // not a model
	} {
		_, err := Load(context.Background(), model)
		if err == nil || !strings.Contains(err.Error(), filepath.Base(model)) {
			t.Errorf("Load(%s): error %v should name the file", model, err)
		}
	}
}

func TestCancelledContext(t *testing.T) {
	m := loadCatalog(t, "mobilenet_v1_0.25_128_quant")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.ClassifyFile(ctx, testutil.Shared(t, "images", "cat.bmp"), 1); err == nil {
		t.Fatal("a cancelled context should stop the run")
	}
}

// Coral's own expectations (google-coral/libcoral coral/classification/model_test_cases.bzl) for cat.bmp
// with a plain bilinear resize of the whole photo: the class in the top 3 with at least this score.
func TestCoralCatCases(t *testing.T) {
	cases := []struct {
		model    string
		class    int
		minScore float64
	}{
		{"mobilenet_v2_1.0_224_quant", 286, 0.70},
		{"mobilenet_v1_0.5_160_quant", 286, 0.51},
		{"mobilenet_v1_0.25_128_quant", 283, 0.25},
	}
	for _, c := range cases {
		m := loadCatalog(t, c.model)
		res, err := m.ClassifyFile(context.Background(), testutil.Shared(t, "images", "cat.bmp"), 3)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, p := range res.Predictions {
			if p.Index == c.class {
				found = true
				if p.Score < c.minScore {
					t.Errorf("%s: class %d scores %.3f, want >= %.2f", c.model, c.class, p.Score, c.minScore)
				}
			}
		}
		if !found {
			t.Errorf("%s: class %d not in the top 3: %+v", c.model, c.class, res.Predictions)
		}
	}
}
