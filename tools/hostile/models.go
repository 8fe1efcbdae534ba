package hostile

import (
	"encoding/binary"
	"math"
	"os"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/wanwu-ai/wanwu/internal/onnxpb"
)

// Tiny ONNX models, written with the generated onnx.proto types.

func tensorType(dims ...int64) *onnxpb.TypeProto {
	f32 := int32(onnxpb.TensorProto_FLOAT)
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: &f32, Shape: shape}}}
}

func valueInfo(name string, dims ...int64) *onnxpb.ValueInfoProto {
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: tensorType(dims...)}
}

func writeModel(path string, g *onnxpb.GraphProto) error {
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph:       g,
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// writeHugeInputModel writes an image classifier in name only: input "x" [1, 3, side, side] float,
// GlobalAveragePool then Flatten to three scores. Its input alone is 12*side*side bytes (side 2^31:
// 2^66, past int64).
func writeHugeInputModel(path string, side int64) error {
	return writeModel(path, &onnxpb.GraphProto{
		Name: proto.String("huge_input"),
		Node: []*onnxpb.NodeProto{
			{Name: proto.String("pool"), OpType: proto.String("GlobalAveragePool"), Input: []string{"x"}, Output: []string{"pooled"}},
			{Name: proto.String("flatten"), OpType: proto.String("Flatten"), Input: []string{"pooled"}, Output: []string{"scores"}},
		},
		Input:  []*onnxpb.ValueInfoProto{valueInfo("x", 1, 3, side, side)},
		Output: []*onnxpb.ValueInfoProto{valueInfo("scores", 1, 3)},
	})
}

// WriteOutputNamesModel writes a model of input "x" [1, 4] float whose output i, named names[i], is x + i,
// so each output's file can be told from the others by its values.
func WriteOutputNamesModel(path string, names []string) error {
	g := &onnxpb.GraphProto{Name: proto.String("output_names"), Input: []*onnxpb.ValueInfoProto{valueInfo("x", 1, 4)}}
	for i, name := range names {
		c := "c" + strconv.Itoa(i)
		raw := binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(i)))
		g.Initializer = append(g.Initializer, &onnxpb.TensorProto{Name: proto.String(c), Dims: []int64{1},
			DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: raw})
		g.Node = append(g.Node, &onnxpb.NodeProto{Name: proto.String("add" + strconv.Itoa(i)), OpType: proto.String("Add"),
			Input: []string{"x", c}, Output: []string{name}})
		g.Output = append(g.Output, valueInfo(name, 1, 4))
	}
	return writeModel(path, g)
}
