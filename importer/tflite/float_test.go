package tflite

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/graph/passes"
	"github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
	"github.com/wanwu-ai/wanwu/ops"
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
//
// The float16 fixture (weights rounded to half, PyTorch's outputs rounded to float16) is written
// with every weight a float16 constant read through DEQUANTIZE, as MediaPipe ships models; the
// decoder fixture exercises TRANSPOSE_CONV (SAME; VALID + STRIDED_SLICE for the pads SAME cannot
// express; grouped and dilated filters made dense), MediaPipe's Convolution2DTransposeBias and
// DEPTH_TO_SPACE.
func TestFloatFromPyTorchFixtures(t *testing.T) {
	classifier := []tflitegen.ConvertOptions{
		{},
		{GlobalPool: "mean", UnfusedAct: true},
		{GlobalPool: "avgpool", Squeeze: true},
	}
	fixtures := []struct {
		name     string
		variants []tflitegen.ConvertOptions
		tol      float64
	}{
		{"mobilenet_v2_tiny", classifier, 1e-4},
		{"resnet50_tiny", classifier, 1e-4},
		// Half an ulp of the float16 outputs the reference was rounded to: up to 4.9e-4 of a value.
		{"mobilenet_v2_tiny_fp16", []tflitegen.ConvertOptions{{Float16Weights: true}, {Float16Weights: true, GlobalPool: "mean"}}, 1e-3},
		{"decoder_tiny", []tflitegen.ConvertOptions{{}, {TransposeConvBias: true}, {Float16Weights: true, TransposeConvBias: true}}, 1e-4},
	}
	for _, fx := range fixtures {
		name, variants := fx.name, fx.variants
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
			x, want = widenF16(x), widenF16(want)
			if len(want.Shape) == 4 {
				want = toNHWC(want)
			}
			for vi, v := range variants {
				t.Run(fmt.Sprintf("%s/%s/%d", name, set, vi), func(t *testing.T) {
					g, err := onnx.Load(filepath.Join(dir, "model.onnx"))
					if err != nil {
						t.Fatal(err)
					}
					defer g.Close()
					if err := passes.Optimize(g, ops.Semantics{}, map[string]tensor.Shape{g.Inputs[0].Name: x.Shape}); err != nil {
						t.Fatal(err)
					}
					m, err := tflitegen.FromGraph(g, v)
					if err != nil {
						t.Fatal(err)
					}
					// The spellings this variant is meant to exercise are in the model.
					var must []fb.BuiltinOperator
					if v.Float16Weights {
						must = append(must, fb.BuiltinOperatorDEQUANTIZE)
					}
					if name == "decoder_tiny" {
						must = append(must, fb.BuiltinOperatorDEPTH_TO_SPACE, fb.BuiltinOperatorSTRIDED_SLICE, fb.BuiltinOperatorTRANSPOSE_CONV)
						if v.TransposeConvBias {
							must = append(must, fb.BuiltinOperatorCUSTOM)
						}
					}
					for _, code := range must {
						if !slices.ContainsFunc(m.Ops, func(op tflitegen.Op) bool { return op.Code == code }) {
							t.Fatalf("converted model has no %s", fb.EnumNamesBuiltinOperator[code])
						}
					}
					xn := toNHWC(x)
					// The naive NHWC reference first: it validates the conversion itself.
					ref, err := tflitegen.Eval(m, [][]float32{xn.F32()})
					if err != nil {
						t.Fatal(err)
					}
					tol := fx.tol
					if v.Float16Weights && !strings.HasSuffix(name, "_fp16") {
						tol = 2e-3 // float32 weights rounded to half here: 3.8e-4 measured on decoder_tiny
					}
					if e := maxRelErr(ref[0], want.F32()); e > tol {
						t.Fatalf("tflitegen reference vs PyTorch: rel err %.3g", e)
					}
					got := compileRun(t, m.Bytes(), xn)
					if !got[0].Shape.Equal(want.Shape) {
						t.Fatalf("output shape %s, want %s", got[0].Shape, want.Shape)
					}
					if e := maxRelErr(got[0].F32(), ref[0]); e > 2e-5 {
						t.Fatalf("imported TFLite vs tflitegen reference: rel err %.3g", e)
					}
					if e := maxRelErr(got[0].F32(), want.F32()); e > tol {
						t.Fatalf("imported TFLite vs PyTorch: rel err %.3g\ngot  %v\nwant %v", e, got[0].F32(), want.F32())
					}
				})
			}
		}
	}
}

// widenF16 converts a float16 tensor (the float16 fixture's input and output) to float32.
func widenF16(t *tensor.Tensor) *tensor.Tensor {
	if t.DType != tensor.F16 {
		return t
	}
	out := tensor.New(tensor.F32, t.Shape)
	for i, h := range t.F16() {
		out.F32()[i] = tensor.F16ToF32(h)
	}
	return out
}

var _ = graph.Graph{}
