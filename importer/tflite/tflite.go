// Package tflite imports TFLite flatbuffer models (subgraph 0) into wanwu's graph IR: NHWC becomes NCHW
// once at import, float ops map to ONNX ops and quantized ops to ONNX/com.microsoft QLinear* ops that
// carry rounding="tflite" so the kernels reproduce TFLite's integer arithmetic.
package tflite

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"unsafe"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/mmap"
	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Load imports a .tflite file. The file is mapped read-only and constants may view it: g.Close
// unmaps it. The pages the import touched (tables, and weights it copied into NCHW order) are released
// before Load returns; constants still viewing the file fault their pages back in when read.
func Load(path string) (*graph.Graph, error) {
	data, err := mmap.Map(path)
	if err == nil && len(data) == 0 {
		err = fmt.Errorf("%s: cannot map a file of 0 bytes", path)
	}
	if err != nil {
		return nil, fmt.Errorf("tflite: %w", err)
	}
	m := &mapped{data: data}
	g, err := Decode(m.data)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.ReleaseRange(m.data)
	g.Backing = m
	g.Meta["source"] = path
	return g, nil
}

// mapped is the model file mapped read-only (mmap.Map): Graph.Backing of a loaded model. The
// flatbuffer walk touches only the tables; weights are copied out where the layout changes
// (OHWI -> OIHW) and viewed elsewhere, so the file's pages need not all be resident, let alone twice.
type mapped struct{ data []byte }

// Close unmaps the file; constants viewing it must not be used afterwards.
func (m *mapped) Close() error {
	err := mmap.Unmap(m.data)
	m.data = nil
	return err
}

// ReleaseRange implements graph.RangeReleaser: the pages of p (a view of the mapping) leave the process;
// the data stays valid and is read back from the page cache if touched again.
func (m *mapped) ReleaseRange(p []byte) { mmap.Release(m.data, p, 0) }

// Decode imports a model from bytes. Constants may view data, which must stay unmodified.
// Malformed input yields an error, never a panic: flatbuffers accessors do no bounds checking, so a
// panic inside the walk is recovered and reported as a corrupt file.
func Decode(data []byte) (g *graph.Graph, err error) {
	if len(data) < 8 {
		return nil, errors.New("tflite: file too short to be a flatbuffer")
	}
	if string(data[4:8]) != "TFL3" {
		return nil, fmt.Errorf("tflite: missing TFL3 file identifier (got %q)", data[4:8])
	}
	if root := flatbuffers.GetUOffsetT(data); int(root) >= len(data)-4 {
		return nil, fmt.Errorf("tflite: root table offset %d outside the %d-byte file", root, len(data))
	}
	defer func() {
		if r := recover(); r != nil {
			g = nil
			err = fmt.Errorf("tflite: corrupt or truncated model (%v)", r)
			if os.Getenv("WANWU_DEBUG") != "" {
				err = fmt.Errorf("%w\n%s", err, debug.Stack())
			}
		}
	}()
	b := &builder{data: data, m: fb.GetRootAsModel(data, 0)}
	return b.build()
}

type builder struct {
	data []byte
	m    *fb.Model
	sg   fb.SubGraph
	g    *graph.Graph
	vals map[int32]*graph.Value // TFLite tensor -> IR value (4-D activations in NCHW)
	qv   map[int32][2]*graph.Value
	uniq map[string]int
	bufs map[uint32][]byte
	// folded holds operator outputs computed at import (fold.go): DENSIFY and DEQUANTIZE of constants.
	folded map[int32]*foldedTensor
}

// tinfo is one TFLite tensor as read from the file.
type tinfo struct {
	name   string
	dt     tensor.DType
	shape  tensor.Shape
	scale  []float32
	zp     []int64
	qdim   int
	data   []byte // nil for activations
	sparse bool   // a sparse constant (only DENSIFY reads it; data stays nil)
	ti     int32
	toU8   bool // an int8 activation carried as uint8 with zero point + 128
	signed bool
}

func (t *tinfo) quantized() bool { return len(t.scale) > 0 && (t.dt == tensor.U8 || t.dt == tensor.I8) }

