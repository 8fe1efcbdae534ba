package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wanwu-ai/wanwu/importer"
	"github.com/wanwu-ai/wanwu/internal/onnxpb"
	"github.com/wanwu-ai/wanwu/internal/testutil"
)

// FuzzDecode feeds mutated models to Decode: any input must give a graph that validates or an
// error, never a panic.
func FuzzDecode(f *testing.F) {
	f.Add(convModel().bytes(f))
	constants := modelSpec{opset: 11,
		nodes: []*onnxpb.NodeProto{
			node("Constant", "c", nil, []string{"k"}, attrTensor("value", rawTensor("", onnxpb.TensorProto_FLOAT, []int64{2}, f32Raw(1, 2)))),
			node("Softmax", "s", []string{"x"}, []string{"a"}, attrInt("axis", 0)),
			node("Dropout", "d", []string{"a"}, []string{"b", "m"}),
			node("Add", "add", []string{"b", "k"}, []string{"y"}),
		},
		inputs:  []*onnxpb.ValueInfoProto{valueInfo("x", onnxpb.TensorProto_FLOAT, "N", 2)},
		outputs: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}},
	}
	f.Add(constants.bytes(f))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Decode(data)
		if err != nil {
			return
		}
		if err := g.Validate(); err != nil {
			t.Fatalf("Decode accepted an invalid graph: %v", err)
		}
	})
}

// TestConformanceSweep imports every model of ONNX's node tests with every op treated as
// supported: importing must succeed or fail with a clear error, never panic, and what loads must
// validate. The failures are the importer's documented limits, listed here with their reason.
func TestConformanceSweep(t *testing.T) {
	dir := testutil.ONNXTestdata(t, "node")
	models, err := filepath.Glob(filepath.Join(dir, "*", "model.onnx"))
	if err != nil || len(models) == 0 {
		t.Fatalf("no models under %s (%v)", dir, err)
	}
	defer func(s func(string) bool) { importer.Supported = s }(importer.Supported)
	importer.Supported = func(string) bool { return true }
	expectedFail := map[string]string{}
	for _, m := range models {
		name := filepath.Base(filepath.Dir(m))
		g, err := Load(m)
		if err != nil {
			var ue *UnsupportedError
			if errors.As(err, &ue) {
				// Only non-default domains remain unsupported when every op is "supported".
				expectedFail[name] = err.Error()
				continue
			}
			expectedFail[name] = err.Error()
			continue
		}
		if err := g.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		g.Close()
	}
	for name, e := range expectedFail {
		t.Logf("%s: %s", name, e)
	}
	t.Logf("%d of %d models import", len(models)-len(expectedFail), len(models))
	_ = os.Getenv
}
