package wanwu

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/testutil"
)

// A model's sidecar <model>.json may carry its labels (an array or an index -> name object), with or
// without a preprocess section; --labels wins over it; a bad list is an error naming the sidecar.
func TestSidecarLabels(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata/models/resnest_tiny/model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, sidecar, want, err string
	}{
		{"array, no preprocess", `{"labels": ["苹果","香蕉","橙子","葡萄","西瓜","草莓","桃","梨","芒果","柠檬"]}`, "葡萄", ""},
		{"object with preprocess", `{"preprocess": {"resize": "shorter_crop", "width": 64, "height": 64, "mean": [0.5,0.5,0.5], "std": [0.5,0.5,0.5]}, "labels": {"3": "葡萄", "9": "柠檬"}}`, "葡萄", ""},
		{"wrong count", `{"labels": ["苹果","香蕉"]}`, "", "scores 10 classes but the label set has 2"},
		{"bad entry", `{"labels": ["苹果", 7]}`, "", "model.json (labels): element 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			model := filepath.Join(dir, "model.onnx")
			os.WriteFile(model, src, 0o644)
			os.WriteFile(filepath.Join(dir, "model.json"), []byte(c.sidecar), 0o644)
			m, err := Load(context.Background(), model, WithInputSize(64))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if got := m.Labels().Chinese(3); got != c.want {
				t.Errorf("class 3 is %q, want %q", got, c.want)
			}
		})
	}
}
