package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"google.golang.org/protobuf/proto"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/onnxpb"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestConformanceModels loads ONNX's own node-test models; the expected graphs transcribe
// onnx.helper.printable_graph of each model into the Dump format.
func TestConformanceModels(t *testing.T) {
	cases := []struct {
		name  string
		opset int
		dump  string
	}{
		{"test_relu", 14, `input x f32[3,4,5]
y = Relu(x) -> f32[3,4,5]
output y
`},
		{"test_conv_with_strides_padding", 11, `input x f32[1,1,7,5]
input W f32[1,1,3,3]
y = Conv(x, W) {kernel_shape=[3 3], pads=[1 1 1 1], strides=[2 2]} -> f32[1,1,4,3]
output y
`},
		{"test_maxpool_2d_pads", 12, `input x f32[1,3,28,28]
y = MaxPool(x) {kernel_shape=[3 3], pads=[2 2 2 2]} -> f32[1,3,30,30]
output y
`},
		// Dropout becomes Identity; its seed attribute goes with it.
		{"test_dropout_default", 13, `input x f32[3,4,5]
y = Identity(x) -> f32[3,4,5]
output y
`},
		// Upsample-9 becomes Resize with Upsample's coordinate convention.
		{"test_upsample_nearest", 9, `input X f32[1,1,2,2]
input scales f32[4]
Y = Resize(X, _, scales) {coordinate_transformation_mode="asymmetric", mode="nearest", nearest_mode="floor"} -> f32[1,1,4,6]
output Y
`},
		// A Constant node is a constant value, not a node.
		{"test_constant", 13, `output values
`},
		{"test_gemm_default_single_elem_vector_bias", 13, `input a f32[3,7]
input b f32[7,3]
input c f32[1]
y = Gemm(a, b, c) -> f32[3,3]
output y
`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := testutil.ONNXTestdata(t, "node", c.name, "model.onnx")
			g, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			if got := g.Dump(); got != c.dump {
				t.Errorf("Dump:\n%s\nwant:\n%s", got, c.dump)
			}
			if g.Opset != c.opset {
				t.Errorf("Opset = %d, want %d", g.Opset, c.opset)
			}
			if g.Meta["producer_name"] != "backend-test" {
				t.Errorf("Meta = %v, want producer_name backend-test", g.Meta)
			}
		})
	}
}

