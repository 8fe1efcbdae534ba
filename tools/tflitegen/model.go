// Package tflitegen writes float32 TFLite flatbuffers (model.go), converts small ONNX-imported IR graphs
// into them (convert.go) and evaluates them with a naive NHWC reference interpreter (ref.go), so the
// TFLite importer's float paths can be tested without TensorFlow.
package tflitegen

import (
	"encoding/binary"
	"fmt"
	"math"

	flatbuffers "github.com/google/flatbuffers/go"

	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Tensor is one TFLite tensor. Data is nil for activations; constants hold little-endian bytes.
type Tensor struct {
	Name  string
	Type  fb.TensorType
	Shape []int32
	// Signature, when set, is written as shape_signature (-1 marks a dynamic dim).
	Signature []int32
	Data      []byte
	// Scale/ZeroPoint/QDim are optional quantization parameters.
	Scale     []float32
	ZeroPoint []int64
	QDim      int32
	// Sparsity, when set, is written as the tensor's sparsity parameters (Data then holds only the
	// stored values); Dense keeps the dense values it encodes, for the reference interpreter.
	Sparsity *Sparsity
	Dense    []float32
}

// Op is one operator. Inputs may hold -1 for an absent optional input.
type Op struct {
	Code            fb.BuiltinOperator
	CustomCode      string
	CustomOptions   []byte // raw custom_options (custom ops)
	Inputs, Outputs []int32
	Options         Options // nil: no builtin options table
}

// Model is a single-subgraph TFLite model.
type Model struct {
	Tensors         []Tensor
	Ops             []Op
	Inputs, Outputs []int32
	Description     string
}

// Options builds a builtin options table.
type Options interface {
	build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT)
}

// AddTensor appends a tensor and returns its index.
func (m *Model) AddTensor(t Tensor) int32 {
	m.Tensors = append(m.Tensors, t)
	return int32(len(m.Tensors) - 1)
}

// ActT adds an activation tensor of any type.
func (m *Model) ActT(name string, typ fb.TensorType, shape ...int32) int32 {
	return m.AddTensor(Tensor{Name: name, Type: typ, Shape: shape})
}

// ConstF16 adds a float16 constant holding v rounded to half precision (ties to even).
func (m *Model) ConstF16(name string, shape []int32, v []float32) int32 {
	if n := numel(shape); n != len(v) {
		panic(fmt.Sprintf("tflitegen: constant %s: %d values for shape %v", name, len(v), shape))
	}
	d := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(d[2*i:], tensor.F32ToF16(x))
	}
	return m.AddTensor(Tensor{Name: name, Type: fb.TensorTypeFLOAT16, Shape: shape, Data: d})
}

// Act adds a float32 activation tensor.
func (m *Model) Act(name string, shape ...int32) int32 {
	return m.AddTensor(Tensor{Name: name, Type: fb.TensorTypeFLOAT32, Shape: shape})
}

// ConstF32 adds a float32 constant.
func (m *Model) ConstF32(name string, shape []int32, v []float32) int32 {
	if n := numel(shape); n != len(v) {
		panic(fmt.Sprintf("tflitegen: constant %s: %d values for shape %v", name, len(v), shape))
	}
	return m.AddTensor(Tensor{Name: name, Type: fb.TensorTypeFLOAT32, Shape: shape, Data: F32Bytes(v)})
}

// ConstI32 adds an int32 constant.
func (m *Model) ConstI32(name string, shape []int32, v []int32) int32 {
	d := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(d[4*i:], uint32(x))
	}
	return m.AddTensor(Tensor{Name: name, Type: fb.TensorTypeINT32, Shape: shape, Data: d})
}

// AddOp appends an operator.
func (m *Model) AddOp(code fb.BuiltinOperator, opts Options, in []int32, out ...int32) {
	m.Ops = append(m.Ops, Op{Code: code, Inputs: in, Outputs: out, Options: opts})
}

// F32Bytes encodes float32s little-endian.
func F32Bytes(v []float32) []byte {
	d := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(d[4*i:], math.Float32bits(x))
	}
	return d
}

// F32s decodes little-endian float32s.
func F32s(d []byte) []float32 {
	v := make([]float32, len(d)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:]))
	}
	return v
}

func numel(s []int32) int {
	n := 1
	for _, d := range s {
		n *= int(d)
	}
	return n
}

