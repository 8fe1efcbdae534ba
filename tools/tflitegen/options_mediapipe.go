package tflitegen

import (
	flatbuffers "github.com/google/flatbuffers/go"

	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
)

// Options of the operators MediaPipe-style float models add to the classifier set of options.go.

// Sub is SUB's options.
type Sub struct{ Act fb.ActivationFunctionType }

func (o Sub) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.SubOptionsStart(b)
	fb.SubOptionsAddFusedActivationFunction(b, o.Act)
	return fb.BuiltinOptionsSubOptions, fb.SubOptionsEnd(b)
}

// Div is DIV's options.
type Div struct{ Act fb.ActivationFunctionType }

func (o Div) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.DivOptionsStart(b)
	fb.DivOptionsAddFusedActivationFunction(b, o.Act)
	return fb.BuiltinOptionsDivOptions, fb.DivOptionsEnd(b)
}

// LeakyRelu is LEAKY_RELU's options.
type LeakyRelu struct{ Alpha float32 }

func (o LeakyRelu) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.LeakyReluOptionsStart(b)
	fb.LeakyReluOptionsAddAlpha(b, o.Alpha)
	return fb.BuiltinOptionsLeakyReluOptions, fb.LeakyReluOptionsEnd(b)
}

// StridedSlice is STRIDED_SLICE's options (begin, end, strides are inputs 1-3).
type StridedSlice struct {
	BeginMask, EndMask, EllipsisMask, NewAxisMask, ShrinkAxisMask int32
	Offset                                                        bool
}

func (o StridedSlice) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.StridedSliceOptionsStart(b)
	fb.StridedSliceOptionsAddBeginMask(b, o.BeginMask)
	fb.StridedSliceOptionsAddEndMask(b, o.EndMask)
	fb.StridedSliceOptionsAddEllipsisMask(b, o.EllipsisMask)
	fb.StridedSliceOptionsAddNewAxisMask(b, o.NewAxisMask)
	fb.StridedSliceOptionsAddShrinkAxisMask(b, o.ShrinkAxisMask)
	fb.StridedSliceOptionsAddOffset(b, o.Offset)
	return fb.BuiltinOptionsStridedSliceOptions, fb.StridedSliceOptionsEnd(b)
}

// ResizeBilinear is RESIZE_BILINEAR's options (the size [h, w] is input 1).
type ResizeBilinear struct{ AlignCorners, HalfPixelCenters bool }

func (o ResizeBilinear) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.ResizeBilinearOptionsStart(b)
	fb.ResizeBilinearOptionsAddAlignCorners(b, o.AlignCorners)
	fb.ResizeBilinearOptionsAddHalfPixelCenters(b, o.HalfPixelCenters)
	return fb.BuiltinOptionsResizeBilinearOptions, fb.ResizeBilinearOptionsEnd(b)
}

// ResizeNearest is RESIZE_NEAREST_NEIGHBOR's options.
type ResizeNearest struct{ AlignCorners, HalfPixelCenters bool }

func (o ResizeNearest) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.ResizeNearestNeighborOptionsStart(b)
	fb.ResizeNearestNeighborOptionsAddAlignCorners(b, o.AlignCorners)
	fb.ResizeNearestNeighborOptionsAddHalfPixelCenters(b, o.HalfPixelCenters)
	return fb.BuiltinOptionsResizeNearestNeighborOptions, fb.ResizeNearestNeighborOptionsEnd(b)
}

// DepthToSpace is DEPTH_TO_SPACE's options.
type DepthToSpace struct{ BlockSize int32 }

func (o DepthToSpace) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.DepthToSpaceOptionsStart(b)
	fb.DepthToSpaceOptionsAddBlockSize(b, o.BlockSize)
	return fb.BuiltinOptionsDepthToSpaceOptions, fb.DepthToSpaceOptionsEnd(b)
}

// SpaceToDepth is SPACE_TO_DEPTH's options.
type SpaceToDepth struct{ BlockSize int32 }

func (o SpaceToDepth) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.SpaceToDepthOptionsStart(b)
	fb.SpaceToDepthOptionsAddBlockSize(b, o.BlockSize)
	return fb.BuiltinOptionsSpaceToDepthOptions, fb.SpaceToDepthOptionsEnd(b)
}

// TransposeConv is TRANSPOSE_CONV's options (inputs: output_shape, weights OHWI, input, bias).
type TransposeConv struct {
	Padding          fb.Padding
	StrideH, StrideW int32
	Act              fb.ActivationFunctionType
}

