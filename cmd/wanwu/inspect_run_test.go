package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wanwu-ai/wanwu/internal/onnxpb"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tensorio"
)

func fixture(t *testing.T, elem ...string) string {
	return filepath.Join(append([]string{testutil.RepoRoot(t), "testdata", "models"}, elem...)...)
}

func TestInspectFixture(t *testing.T) {
	out, stderr, code := runCLI(t, "inspect", "--format", "json", fixture(t, "resnet50_tiny", "model.onnx"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r inspectReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Format != "onnx" || len(r.Inputs) != 1 || r.Ops["Conv"] == 0 || r.Parameters == 0 ||
		r.WeightBytes < 4*r.Parameters/2 || r.MACs == 0 || r.ArenaBytes == 0 || r.InputShape[2] != 224 {
		t.Fatalf("incomplete report: %+v", r)
	}
	out, _, code = runCLI(t, "inspect", fixture(t, "resnet50_tiny", "model.onnx"))
	for _, want := range []string{"MACs", "arena bytes", "Conv×", "parameters"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("text report lacks %q: %s", want, out)
		}
	}
}

// A model with ops the engine lacks fails with one message listing each of them; exit status 1.
func TestInspectUnsupportedOps(t *testing.T) {
	f32 := int32(onnxpb.TensorProto_FLOAT)
	vi := func(name string) *onnxpb.ValueInfoProto {
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: &f32, Shape: &onnxpb.TensorShapeProto{
				Dim: []*onnxpb.TensorShapeProto_Dimension{{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 4}}}}}}}}
	}
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name: proto.String("g"),
			Node: []*onnxpb.NodeProto{
				{Name: proto.String("first"), OpType: proto.String("FancyOp"), Input: []string{"x"}, Output: []string{"y"}},
				{Name: proto.String("second"), OpType: proto.String("Relu"), Input: []string{"y"}, Output: []string{"z"}},
				{Name: proto.String("third"), OpType: proto.String("OtherOp"), Input: []string{"z"}, Output: []string{"w"}},
			},
			Input:  []*onnxpb.ValueInfoProto{vi("x")},
			Output: []*onnxpb.ValueInfoProto{vi("w")},
		},
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "odd.onnx")
	os.WriteFile(path, b, 0o644)
	_, stderr, code := runCLI(t, "inspect", path)
	if code != exitFailure {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	for _, want := range []string{"odd.onnx", "FancyOp", `"first"`, "OtherOp", `"third"`, "13"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("error %q does not mention %s", stderr, want)
		}
	}
	if strings.Contains(stderr, "Relu") {
		t.Errorf("error lists a supported op: %s", stderr)
	}
}

// `wanwu run` on a PyTorch fixture reproduces PyTorch's output through the .pb and .npy writers.
func TestRunFixtureMatchesPyTorch(t *testing.T) {
	dir := fixture(t, "mobilenet_v2_tiny")
	outDir := t.TempDir()
	_, stderr, code := runCLI(t, "run", "--model", filepath.Join(dir, "model.onnx"),
		"--input", "input="+filepath.Join(dir, "test_data_set_1", "input_0.pb"), "--output-dir", outDir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want, _, err := tensorio.ReadFile(filepath.Join(dir, "test_data_set_1", "output_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{".pb", ".npy"} {
		got, _, err := tensorio.ReadFile(filepath.Join(outDir, "logits"+ext))
		if err != nil {
			t.Fatal(err)
		}
		if !got.Shape.Equal(want.Shape) {
			t.Fatalf("%s: shape %s, want %s", ext, got.Shape, want.Shape)
		}
		maxAbs, maxErr := 0.0, 0.0
		for i, w := range want.F32() {
			maxAbs = math.Max(maxAbs, math.Abs(float64(w)))
			maxErr = math.Max(maxErr, math.Abs(float64(got.F32()[i]-w)))
		}
		if maxErr > 1e-4*maxAbs {
			t.Errorf("%s: max error %g vs max |y| %g", ext, maxErr, maxAbs)
		}
	}
	// Unknown input names are usage errors.
	_, _, code = runCLI(t, "run", "--model", filepath.Join(dir, "model.onnx"),
		"--input", "nope="+filepath.Join(dir, "test_data_set_1", "input_0.pb"), "--output-dir", outDir)
	if code != exitUsage {
		t.Errorf("unknown input name: exit %d, want 2", code)
	}
}

// `wanwu run` on a float16 model takes its float16 input as the model declares it (widened like the
// model) and matches PyTorch's float16 reference; a float16 tensor for a float32 model stays refused.
func TestRunFloat16Model(t *testing.T) {
	dir := fixture(t, "mobilenet_v2_tiny_fp16")
	in := filepath.Join(dir, "test_data_set_0", "input_0.pb")
	x, _, err := tensorio.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	if x.DType != tensor.F16 {
		t.Fatalf("fixture input is %s, want f16", x.DType)
	}
	outDir := t.TempDir()
	stdout, stderr, code := runCLI(t, "run", "--model", filepath.Join(dir, "model.onnx"), "--input", in, "--output-dir", outDir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	name, _, _ := strings.Cut(stdout, " ")
	got, _, err := tensorio.ReadFile(filepath.Join(outDir, name+".npy"))
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := tensorio.ReadFile(filepath.Join(dir, "test_data_set_0", "output_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	if got.DType != tensor.F32 || !got.Shape.Equal(want.Shape) {
		t.Fatalf("output %s%s, want f32%s", got.DType, got.Shape, want.Shape)
	}
	maxAbs, maxErr := 0.0, 0.0
	for i, h := range want.F16() {
		w := float64(tensor.F16ToF32(h))
		maxAbs = math.Max(maxAbs, math.Abs(w))
		maxErr = math.Max(maxErr, math.Abs(float64(got.F32()[i])-w))
	}
	// The reference is stored as float16: one float16 step of the largest logit, and some slack.
	if maxErr > 2e-3*maxAbs {
		t.Errorf("max error %g vs max |y| %g", maxErr, maxAbs)
	}
	f32 := fixture(t, "mobilenet_v2_tiny")
	_, stderr, code = runCLI(t, "run", "--model", filepath.Join(f32, "model.onnx"), "--input", in, "--output-dir", t.TempDir())
	if code == 0 || !strings.Contains(stderr, "f16") {
		t.Errorf("float16 input to a float32 model: exit %d, stderr %q", code, stderr)
	}
}