// TestConstantNodeValue checks test_constant's value against the expected output the ONNX test ships.
func TestConstantNodeValue(t *testing.T) {
	g, err := Load(testutil.ONNXTestdata(t, "node", "test_constant", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	want := readTensorProto(t, testutil.ONNXTestdata(t, "node", "test_constant", "test_data_set_0", "output_0.pb"))
	got := g.Outputs[0].Const
	if got == nil || !got.Shape.Equal(want.Shape) || !reflect.DeepEqual(got.F32(), want.F32()) {
		t.Fatalf("constant = %v, want %v", got, want)
	}
}

func TestInitializers(t *testing.T) {
	g, err := Decode(convModel().bytes(t))
	if err != nil {
		t.Fatal(err)
	}
	want := `input x f32[?,3,8,8]
y = Conv(x, w:const f32[4,3,3,3], b:const f32[4]) {kernel_shape=[3 3], pads=[1 1 1 1]} -> f32[?,4,8,8]
output y
`
	if got := g.Dump(); got != want {
		t.Errorf("Dump:\n%s\nwant:\n%s", got, want)
	}
	n := g.Nodes[0]
	w, b := n.Inputs[1].Const.F32(), n.Inputs[2].Const.F32()
	if w[0] != -3 || w[107] != float32(107)/16-3 {
		t.Errorf("raw_data weights: w[0]=%v w[107]=%v", w[0], w[107])
	}
	if !reflect.DeepEqual(b, []float32{0.5, -1, 2, 0}) {
		t.Errorf("float_data bias = %v", b)
	}
	if g.Meta["producer_name"] != "wanwu-test" || g.Meta["producer_version"] != "1.0" || g.Meta["labels"] != "cat\ndog" {
		t.Errorf("Meta = %v", g.Meta)
	}
	if g.Name != "g" || g.Opset != 13 {
		t.Errorf("Name %q Opset %d", g.Name, g.Opset)
	}
}

func TestDynamicDims(t *testing.T) {
	s := modelSpec{
		opset:   13,
		nodes:   []*onnxpb.NodeProto{node("Relu", "r", []string{"x"}, []string{"y"})},
		inputs:  []*onnxpb.ValueInfoProto{valueInfo("x", onnxpb.TensorProto_FLOAT, "batch", 3, nil, 7)},
		outputs: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}}, // no type at all
	}
	g, err := Decode(s.bytes(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Inputs[0].Shape; !got.Equal(tensor.Shape{-1, 3, -1, 7}) {
		t.Errorf("input shape %v, want [-1 3 -1 7]", got)
	}
	if g.Outputs[0].Shape != nil {
		t.Errorf("untyped output has shape %v, want nil", g.Outputs[0].Shape)
	}
}

// TestInitializerInputs: graph inputs that are also initializers are constants, not inputs.
func TestInitializerInputs(t *testing.T) {
	s := convModel()
	s.inputs = append(s.inputs, valueInfo("w", onnxpb.TensorProto_FLOAT, 4, 3, 3, 3))
	g, err := Decode(s.bytes(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Inputs) != 1 || g.Inputs[0].Name != "x" || !g.Nodes[0].Inputs[1].IsConst() {
		t.Fatalf("inputs %v, w const %v", g.Inputs, g.Nodes[0].Inputs[1].IsConst())
	}
}

func TestConstantNodes(t *testing.T) {
	s := modelSpec{
		opset: 13,
		nodes: []*onnxpb.NodeProto{
			node("Constant", "c1", nil, []string{"t"}, attrTensor("value", rawTensor("", onnxpb.TensorProto_INT64, []int64{2}, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}))),
			node("Constant", "c2", nil, []string{"f"}, attrFloat("value_float", 2.5)),
			node("Constant", "c3", nil, []string{"fs"}, attrFloats("value_floats", 1, 2, 3)),
			node("Constant", "c4", nil, []string{"i"}, attrInt("value_int", -4)),
			node("Constant", "c5", nil, []string{"is"}, attrInts("value_ints", 5, 6)),
			node("Reshape", "r", []string{"x", "t"}, []string{"y"}),
		},
		inputs:  []*onnxpb.ValueInfoProto{valueInfo("x", onnxpb.TensorProto_FLOAT, 2, 3)},
		outputs: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}, {Name: proto.String("f")}, {Name: proto.String("fs")}, {Name: proto.String("i")}, {Name: proto.String("is")}},
	}
	g, err := Decode(s.bytes(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != 1 || g.Nodes[0].Op != "Reshape" {
		t.Fatalf("nodes: %s", g.Dump())
	}
	c := g.Nodes[0].Inputs[1].Const
	if c == nil || !reflect.DeepEqual(c.I64(), []int64{1, -2}) {
		t.Errorf("value tensor = %v", c)
	}
	o := g.Outputs
	if o[1].Const.F32()[0] != 2.5 || len(o[1].Const.Shape) != 0 ||
		!reflect.DeepEqual(o[2].Const.F32(), []float32{1, 2, 3}) ||
		o[3].Const.I64()[0] != -4 || !reflect.DeepEqual(o[4].Const.I64(), []int64{5, 6}) {
		t.Errorf("constants: %v %v %v %v", o[1].Const, o[2].Const, o[3].Const, o[4].Const)
	}

	sparse := modelSpec{opset: 13,
		nodes:   []*onnxpb.NodeProto{node("Constant", "sp", nil, []string{"y"}, &onnxpb.AttributeProto{Name: proto.String("sparse_value"), Type: onnxpb.AttributeProto_SPARSE_TENSOR.Enum(), SparseTensor: &onnxpb.SparseTensorProto{}})},
		outputs: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}}}
	if _, err := Decode(sparse.bytes(t)); err == nil || !strings.Contains(err.Error(), `Constant node "sp": sparse_value is not supported`) {
		t.Errorf("sparse constant: err = %v", err)
	}
}

