package ops

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tensorio"
)

// ONNX backend node tests (Debian's libonnx-testdata, or $WANWU_ONNX_NODE_TESTS) for the ops in this
// package's light-weight families. A tiny protobuf reader keeps this test independent of the ONNX
// importer: it decodes ModelProto → GraphProto → NodeProto/AttributeProto directly (tensors through
// tensorio).

// liteOps are the operators this suite exercises; a case runs when all of its nodes are among them.
var liteOps = map[string]bool{}

func init() {
	for _, op := range strings.Fields(`Add Sub Mul Div Pow Max Min Sum Equal Greater Less GreaterOrEqual LessOrEqual Where
		Relu Clip Sigmoid HardSigmoid HardSwish LeakyRelu Erf Sqrt Exp Log Neg Abs Reciprocal Tanh Floor Ceil
		Softmax LogSoftmax ReduceMean ReduceSum ReduceMax ReduceMin ArgMax
		Shape Size Reshape Flatten Squeeze Unsqueeze Identity Dropout Transpose Concat Split Slice Gather Expand Tile
		ConstantOfShape Constant Cast Pad Resize`) {
		liteOps[op] = true
	}
}

// excluded lists node tests of the ops above that wanwu deliberately does not pass, one reason per
// prefix; the longest matching prefix decides.
var excluded = map[string]string{
	"test_cast_BFLOAT16_to_FLOAT":         "wanwu has no bf16 dtype",
	"test_cast_FLOAT_to_BFLOAT16":         "wanwu has no bf16 dtype",
	"test_castlike_BFLOAT16_to_FLOAT":     "wanwu has no bf16 dtype",
	"test_castlike_FLOAT_to_BFLOAT16":     "wanwu has no bf16 dtype",
	"test_cast_DOUBLE":                    "wanwu has no f64 dtype",
	"test_cast_FLOAT_to_DOUBLE":           "wanwu has no f64 dtype",
	"test_cast_FLOAT16_to_DOUBLE":         "wanwu has no f64 dtype",
	"test_castlike_DOUBLE":                "wanwu has no f64 dtype",
	"test_castlike_FLOAT_to_DOUBLE":       "wanwu has no f64 dtype",
	"test_castlike_FLOAT16_to_DOUBLE":     "wanwu has no f64 dtype",
	"test_cast_FLOAT_to_STRING":           "wanwu has no string dtype",
	"test_cast_STRING_to_FLOAT":           "wanwu has no string dtype",
	"test_castlike_FLOAT_to_STRING":       "wanwu has no string dtype",
	"test_castlike_STRING_to_FLOAT":       "wanwu has no string dtype",
	"test_dropout_default_mask":           "Dropout is Alias (no kernel runs), so the mask output is refused",
	"test_training_dropout":               "inference engine: training_mode Dropout is refused",
	"test_identity_opt":                   "optional types are not tensors",
	"test_identity_sequence":              "sequence types are not tensors",
	"test_max_float16":                    "Max/Min on f16 not needed by the target models",
	"test_min_float16":                    "Max/Min on f16 not needed by the target models",
	"test_max_float64":                    "wanwu has no f64 dtype",
	"test_min_float64":                    "wanwu has no f64 dtype",
	"test_max_int16":                      "wanwu has no i16 dtype",
	"test_min_int16":                      "wanwu has no i16 dtype",
	"test_max_uint":                       "wanwu has no u16/u32/u64 dtypes (u8 passes)",
	"test_min_uint":                       "wanwu has no u16/u32/u64 dtypes (u8 passes)",
	"test_max_uint8":                      "",
	"test_min_uint8":                      "",
	"test_pow_types":                      "Pow is f32^f32 only (mixed and integer Pow are not used by CNN exports)",
	"test_resize_downsample_scales_cubic": "Resize mode cubic is not supported",
	"test_resize_upsample_scales_cubic":   "Resize mode cubic is not supported",
	"test_resize_downsample_sizes_cubic":  "Resize mode cubic is not supported",
	"test_resize_upsample_sizes_cubic":    "Resize mode cubic is not supported",
	"test_resize_tf_crop_and_resize":      "tf_crop_and_resize is refused by design (TestResizeRefusesCropAndResize)",
}

// exclusion returns the reason for the longest matching prefix ("" = run it).
func exclusion(name string) string {
	best, why := 0, ""
	for p, r := range excluded {
		if strings.HasPrefix(name, p) && len(p) > best {
			best, why = len(p), r
		}
	}
	return why
}

