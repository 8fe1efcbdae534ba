package tflite

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/graph/passes"
	"github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tensorio"
	"github.com/wanwu-ai/wanwu/tools/tflitegen"
)

// compileRun imports a generated model and runs it once through runtime.Compile with NHWC inputs.
func compileRun(t *testing.T, data []byte, inputs ...*tensor.Tensor) []*tensor.Tensor {
	t.Helper()
	g, err := Decode(data)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	p, err := runtime.Compile(g, runtime.Options{Threads: 2})
	if err != nil {
		t.Fatalf("compile: %v\n%s", err, g.Dump())
	}
	defer p.Close()
	out, err := p.Run(context.Background(), inputs)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	res := make([]*tensor.Tensor, len(out))
	for i, o := range out {
		res[i] = o.Clone() // outputs view the arena
	}
	return res
}

// toNHWC transposes an NCHW float tensor.
func toNHWC(x *tensor.Tensor) *tensor.Tensor {
	s := x.Shape
	n, c, h, w := s[0], s[1], s[2], s[3]
	src := x.F32()
	dst := make([]float32, len(src))
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				for xx := 0; xx < w; xx++ {
					dst[((b*h+y)*w+xx)*c+ch] = src[((b*c+ch)*h+y)*w+xx]
				}
			}
		}
	}
	return tensor.FromF32(tensor.Shape{n, h, w, c}, dst)
}

// maxRelErr is max|got-want| / max(max|want|, 1e-6): relative to the output's scale, so near-zero
// logits do not dominate.
func maxRelErr(got, want []float32) float64 {
	var scale, worst float64
	for _, w := range want {
		scale = max(scale, math.Abs(float64(w)))
	}
	for i := range want {
		worst = max(worst, math.Abs(float64(got[i])-float64(want[i])))
	}
	return worst / max(scale, 1e-6)
}

// TestFloatFromPyTorchFixtures converts the ONNX PyTorch fixtures to float NHWC TFLite with tflitegen
// and checks the imported model against PyTorch's own outputs, in several equivalent TFLite spellings
// (fused or separate activations, MEAN/AVERAGE_POOL_2D global pooling, RESHAPE/SQUEEZE flatten).
func TestFloatFromPyTorchFixtures(t *testing.T) {
	variants := []tflitegen.ConvertOptions{
		{},
		{GlobalPool: "mean", UnfusedAct: true},
		{GlobalPool: "avgpool", Squeeze: true},
	}
	for _, name := range []string{"mobilenet_v2_tiny", "resnet50_tiny"} {
		dir := filepath.Join(testutil.RepoRoot(t), "testdata", "models", name)
		for _, set := range []string{"test_data_set_0", "test_data_set_1"} {
			x, _, err := tensorio.ReadFile(filepath.Join(dir, set, "input_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := tensorio.ReadFile(filepath.Join(dir, set, "output_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			for vi, v := range variants {
				t.Run(fmt.Sprintf("%s/%s/%d", name, set, vi), func(t *testing.T) {
					g, err := onnx.Load(filepath.Join(dir, "model.onnx"))
					if err != nil {
						t.Fatal(err)
					}
					defer g.Close()
					if err := passes.Optimize(g, map[string]tensor.Shape{g.Inputs[0].Name: x.Shape}); err != nil {
						t.Fatal(err)
					}
					m, err := tflitegen.FromGraph(g, v)
					if err != nil {
						t.Fatal(err)
					}
					xn := toNHWC(x)
					// The naive NHWC reference first: it validates the conversion itself.
					ref, err := tflitegen.Eval(m, [][]float32{xn.F32()})
					if err != nil {
						t.Fatal(err)
					}
					if e := maxRelErr(ref[0], want.F32()); e > 1e-4 {
						t.Fatalf("tflitegen reference vs PyTorch: rel err %.3g", e)
					}
					got := compileRun(t, m.Bytes(), xn)
					if !got[0].Shape.Equal(want.Shape) {
						t.Fatalf("output shape %s, want %s", got[0].Shape, want.Shape)
					}
					if e := maxRelErr(got[0].F32(), want.F32()); e > 1e-4 {
						t.Fatalf("imported TFLite vs PyTorch: rel err %.3g\ngot  %v\nwant %v", e, got[0].F32(), want.F32())
					}
				})
			}
		}
	}
}

var _ = graph.Graph{}