func TestUnsupportedOps(t *testing.T) {
	s := modelSpec{
		opset: 13,
		nodes: []*onnxpb.NodeProto{
			node("Relu", "ok", []string{"x"}, []string{"a"}),
			node("StringNormalizer", "n1", []string{"a"}, []string{"b"}),
			node("If", "n2", []string{"b"}, []string{"y"}, &onnxpb.AttributeProto{Name: proto.String("then_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: &onnxpb.GraphProto{}}),
		},
		inputs:  []*onnxpb.ValueInfoProto{valueInfo("x", onnxpb.TensorProto_FLOAT, 2)},
		outputs: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}},
	}
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(path, s.bytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	var ue *UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *UnsupportedError", err)
	}
	want := path + `: 2 unsupported ops: StringNormalizer (node "n1", opset 13), If (node "n2", opset 13)`
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	if !reflect.DeepEqual(ue.OpTypes(), []string{"StringNormalizer", "If"}) {
		t.Errorf("OpTypes = %v", ue.OpTypes())
	}

	// A node from a domain wanwu does not implement is unsupported even if its name is known.
	s.nodes = []*onnxpb.NodeProto{{OpType: proto.String("Relu"), Domain: proto.String("ai.onnx.ml"), Input: []string{"x"}, Output: []string{"y"}}}
	s.extraOps = map[string]int64{"ai.onnx.ml": 3}
	_, err = Decode(s.bytes(t))
	if err == nil || err.Error() != `onnx: 1 unsupported op: ai.onnx.ml.Relu (node "Relu_0", opset 3)` {
		t.Errorf("err = %v", err)
	}
}

// The engine's lowered ops are not an ONNX model's to call, under their name or their domain.
func TestEngineOpsNotImportable(t *testing.T) {
	for _, domain := range []string{"", graph.ExtDomain} {
		s := modelSpec{
			opset:   13,
			nodes:   []*onnxpb.NodeProto{{OpType: proto.String(graph.OpF16Conv), Domain: proto.String(domain), Input: []string{"x"}, Output: []string{"y"}}},
			inputs:  []*onnxpb.ValueInfoProto{valueInfo("x", onnxpb.TensorProto_FLOAT, 2)},
			outputs: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}},
		}
		if domain != "" {
			s.extraOps = map[string]int64{domain: 1}
		}
		var ue *UnsupportedError
		if _, err := Decode(s.bytes(t)); !errors.As(err, &ue) {
			t.Errorf("domain %q: err = %v, want *UnsupportedError", domain, err)
		}
	}
}

func TestComMicrosoftOps(t *testing.T) {
	s := modelSpec{
		opset:    13,
		extraOps: map[string]int64{"com.microsoft": 1},
		nodes: []*onnxpb.NodeProto{{OpType: proto.String("QLinearAdd"), Domain: proto.String("com.microsoft"), Name: proto.String("qa"),
			Input: []string{"a", "s", "z", "a", "s", "z", "s", "z"}, Output: []string{"y"}}},
		inits: []*onnxpb.TensorProto{
			rawTensor("s", onnxpb.TensorProto_FLOAT, nil, f32Raw(0.5)),
			rawTensor("z", onnxpb.TensorProto_UINT8, nil, []byte{128}),
		},
		inputs:  []*onnxpb.ValueInfoProto{valueInfo("a", onnxpb.TensorProto_UINT8, 1, 4)},
		outputs: []*onnxpb.ValueInfoProto{valueInfo("y", onnxpb.TensorProto_UINT8, 1, 4)},
	}
	g, err := Decode(s.bytes(t))
	if err != nil {
		t.Fatal(err)
	}
	want := "input a u8[1,4]\ny = QLinearAdd(a, s:const f32[], z:const u8[], a, s:const f32[], z:const u8[], s:const f32[], z:const u8[]) -> u8[1,4]\noutput y\n"
	if got := g.Dump(); got != want {
		t.Errorf("Dump:\n%s\nwant:\n%s", got, want)
	}
}

