package onnx

import (
	"encoding/binary"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wanwu-ai/wanwu/internal/onnxpb"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestFloat16Widened: a float16 model imports as float32 — inputs, outputs, initializers, tensor
// attributes and casts — with the weights' values exactly the float16 ones.
func TestFloat16Widened(t *testing.T) {
	halves := []uint16{0x3c00, 0xc000, 0x3555} // 1, -2, 0.333251953125
	raw := make([]byte, 2*len(halves))
	for i, h := range halves {
		binary.LittleEndian.PutUint16(raw[2*i:], h)
	}
	fill := rawTensor("", onnxpb.TensorProto_FLOAT16, []int64{1}, raw[4:6])
	s := modelSpec{opset: 13,
		nodes: []*onnxpb.NodeProto{
			node("Mul", "m", []string{"x", "k"}, []string{"a"}),
			node("ConstantOfShape", "c", []string{"shape"}, []string{"z"}, attrTensor("value", fill)),
			node("Add", "add", []string{"a", "z"}, []string{"b"}),
			node("Cast", "cast", []string{"b"}, []string{"y"}, attrInt("to", 10)),
		},
		inits: []*onnxpb.TensorProto{rawTensor("k", onnxpb.TensorProto_FLOAT16, []int64{3}, raw),
			{Name: proto.String("shape"), DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Dims: []int64{1}, Int64Data: []int64{3}}},
		inputs:  []*onnxpb.ValueInfoProto{valueInfo("x", onnxpb.TensorProto_FLOAT16, 3)},
		outputs: []*onnxpb.ValueInfoProto{valueInfo("y", onnxpb.TensorProto_FLOAT16, 3)},
	}
	g, err := Decode(s.bytes(t))
	if err != nil {
		t.Fatal(err)
	}
	if g.Inputs[0].DType != tensor.F32 || g.Outputs[0].DType != tensor.F32 {
		t.Errorf("input %s, output %s; want f32 both", g.Inputs[0].DType, g.Outputs[0].DType)
	}
	k := g.Nodes[0].Inputs[1].Const
	if k.DType != tensor.F32 || k.F32()[0] != 1 || k.F32()[1] != -2 || k.F32()[2] != 0.333251953125 {
		t.Errorf("widened weights %s %v", k.DType, k)
	}
	for _, n := range g.Nodes {
		switch n.Op {
		case "Cast":
			if n.Int("to", 0) != 1 {
				t.Errorf("Cast to %d, want 1 (FLOAT)", n.Int("to", 0))
			}
		case "ConstantOfShape":
			if v := n.Attrs["value"].Tensor; v.DType != tensor.F32 || v.F32()[0] != 0.333251953125 {
				t.Errorf("ConstantOfShape value %s %v", v.DType, v)
			}
		}
	}
	if g.Meta["wanwu.fp16"] == "" {
		t.Error("Meta[wanwu.fp16] not set")
	}
	// A float32 model is left alone.
	g2, err := Decode(convModel().bytes(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g2.Meta["wanwu.fp16"]; ok {
		t.Error("float32 model marked as widened")
	}
}
