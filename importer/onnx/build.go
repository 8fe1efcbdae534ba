package onnx

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/importer"
	"github.com/wanwu-ai/wanwu/internal/onnxpb"
	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tensorio"
)

// Supported default-domain opsets. Operator versions older than the latest are rewritten onto it:
// those before opset 10 by legacy.go, later changes by normalize.go.
const (
	MinOpset = 1
	MaxOpset = 21
)

// supported asks the engine (importer.Supported) whether it runs op; Load and Decode list every node
// it refuses in one UnsupportedError.
func supported(op string) bool { return importer.Supported == nil || importer.Supported(op) }

// builder turns the walked protobuf into a graph.
type builder struct {
	file   string // path for error messages ("" for Decode)
	ext    tensorio.ExternalFunc
	opset  int
	opsets map[string]int // every imported domain's version ("" = default)

	g        *graph.Graph
	values   map[string]*graph.Value
	produced map[*graph.Value]bool // outputs of nodes, graph inputs and constants
	dropped  map[string]string     // Dropout mask outputs removed -> node name
	producer map[*graph.Value]*graph.Node
	unsup    []UnsupportedOp
}

func (b *builder) errorf(format string, args ...any) error {
	prefix := b.file
	if prefix == "" {
		prefix = "onnx"
	}
	return fmt.Errorf("%s: %w", prefix, fmt.Errorf(format, args...))
}

func decode(data []byte, file string, ext tensorio.ExternalFunc) (*graph.Graph, error) {
	b := &builder{file: file, ext: ext, opsets: map[string]int{}, values: map[string]*graph.Value{},
		produced: map[*graph.Value]bool{}, dropped: map[string]string{}, producer: map[*graph.Value]*graph.Node{}}
	m, err := parseModel(data)
	if err != nil {
		return nil, b.errorf("%w", err)
	}
	if !m.hasGraph {
		return nil, b.errorf("model has no graph (not an ONNX model?)")
	}
	for _, o := range m.opsets {
		d := o.GetDomain()
		if d == "ai.onnx" {
			d = ""
		}
		b.opsets[d] = int(o.GetVersion())
	}
	v, ok := b.opsets[""]
	if !ok {
		return nil, b.errorf("model imports no default-domain (ai.onnx) opset (IR version %d)", m.irVersion)
	}
	if v < MinOpset || v > MaxOpset {
		return nil, b.errorf("default-domain opset %d is not supported (want %d..%d)", v, MinOpset, MaxOpset)
	}
	b.opset = v

	wg, err := parseGraph(m.graph)
	if err != nil {
		return nil, b.errorf("%w", err)
	}
	b.g = &graph.Graph{Name: wg.name, Opset: v, Meta: map[string]string{}}
	for k, s := range map[string]string{"producer_name": m.producerName, "producer_version": m.producerVersion, "doc_string": m.docString} {
		if s != "" {
			b.g.Meta[k] = s
		}
	}
	for _, e := range m.meta {
		b.g.Meta[e.GetKey()] = e.GetValue()
	}
	if err := b.build(wg); err != nil {
		return nil, err
	}
	return b.g, nil
}