// TestOpsetNormalization covers the rewrites of older opsets to latest-opset semantics.
func TestOpsetNormalization(t *testing.T) {
	cases := []struct {
		name  string
		opset int64
		nodes []*onnxpb.NodeProto
		x     *onnxpb.ValueInfoProto
		dump  string
		inits []*onnxpb.TensorProto
	}{
		{"softmax-11 last axis", 11, []*onnxpb.NodeProto{node("Softmax", "sm", []string{"x"}, []string{"y"})},
			valueInfo("x", onnxpb.TensorProto_FLOAT, "N", 1000),
			"input x f32[?,1000]\ny = Softmax(x) {axis=-1}\noutput y\n", nil},
		{"softmax-11 coerced to 2-D", 11, []*onnxpb.NodeProto{node("Softmax", "sm", []string{"x"}, []string{"y"})},
			valueInfo("x", onnxpb.TensorProto_FLOAT, 2, 3, 4),
			"input x f32[2,3,4]\nsm/shape = Shape(x)\nsm/flatten = Flatten(x) {axis=1}\nsm/Softmax = Softmax(sm/flatten) {axis=-1}\ny = Reshape(sm/Softmax, sm/shape)\noutput y\n", nil},
		{"softmax-11 after Gemm", 11, []*onnxpb.NodeProto{node("Gemm", "fc", []string{"x", "x"}, []string{"z"}, attrInt("transB", 1)), node("Relu", "r", []string{"z"}, []string{"a"}), node("Softmax", "sm", []string{"a"}, []string{"y"})},
			valueInfo("x", onnxpb.TensorProto_FLOAT, 2, 3),
			"input x f32[2,3]\nz = Gemm(x, x) {transB=1}\na = Relu(z)\ny = Softmax(a) {axis=-1}\noutput y\n", nil},
		{"logsoftmax-9 negative axis", 9, []*onnxpb.NodeProto{node("LogSoftmax", "ls", []string{"x"}, []string{"y"}, attrInt("axis", -1))},
			valueInfo("x", onnxpb.TensorProto_FLOAT, 2, 3, 4),
			"input x f32[2,3,4]\ny = LogSoftmax(x) {axis=-1}\noutput y\n", nil},
		{"softmax-13 untouched", 13, []*onnxpb.NodeProto{node("Softmax", "sm", []string{"x"}, []string{"y"}, attrInt("axis", 1))},
			valueInfo("x", onnxpb.TensorProto_FLOAT, 2, 3, 4),
			"input x f32[2,3,4]\ny = Softmax(x) {axis=1}\noutput y\n", nil},
		{"upsample-7 scales attribute", 7, []*onnxpb.NodeProto{node("Upsample", "up", []string{"x"}, []string{"y"}, attrFloats("scales", 1, 1, 2, 2), attrStr("mode", "bilinear"))},
			valueInfo("x", onnxpb.TensorProto_FLOAT, 1, 3, 4, 4),
			`input x f32[1,3,4,4]` + "\n" + `y = Resize(x, _, up/scales:const f32[4]) {coordinate_transformation_mode="asymmetric", mode="linear", nearest_mode="floor"}` + "\noutput y\n", nil},
		{"resize-10", 10, []*onnxpb.NodeProto{node("Resize", "rs", []string{"x", "x"}, []string{"y"})},
			valueInfo("x", onnxpb.TensorProto_FLOAT, 4),
			`input x f32[4]` + "\n" + `y = Resize(x, _, x) {coordinate_transformation_mode="asymmetric", nearest_mode="floor"}` + "\noutput y\n", nil},
		// Opset < 7: legacy broadcasting with an axis, consumed_inputs, attribute spellings.
		{"add-6 broadcast axis=1", 6, []*onnxpb.NodeProto{node("Add", "a", []string{"x", "k"}, []string{"y"}, attrInt("broadcast", 1), attrInt("axis", 1))},
			valueInfo("x", onnxpb.TensorProto_FLOAT, 2, 3, 4, 5),
			"input x f32[2,3,4,5]\ny = Add(x, a/broadcast:const f32[3,1,1])\noutput y\n", []*onnxpb.TensorProto{rawTensor("k", onnxpb.TensorProto_FLOAT, []int64{3}, f32Raw(1, 2, 3))}},
		{"mul-6 broadcast suffix", 6, []*onnxpb.NodeProto{node("Mul", "m", []string{"x", "k"}, []string{"y"}, attrInt("broadcast", 1))},
			valueInfo("x", onnxpb.TensorProto_FLOAT, 2, 3),
			"input x f32[2,3]\ny = Mul(x, k:const f32[3])\noutput y\n", []*onnxpb.TensorProto{rawTensor("k", onnxpb.TensorProto_FLOAT, []int64{3}, f32Raw(1, 2, 3))}},
		{"relu-1 consumed_inputs", 1, []*onnxpb.NodeProto{node("Relu", "r", []string{"x"}, []string{"y"}, attrInts("consumed_inputs", 0))},
			valueInfo("x", onnxpb.TensorProto_FLOAT, 2),
			"input x f32[2]\ny = Relu(x)\noutput y\n", nil},
		{"reshape-4 shape attribute", 4, []*onnxpb.NodeProto{node("Reshape", "rs", []string{"x"}, []string{"y"}, attrInts("shape", 3, -1))},
			valueInfo("x", onnxpb.TensorProto_FLOAT, 2, 3),
			"input x f32[2,3]\ny = Reshape(x, rs/shape:const i64[2])\noutput y\n", nil},
		{"cast-5 type name", 5, []*onnxpb.NodeProto{node("Cast", "c", []string{"x"}, []string{"y"}, attrStr("to", "INT32"))},
			valueInfo("x", onnxpb.TensorProto_FLOAT, 2),
			"input x f32[2]\ny = Cast(x) {to=6}\noutput y\n", nil},
		{"concat-3 default axis", 3, []*onnxpb.NodeProto{node("Concat", "c", []string{"x", "x"}, []string{"y"})},
			valueInfo("x", onnxpb.TensorProto_FLOAT, 2, 2),
			"input x f32[2,2]\ny = Concat(x, x) {axis=1}\noutput y\n", nil},
		{"dropout-12 with mask and ratio", 12, []*onnxpb.NodeProto{node("Dropout", "d", []string{"x", "x"}, []string{"y", "mask"})},
			valueInfo("x", onnxpb.TensorProto_FLOAT, 4),
			"input x f32[4]\ny = Identity(x)\noutput y\n", nil},
		{"dropout-13 training mode with ratio 0", 13, []*onnxpb.NodeProto{node("Dropout", "d", []string{"x", "r", "tm"}, []string{"y"})},
			valueInfo("x", onnxpb.TensorProto_FLOAT, 4),
			"input x f32[4]\ny = Identity(x)\noutput y\n", []*onnxpb.TensorProto{rawTensor("r", onnxpb.TensorProto_FLOAT, nil, f32Raw(0)), rawTensor("tm", onnxpb.TensorProto_BOOL, nil, []byte{1})}},
		{"dropout-13 training mode with float16 ratio 0", 13, []*onnxpb.NodeProto{node("Dropout", "d", []string{"x", "r", "tm"}, []string{"y"})},
			valueInfo("x", onnxpb.TensorProto_FLOAT16, 4),
			"input x f32[4]\ny = Identity(x)\noutput y\n", []*onnxpb.TensorProto{rawTensor("r", onnxpb.TensorProto_FLOAT16, nil, []byte{0, 0}), rawTensor("tm", onnxpb.TensorProto_BOOL, nil, []byte{1})}},
		{"dropout-13 training_mode false", 13, []*onnxpb.NodeProto{node("Dropout", "d", []string{"x", "", "tm"}, []string{"y"})},
			valueInfo("x", onnxpb.TensorProto_FLOAT, 4),
			"input x f32[4]\ny = Identity(x)\noutput y\n", []*onnxpb.TensorProto{rawTensor("tm", onnxpb.TensorProto_BOOL, nil, []byte{0})}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := modelSpec{opset: c.opset, nodes: c.nodes, inputs: []*onnxpb.ValueInfoProto{c.x}, inits: c.inits,
				outputs: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}}}
			g, err := Decode(s.bytes(t))
			if err != nil {
				t.Fatal(err)
			}
			if got := g.Dump(); got != c.dump {
				t.Errorf("Dump:\n%s\nwant:\n%s", got, c.dump)
			}
		})
	}
}

