package tflitegen

import (
	flatbuffers "github.com/google/flatbuffers/go"

	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
)

// Conv2D is CONV_2D's options (filter OHWI, bias [O]).
type Conv2D struct {
	Padding              fb.Padding
	StrideH, StrideW     int32
	DilationH, DilationW int32 // 0 means 1
	Act                  fb.ActivationFunctionType
}

func (o Conv2D) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.Conv2DOptionsStart(b)
	fb.Conv2DOptionsAddPadding(b, o.Padding)
	fb.Conv2DOptionsAddStrideH(b, o.StrideH)
	fb.Conv2DOptionsAddStrideW(b, o.StrideW)
	fb.Conv2DOptionsAddDilationHFactor(b, max(o.DilationH, 1))
	fb.Conv2DOptionsAddDilationWFactor(b, max(o.DilationW, 1))
	fb.Conv2DOptionsAddFusedActivationFunction(b, o.Act)
	return fb.BuiltinOptionsConv2DOptions, fb.Conv2DOptionsEnd(b)
}

// DepthwiseConv2D is DEPTHWISE_CONV_2D's options (filter [1,H,W,C*M]).
type DepthwiseConv2D struct {
	Padding              fb.Padding
	StrideH, StrideW     int32
	DilationH, DilationW int32
	DepthMultiplier      int32
	Act                  fb.ActivationFunctionType
}

func (o DepthwiseConv2D) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.DepthwiseConv2DOptionsStart(b)
	fb.DepthwiseConv2DOptionsAddPadding(b, o.Padding)
	fb.DepthwiseConv2DOptionsAddStrideH(b, o.StrideH)
	fb.DepthwiseConv2DOptionsAddStrideW(b, o.StrideW)
	fb.DepthwiseConv2DOptionsAddDilationHFactor(b, max(o.DilationH, 1))
	fb.DepthwiseConv2DOptionsAddDilationWFactor(b, max(o.DilationW, 1))
	fb.DepthwiseConv2DOptionsAddDepthMultiplier(b, max(o.DepthMultiplier, 1))
	fb.DepthwiseConv2DOptionsAddFusedActivationFunction(b, o.Act)
	return fb.BuiltinOptionsDepthwiseConv2DOptions, fb.DepthwiseConv2DOptionsEnd(b)
}

// FullyConnected is FULLY_CONNECTED's options (weights [N,K]).
type FullyConnected struct {
	Act         fb.ActivationFunctionType
	KeepNumDims bool
}

func (o FullyConnected) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.FullyConnectedOptionsStart(b)
	fb.FullyConnectedOptionsAddFusedActivationFunction(b, o.Act)
	fb.FullyConnectedOptionsAddKeepNumDims(b, o.KeepNumDims)
	return fb.BuiltinOptionsFullyConnectedOptions, fb.FullyConnectedOptionsEnd(b)
}

// Pool2D is AVERAGE_POOL_2D's and MAX_POOL_2D's options.
type Pool2D struct {
	Padding                   fb.Padding
	StrideH, StrideW          int32
	FilterHeight, FilterWidth int32
	Act                       fb.ActivationFunctionType
}

func (o Pool2D) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.Pool2DOptionsStart(b)
	fb.Pool2DOptionsAddPadding(b, o.Padding)
	fb.Pool2DOptionsAddStrideH(b, o.StrideH)
	fb.Pool2DOptionsAddStrideW(b, o.StrideW)
	fb.Pool2DOptionsAddFilterHeight(b, o.FilterHeight)
	fb.Pool2DOptionsAddFilterWidth(b, o.FilterWidth)
	fb.Pool2DOptionsAddFusedActivationFunction(b, o.Act)
	return fb.BuiltinOptionsPool2DOptions, fb.Pool2DOptionsEnd(b)
}

// Reducer is MEAN's options (axes are the second input).
type Reducer struct{ KeepDims bool }

func (o Reducer) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.ReducerOptionsStart(b)
	fb.ReducerOptionsAddKeepDims(b, o.KeepDims)
	return fb.BuiltinOptionsReducerOptions, fb.ReducerOptionsEnd(b)
}

// Add is ADD's options.
type Add struct{ Act fb.ActivationFunctionType }

func (o Add) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.AddOptionsStart(b)
	fb.AddOptionsAddFusedActivationFunction(b, o.Act)
	return fb.BuiltinOptionsAddOptions, fb.AddOptionsEnd(b)
}

// Mul is MUL's options.
type Mul struct{ Act fb.ActivationFunctionType }

func (o Mul) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.MulOptionsStart(b)
	fb.MulOptionsAddFusedActivationFunction(b, o.Act)
	return fb.BuiltinOptionsMulOptions, fb.MulOptionsEnd(b)
}

// Reshape is RESHAPE's options (new_shape; converters usually also pass it as the second input).
type Reshape struct{ NewShape []int32 }

func (o Reshape) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	b.StartVector(4, len(o.NewShape), 4)
	for i := len(o.NewShape) - 1; i >= 0; i-- {
		b.PrependInt32(o.NewShape[i])
	}
	v := b.EndVector(len(o.NewShape))
	fb.ReshapeOptionsStart(b)
	fb.ReshapeOptionsAddNewShape(b, v)
	return fb.BuiltinOptionsReshapeOptions, fb.ReshapeOptionsEnd(b)
}

// Squeeze is SQUEEZE's options.
type Squeeze struct{ Dims []int32 }

func (o Squeeze) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	b.StartVector(4, len(o.Dims), 4)
	for i := len(o.Dims) - 1; i >= 0; i-- {
		b.PrependInt32(o.Dims[i])
	}
	v := b.EndVector(len(o.Dims))
	fb.SqueezeOptionsStart(b)
	fb.SqueezeOptionsAddSqueezeDims(b, v)
	return fb.BuiltinOptionsSqueezeOptions, fb.SqueezeOptionsEnd(b)
}

// Concatenation is CONCATENATION's options.
type Concatenation struct {
	Axis int32
	Act  fb.ActivationFunctionType
}

func (o Concatenation) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.ConcatenationOptionsStart(b)
	fb.ConcatenationOptionsAddAxis(b, o.Axis)
	fb.ConcatenationOptionsAddFusedActivationFunction(b, o.Act)
	return fb.BuiltinOptionsConcatenationOptions, fb.ConcatenationOptionsEnd(b)
}

// Softmax is SOFTMAX's options.
type Softmax struct{ Beta float32 }

func (o Softmax) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.SoftmaxOptionsStart(b)
	fb.SoftmaxOptionsAddBeta(b, o.Beta)
	return fb.BuiltinOptionsSoftmaxOptions, fb.SoftmaxOptionsEnd(b)
}

// Pad is PAD's (empty) options.
type Pad struct{}

func (Pad) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.PadOptionsStart(b)
	return fb.BuiltinOptionsPadOptions, fb.PadOptionsEnd(b)
}
