package onnx

import (
	"context"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/wanwu-ai/wanwu/internal/onnxpb"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestLegacyFormsRun runs old operator versions the ONNX model suites (conformance/) do not cover
// and compares them with the old version's definition written out here.
func TestLegacyFormsRun(t *testing.T) {
	x6 := []float32{-2, -0.5, 0, 0.25, 1, 3}
	i64 := func(name string, v ...int64) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Dims: []int64{int64(len(v))}, Int64Data: v}
	}
	cases := []struct {
		name  string
		spec  modelSpec
		x     *tensor.Tensor
		want  [][]float32
		shape []tensor.Shape
	}{
		{"Tile-1 tiles one axis", modelSpec{opset: 5,
			nodes: []*onnxpb.NodeProto{node("Tile", "t", []string{"x", "tiles", "axis"}, []string{"y"})},
			inits: []*onnxpb.TensorProto{i64("tiles", 3), i64("axis", 1)}},
			tensor.FromF32(tensor.Shape{2, 3}, x6),
			[][]float32{{-2, -0.5, 0, -2, -0.5, 0, -2, -0.5, 0, 0.25, 1, 3, 0.25, 1, 3, 0.25, 1, 3}}, []tensor.Shape{{2, 9}}},
		{"Upsample-1 height_scale width_scale", modelSpec{opset: 6,
			nodes: []*onnxpb.NodeProto{node("Upsample", "u", []string{"x"}, []string{"y"}, attrFloat("height_scale", 2), attrFloat("width_scale", 2))}},
			tensor.FromF32(tensor.Shape{1, 1, 2, 3}, x6),
			[][]float32{{-2, -2, -0.5, -0.5, 0, 0, -2, -2, -0.5, -0.5, 0, 0, 0.25, 0.25, 1, 1, 3, 3, 0.25, 0.25, 1, 1, 3, 3}},
			[]tensor.Shape{{1, 1, 4, 6}}},
		{"Selu-1 defaults", modelSpec{opset: 5, nodes: []*onnxpb.NodeProto{node("Selu", "s", []string{"x"}, []string{"y"})}},
			tensor.FromF32(tensor.Shape{6}, x6), [][]float32{selu1(x6)}, []tensor.Shape{{6}}},
		{"Split-1 sizes from the second input", modelSpec{opset: 1,
			nodes: []*onnxpb.NodeProto{node("Split", "s", []string{"x", "split"}, []string{"y", "z"})},
			inits: []*onnxpb.TensorProto{i64("split", 2, 4)}},
			tensor.FromF32(tensor.Shape{6}, x6), [][]float32{x6[:2], x6[2:]}, []tensor.Shape{{2}, {4}}},
		{"Slice-1 clamps and counts from the end", modelSpec{opset: 9,
			nodes: []*onnxpb.NodeProto{node("Slice", "s", []string{"x"}, []string{"y"},
				attrInts("starts", -2, 1), attrInts("ends", 1000, -1), attrInts("axes", 1, 0))}},
			tensor.FromF32(tensor.Shape{3, 2}, x6), [][]float32{{0, 0.25}}, []tensor.Shape{{1, 2}}},
		{"PRelu-6 computed slope per channel", modelSpec{opset: 6,
			nodes: []*onnxpb.NodeProto{node("Abs", "a", []string{"s"}, []string{"slope"}), node("PRelu", "p", []string{"x", "slope"}, []string{"y"})},
			inits: []*onnxpb.TensorProto{rawTensor("s", onnxpb.TensorProto_FLOAT, []int64{2}, f32Raw(-0.5, 2))}},
			tensor.FromF32(tensor.Shape{1, 2, 3}, []float32{-2, -0.5, 0, -1, 1, 3}), [][]float32{{-1, -0.25, 0, -2, 1, 3}}, []tensor.Shape{{1, 2, 3}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := c.spec
			s.inputs = []*onnxpb.ValueInfoProto{valueInfoOf("x", c.x.Shape)}
			for i := range c.want {
				s.outputs = append(s.outputs, &onnxpb.ValueInfoProto{Name: proto.String([]string{"y", "z"}[i])})
			}
			g, err := Decode(s.bytes(t))
			if err != nil {
				t.Fatal(err)
			}
			p, err := runtime.Compile(g, runtime.Options{Threads: 1})
			if err != nil {
				t.Fatalf("compile: %v\n%s", err, g.Dump())
			}
			defer p.Close()
			out, err := p.Run(context.Background(), []*tensor.Tensor{c.x})
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range c.want {
				if !out[i].Shape.Equal(c.shape[i]) {
					t.Fatalf("output %d shape %s, want %s", i, out[i].Shape, c.shape[i])
				}
				for j, v := range out[i].F32() {
					if math.Abs(float64(v-want[j])) > 1e-6*(1+math.Abs(float64(want[j]))) {
						t.Fatalf("output %d = %v, want %v", i, out[i].F32(), want)
					}
				}
			}
		})
	}
}

// selu1 is Selu-1 with its default constants (alpha 1.6732, gamma 1.0507).
func selu1(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		f := float64(v)
		if f <= 0 {
			f = 1.6732 * (math.Exp(f) - 1)
		}
		y[i] = float32(1.0507 * f)
	}
	return y
}

func valueInfoOf(name string, s tensor.Shape) *onnxpb.ValueInfoProto {
	dims := make([]any, len(s))
	for i, d := range s {
		dims[i] = d
	}
	return valueInfo(name, onnxpb.TensorProto_FLOAT, dims...)
}

// TestLegacyBatchNormSpatial: BatchNormalization-7 still had spatial; spatial=0 is refused at
// opset 7 and 8 as below 7, and accepted nowhere.
func TestLegacyBatchNormSpatial(t *testing.T) {
	for _, opset := range []int64{6, 7, 8} {
		s := modelSpec{opset: opset, nodes: []*onnxpb.NodeProto{node("BatchNormalization", "bn", []string{"x", "x", "x", "x", "x"}, []string{"y"}, attrInt("spatial", 0))},
			inputs: []*onnxpb.ValueInfoProto{valueInfo("x", onnxpb.TensorProto_FLOAT, 2)}, outputs: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}}}
		if _, err := Decode(s.bytes(t)); err == nil {
			t.Errorf("opset %d: BatchNormalization spatial=0 imported; want an error", opset)
		}
	}
}