func TestModelErrors(t *testing.T) {
	relu := []*onnxpb.NodeProto{node("Relu", "r", []string{"x"}, []string{"y"})}
	in := []*onnxpb.ValueInfoProto{valueInfo("x", onnxpb.TensorProto_FLOAT, 2)}
	out := []*onnxpb.ValueInfoProto{{Name: proto.String("y")}}
	cases := []struct {
		name string
		spec modelSpec
		want string
	}{
		{"opset 0", modelSpec{opset: 0, nodes: relu, inputs: in, outputs: out}, "onnx: default-domain opset 0 is not supported (want 1..21)"},
		{"upsample-6", modelSpec{opset: 6, nodes: []*onnxpb.NodeProto{node("Upsample", "up", []string{"x"}, []string{"y"}, attrFloat("height_scale", 2))}, inputs: in, outputs: out},
			`node "up" (Upsample, opset 6): Upsample-1 needs height_scale and width_scale`},
		{"batchnorm-6 spatial=0", modelSpec{opset: 6, nodes: []*onnxpb.NodeProto{node("BatchNormalization", "bn", []string{"x", "x", "x", "x", "x"}, []string{"y"}, attrInt("spatial", 0))}, inputs: in, outputs: out},
			`node "bn" (BatchNormalization, opset 6): BatchNormalization spatial=0`},
		{"opset 22", modelSpec{opset: 22, nodes: relu, inputs: in, outputs: out}, "opset 22 is not supported"},
		{"missing input", modelSpec{opset: 13, nodes: relu, outputs: out}, `node "r" (Relu) input "x" is not produced`},
		{"missing output", modelSpec{opset: 13, nodes: relu, inputs: in, outputs: []*onnxpb.ValueInfoProto{{Name: proto.String("z")}}}, `graph output "z" is not produced`},
		{"double input", modelSpec{opset: 13, nodes: relu, inputs: []*onnxpb.ValueInfoProto{valueInfo("x", onnxpb.TensorProto_DOUBLE, 2)}, outputs: out}, `input "x": unsupported element type DOUBLE`},
		{"bfloat16 initializer", modelSpec{opset: 13, nodes: []*onnxpb.NodeProto{node("Add", "a", []string{"x", "k"}, []string{"y"})}, inputs: in, outputs: out,
			inits: []*onnxpb.TensorProto{rawTensor("k", onnxpb.TensorProto_BFLOAT16, []int64{2}, make([]byte, 4))}}, `tensor "k": unsupported data type BFLOAT16`},
		{"two producers", modelSpec{opset: 13, nodes: append(relu, node("Relu", "r2", []string{"x"}, []string{"y"})), inputs: in, outputs: out}, `node "r2" (Relu) output "y" is already defined`},
		{"mask used", modelSpec{opset: 13, nodes: []*onnxpb.NodeProto{node("Dropout", "d", []string{"x"}, []string{"a", "m"}), node("Add", "add", []string{"a", "m"}, []string{"y"})}, inputs: in, outputs: out},
			`node "add" uses the mask output "m" of Dropout "d"`},
		{"mask output", modelSpec{opset: 13, nodes: []*onnxpb.NodeProto{node("Dropout", "d", []string{"x"}, []string{"y", "m"})}, inputs: in,
			outputs: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}, {Name: proto.String("m")}}}, `graph output "m" is the mask of Dropout "d"`},
		{"training dropout", modelSpec{opset: 13, nodes: []*onnxpb.NodeProto{node("Dropout", "d", []string{"x", "", "tm"}, []string{"y"})}, inputs: in, outputs: out,
			inits: []*onnxpb.TensorProto{rawTensor("tm", onnxpb.TensorProto_BOOL, nil, []byte{1})}}, `node "d" (Dropout, opset 13): Dropout in training mode`},
		{"training dropout ratio 0.5", modelSpec{opset: 13, nodes: []*onnxpb.NodeProto{node("Dropout", "d", []string{"x", "r", "tm"}, []string{"y"})}, inputs: in, outputs: out,
			inits: []*onnxpb.TensorProto{rawTensor("r", onnxpb.TensorProto_FLOAT, nil, f32Raw(0.5)), rawTensor("tm", onnxpb.TensorProto_BOOL, nil, []byte{1})}}, `node "d" (Dropout, opset 13): Dropout in training mode`},
		{"training dropout float16 ratio 0.5", modelSpec{opset: 13, nodes: []*onnxpb.NodeProto{node("Dropout", "d", []string{"x", "r", "tm"}, []string{"y"})}, inputs: in, outputs: out,
			inits: []*onnxpb.TensorProto{rawTensor("r", onnxpb.TensorProto_FLOAT16, nil, []byte{0x00, 0x38}), rawTensor("tm", onnxpb.TensorProto_BOOL, nil, []byte{1})}}, `node "d" (Dropout, opset 13): Dropout in training mode`},
		{"cycle", modelSpec{opset: 13, nodes: []*onnxpb.NodeProto{node("Add", "a1", []string{"x", "b"}, []string{"a"}), node("Relu", "a2", []string{"a"}, []string{"b"}), node("Relu", "a3", []string{"a"}, []string{"y"})}, inputs: in, outputs: out}, "cycle"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.spec.bytes(t))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// TestOutOfOrderNodes: nodes listed before their producers are sorted, as some exporters need.
