package testutil

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wanwu-ai/wanwu/internal/onnxpb"
)

// ImageModel writes a tiny ONNX classifier — Conv(4×3×1×1) → GlobalAveragePool → Flatten — whose
// input "x" has the given dims (an int or int64 is a fixed dim, a string a dim_param), built with the
// generated ONNX types, into a temporary directory, and returns its path. Tests use it for models
// with hostile input shapes.
func ImageModel(t testing.TB, dims ...any) string {
	t.Helper()
	f32 := int32(onnxpb.TensorProto_FLOAT)
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		switch d := d.(type) {
		case int:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		case int64:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}
		case string:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	vi := func(name string, s *onnxpb.TensorShapeProto) *onnxpb.ValueInfoProto {
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(f32), Shape: s}}}}
	}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{Name: proto.String("image_model"),
			Node: []*onnxpb.NodeProto{
				{OpType: proto.String("Conv"), Name: proto.String("conv"), Input: []string{"x", "w"}, Output: []string{"c"}},
				{OpType: proto.String("GlobalAveragePool"), Name: proto.String("gap"), Input: []string{"c"}, Output: []string{"p"}},
				{OpType: proto.String("Flatten"), Name: proto.String("flat"), Input: []string{"p"}, Output: []string{"y"}},
			},
			Initializer: []*onnxpb.TensorProto{{Name: proto.String("w"), DataType: proto.Int32(f32), Dims: []int64{4, 3, 1, 1}, RawData: make([]byte, 48)}},
			Input:       []*onnxpb.ValueInfoProto{vi("x", shape)},
			Output:      []*onnxpb.ValueInfoProto{vi("y", nil)},
		}}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
