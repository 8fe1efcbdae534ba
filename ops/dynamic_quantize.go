package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// DynamicQuantizeLinear (ONNX opset 11; what ONNX Runtime's dynamic quantization puts in front of
// every ConvInteger/MatMulInteger): x f32 -> y u8 with a scale and zero point computed from x's
// range widened to include 0:
//
//	scale = (max(0, max(x)) - min(0, min(x))) / 255
//	zero_point = clamp(round(-min(0, min(x)) / scale), 0, 255)
//	y = clamp(round(x / scale) + zero_point, 0, 255)
//
// with round half to even. An all-zero x gives scale 0, zero point 0 and y 0.

func init() {
	Register("DynamicQuantizeLinear", &Def{Infer: inferDynamicQuantize, Compile: compileDynamicQuantize})
}

func inferDynamicQuantize(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	if dt := n.Inputs[0].DType; dt != tensor.F32 {
		return errf(n, "input must be f32, is %s", dt)
	}
	setOut(n, 0, tensor.U8, n.Inputs[0].Shape.Clone())
	setOut(n, 1, tensor.F32, tensor.Shape{})
	setOut(n, 2, tensor.U8, tensor.Shape{})
	return nil
}

type dynamicQuantizeKernel struct{}

func compileDynamicQuantize(n *graph.Node) (Kernel, error) {
	if err := inferDynamicQuantize(n); err != nil {
		return nil, err
	}
	return dynamicQuantizeKernel{}, nil
}

func (dynamicQuantizeKernel) ScratchBytes() int { return 0 }

func (dynamicQuantizeKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	x := in[0].F32()
	var lo, hi float32
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	scale := (hi - lo) / 255
	var zp float32
	if scale != 0 {
		zp = min(max(float32(math.RoundToEven(float64(-lo/scale))), 0), 255)
	}
	y := out[0].Data
	for i, v := range x {
		q := zp
		if scale != 0 {
			q += float32(math.RoundToEven(float64(v / scale)))
		}
		y[i] = uint8(min(max(q, 0), 255))
	}
	for i, o := range out[1:] {
		if o == nil {
			continue
		}
		if i == 0 {
			o.F32()[0] = scale
		} else {
			o.Data[0] = uint8(zp)
		}
	}
	return nil
}