func (b *builder) build() (*graph.Graph, error) {
	if b.m.SubgraphsLength() < 1 {
		return nil, errors.New("tflite: model has no subgraph")
	}
	b.m.Subgraphs(&b.sg, 0)
	b.g = &graph.Graph{Name: string(b.sg.Name()), Meta: map[string]string{"format": "tflite"}}
	if d := b.m.Description(); len(d) > 0 {
		b.g.Meta["producer"] = string(d)
	}
	b.vals = map[int32]*graph.Value{}
	b.qv = map[int32][2]*graph.Value{}
	b.uniq = map[string]int{}
	b.bufs = map[uint32][]byte{}
	b.folded = map[int32]*foldedTensor{}
	if err := b.checkSupported(); err != nil {
		return nil, err
	}
	if err := b.fold(); err != nil {
		return nil, err
	}
	for i := 0; i < b.sg.InputsLength(); i++ {
		if err := b.addInput(b.sg.Inputs(i)); err != nil {
			return nil, err
		}
	}
	for i := 0; i < b.sg.OperatorsLength(); i++ {
		var op fb.Operator
		b.sg.Operators(&op, i)
		if err := b.convert(i, &op); err != nil {
			return nil, fmt.Errorf("tflite: operator %d (%s): %w", i, b.opName(&op), err)
		}
	}
	for i := 0; i < b.sg.OutputsLength(); i++ {
		if err := b.addOutput(b.sg.Outputs(i)); err != nil {
			return nil, err
		}
	}
	if labels := b.labels(); labels != "" {
		b.g.Meta["labels"] = labels
	}
	if err := b.g.Validate(); err != nil {
		return nil, fmt.Errorf("tflite: imported graph invalid: %w", err)
	}
	return b.g, nil
}

// builtin returns the operator code, reading both the deprecated int8 field and the int32 one.
func (b *builder) builtin(op *fb.Operator) (fb.BuiltinOperator, string) {
	var oc fb.OperatorCode
	idx := int(op.OpcodeIndex())
	if idx >= b.m.OperatorCodesLength() {
		return -1, fmt.Sprintf("opcode#%d", idx)
	}
	b.m.OperatorCodes(&oc, idx)
	code := oc.BuiltinCode()
	if dep := fb.BuiltinOperator(oc.DeprecatedBuiltinCode()); dep > code {
		code = dep
	}
	if code == fb.BuiltinOperatorCUSTOM {
		return code, "CUSTOM:" + string(oc.CustomCode())
	}
	if n, ok := fb.EnumNamesBuiltinOperator[code]; ok {
		return code, n
	}
	return code, fmt.Sprintf("builtin#%d", code)
}

func (b *builder) opName(op *fb.Operator) string { _, n := b.builtin(op); return n }

