package wanwu

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/labels"
)

// WithOnly must score the kept classes exactly as the full model ranks them (softmax renormalised over
// the subset), with indices of the full label set.
func TestOnlyMatchesFullModel(t *testing.T) {
	path := filepath.Join(testutil.RepoRoot(t), "testdata", "models", "mobilenet_v2_tiny", "model.onnx")
	img, err := imageio.DecodeFile(testutil.Shared(t, "images", "cat.bmp"), imageio.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	full, err := Load(ctx, path, WithInputSize(64))
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	n := full.Stats().Steps[len(full.Stats().Steps)-1].Shape.NumElements()
	all, err := full.Classify(ctx, img, n)
	if err != nil {
		t.Fatal(err)
	}
	keep := []int{1, 3, n - 1}
	sub, err := Load(ctx, path, WithInputSize(64), WithClasses(keep))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got, err := sub.Classify(ctx, img, 3)
	if err != nil {
		t.Fatal(err)
	}
	score := map[int]float64{}
	sum := 0.0
	for _, p := range all.Predictions {
		score[p.Index] = p.Score
	}
	for _, k := range keep {
		sum += score[k]
	}
	for i, p := range got.Predictions {
		want := score[p.Index] / sum
		if d := p.Score - want; d > 1e-4 || d < -1e-4 {
			t.Errorf("class %d: %g, want %g", p.Index, p.Score, want)
		}
		if i > 0 && p.Score > got.Predictions[i-1].Score {
			t.Errorf("not sorted")
		}
	}
	if got.Predictions[0].Index != keep[0] && got.Predictions[0].Index != keep[1] && got.Predictions[0].Index != keep[2] {
		t.Errorf("top index %d not in %v", got.Predictions[0].Index, keep)
	}
	if c := sub.Config(); c.Labels != 3 {
		t.Errorf("config labels %d, want 3", c.Labels)
	}
	if _, err := Load(ctx, path, WithOnly([]string{"no such class"}, labels.MatchExact), WithLabels(labels.ImageNet())); err == nil {
		t.Errorf("a query matching nothing loaded")
	}
}

// WithReleaseAfter drops the program when idle and compiles it again on demand, with the same answer.
func TestReleaseAfter(t *testing.T) {
	path := filepath.Join(testutil.RepoRoot(t), "testdata", "models", "resnet50_tiny", "model.onnx")
	img, err := imageio.DecodeFile(testutil.Shared(t, "images", "cat.bmp"), imageio.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m, err := Load(ctx, path, WithInputSize(64), WithReleaseAfter(30*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	first, err := m.Classify(ctx, img, 1)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for m.Releases() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if m.Releases() != 1 {
		t.Fatalf("program not released after idling")
	}
	again, err := m.Classify(ctx, img, 1)
	if err != nil {
		t.Fatal(err)
	}
	if first.Predictions[0] != again.Predictions[0] {
		t.Errorf("after recompiling: %+v, before %+v", again.Predictions[0], first.Predictions[0])
	}
	m.Close()
	if _, err := m.Classify(ctx, img, 1); err != ErrClosed {
		t.Errorf("Classify after Close: %v", err)
	}
}

// Budgets choose the most accurate configuration that fits, and say what the smallest needs otherwise.
func TestBudgetChoosesSize(t *testing.T) {
	path := filepath.Join(testutil.RepoRoot(t), "testdata", "models", "resnet50_tiny", "model.onnx")
	ctx := context.Background()
	p, err := PlanConfigs(ctx, path, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Candidates) < len(PlanSizes) || p.Chosen == nil || p.Chosen.Size != 224 {
		t.Fatalf("plan %+v", p)
	}
	// A budget between the 160 and 192 predictions picks 160.
	var at160, at192 int64
	for _, c := range p.Candidates {
		if c.Precision != "fp32" {
			continue
		}
		switch c.Size {
		case 160:
			at160 = c.PredictedPeakBytes
		case 192:
			at192 = c.PredictedPeakBytes
		}
	}
	m, err := Load(ctx, path, WithBudget((at160+at192)/2, "test"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if h, _ := m.InputSize(); h != 160 {
		t.Errorf("chose size %d under a budget between the 160 and 192 predictions", h)
	}
	if _, err := Load(ctx, path, WithBudget(1<<20, "test")); err == nil {
		t.Errorf("a 1 MiB budget loaded")
	} else {
		t.Log(err)
	}
}