func (b *builder) build(wg *wireGraph) error {
	if wg.sparseInits > 0 {
		return b.errorf("graph %q has %d sparse initializers, which are not supported", wg.name, wg.sparseInits)
	}
	for i, raw := range wg.initializers {
		t, name, err := tensorio.DecodeTensorProtoExternal(raw, b.ext)
		if err != nil {
			return b.errorf("initializer #%d: %w", i, err)
		}
		if _, dup := b.values[name]; dup {
			return b.errorf("initializer %q is defined twice", name)
		}
		b.addConst(name, t)
	}
	for _, vi := range wg.inputs {
		name := vi.GetName()
		if v, ok := b.values[name]; ok && v.IsConst() {
			continue // an initializer listed as input (IR < 4 style) is a constant with a default
		}
		dt, shape, err := valueType(vi)
		if err != nil {
			return b.errorf("input %q: %w", name, err)
		}
		v := &graph.Value{Name: name, DType: dt, Shape: shape}
		b.values[name] = v
		b.produced[v] = true
		b.g.Inputs = append(b.g.Inputs, v)
	}
	// Shapes the exporter recorded for intermediate values help passes before shape inference
	// (and tell Softmax-11 the rank of its input).
	for _, vi := range wg.valueInfo {
		if v := b.value(vi.GetName()); !v.IsConst() {
			if dt, shape, err := valueType(vi); err == nil {
				v.DType, v.Shape = dt, shape
			}
		}
	}
	for i, raw := range wg.nodes {
		wn, err := parseNode(raw)
		if err != nil {
			return b.errorf("node #%d: %w", i, err)
		}
		if err := b.node(i, wn); err != nil {
			return err
		}
	}
	for _, vi := range wg.outputs {
		name := vi.GetName()
		v, ok := b.values[name]
		if node, ok := b.dropped[name]; ok {
			return b.errorf("graph output %q is the mask of Dropout %q; only inference Dropout is supported", name, node)
		}
		if !ok || !b.produced[v] {
			return b.errorf("graph output %q is not produced by any node, input or initializer", name)
		}
		if !v.IsConst() {
			if dt, shape, err := valueType(vi); err == nil {
				v.DType = dt
				if shape != nil {
					v.Shape = shape
				}
			}
		}
		b.g.Outputs = append(b.g.Outputs, v)
	}
	if len(b.g.Outputs) == 0 {
		return b.errorf("graph %q has no outputs", wg.name)
	}
	for _, n := range b.g.Nodes {
		for _, in := range n.Inputs {
			if in != nil && !b.produced[in] {
				if node, ok := b.dropped[in.Name]; ok {
					return b.errorf("node %q uses the mask output %q of Dropout %q; only inference Dropout is supported", n.Name, in.Name, node)
				}
				return b.errorf("node %q (%s) input %q is not produced by any node, input or initializer", n.Name, n.Op, in.Name)
			}
		}
	}
	if len(b.unsup) > 0 {
		return &UnsupportedError{File: b.file, Ops: b.unsup}
	}
	b.widenF16()
	if err := b.g.TopoSort(); err != nil {
		return b.errorf("%w", err)
	}
	if err := b.g.Validate(); err != nil {
		return b.errorf("%w", err)
	}
	return nil
}

func (b *builder) addConst(name string, t *tensor.Tensor) *graph.Value {
	v := &graph.Value{Name: name, DType: t.DType, Shape: t.Shape.Clone(), Const: t}
	b.values[name] = v
	b.produced[v] = true
	return v
}

// value returns the value named name, creating a placeholder for names defined later
// (ONNX requires topological order, but not every exporter obeys).
func (b *builder) value(name string) *graph.Value {
	if v, ok := b.values[name]; ok {
		return v
	}
	v := &graph.Value{Name: name}
	b.values[name] = v
	return v
}

// uniqueName returns base, or base with a numeric suffix, unused by any value so far.
func (b *builder) uniqueName(base string) string {
	name := base
	for i := 1; ; i++ {
		if _, ok := b.values[name]; !ok {
			return name
		}
		name = fmt.Sprintf("%s_%d", base, i)
	}
}

// newValue creates an intermediate value for nodes the importer inserts.
func (b *builder) newValue(base string, dt tensor.DType) *graph.Value {
	v := &graph.Value{Name: b.uniqueName(base), DType: dt}
	b.values[v.Name] = v
	return v
}