func TestOutOfOrderNodes(t *testing.T) {
	s := modelSpec{opset: 13,
		nodes:   []*onnxpb.NodeProto{node("Relu", "second", []string{"a"}, []string{"y"}), node("Relu", "first", []string{"x"}, []string{"a"})},
		inputs:  []*onnxpb.ValueInfoProto{valueInfo("x", onnxpb.TensorProto_FLOAT, 2)},
		outputs: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}}}
	g, err := Decode(s.bytes(t))
	if err != nil {
		t.Fatal(err)
	}
	if g.Nodes[0].Name != "first" || g.Nodes[1].Name != "second" {
		t.Errorf("order: %s", g.Dump())
	}
}

// TestTruncated: every prefix of a valid model is an error or (where the cut falls between
// fields) a smaller valid graph, never a panic.
func TestTruncated(t *testing.T) {
	full := convModel().bytes(t)
	errs := 0
	for i := range len(full) {
		g, err := Decode(full[:i])
		if err != nil {
			errs++
			if !strings.HasPrefix(err.Error(), "onnx: ") {
				t.Fatalf("prefix %d: error %q does not name its source", i, err)
			}
			continue
		}
		if err := g.Validate(); err != nil {
			t.Fatalf("prefix %d: invalid graph accepted: %v", i, err)
		}
	}
	if errs < len(full)*9/10 {
		t.Errorf("only %d of %d truncations failed", errs, len(full))
	}
	path := filepath.Join(t.TempDir(), "cut.onnx")
	if err := os.WriteFile(path, full[:len(full)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("Load of truncated file: err = %v, want it to name %s", err, path)
	}
}

// TestLoadViewsMapping proves Load does not copy raw_data: the weight bytes lie inside the mapping.
func TestLoadViewsMapping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conv.onnx")
	if err := os.WriteFile(path, convModel().bytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	bk := g.Backing.(*backing)
	region := bk.regions[0]
	w := g.Nodes[0].Inputs[1].Const
	if !inside(w.Data, region) {
		t.Error("raw_data weights were copied out of the mapped file")
	}
	if b := g.Nodes[0].Inputs[2].Const; inside(b.Data, region) {
		t.Error("float_data bias claims to view the file, but typed fields must be decoded")
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if g.Backing != nil || len(bk.regions) != 0 {
		t.Error("Close left the mapping in place")
	}
}

func inside(b, region []byte) bool {
	if len(b) == 0 || len(region) == 0 {
		return false
	}
	p, lo := uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&region[0]))
	return p >= lo && p+uintptr(len(b)) <= lo+uintptr(len(region))
}