// checkSupported lists every unsupported operator at once.
func (b *builder) checkSupported() error {
	var bad []string
	for i := 0; i < b.sg.OperatorsLength(); i++ {
		var op fb.Operator
		b.sg.Operators(&op, i)
		code, name := b.builtin(&op)
		if code == fb.BuiltinOperatorCUSTOM && !customOps[name[len("CUSTOM:"):]] {
			bad = append(bad, fmt.Sprintf("%s (operator %d, subgraph 0)", name, i))
			continue
		}
		if _, ok := converters[code]; !ok {
			bad = append(bad, fmt.Sprintf("%s (operator %d, subgraph 0)", name, i))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("tflite: %d unsupported operator(s): %s", len(bad), joinComma(bad))
	}
	return nil
}

func joinComma(s []string) string {
	var buf bytes.Buffer
	for i, x := range s {
		if i > 0 {
			buf.WriteString(", ")
		}
		buf.WriteString(x)
	}
	return buf.String()
}

var dtypes = map[fb.TensorType]tensor.DType{
	fb.TensorTypeFLOAT32: tensor.F32, fb.TensorTypeFLOAT16: tensor.F16, fb.TensorTypeINT8: tensor.I8,
	fb.TensorTypeUINT8: tensor.U8, fb.TensorTypeINT32: tensor.I32, fb.TensorTypeINT64: tensor.I64,
	fb.TensorTypeBOOL: tensor.Bool,
}

func (b *builder) tensor(ti int32) (*tinfo, error) {
	if ti < 0 || int(ti) >= b.sg.TensorsLength() {
		return nil, fmt.Errorf("tensor index %d out of range", ti)
	}
	var t fb.Tensor
	b.sg.Tensors(&t, int(ti))
	dt, ok := dtypes[t.Type()]
	if !ok {
		return nil, fmt.Errorf("tensor %q: type %s not supported", t.Name(), fb.EnumNamesTensorType[t.Type()])
	}
	info := &tinfo{name: string(t.Name()), dt: dt, ti: ti}
	for i := 0; i < t.ShapeLength(); i++ {
		d := int(t.Shape(i))
		// Empty or negative dims cannot occur in an image model; refusing them here keeps kernels from
		// ever seeing zero-sized planes (shape_signature, not shape, marks dynamic dims).
		if d < 1 {
			return nil, fmt.Errorf("tensor %q: dimension %d is %d", t.Name(), i, d)
		}
		info.shape = append(info.shape, d)
	}
	if info.shape == nil {
		info.shape = tensor.Shape{}
	}
	if _, err := info.shape.Bytes(dt); err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name(), err)
	}
	// A -1 in shape_signature marks a dynamic dim (usually the batch).
	if t.ShapeSignatureLength() == len(info.shape) {
		for i := range info.shape {
			if t.ShapeSignature(i) < 0 {
				info.shape[i] = -1
			}
		}
	}
	if q := t.Quantization(nil); q != nil {
		for i := 0; i < q.ScaleLength(); i++ {
			info.scale = append(info.scale, q.Scale(i))
		}
		for i := 0; i < q.ZeroPointLength(); i++ {
			info.zp = append(info.zp, q.ZeroPoint(i))
		}
		info.qdim = int(q.QuantizedDimension())
		for len(info.zp) < len(info.scale) {
			info.zp = append(info.zp, 0)
		}
	}
	data, err := b.buffer(t.Buffer())
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", info.name, err)
	}
	if f, ok := b.folded[ti]; ok {
		info.dt, data, info.scale, info.zp = f.dt, f.data, nil, nil
	} else if t.Sparsity(nil) != nil {
		info.sparse = true
		data = nil
	}
	if len(data) > 0 {
		if !info.shape.Known() {
			return nil, fmt.Errorf("constant tensor %q has dynamic shape", info.name)
		}
		if need := info.shape.NumElements() * dt.Size(); len(data) < need {
			return nil, fmt.Errorf("constant tensor %q: buffer has %d bytes, shape %s needs %d", info.name, len(data), info.shape, need)
		}
		info.data = data
	}
	info.toU8 = info.data == nil && dt == tensor.I8 && info.quantized()
	return info, nil
}

func (b *builder) buffer(idx uint32) ([]byte, error) {
	if d, ok := b.bufs[idx]; ok {
		return d, nil
	}
	if idx == 0 || int(idx) >= b.m.BuffersLength() {
		return nil, nil
	}
	var buf fb.Buffer
	b.m.Buffers(&buf, int(idx))
	var d []byte
	if off := buf.Offset(); off > 1 {
		end := off + buf.Size()
		if end > uint64(len(b.data)) || end < off {
			return nil, fmt.Errorf("buffer %d [%d,%d) outside the file", idx, off, end)
		}
		d = b.data[off:end]
	} else {
		d = buf.DataBytes()
	}
	b.bufs[idx] = d
	return d, nil
}

func (b *builder) name(base string) string {
	if base == "" {
		base = "t"
	}
	n := b.uniq[base]
	b.uniq[base] = n + 1
	if n == 0 {
		return base
	}
	return fmt.Sprintf("%s_%d", base, n)
}

// nchw is the IR shape of a TFLite activation shape (4-D: NHWC -> NCHW).
func nchw(s tensor.Shape) tensor.Shape {
	if len(s) != 4 {
		return s.Clone()
	}
	return tensor.Shape{s[0], s[3], s[1], s[2]}
}

// actType is the IR dtype of an activation (int8 activations are carried as uint8).
func actType(t *tinfo) tensor.DType {
	if t.toU8 {
		return tensor.U8
	}
	return t.dt
}