func TestONNXNodeConformance(t *testing.T) {
	root := testutil.ONNXNodeTests(t)
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, d := range dirs {
		name := d.Name()
		m, err := readModel(filepath.Join(root, name, "model.onnx"))
		if err != nil {
			continue // models with constructs this reader does not need (sequences, subgraphs)
		}
		ok := len(m.nodes) > 0
		for _, n := range m.nodes {
			ok = ok && liteOps[n.op] && n.domain == ""
		}
		if !ok {
			continue
		}
		if why := exclusion(name); why != "" {
			t.Logf("%s: excluded: %s", name, why)
			continue
		}
		ran++
		t.Run(name, func(t *testing.T) { runNodeCase(t, filepath.Join(root, name), m) })
	}
	t.Logf("ran %d node test cases", ran)
	if ran < 250 {
		t.Errorf("only %d node cases ran; the test data or the model reader is broken", ran)
	}
}

func runNodeCase(t *testing.T, dir string, m *onnxModel) {
	vals := map[string]*graph.Value{}
	for name, c := range m.inits {
		vals[name] = &graph.Value{Name: name, DType: c.DType, Shape: c.Shape, Const: c}
	}
	for i, name := range m.inputs {
		if vals[name] != nil {
			continue
		}
		c, err := readTensorFile(filepath.Join(dir, "test_data_set_0", fmt.Sprintf("input_%d.pb", i)))
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		vals[name] = &graph.Value{Name: name, DType: c.DType, Shape: c.Shape, Const: c}
	}
	for _, pn := range m.nodes {
		n := &graph.Node{Name: pn.name, Op: pn.op, Attrs: pn.attrs}
		for _, in := range pn.inputs {
			if in == "" {
				n.Inputs = append(n.Inputs, nil)
				continue
			}
			v := vals[in]
			if v == nil {
				t.Fatalf("node %s: unknown input %q", pn.op, in)
			}
			n.Inputs = append(n.Inputs, v)
		}
		for _, o := range pn.outputs {
			if o == "" {
				n.Outputs = append(n.Outputs, nil)
				continue
			}
			v := &graph.Value{Name: o}
			vals[o] = v
			n.Outputs = append(n.Outputs, v)
		}
		res, err := Eval(n)
		if err != nil {
			t.Fatalf("Eval: %v", err)
		}
		for i, v := range n.Outputs {
			if v != nil {
				v.Const = res[i]
				v.Shape = res[i].Shape
			}
		}
	}
	for i, name := range m.outputs {
		want, err := readTensorFile(filepath.Join(dir, "test_data_set_0", fmt.Sprintf("output_%d.pb", i)))
		if err != nil {
			t.Fatalf("output %d: %v", i, err)
		}
		got := vals[name].Const
		if err := compareTensors(got, want, 1e-4); err != nil {
			t.Errorf("output %d (%s): %v", i, name, err)
		}
	}
}

// compareTensors checks dtype, shape and values; floats within atol+rtol*|want| (NaN matches NaN).
func compareTensors(got, want *tensor.Tensor, tol float64) error {
	if got.DType != want.DType {
		return fmt.Errorf("dtype %s, want %s", got.DType, want.DType)
	}
	if !got.Shape.Equal(want.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	switch got.DType {
	case tensor.F32:
		g, w := got.F32(), want.F32()
		for i := range w {
			if !closeTo(float64(g[i]), float64(w[i]), tol) {
				return fmt.Errorf("element %d: %v, want %v", i, g[i], w[i])
			}
		}
	case tensor.F16:
		g, w := got.F16(), want.F16()
		for i := range w {
			if !closeTo(float64(tensor.F16ToF32(g[i])), float64(tensor.F16ToF32(w[i])), 1e-3) {
				return fmt.Errorf("element %d: %#04x, want %#04x", i, g[i], w[i])
			}
		}
	default:
		n := want.ByteSize()
		for i := 0; i < n; i++ {
			if got.Data[i] != want.Data[i] {
				return fmt.Errorf("byte %d differs: got %v, want %v", i, got.Data[:n], want.Data[:n])
			}
		}
	}
	return nil
}

func closeTo(g, w, tol float64) bool {
	if math.IsNaN(w) {
		return math.IsNaN(g)
	}
	if math.IsInf(w, 0) {
		return g == w
	}
	return math.Abs(g-w) <= tol+tol*math.Abs(w)
}

// --- minimal protobuf reading -------------------------------------------------------------------

type pbField struct {
	num, wire int
	v         uint64
	b         []byte
}

func pbFields(b []byte) ([]pbField, error) {
	var fs []pbField
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errors.New("bad key")
		}
		b = b[n:]
		f := pbField{num: int(key >> 3), wire: int(key & 7)}
		switch f.wire {
		case 0:
			f.v, n = binary.Uvarint(b)
			if n <= 0 {
				return nil, errors.New("bad varint")
			}
			b = b[n:]
		case 1:
			if len(b) < 8 {
				return nil, errors.New("short fixed64")
			}
			f.v, b = binary.LittleEndian.Uint64(b), b[8:]
		case 5:
			if len(b) < 4 {
				return nil, errors.New("short fixed32")
			}
			f.v, b = uint64(binary.LittleEndian.Uint32(b)), b[4:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return nil, errors.New("bad length")
			}
			f.b, b = b[n:n+int(l)], b[n+int(l):]
		default:
			return nil, fmt.Errorf("wire type %d", f.wire)
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// varints decodes a repeated varint field that may be packed.
func varints(f pbField) []uint64 {
	if f.wire == 0 {
		return []uint64{f.v}
	}
	var out []uint64
	b := f.b
	for len(b) > 0 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return out
		}
		out = append(out, v)
		b = b[n:]
	}
	return out
}