// Bytes serialises the model as a TFLite flatbuffer (file identifier TFL3, schema version 3). Buffer 0
// is the empty sentinel; each constant gets its own buffer, stored inline.
func (m *Model) Bytes() []byte {
	b := flatbuffers.NewBuilder(1 << 16)
	i32s := func(v []int32) flatbuffers.UOffsetT {
		b.StartVector(4, len(v), 4)
		for i := len(v) - 1; i >= 0; i-- {
			b.PrependInt32(v[i])
		}
		return b.EndVector(len(v))
	}
	offs := func(v []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
		b.StartVector(4, len(v), 4)
		for i := len(v) - 1; i >= 0; i-- {
			b.PrependUOffsetT(v[i])
		}
		return b.EndVector(len(v))
	}
	// Buffers: 0 empty, then one per constant.
	bufs := []flatbuffers.UOffsetT{}
	fb.BufferStart(b)
	bufs = append(bufs, fb.BufferEnd(b))
	bufIdx := make([]uint32, len(m.Tensors))
	for i, t := range m.Tensors {
		if t.Data == nil {
			continue
		}
		// 16-byte alignment keeps constant views aligned, as the TFLite converter does.
		b.StartVector(1, len(t.Data), 16)
		for j := len(t.Data) - 1; j >= 0; j-- {
			b.PrependByte(t.Data[j])
		}
		data := b.EndVector(len(t.Data))
		fb.BufferStart(b)
		fb.BufferAddData(b, data)
		bufs = append(bufs, fb.BufferEnd(b))
		bufIdx[i] = uint32(len(bufs) - 1)
	}
	tens := make([]flatbuffers.UOffsetT, len(m.Tensors))
	for i, t := range m.Tensors {
		name := b.CreateString(t.Name)
		shape := i32s(t.Shape)
		var sig flatbuffers.UOffsetT
		if t.Signature != nil {
			sig = i32s(t.Signature)
		}
		var q flatbuffers.UOffsetT
		if len(t.Scale) > 0 {
			b.StartVector(4, len(t.Scale), 4)
			for j := len(t.Scale) - 1; j >= 0; j-- {
				b.PrependFloat32(t.Scale[j])
			}
			sc := b.EndVector(len(t.Scale))
			b.StartVector(8, len(t.ZeroPoint), 8)
			for j := len(t.ZeroPoint) - 1; j >= 0; j-- {
				b.PrependInt64(t.ZeroPoint[j])
			}
			zp := b.EndVector(len(t.ZeroPoint))
			fb.QuantizationParametersStart(b)
			fb.QuantizationParametersAddScale(b, sc)
			fb.QuantizationParametersAddZeroPoint(b, zp)
			fb.QuantizationParametersAddQuantizedDimension(b, t.QDim)
			q = fb.QuantizationParametersEnd(b)
		}
		var sp flatbuffers.UOffsetT
		if t.Sparsity != nil {
			sp = t.Sparsity.build(b)
		}
		fb.TensorStart(b)
		fb.TensorAddName(b, name)
		if sp != 0 {
			fb.TensorAddSparsity(b, sp)
		}
		fb.TensorAddShape(b, shape)
		if t.Signature != nil {
			fb.TensorAddShapeSignature(b, sig)
		}
		fb.TensorAddType(b, t.Type)
		fb.TensorAddBuffer(b, bufIdx[i])
		if q != 0 {
			fb.TensorAddQuantization(b, q)
		}
		tens[i] = fb.TensorEnd(b)
	}
	// Operator codes: one per distinct (builtin, custom) pair, in first-use order.
	type key struct {
		c fb.BuiltinOperator
		s string
	}
	codeIdx := map[key]uint32{}
	var codes []key
	for _, op := range m.Ops {
		k := key{op.Code, op.CustomCode}
		if _, ok := codeIdx[k]; !ok {
			codeIdx[k] = uint32(len(codes))
			codes = append(codes, k)
		}
	}
	ops := make([]flatbuffers.UOffsetT, len(m.Ops))
	for i, op := range m.Ops {
		in, out := i32s(op.Inputs), i32s(op.Outputs)
		var co flatbuffers.UOffsetT
		if op.CustomOptions != nil {
			co = b.CreateByteVector(op.CustomOptions)
		}
		var ot fb.BuiltinOptions
		var o flatbuffers.UOffsetT
		if op.Options != nil {
			ot, o = op.Options.build(b)
		}
		fb.OperatorStart(b)
		fb.OperatorAddOpcodeIndex(b, codeIdx[key{op.Code, op.CustomCode}])
		fb.OperatorAddInputs(b, in)
		fb.OperatorAddOutputs(b, out)
		if co != 0 {
			fb.OperatorAddCustomOptions(b, co)
		}
		if op.Options != nil {
			fb.OperatorAddBuiltinOptionsType(b, ot)
			fb.OperatorAddBuiltinOptions(b, o)
		}
		ops[i] = fb.OperatorEnd(b)
	}
	tv, ov := offs(tens), offs(ops)
	iv, outv := i32s(m.Inputs), i32s(m.Outputs)
	sgName := b.CreateString("main")
	fb.SubGraphStart(b)
	fb.SubGraphAddTensors(b, tv)
	fb.SubGraphAddInputs(b, iv)
	fb.SubGraphAddOutputs(b, outv)
	fb.SubGraphAddOperators(b, ov)
	fb.SubGraphAddName(b, sgName)
	sg := fb.SubGraphEnd(b)
	cos := make([]flatbuffers.UOffsetT, len(codes))
	for i, k := range codes {
		var cc flatbuffers.UOffsetT
		if k.s != "" {
			cc = b.CreateString(k.s)
		}
		fb.OperatorCodeStart(b)
		fb.OperatorCodeAddBuiltinCode(b, k.c)
		// Old readers use the int8 field; 127 (PLACEHOLDER_FOR_GREATER_OP_CODES) above that.
		fb.OperatorCodeAddDeprecatedBuiltinCode(b, int8(min(int(k.c), 127)))
		if cc != 0 {
			fb.OperatorCodeAddCustomCode(b, cc)
		}
		fb.OperatorCodeAddVersion(b, 1)
		cos[i] = fb.OperatorCodeEnd(b)
	}
	cv, sgv, bv := offs(cos), offs([]flatbuffers.UOffsetT{sg}), offs(bufs)
	desc := b.CreateString(m.Description)
	fb.ModelStart(b)
	fb.ModelAddVersion(b, 3)
	fb.ModelAddOperatorCodes(b, cv)
	fb.ModelAddSubgraphs(b, sgv)
	fb.ModelAddBuffers(b, bv)
	fb.ModelAddDescription(b, desc)
	b.FinishWithFileIdentifier(fb.ModelEnd(b), []byte("TFL3"))
	return b.FinishedBytes()
}
