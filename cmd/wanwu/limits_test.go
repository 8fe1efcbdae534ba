package main

import (
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wanwu-ai/wanwu/importer/onnx/onnxpb"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/runtime"
)

// --threads is capped at runtime.MaxThreads (4 per CPU) in every subcommand that has it: a usage error
// that says the limit, before any model is loaded.
func TestThreadsCap(t *testing.T) {
	photo := testutil.Shared(t, "images", "parrot.jpg")
	model := filepath.Join(testutil.RepoRoot(t), "testdata", "models", "mobilenet_v2_tiny", "model.onnx")
	for _, n := range []string{"1000000", fmt.Sprint(runtime.MaxThreads() + 1)} {
		for _, args := range [][]string{
			{"classify", "--threads", n, photo},
			{"plan", "--model", model, "--threads", n},
			{"bench", "--model", model, "--threads", n},
			{"serve", "--model", model, "--threads", n, "--addr", "127.0.0.1:0"},
			{"run", "--model", model, "--threads", n, "--input", "x.pb", "--output-dir", t.TempDir()},
		} {
			_, stderr, code := runCLI(t, args...)
			want := fmt.Sprintf("--threads must be from 0 (one per core) to %d (4 per CPU, %d CPUs), got %s", runtime.MaxThreads(), goruntime.NumCPU(), n)
			if code != exitUsage || !strings.Contains(stderr, want) {
				t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", args, code, stderr, want)
			}
		}
	}
	// The limit itself is accepted.
	out, stderr, code := runCLI(t, "bench", "--model", model, "--size", "64", "--iters", "1", "--warmup", "0",
		"--threads", fmt.Sprint(runtime.MaxThreads()), "--format", "json")
	if code != exitOK || !strings.Contains(out, fmt.Sprintf(`"threads":%d`, runtime.MaxThreads())) {
		t.Errorf("bench --threads %d: exit %d, %s %s", runtime.MaxThreads(), code, out, stderr)
	}
}

// writeHugeModel writes a one-Conv classifier whose input is [N,3,2^31,2^31].
func writeHugeModel(t *testing.T) string {
	t.Helper()
	f32 := int32(onnxpb.TensorProto_FLOAT)
	dim := func(v int64) *onnxpb.TensorShapeProto_Dimension {
		return &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: v}}
	}
	batch := &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}}
	vi := func(name string, s *onnxpb.TensorShapeProto) *onnxpb.ValueInfoProto {
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(f32), Shape: s}}}}
	}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{Name: proto.String("huge"),
			Node: []*onnxpb.NodeProto{
				{OpType: proto.String("Conv"), Name: proto.String("conv"), Input: []string{"x", "w"}, Output: []string{"c"}},
				{OpType: proto.String("GlobalAveragePool"), Name: proto.String("gap"), Input: []string{"c"}, Output: []string{"p"}},
				{OpType: proto.String("Flatten"), Name: proto.String("flat"), Input: []string{"p"}, Output: []string{"y"}},
			},
			Initializer: []*onnxpb.TensorProto{{Name: proto.String("w"), DataType: proto.Int32(f32), Dims: []int64{4, 3, 1, 1}, RawData: make([]byte, 48)}},
			Input:       []*onnxpb.ValueInfoProto{vi("x", &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{batch, dim(3), dim(1 << 31), dim(1 << 31)}})},
			Output:      []*onnxpb.ValueInfoProto{vi("y", nil)},
		}}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "huge.onnx")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A model whose input is 2^31×2^31 gets the same clear error from every subcommand — naming the model,
// the input and its shape — and exit status 1, not a wrong figure or a crash.
func TestHugeInputModel(t *testing.T) {
	model := writeHugeModel(t)
	photo := testutil.Shared(t, "images", "parrot.jpg")
	want := `input "x": shape [?,3,2147483648,2147483648] of f32 needs more than 256 TiB`
	for _, args := range [][]string{
		{"inspect", model},
		{"plan", "--model", model, "--budget", "1GiB"},
		{"classify", "--model", model, "--budget", "1GiB", photo},
		{"classify", "--model", model, photo},
		{"bench", "--model", model, "--iters", "1"},
		{"serve", "--model", model, "--budget", "1GiB", "--addr", "127.0.0.1:0"},
	} {
		out, stderr, code := runCLI(t, args...)
		if code != exitFailure || !strings.Contains(stderr, want) || !strings.Contains(stderr, model) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and %q naming the model", args[0], code, out, stderr, want)
		}
	}
}
