package runtime_test

import (
	"context"
	"testing"

	"github.com/wanwu-ai/wanwu/importer/tflite"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestTFLiteModelsPlan compiles the shared quantized TFLite models (QLinear* graphs), checks their plan,
// that Run allocates nothing with the integer kernels, and that Estimate predicts what Compile built.
// Correctness of their outputs is importer/tflite's test (cat.bmp top-3).
func TestTFLiteModelsPlan(t *testing.T) {
	for _, name := range []string{"mobilenet_v1_0.25_128_quant.tflite", "mobilenet_v2_1.0_224_quant.tflite"} {
		t.Run(name, func(t *testing.T) {
			g, err := tflite.Load(testutil.Shared(t, "models", name))
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			p, err := runtime.Compile(g, runtime.Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			st := p.Stats()
			t.Logf("arena %d bytes (no reuse %d, live bound %d), max scratch %d, weights %d, %d steps, %.1f MMAC",
				st.ArenaBytes, st.LinearArenaBytes, st.LiveBoundBytes, st.ScratchBytes, st.WeightBytes, st.NumSteps, float64(st.MACs)/1e6)
			checkPlan(t, st)
			est, err := runtime.Estimate(g, runtime.Options{Threads: 2}) // as compiled above: scratch is per thread
			if err != nil {
				t.Fatal(err)
			}
			if est.ArenaBytes != st.ArenaBytes || est.WeightBytes != st.WeightBytes {
				t.Errorf("Estimate arena %d weights %d, Compile arena %d weights %d", est.ArenaBytes, est.WeightBytes, st.ArenaBytes, st.WeightBytes)
			}
			if name != "mobilenet_v1_0.25_128_quant.tflite" {
				return // running the larger model is importer/tflite's test; keep this one quick
			}
			in := make([]*tensor.Tensor, len(g.Inputs))
			for i, v := range p.Graph().Inputs {
				in[i] = tensor.New(v.DType, v.Shape)
				for j := range in[i].Data {
					in[i].Data[j] = byte(j * 7)
				}
			}
			ctx := context.Background()
			if a := testing.AllocsPerRun(2, func() {
				if _, err := p.Run(ctx, in); err != nil {
					t.Fatal(err)
				}
			}); a != 0 {
				t.Errorf("Run allocates %v times per call", a)
			}
		})
	}
}
