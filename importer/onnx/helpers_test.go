package onnx

import (
	"encoding/binary"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wanwu-ai/wanwu/importer"
	"github.com/wanwu-ai/wanwu/internal/onnxpb"
	"github.com/wanwu-ai/wanwu/ops"
)

// The importer asks the op registry what is supported, as package runtime wires it. Ops are being
// written in parallel, so the tests register inert stand-ins for the ops their models use where no
// real one exists yet.
func init() {
	importer.Supported = func(op string) bool { return ops.Lookup(op) != nil }
	for _, op := range []string{"Relu", "Conv", "Add", "Softmax", "LogSoftmax", "Flatten", "Shape", "Reshape",
		"Identity", "Resize", "MaxPool", "Gemm", "Mul", "QLinearAdd", "QLinearConv", "Transpose"} {
		if ops.Lookup(op) == nil {
			ops.Register(op, &ops.Def{})
		}
	}
}

// Builders for small models written with the generated protobuf types.

func f32Raw(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func rawTensor(name string, dt onnxpb.TensorProto_DataType, dims []int64, raw []byte) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: dims, RawData: raw}
}

// dim: an int64 is a fixed dim, a string a dim_param, nil a dim with neither.
func valueInfo(name string, elem onnxpb.TensorProto_DataType, dims ...any) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		switch d := d.(type) {
		case int:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		case string:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(elem)), Shape: shape}}}}
}

func node(op, name string, in, out []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: in, Output: out, Attribute: attrs}
}

func attrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func attrFloats(name string, v ...float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOATS.Enum(), Floats: v}
}

func attrStr(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

func attrTensor(name string, t *onnxpb.TensorProto) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t}
}

type modelSpec struct {
	opset     int64
	extraOps  map[string]int64
	nodes     []*onnxpb.NodeProto
	inits     []*onnxpb.TensorProto
	inputs    []*onnxpb.ValueInfoProto
	outputs   []*onnxpb.ValueInfoProto
	valueInfo []*onnxpb.ValueInfoProto
	meta      map[string]string
}

func (s modelSpec) proto() *onnxpb.ModelProto {
	m := &onnxpb.ModelProto{
		IrVersion:       proto.Int64(8),
		ProducerName:    proto.String("wanwu-test"),
		ProducerVersion: proto.String("1.0"),
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(s.opset)}},
		Graph: &onnxpb.GraphProto{Name: proto.String("g"), Node: s.nodes, Initializer: s.inits,
			Input: s.inputs, Output: s.outputs, ValueInfo: s.valueInfo},
	}
	for d, v := range s.extraOps {
		m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String(d), Version: proto.Int64(v)})
	}
	for k, v := range s.meta {
		m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(v)})
	}
	return m
}

func (s modelSpec) bytes(t testing.TB) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(s.proto())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// convModel is a one-Conv model with raw_data weights and a float_data bias.
func convModel() modelSpec {
	w := make([]float32, 4*3*3*3)
	for i := range w {
		w[i] = float32(i)/16 - 3
	}
	return modelSpec{
		opset: 13,
		nodes: []*onnxpb.NodeProto{node("Conv", "conv1", []string{"x", "w", "b"}, []string{"y"},
			attrInts("pads", 1, 1, 1, 1), attrInts("kernel_shape", 3, 3))},
		inits: []*onnxpb.TensorProto{
			rawTensor("w", onnxpb.TensorProto_FLOAT, []int64{4, 3, 3, 3}, f32Raw(w...)),
			{Name: proto.String("b"), DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Dims: []int64{4}, FloatData: []float32{0.5, -1, 2, 0}},
		},
		inputs:  []*onnxpb.ValueInfoProto{valueInfo("x", onnxpb.TensorProto_FLOAT, "N", 3, 8, 8)},
		outputs: []*onnxpb.ValueInfoProto{valueInfo("y", onnxpb.TensorProto_FLOAT, "N", 4, 8, 8)},
		meta:    map[string]string{"labels": "cat\ndog"},
	}
}