func (b *builder) addInput(ti int32) error {
	t, err := b.tensor(ti)
	if err != nil {
		return err
	}
	in := &graph.Value{Name: b.name(t.name), DType: t.dt, Shape: t.shape.Clone()}
	b.g.Inputs = append(b.g.Inputs, in)
	v := in
	if t.toU8 {
		// The graph input stays int8; requantize it once to the uint8 form the kernels run on.
		v = b.requant(in, t, tensor.U8)
	}
	if len(t.shape) == 4 {
		out := &graph.Value{Name: b.name(t.name + "_nchw"), DType: v.DType, Shape: nchw(t.shape)}
		n := b.node("Transpose", []*graph.Value{v}, out)
		n.SetInts("perm", []int64{0, 3, 1, 2})
		v = out
	}
	b.vals[ti] = v
	return nil
}

func (b *builder) addOutput(ti int32) error {
	t, err := b.tensor(ti)
	if err != nil {
		return err
	}
	v, err := b.value(ti)
	if err != nil {
		return err
	}
	inner := v
	if len(t.shape) == 4 && t.data == nil {
		out := &graph.Value{Name: b.name(t.name + "_nhwc"), DType: v.DType, Shape: t.shape.Clone()}
		n := b.node("Transpose", []*graph.Value{v}, out)
		n.SetInts("perm", []int64{0, 2, 3, 1})
		v = out
	}
	if t.toU8 {
		v = b.requant(v, t, tensor.I8)
	}
	// The output carries the model's tensor name (callers look outputs up by it, `wanwu run` names
	// its files after it); the value computed inside, in the IR's layout or dtype, takes a suffix.
	// Not when that value is also a graph input, whose name is the model's too, nor for a tensor
	// listed twice among the outputs, whose second copy keeps its suffixed name.
	if v != inner && inner.Name == t.name && !b.isInput(inner) {
		inner.Name = b.name(t.name + "_ir")
		v.Name = t.name
	}
	b.g.Outputs = append(b.g.Outputs, v)
	return nil
}

func (b *builder) isInput(v *graph.Value) bool {
	for _, in := range b.g.Inputs {
		if in == v {
			return true
		}
	}
	return false
}

// requant converts between int8 and its uint8 twin (same scale, zero point ±128) with a
// DequantizeLinear/QuantizeLinear pair, exact because the scale is unchanged.
func (b *builder) requant(v *graph.Value, t *tinfo, to tensor.DType) *graph.Value {
	f := &graph.Value{Name: b.name(t.name + "_f32"), DType: tensor.F32, Shape: v.Shape.Clone()}
	zpFrom, zpTo := t.zp[0], t.zp[0]+128
	if to == tensor.I8 {
		zpFrom, zpTo = zpTo, zpFrom
	}
	n := b.node("DequantizeLinear", []*graph.Value{v, b.scalarF32(t.scale[0]), b.zpConst(v.DType, zpFrom)}, f)
	n.SetStr(graph.AttrRounding, graph.RoundingTFLite)
	out := &graph.Value{Name: b.name(t.name + "_" + to.String()), DType: to, Shape: v.Shape.Clone()}
	n = b.node("QuantizeLinear", []*graph.Value{f, b.scalarF32(t.scale[0]), b.zpConst(to, zpTo)}, out)
	n.SetStr(graph.AttrRounding, graph.RoundingTFLite)
	return out
}

func (b *builder) node(op string, in []*graph.Value, out ...*graph.Value) *graph.Node {
	n := &graph.Node{Name: b.name(op + "_" + out[0].Name), Op: op, Inputs: in, Outputs: out}
	b.g.Nodes = append(b.g.Nodes, n)
	return n
}

// constant wraps raw little-endian bytes as an IR constant; misaligned data is copied so typed views
// stay aligned.
func (b *builder) constant(name string, dt tensor.DType, shape tensor.Shape, data []byte) *graph.Value {
	data = data[:shape.NumElements()*dt.Size()]
	if sz := dt.Size(); sz > 1 && len(data) > 0 && uintptr(unsafe.Pointer(unsafe.SliceData(data)))%uintptr(sz) != 0 {
		data = append([]byte(nil), data...)
	}
	return &graph.Value{Name: b.name(name), DType: dt, Shape: shape.Clone(),
		Const: &tensor.Tensor{DType: dt, Shape: shape.Clone(), Data: data}}
}

