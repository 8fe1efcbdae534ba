package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/internal/testutil"
)

// serve reserves the model's memory with every batch program it will compile: Model.PredictBatches of
// 1..max-batch (weights once, one arena), lowering max-batch until a minimal request fits beside it.
func TestModelInfoReservesBatchPrograms(t *testing.T) {
	path := filepath.Join(testutil.RepoRoot(t), "testdata", "models", "resnet50_tiny", "model.onnx")
	m, err := wanwu.Load(context.Background(), path, wanwu.WithInputSize(128))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	predict := func(max int) int64 {
		sizes := []int{}
		for n := 1; n <= max; n++ {
			sizes = append(sizes, n)
		}
		b, err := m.PredictBatches(sizes)
		if err != nil {
			t.Fatal(err)
		}
		return b.Total()
	}
	for _, tc := range []struct {
		budget int64
		want   int
	}{
		{1 << 40, 8},
		{predict(8) + minRequestBytes, 8},
		{predict(8) + minRequestBytes - 1, 7},
		{predict(3) + minRequestBytes, 3},
		{predict(2) - 1, 1}, // nothing but the batch-1 program (server.New then refuses a budget too small)
	} {
		info, max, b, err := modelInfo(m, 8, tc.budget)
		if err != nil {
			t.Fatal(err)
		}
		if max != tc.want || info.PeakBytes != predict(max) || b.Total() != info.PeakBytes || b.Mapped > b.Weights {
			t.Errorf("budget %d: max-batch %d reserving %d; want %d reserving %d", tc.budget, max, info.PeakBytes, tc.want, predict(tc.want))
		}
	}
	// A model with a fixed batch reserves its one program.
	fixed, err := wanwu.Load(context.Background(), testutil.Shared(t, "models", "mobilenet_v1_0.25_128_quant.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	defer fixed.Close()
	info, max, _, err := modelInfo(fixed, 8, 1<<40)
	if b, _ := fixed.PredictBatches(nil); err != nil || max != 1 || info.PeakBytes != b.Total() {
		t.Errorf("fixed batch: max-batch %d, reserving %d (%v); want 1 and %d", max, info.PeakBytes, err, b.Total())
	}
}