func (o TransposeConv) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.TransposeConvOptionsStart(b)
	fb.TransposeConvOptionsAddPadding(b, o.Padding)
	fb.TransposeConvOptionsAddStrideH(b, o.StrideH)
	fb.TransposeConvOptionsAddStrideW(b, o.StrideW)
	fb.TransposeConvOptionsAddFusedActivationFunction(b, o.Act)
	return fb.BuiltinOptionsTransposeConvOptions, fb.TransposeConvOptionsEnd(b)
}

// Cast is CAST's options.
type Cast struct{ In, Out fb.TensorType }

func (o Cast) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.CastOptionsStart(b)
	fb.CastOptionsAddInDataType(b, o.In)
	fb.CastOptionsAddOutDataType(b, o.Out)
	return fb.BuiltinOptionsCastOptions, fb.CastOptionsEnd(b)
}

// TransposeConvBiasOptions are the custom_options of MediaPipe's Convolution2DTransposeBias: the
// raw bytes of TfLiteTransposeConvParams {padding (1 SAME, 2 VALID), stride_width, stride_height}
// as int32s, which the op reads in place.
func TransposeConvBiasOptions(padding fb.Padding, strideW, strideH int32) []byte {
	p := int32(1) // kTfLitePaddingSame
	if padding == fb.PaddingVALID {
		p = 2
	}
	out := make([]byte, 12)
	for i, v := range []int32{p, strideW, strideH} {
		out[4*i], out[4*i+1], out[4*i+2], out[4*i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	return out
}

// ArgMax is ARG_MAX's options (the axis is input 1); ArgMin the same for ARG_MIN.
type ArgMax struct{ OutputType fb.TensorType }

func (o ArgMax) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.ArgMaxOptionsStart(b)
	fb.ArgMaxOptionsAddOutputType(b, o.OutputType)
	return fb.BuiltinOptionsArgMaxOptions, fb.ArgMaxOptionsEnd(b)
}

// ArgMin is ARG_MIN's options.
type ArgMin struct{ OutputType fb.TensorType }

func (o ArgMin) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.ArgMinOptionsStart(b)
	fb.ArgMinOptionsAddOutputType(b, o.OutputType)
	return fb.BuiltinOptionsArgMinOptions, fb.ArgMinOptionsEnd(b)
}

// MirrorPad is MIRROR_PAD's options (the paddings are input 1).
type MirrorPad struct{ Mode fb.MirrorPadMode }

func (o MirrorPad) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.MirrorPadOptionsStart(b)
	fb.MirrorPadOptionsAddMode(b, o.Mode)
	return fb.BuiltinOptionsMirrorPadOptions, fb.MirrorPadOptionsEnd(b)
}

// Gelu is GELU's options.
type Gelu struct{ Approximate bool }

func (o Gelu) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.GeluOptionsStart(b)
	fb.GeluOptionsAddApproximate(b, o.Approximate)
	return fb.BuiltinOptionsGeluOptions, fb.GeluOptionsEnd(b)
}

// LocalResponseNormalization is LOCAL_RESPONSE_NORMALIZATION's options.
type LocalResponseNormalization struct {
	Radius            int32
	Bias, Alpha, Beta float32
}

func (o LocalResponseNormalization) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.LocalResponseNormalizationOptionsStart(b)
	fb.LocalResponseNormalizationOptionsAddRadius(b, o.Radius)
	fb.LocalResponseNormalizationOptionsAddBias(b, o.Bias)
	fb.LocalResponseNormalizationOptionsAddAlpha(b, o.Alpha)
	fb.LocalResponseNormalizationOptionsAddBeta(b, o.Beta)
	return fb.BuiltinOptionsLocalResponseNormalizationOptions, fb.LocalResponseNormalizationOptionsEnd(b)
}

// Split is SPLIT's options (the axis is input 0, the tensor input 1).
type Split struct{ NumSplits int32 }

func (o Split) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.SplitOptionsStart(b)
	fb.SplitOptionsAddNumSplits(b, o.NumSplits)
	return fb.BuiltinOptionsSplitOptions, fb.SplitOptionsEnd(b)
}

// SplitV is SPLIT_V's options (inputs: the tensor, size_splits, axis).
type SplitV struct{ NumSplits int32 }

func (o SplitV) build(b *flatbuffers.Builder) (fb.BuiltinOptions, flatbuffers.UOffsetT) {
	fb.SplitVOptionsStart(b)
	fb.SplitVOptionsAddNumSplits(b, o.NumSplits)
	return fb.BuiltinOptionsSplitVOptions, fb.SplitVOptionsEnd(b)
}
