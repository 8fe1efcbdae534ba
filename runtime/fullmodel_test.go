package runtime_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestFullModelPlans estimates the full-size exported models (models/<name>/model.onnx, written by
// `make models`; skipped where absent or under -short) at 224×224, batch 1 and 4, and logs the planned
// arena against the no-reuse layout. Estimate runs the whole compile path except the arena itself.
func TestFullModelPlans(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size models under -short")
	}
	for _, name := range []string{"mobilenet_v2", "resnet50"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(testutil.ExportedModel(t, name), "model.onnx")
			g, err := onnx.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			for _, batch := range []int{1, 4} {
				start := time.Now()
				st, err := runtime.Estimate(g, runtime.Options{InputShapes: map[string]tensor.Shape{g.Inputs[0].Name: {batch, 3, 224, 224}}})
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("batch %d: arena %.2f MiB (no reuse %.2f MiB, live bound %.2f MiB), max scratch %.2f MiB, weights %.2f MiB, %d steps, %.2f GMAC (%v)",
					batch, mib(st.ArenaBytes), mib(st.LinearArenaBytes), mib(st.LiveBoundBytes), mib(st.ScratchBytes), mib(st.WeightBytes), st.NumSteps, float64(st.MACs)/1e9, time.Since(start).Round(time.Millisecond))
				checkPlan(t, st)
			}
		})
	}
}

func mib(n int) float64 { return float64(n) / (1 << 20) }