func TestExternalData(t *testing.T) {
	w := f32Raw(1, 2, 3, 4, 5, 6)
	extTensor := func(name, loc string, kv ...string) *onnxpb.TensorProto {
		tp := &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Dims: []int64{2, 2},
			DataLocation: onnxpb.TensorProto_EXTERNAL.Enum()}
		kv = append([]string{"location", loc}, kv...)
		for i := 0; i < len(kv); i += 2 {
			tp.ExternalData = append(tp.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String(kv[i]), Value: proto.String(kv[i+1])})
		}
		return tp
	}
	spec := func(tp *onnxpb.TensorProto) modelSpec {
		return modelSpec{opset: 13, nodes: []*onnxpb.NodeProto{node("Add", "add", []string{"x", "w"}, []string{"y"})},
			inits:   []*onnxpb.TensorProto{tp},
			inputs:  []*onnxpb.ValueInfoProto{valueInfo("x", onnxpb.TensorProto_FLOAT, 2, 2)},
			outputs: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}}}
	}
	cases := []struct {
		name   string
		tensor *onnxpb.TensorProto
		want   []float32 // nil: error
		errs   string
	}{
		{"offset and length", extTensor("w", "weights.bin", "offset", "8", "length", "16"), []float32{3, 4, 5, 6}, ""},
		{"whole file from offset", extTensor("w", "sub/w2.bin", "offset", "0"), []float32{1, 2, 3, 4}, ""},
		{"absolute", extTensor("w", "/etc/passwd"), nil, `external data location "/etc/passwd" is absolute`},
		{"escapes", extTensor("w", "../secret.bin"), nil, `external data location "../secret.bin" escapes the model's directory`},
		{"escapes after clean", extTensor("w", "sub/../../secret.bin"), nil, "escapes the model's directory"},
		{"symlink out", extTensor("w", "link.bin"), nil, "outside the model's directory"},
		{"past end", extTensor("w", "weights.bin", "offset", "16", "length", "16"), nil, "past the end"},
		{"missing file", extTensor("w", "nope.bin"), nil, "not found"},
	}
	root := t.TempDir()
	dir := filepath.Join(root, "model")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "weights.bin"), w, 0o644))
	must(os.WriteFile(filepath.Join(dir, "sub", "w2.bin"), w[:16], 0o644))
	must(os.WriteFile(filepath.Join(root, "secret.bin"), w, 0o644))
	must(os.Symlink(filepath.Join(root, "secret.bin"), filepath.Join(dir, "link.bin")))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "model.onnx")
			data := spec(c.tensor).bytes(t)
			must(os.WriteFile(path, data, 0o644))
			g, err := Load(path)
			if c.want == nil {
				if err == nil || !strings.Contains(err.Error(), c.errs) || !strings.Contains(err.Error(), `tensor "w"`) || !strings.HasPrefix(err.Error(), path) {
					t.Fatalf("err = %v, want it to name %s, tensor \"w\" and contain %q", err, path, c.errs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			got := g.Nodes[0].Inputs[1].Const
			if !reflect.DeepEqual(got.F32(), c.want) {
				t.Errorf("external weights = %v, want %v", got.F32(), c.want)
			}
			bk := g.Backing.(*backing)
			if len(bk.regions) != 2 || !inside(got.Data, bk.regions[1]) {
				t.Error("external data is not a view of its mapped file")
			}
			// Decode has no directory to resolve external files against.
			if _, err := Decode(data); err == nil || !strings.Contains(err.Error(), "external data cannot be resolved") {
				t.Errorf("Decode with external data: err = %v", err)
			}
		})
	}
}

func readTensorProto(t *testing.T, path string) *tensor.Tensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tp onnxpb.TensorProto
	if err := proto.Unmarshal(b, &tp); err != nil {
		t.Fatal(err)
	}
	dt := map[int32]tensor.DType{1: tensor.F32, 7: tensor.I64}[tp.GetDataType()]
	shape := make(tensor.Shape, len(tp.Dims))
	for i, d := range tp.Dims {
		shape[i] = int(d)
	}
	// Copy into aligned memory via the public constructor.
	out := tensor.New(dt, shape)
	copy(out.Data, tp.GetRawData())
	return out
}