func fixed32s(f pbField) []uint32 {
	if f.wire == 5 {
		return []uint32{uint32(f.v)}
	}
	out := make([]uint32, len(f.b)/4)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(f.b[4*i:])
	}
	return out
}

type onnxNode struct {
	name, op, domain string
	inputs, outputs  []string
	attrs            map[string]graph.Attr
}

type onnxModel struct {
	nodes           []onnxNode
	inputs, outputs []string
	inits           map[string]*tensor.Tensor
}

func readModel(path string) (*onnxModel, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fs, err := pbFields(b)
	if err != nil {
		return nil, err
	}
	m := &onnxModel{inits: map[string]*tensor.Tensor{}}
	for _, f := range fs {
		if f.num != 7 {
			continue
		}
		gfs, err := pbFields(f.b)
		if err != nil {
			return nil, err
		}
		for _, g := range gfs {
			switch g.num {
			case 1:
				n, err := decodeNode(g.b)
				if err != nil {
					return nil, err
				}
				m.nodes = append(m.nodes, n)
			case 5:
				t, name, err := decodeTensor(g.b)
				if err != nil {
					return nil, err
				}
				m.inits[name] = t
			case 11, 12:
				vfs, err := pbFields(g.b)
				if err != nil {
					return nil, err
				}
				for _, v := range vfs {
					if v.num == 1 {
						if g.num == 11 {
							m.inputs = append(m.inputs, string(v.b))
						} else {
							m.outputs = append(m.outputs, string(v.b))
						}
					}
				}
			}
		}
	}
	return m, nil
}

func decodeNode(b []byte) (onnxNode, error) {
	n := onnxNode{attrs: map[string]graph.Attr{}}
	fs, err := pbFields(b)
	if err != nil {
		return n, err
	}
	for _, f := range fs {
		switch f.num {
		case 1:
			n.inputs = append(n.inputs, string(f.b))
		case 2:
			n.outputs = append(n.outputs, string(f.b))
		case 3:
			n.name = string(f.b)
		case 4:
			n.op = string(f.b)
		case 7:
			n.domain = string(f.b)
		case 5:
			name, a, err := decodeAttr(f.b)
			if err != nil {
				return n, err
			}
			n.attrs[name] = a
		}
	}
	return n, nil
}

func decodeAttr(b []byte) (string, graph.Attr, error) {
	fs, err := pbFields(b)
	if err != nil {
		return "", graph.Attr{}, err
	}
	var name string
	var a graph.Attr
	var typ uint64
	for _, f := range fs {
		switch f.num {
		case 1:
			name = string(f.b)
		case 2:
			a.Float = math.Float32frombits(uint32(f.v))
		case 3:
			a.Int = int64(f.v)
		case 4:
			a.Str = string(f.b)
		case 5:
			a.Tensor, _, err = decodeTensor(f.b)
			if err != nil {
				return "", a, err
			}
		case 7:
			for _, v := range fixed32s(f) {
				a.Floats = append(a.Floats, math.Float32frombits(v))
			}
		case 8:
			for _, v := range varints(f) {
				a.Ints = append(a.Ints, int64(v))
			}
		case 9:
			a.Strings = append(a.Strings, string(f.b))
		case 20:
			typ = f.v
		}
	}
	kinds := map[uint64]graph.AttrKind{1: graph.AttrFloat, 2: graph.AttrInt, 3: graph.AttrString, 4: graph.AttrTensor,
		6: graph.AttrFloats, 7: graph.AttrInts, 8: graph.AttrStrings}
	k, ok := kinds[typ]
	if !ok {
		return "", a, fmt.Errorf("attribute %s: type %d", name, typ)
	}
	a.Kind = k
	return name, a, nil
}

func readTensorFile(path string) (*tensor.Tensor, error) {
	t, _, err := tensorio.ReadFile(path)
	return t, err
}

// decodeTensor decodes a TensorProto into fresh, aligned memory (tensorio's result may view b).
func decodeTensor(b []byte) (*tensor.Tensor, string, error) {
	t, name, err := tensorio.DecodeTensorProto(b)
	if err != nil {
		return nil, name, err
	}
	return t.Clone(), name, nil
}