func (b *builder) node(idx int, wn *wireNode) error {
	name := wn.name
	if name == "" {
		name = fmt.Sprintf("%s_%d", wn.op, idx)
	}
	domain := wn.domain
	if domain == "ai.onnx" {
		domain = ""
	}
	opset, ok := b.opsets[domain]
	if !ok && domain != "" {
		return b.errorf("node %q (%s) uses domain %q, which the model does not import", name, wn.op, domain)
	}
	if domain == "" && wn.op == "Constant" {
		return b.constant(name, wn)
	}

	n := &graph.Node{Name: name, Op: wn.op, Attrs: map[string]graph.Attr{}}
	var attrProblem error
	for _, a := range wn.attrs {
		ga, err := b.attr(&a)
		if errors.Is(err, errAttrUnrepresentable) {
			attrProblem = fmt.Errorf("attribute %q: %w", a.name, err)
			continue
		}
		if err != nil {
			return b.errorf("node %q (%s) attribute %q: %w", name, wn.op, a.name, err)
		}
		n.Attrs[a.name] = ga
	}
	for _, in := range wn.inputs {
		if in == "" {
			n.Inputs = append(n.Inputs, nil)
		} else {
			n.Inputs = append(n.Inputs, b.value(in))
		}
	}
	for _, out := range wn.outputs {
		if out == "" {
			n.Outputs = append(n.Outputs, nil)
			continue
		}
		v := b.value(out)
		if b.produced[v] {
			return b.errorf("node %q (%s) output %q is already defined by another node, input or initializer", name, wn.op, out)
		}
		b.produced[v] = true
		n.Outputs = append(n.Outputs, v)
	}
	// Trailing omitted outputs carry no meaning.
	for len(n.Outputs) > 0 && n.Outputs[len(n.Outputs)-1] == nil {
		n.Outputs = n.Outputs[:len(n.Outputs)-1]
	}

	if domain != "" && domain != "com.microsoft" {
		// Other domains (ai.onnx.ml, model-local functions) may reuse op names with other meanings.
		b.unsup = append(b.unsup, UnsupportedOp{Op: wn.op, Domain: domain, Node: name, Opset: opset})
		return nil
	}
	nodes := []*graph.Node{n}
	if domain == "" && b.opset < legacyFormsBelow {
		var err error
		if nodes, err = legacy(b, n); err != nil {
			return b.errorf("node %q (%s, opset %d): %w", name, wn.op, opset, err)
		}
	}
	if domain == "" {
		if m := normalizers[wn.op]; m != nil {
			var out []*graph.Node
			for _, nn := range nodes {
				if nn != n { // nodes the legacy rewrite inserted are already in the latest form
					out = append(out, nn)
					continue
				}
				more, err := m(b, n)
				if err != nil {
					return b.errorf("node %q (%s, opset %d): %w", name, wn.op, opset, err)
				}
				out = append(out, more...)
			}
			nodes = out
		}
	}
	for _, nn := range nodes {
		if !supported(nn.Op) {
			b.unsup = append(b.unsup, UnsupportedOp{Op: nn.Op, Domain: domain, Node: name, Opset: opset})
			continue
		}
		if attrProblem != nil {
			return b.errorf("node %q (%s): %w", name, wn.op, attrProblem)
		}
	}
	for _, nn := range nodes {
		for _, o := range nn.Outputs {
			if o != nil {
				b.producer[o] = nn
			}
		}
	}
	b.g.Nodes = append(b.g.Nodes, nodes...)
	return nil
}

var errAttrUnrepresentable = errors.New("subgraph, sparse-tensor, tensor-list and type attributes are not supported")

func (b *builder) attr(a *wireAttr) (graph.Attr, error) {
	switch a.typ {
	case onnxpb.AttributeProto_FLOAT:
		return graph.Attr{Kind: graph.AttrFloat, Float: a.f}, nil
	case onnxpb.AttributeProto_INT:
		return graph.Attr{Kind: graph.AttrInt, Int: a.i}, nil
	case onnxpb.AttributeProto_STRING:
		return graph.Attr{Kind: graph.AttrString, Str: string(a.s)}, nil
	case onnxpb.AttributeProto_FLOATS:
		return graph.Attr{Kind: graph.AttrFloats, Floats: a.floats}, nil
	case onnxpb.AttributeProto_INTS:
		return graph.Attr{Kind: graph.AttrInts, Ints: a.ints}, nil
	case onnxpb.AttributeProto_STRINGS:
		return graph.Attr{Kind: graph.AttrStrings, Strings: a.strings}, nil
	case onnxpb.AttributeProto_TENSOR:
		t, _, err := tensorio.DecodeTensorProtoExternal(a.t, b.ext)
		if err != nil {
			return graph.Attr{}, err
		}
		return graph.Attr{Kind: graph.AttrTensor, Tensor: t}, nil
	case onnxpb.AttributeProto_GRAPH, onnxpb.AttributeProto_GRAPHS, onnxpb.AttributeProto_SPARSE_TENSOR,
		onnxpb.AttributeProto_SPARSE_TENSORS, onnxpb.AttributeProto_TENSORS, onnxpb.AttributeProto_TYPE_PROTO,
		onnxpb.AttributeProto_TYPE_PROTOS:
		return graph.Attr{}, errAttrUnrepresentable
	}
	return graph.Attr{}, fmt.Errorf("unknown attribute type %d", a.typ)
}

