package wanwu

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/internal/testutil"
)

func decodeShared(t *testing.T, names ...string) []*imageio.RGB {
	t.Helper()
	var imgs []*imageio.RGB
	for _, n := range names {
		img, err := imageio.DecodeFile(testutil.Shared(t, "images", n), imageio.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	return imgs
}

// A batch must give each photo exactly what a lone Classify gives it: for a fixed-batch TFLite model
// (one run per photo) and for ONNX models with a dynamic batch (one run for all, compiled per size).
func TestClassifyBatchMatchesClassify(t *testing.T) {
	imgs := decodeShared(t, "parrot.jpg", "cat.bmp", "hot_dog.jpg", "bird.bmp", "owl.jpg")
	models := []*Model{loadCatalog(t, "mobilenet_v1_0.25_128_quant")}
	for _, dir := range []string{"mobilenet_v2_tiny", "resnet50_tiny"} {
		m, err := Load(context.Background(), filepath.Join("testdata", "models", dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		if !m.BatchDynamic() {
			t.Fatalf("%s: expected a dynamic batch dimension", dir)
		}
		models = append(models, m)
	}
	ctx := context.Background()
	for _, m := range models {
		for _, n := range []int{1, 2, 5, 2} { // 2 twice: the second run reuses the cached program
			got, err := m.ClassifyBatch(ctx, imgs[:n], 3)
			if err != nil {
				t.Fatalf("%s batch %d: %v", m.Name, n, err)
			}
			if len(got) != n {
				t.Fatalf("%s batch %d: %d results", m.Name, n, len(got))
			}
			for i := range got {
				want, err := m.Classify(ctx, imgs[i], 3)
				if err != nil {
					t.Fatal(err)
				}
				for j, p := range want.Predictions {
					g := got[i].Predictions[j]
					// Batched kernels may sum in another order: allow float rounding, not a different class.
					if g.Index != p.Index || g.Label != p.Label || math.Abs(g.Score-p.Score) > 1e-5 {
						t.Errorf("%s batch %d item %d rank %d: %+v, alone %+v", m.Name, n, i, j, g, p)
					}
				}
			}
		}
	}
}

func TestBatchStatsGrowWithBatch(t *testing.T) {
	m, err := Load(context.Background(), filepath.Join("testdata", "models", "resnet50_tiny", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s1, err := m.BatchStats(1)
	if err != nil {
		t.Fatal(err)
	}
	s4, err := m.BatchStats(4)
	if err != nil {
		t.Fatal(err)
	}
	if s4.ArenaBytes <= s1.ArenaBytes || s4.ArenaBytes > 4*s1.ArenaBytes+s1.ScratchBytes*4 {
		t.Errorf("arena batch 1 %d, batch 4 %d: want growth, at most about 4x", s1.ArenaBytes, s4.ArenaBytes)
	}
	if err := m.PrepareBatch(4); err != nil {
		t.Fatal(err)
	}
	m.Close()
}

// Batch programs run in the precision the model chose, like its batch-1 program.
func TestBatchFollowsPrecision(t *testing.T) {
	for _, prec := range []string{"int8", "fp16"} {
		m, err := Load(context.Background(), filepath.Join("testdata", "models", "resnet50_tiny", "model.onnx"), WithPrecision(prec))
		if err != nil {
			t.Fatal(err)
		}
		ops := func(n int) map[string]int {
			st, err := m.BatchStats(n)
			if err != nil {
				t.Fatal(err)
			}
			c := map[string]int{}
			for _, s := range st.Steps {
				c[s.Op]++
			}
			return c
		}
		one, two := ops(1), ops(2)
		if len(one) != len(two) {
			t.Errorf("%s: batch-1 program ops %v, batch-2 %v", prec, one, two)
		}
		for op, k := range one {
			if two[op] != k {
				t.Errorf("%s: %d %s in the batch-1 program, %d in the batch-2 one", prec, k, op, two[op])
			}
		}
		m.Close()
	}
}
