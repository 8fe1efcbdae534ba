package onnx

import (
	"encoding/binary"
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Float16 models (weights and activations in FLOAT16, as onnxconverter-common's and ONNX Runtime's
// fp16 converters write them, or a PyTorch model.half() export) are widened to float32 at import:
// wanwu's kernels compute in float32, with half-precision weights only as a storage option
// (--precision fp16, which converts the weights back). So:
//   - FLOAT16 constants (initializers, Constant nodes, tensor attributes such as ConstantOfShape's
//     value) become float32 copies; every FLOAT16 intermediate value becomes float32;
//   - Cast to FLOAT16 becomes Cast to FLOAT (a no-op the passes drop);
//   - FLOAT16 graph inputs and outputs become float32: callers feed and read float32 tensors.
//
// The results are those of the float16 weights computed in float32: at least as accurate as an
// engine computing in float16 (conformance/pytorch_test.go compares with PyTorch on the rounded
// weights). The graph's Meta["wanwu.fp16"] records what was widened.

// The TensorProto.DataType codes Cast's "to" uses for the two float types.
const (
	onnxFloat   = 1
	onnxFloat16 = 10
)

// widenF16 rewrites the graph's float16 values, constants and casts to float32 (see above). It is a
// no-op for a graph without any.
func (b *builder) widenF16() {
	consts, bytes := 0, 0
	seen := map[*graph.Value]bool{}
	widen := func(v *graph.Value) {
		if v == nil || seen[v] {
			return
		}
		seen[v] = true
		if v.Const != nil && v.Const.DType == tensor.F16 {
			v.Const = widenTensor(v.Const)
			consts++
			bytes += v.Const.ByteSize() / 2
		}
		if v.DType == tensor.F16 {
			v.DType = tensor.F32
		}
	}
	casts, ios := 0, 0
	for _, v := range b.g.Inputs {
		if v.DType == tensor.F16 {
			ios++
		}
		widen(v)
	}
	for _, v := range b.g.Outputs {
		if v.DType == tensor.F16 {
			ios++
		}
		widen(v)
	}
	for _, n := range b.g.Nodes {
		for _, v := range n.Inputs {
			widen(v)
		}
		for _, v := range n.Outputs {
			widen(v)
		}
		for name, a := range n.Attrs {
			if a.Kind == graph.AttrTensor && a.Tensor != nil && a.Tensor.DType == tensor.F16 {
				a.Tensor = widenTensor(a.Tensor)
				n.Attrs[name] = a
				consts++
			}
		}
		if n.Op == "Cast" && n.Int("to", 0) == onnxFloat16 {
			n.SetInt("to", onnxFloat)
			casts++
		}
	}
	if consts+casts+ios == 0 {
		return
	}
	b.g.Meta["wanwu.fp16"] = fmt.Sprintf("float16 widened to float32 at import: %d constants (%d bytes of float16 weights), %d casts, %d inputs/outputs",
		consts, bytes, casts, ios)
}

// widenTensor returns a float32 copy of a float16 tensor (read bytewise: raw data views the file at
// any alignment).
func widenTensor(t *tensor.Tensor) *tensor.Tensor {
	out := tensor.New(tensor.F32, t.Shape)
	f := out.F32()
	for i := range f {
		f[i] = tensor.F16ToF32(binary.LittleEndian.Uint16(t.Data[2*i:]))
	}
	return out
}