// constant turns a Constant node into a constant value (no node in the graph).
func (b *builder) constant(name string, wn *wireNode) error {
	if len(wn.outputs) != 1 || wn.outputs[0] == "" {
		return b.errorf("Constant node %q must have exactly one output", name)
	}
	if len(wn.attrs) != 1 {
		return b.errorf("Constant node %q must have exactly one value attribute, has %d", name, len(wn.attrs))
	}
	a := &wn.attrs[0]
	var t *tensor.Tensor
	switch a.name {
	case "value":
		var err error
		if t, _, err = tensorio.DecodeTensorProtoExternal(a.t, b.ext); err != nil || !a.hasT {
			if err == nil {
				err = errors.New("value is not a tensor")
			}
			return b.errorf("Constant node %q: %w", name, err)
		}
	case "value_float":
		t = tensor.FromF32(tensor.Shape{}, []float32{a.f})
	case "value_floats":
		t = tensor.FromF32(tensor.Shape{len(a.floats)}, a.floats)
	case "value_int":
		t = tensor.FromI64(tensor.Shape{}, []int64{a.i})
	case "value_ints":
		t = tensor.FromI64(tensor.Shape{len(a.ints)}, a.ints)
	case "sparse_value":
		return b.errorf("Constant node %q: sparse_value is not supported", name)
	default:
		return b.errorf("Constant node %q: attribute %q is not supported", name, a.name)
	}
	out := wn.outputs[0]
	if v, ok := b.values[out]; ok {
		if b.produced[v] {
			return b.errorf("Constant node %q output %q is already defined", name, out)
		}
		// A placeholder created by a forward reference: fill it in.
		v.DType, v.Shape, v.Const = t.DType, t.Shape.Clone(), t
		b.produced[v] = true
		return nil
	}
	b.addConst(out, t)
	return nil
}

// valueType reads dtype and shape from a ValueInfoProto. Unknown dims (dim_param or no dim_value)
// become -1; a missing shape leaves the shape nil (rank unknown).
func valueType(vi *onnxpb.ValueInfoProto) (tensor.DType, tensor.Shape, error) {
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		if vi.GetType() == nil {
			return tensor.Invalid, nil, errors.New("no type")
		}
		return tensor.Invalid, nil, errors.New("only tensor types are supported (not sequences, maps or optionals)")
	}
	dt, ok := tensorio.DTypeFromONNX(int64(tt.GetElemType()))
	if !ok {
		return tensor.Invalid, nil, fmt.Errorf("unsupported element type %s", tensorio.ONNXTypeName(int64(tt.GetElemType())))
	}
	if tt.Shape == nil {
		return dt, nil, nil
	}
	shape := make(tensor.Shape, len(tt.Shape.Dim))
	for i, d := range tt.Shape.Dim {
		if x, ok := d.Value.(*onnxpb.TensorShapeProto_Dimension_DimValue); ok && x.DimValue >= 0 {
			if x.DimValue > tensor.MaxBytes {
				return dt, nil, fmt.Errorf("shape %s: dimension %d is %d, more than any tensor can hold", protoShape(tt.Shape), i, x.DimValue)
			}
			shape[i] = int(x.DimValue)
		} else {
			shape[i] = -1
		}
	}
	// Overflow-checked: a 2^31×2^31 input would otherwise wrap every size computed from it.
	if _, err := shape.Bytes(dt); err != nil {
		return dt, nil, err
	}
	return dt, shape, nil
}

// protoShape renders a shape as read, for errors: [N,3,224,224] with dim_params by name.
func protoShape(s *onnxpb.TensorShapeProto) string {
	parts := make([]string, len(s.Dim))
	for i, d := range s.Dim {
		switch v := d.Value.(type) {
		case *onnxpb.TensorShapeProto_Dimension_DimValue:
			parts[i] = strconv.FormatInt(v.DimValue, 10)
		case *onnxpb.TensorShapeProto_Dimension_DimParam:
			parts[i] = v.DimParam
		default:
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}
