package lower_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tensorio"
)

// Accuracy bound of Precision "fp16" against fp32 (softmax probabilities): measured differences are
// below 1e-4 on the fixtures and full models (docs/precision.md); half-precision weights carry a
// relative rounding error of at most 2^-11 each, so 2e-3 leaves room without hiding a broken kernel
// (a wrong panel or a skipped block moves probabilities by far more).
const fp16MaxProbDiff = 2e-3

type precisionRun struct {
	p           *runtime.Program
	out         []float32
	weightBytes int
	best        time.Duration
	ops         map[string]int
}

func compilePrecision(t *testing.T, g *graph.Graph, in *tensor.Tensor, prec string) *precisionRun {
	t.Helper()
	p, err := runtime.Compile(g, runtime.Options{Threads: 2, InputShapes: map[string]tensor.Shape{g.Inputs[0].Name: in.Shape}, Precision: prec})
	if err != nil {
		t.Fatal(err)
	}
	r := &precisionRun{p: p, weightBytes: p.Stats().WeightBytes, ops: map[string]int{}}
	for _, n := range p.Graph().Nodes {
		for _, v := range n.Inputs {
			if v != nil && v.DType == tensor.F16 {
				r.ops[n.Op]++
			}
		}
	}
	return r
}

func (r *precisionRun) run(t *testing.T, in *tensor.Tensor) {
	t.Helper()
	start := time.Now()
	out, err := r.p.Run(context.Background(), []*tensor.Tensor{in})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); r.out == nil || d < r.best {
		r.best = d
	}
	r.out = append(r.out[:0], out[0].F32()...)
}

// runBoth compiles g at fp32 and fp16 and runs them alternately iters times each (so a change in
// machine load hits both alike), keeping the minimum latency of each.
func runBoth(t *testing.T, path string, in *tensor.Tensor, iters int) (f32, f16 *precisionRun) {
	g, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	f32 = compilePrecision(t, g, in, "fp32")
	defer f32.p.Close()
	f16 = compilePrecision(t, g, in, "fp16")
	defer f16.p.Close()
	for i := 0; i < max(iters, 1); i++ {
		f32.run(t, in)
		f16.run(t, in)
	}
	return f32, f16
}

// compareFP16 checks fp16 against fp32 on one input: probabilities within fp16MaxProbDiff, top-1
// equal unless fp32 itself ranks the two classes within that bound, f16 weights in use, weight
// bytes at most 0.55× fp32's (the f32 leftovers are biases, BN and depthwise weights).
func compareFP16(t *testing.T, path string, in *tensor.Tensor, iters int) {
	f32, f16 := runBoth(t, path, in, iters)
	classes := len(f32.out) / in.Shape[0]
	pf, ph := testutil.SoftmaxRows(f32.out, classes), testutil.SoftmaxRows(f16.out, classes)
	var dp float64
	for i := range pf {
		dp = max(dp, math.Abs(pf[i]-ph[i]))
	}
	agree := 0
	for r := 0; r < in.Shape[0]; r++ {
		rf, rh := pf[r*classes:(r+1)*classes], ph[r*classes:(r+1)*classes]
		bf, bh := testutil.Argmax(rf), testutil.Argmax(rh)
		if bf == bh {
			agree++
		} else if margin := rf[bf] - rf[bh]; margin > fp16MaxProbDiff {
			t.Errorf("row %d: top-1 %d vs fp32 %d, which fp32 separates by %.5f", r, bh, bf, margin)
		} else {
			t.Logf("row %d: top-1 swapped between classes fp32 separates by only %.6f", r, margin)
		}
	}
	t.Logf("%s: top-1 agrees %d/%d, max |Δp| %.2e; weights %.1f MiB fp32 -> %.1f MiB fp16; min latency fp32 %v fp16 %v (2 threads, %d alternating runs each); f16 weights in %v",
		in.Shape, agree, in.Shape[0], dp, float64(f32.weightBytes)/(1<<20), float64(f16.weightBytes)/(1<<20), f32.best, f16.best, iters, f16.ops)
	if dp > fp16MaxProbDiff {
		t.Errorf("max probability difference %.2e > %g", dp, fp16MaxProbDiff)
	}
	if f16.ops[graph.OpF16Conv] == 0 {
		t.Errorf("no F16Conv in the fp16 program")
	}
	if float64(f16.weightBytes) > 0.55*float64(f32.weightBytes) {
		t.Errorf("fp16 weight bytes %d > 0.55 × fp32's %d", f16.weightBytes, f32.weightBytes)
	}
}

// TestFP16MatchesFP32Fixtures runs the PyTorch fixtures (testdata/models) at fp16 and fp32.
func TestFP16MatchesFP32Fixtures(t *testing.T) {
	for _, m := range []string{"mobilenet_v2_tiny", "resnet50_tiny", "resnest_tiny", "resnest_tiny_bn"} {
		t.Run(m, func(t *testing.T) {
			dir := filepath.Join(testutil.RepoRoot(t), "testdata", "models", m)
			for _, set := range []string{"test_data_set_0", "test_data_set_1"} {
				in, _, err := tensorio.ReadFile(filepath.Join(dir, set, "input_0.pb"))
				if err != nil {
					t.Fatal(err)
				}
				compareFP16(t, filepath.Join(dir, "model.onnx"), in, 1)
			}
		})
	}
}

// TestFP16FullModels does the same on the full-size exported models (make models), skipped where
// absent or under -short; the 600 MB ResNeSt-101-54k only with WANWU_BIG=1. WANWU_ITERS sets the
// runs per precision for the latency figures (min of N).
func TestFP16FullModels(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size models under -short")
	}
	iters := 1
	if s := os.Getenv("WANWU_ITERS"); s != "" {
		if _, err := fmt.Sscan(s, &iters); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"mobilenet_v2", "resnet50", "resnest101_54k"} {
		t.Run(name, func(t *testing.T) {
			dir := testutil.ExportedModel(t, name)
			if name == "resnest101_54k" && os.Getenv("WANWU_BIG") == "" {
				t.Skip("set WANWU_BIG=1 for the 600 MB model")
			}
			sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
			for _, set := range sets {
				in, _, err := tensorio.ReadFile(filepath.Join(set, "input_0.pb"))
				if err != nil {
					t.Fatal(err)
				}
				compareFP16(t, filepath.Join(dir, "model.onnx"), in, iters)
			}
		})
	}
}