func (b *builder) scalarF32(f float32) *graph.Value {
	t := tensor.FromF32(tensor.Shape{}, []float32{f})
	return &graph.Value{Name: b.name("scale"), DType: tensor.F32, Shape: tensor.Shape{}, Const: t}
}

func (b *builder) zpConst(dt tensor.DType, zp int64) *graph.Value {
	t := tensor.New(dt, tensor.Shape{})
	t.Data[0] = byte(zp)
	return &graph.Value{Name: b.name("zero_point"), DType: dt, Shape: tensor.Shape{}, Const: t}
}

func (b *builder) i64Const(name string, v []int64) *graph.Value {
	t := tensor.FromI64(tensor.Shape{len(v)}, v)
	return &graph.Value{Name: b.name(name), DType: tensor.I64, Shape: tensor.Shape{len(v)}, Const: t}
}

// value returns the IR value of a TFLite tensor: an already-produced activation, or a constant
// (in NCHW when 4-D, so element-wise operands line up with activations).
func (b *builder) value(ti int32) (*graph.Value, error) {
	if v, ok := b.vals[ti]; ok {
		return v, nil
	}
	t, err := b.tensor(ti)
	if err != nil {
		return nil, err
	}
	if t.sparse {
		return nil, fmt.Errorf("sparse tensor %q is read by an operator other than DENSIFY", t.name)
	}
	if t.data == nil {
		return nil, fmt.Errorf("tensor %q is read before any operator produces it", t.name)
	}
	data := t.data
	shape := t.shape
	if len(shape) == 4 {
		data = permute(data, t.dt.Size(), shape, []int{0, 3, 1, 2})
		shape = nchw(shape)
	}
	v := b.constant(t.name, t.dt, shape, data)
	b.vals[ti] = v
	return v, nil
}

// qparams returns constant scale and zero-point values for a quantized tensor (per-axis when it has
// several scales), using the uint8 twin's zero point for int8 activations.
func (b *builder) qparams(t *tinfo) (*graph.Value, *graph.Value) {
	if q, ok := b.qv[t.ti]; ok {
		return q[0], q[1]
	}
	var s, z *graph.Value
	if len(t.scale) == 1 {
		s = b.scalarF32(t.scale[0])
		zp, dt := t.zp[0], t.dt
		if t.toU8 {
			zp, dt = zp+128, tensor.U8
		}
		z = b.zpConst(dt, zp)
	} else {
		s = &graph.Value{Name: b.name(t.name + "_scale"), DType: tensor.F32, Shape: tensor.Shape{len(t.scale)},
			Const: tensor.FromF32(tensor.Shape{len(t.scale)}, t.scale)}
		zt := tensor.New(t.dt, tensor.Shape{len(t.zp)})
		for i, v := range t.zp {
			zt.Data[i] = byte(v)
		}
		z = &graph.Value{Name: b.name(t.name + "_zero_point"), DType: t.dt, Shape: zt.Shape.Clone(), Const: zt}
	}
	b.qv[t.ti] = [2]*graph.Value{s, z}
	return s, z
}

// newAct creates the IR value for an operator output.
func (b *builder) newAct(t *tinfo) *graph.Value {
	v := &graph.Value{Name: b.name(t.name), DType: actType(t), Shape: nchw(t.shape)}
	b.vals[t.ti] = v
	return v
}

// permute reorders a dense row-major array of elemSize-byte elements by perm (output dim i = input
// dim perm[i]).
func permute(data []byte, elemSize int, shape tensor.Shape, perm []int) []byte {
	r := len(shape)
	out := make([]byte, len(data[:shape.NumElements()*elemSize]))
	inStr := shape.Strides()
	oshape := make(tensor.Shape, r)
	for i, p := range perm {
		oshape[i] = shape[p]
	}
	idx := make([]int, r)
	n := shape.NumElements()
	for o := 0; o < n; o++ {
		src := 0
		for i := 0; i < r; i++ {
			src += idx[i] * inStr[perm[i]]
		}
		copy(out[o*elemSize:(o+1)*elemSize], data[src*elemSize:(src+1)*elemSize])
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < oshape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}
