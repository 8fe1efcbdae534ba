package tflite

import (
	"encoding/binary"
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Transposed convolutions: the builtin TRANSPOSE_CONV and MediaPipe's custom
// Convolution2DTransposeBias, both onto ConvTranspose (W [C_in, C_out, kH, kW] from TFLite's OHWI
// filter, explicit pads). Each scatters input pixel (y, x) through the filter to output
// (y*stride - pad + fy, x*stride - pad + fx); they differ in how pad and the output size come about.

// convTransposeConv: inputs output_shape (NHWC, constant), weights OHWI, input, optional bias.
// The leading pad is the forward convolution's from the output size (transpose_conv.cc:
// ComputePaddingHeightWidth on the output), the output size is output_shape.
func convTransposeConv(b *builder, o *opc) error {
	if len(o.in) < 3 || o.in[0] == nil || o.in[1] == nil || o.in[2] == nil {
		return fmt.Errorf("needs output_shape, weights and input")
	}
	if o.in[2].quantized() {
		return fmt.Errorf("quantized TRANSPOSE_CONV is not supported (float models only)")
	}
	op := opts[fb.TransposeConvOptions](o)
	sh, sw := int(op.StrideH()), int(op.StrideW())
	if sh < 1 || sw < 1 {
		return fmt.Errorf("stride %dx%d must be positive", sh, sw)
	}
	wt, yt := o.in[1], o.out[0]
	if wt.data == nil || len(wt.shape) != 4 || len(yt.shape) != 4 || !yt.shape.Known() {
		return fmt.Errorf("weights must be a constant 4-D tensor and the output 4-D with a known size")
	}
	pt, _, err := pads(op.Padding(), yt.shape[1], wt.shape[1], sh, 1)
	if err != nil {
		return err
	}
	pl, _, err := pads(op.Padding(), yt.shape[2], wt.shape[2], sw, 1)
	if err != nil {
		return err
	}
	var bias *tinfo
	if len(o.in) > 3 {
		bias = o.in[3]
	}
	n, err := b.transposeConv(o.in[2], wt, bias, yt, sh, sw, pt, pl)
	if err != nil {
		return err
	}
	return b.fusedAct(n, op.FusedActivationFunction(), true)
}

// convCustom dispatches the custom operators wanwu knows by their custom_code.
func convCustom(b *builder, o *opc) error {
	_, name := b.builtin(o.op)
	switch name {
	case "CUSTOM:Convolution2DTransposeBias":
		return convTransposeBias(b, o)
	}
	return fmt.Errorf("custom operator not supported")
}

// customOps are the custom codes convCustom handles (checkSupported lists the others).
var customOps = map[string]bool{"Convolution2DTransposeBias": true}

// convTransposeBias is MediaPipe's Convolution2DTransposeBias (mediapipe/util/tflite/operations/
// transpose_conv_bias.cc): inputs input, weights OHWI, bias; custom_options are the raw
// TfLiteTransposeConvParams {padding (1 SAME, 2 VALID), stride_width, stride_height}. SAME pads
// total = max(0, k - (in-1) % stride - 1), leading total/2, and the output is
// stride*(in-1) + k - total; VALID pads nothing. No fused activation.
func convTransposeBias(b *builder, o *opc) error {
	if len(o.in) != 3 || o.in[1] == nil || o.in[2] == nil {
		return fmt.Errorf("needs input, weights and bias")
	}
	c := o.op.CustomOptionsBytes()
	if len(c) < 12 {
		return fmt.Errorf("custom options have %d bytes, want the 12 of TfLiteTransposeConvParams", len(c))
	}
	padding := int32(binary.LittleEndian.Uint32(c))
	sw, sh := int(int32(binary.LittleEndian.Uint32(c[4:]))), int(int32(binary.LittleEndian.Uint32(c[8:])))
	if sh < 1 || sw < 1 || (padding != 1 && padding != 2) {
		return fmt.Errorf("custom options: padding %d, stride %dx%d", padding, sh, sw)
	}
	xt, wt, yt := o.in[0], o.in[1], o.out[0]
	if o.in[0].quantized() || len(xt.shape) != 4 || wt.data == nil || len(wt.shape) != 4 || !xt.shape.Known() {
		return fmt.Errorf("float 4-D input %s and constant 4-D weights needed", xt.shape)
	}
	pt, pl := 0, 0
	oh, ow := sh*(xt.shape[1]-1)+wt.shape[1], sw*(xt.shape[2]-1)+wt.shape[2]
	if padding == 1 {
		th := max(0, wt.shape[1]-(xt.shape[1]-1)%sh-1)
		tw := max(0, wt.shape[2]-(xt.shape[2]-1)%sw-1)
		pt, pl, oh, ow = th/2, tw/2, oh-th, ow-tw
	}
	if len(yt.shape) != 4 || yt.shape[1] != oh || yt.shape[2] != ow || yt.shape[3] != wt.shape[0] {
		return fmt.Errorf("output %s, the op computes [%d %d %d %d]", yt.shape, xt.shape[0], oh, ow, wt.shape[0])
	}
	_, err := b.transposeConv(xt, wt, o.in[2], yt, sh, sw, pt, pl)
	return err
}

// transposeConv emits ConvTranspose for NHWC input x, OHWI weights w, optional bias, output y
// (NHWC shape) with strides and leading pads: the trailing pads (or output_padding where the
// output reaches past the natural size) make the output size y's.
func (b *builder) transposeConv(x, w, bias, y *tinfo, sh, sw, pt, pl int) (*graph.Node, error) {
	xv, err := b.value(x.ti)
	if err != nil {
		return nil, err
	}
	if len(x.shape) != 4 || w.shape[3] != x.shape[3] || w.shape[0] != y.shape[3] {
		return nil, fmt.Errorf("weights %s do not fit input %s and output %s", w.shape, x.shape, y.shape)
	}
	// OHWI -> [I, O, H, W]: ConvTranspose's [C_in, C_out/group, kH, kW].
	wv := b.constant(w.name, w.dt, tensor.Shape{w.shape[3], w.shape[0], w.shape[1], w.shape[2]},
		permute(w.data, w.dt.Size(), w.shape, []int{3, 0, 1, 2}))
	ins := []*graph.Value{xv, wv}
	if bias != nil {
		bv, err := b.value(bias.ti)
		if err != nil {
			return nil, err
		}
		if bv.DType != tensor.F32 || bv.Shape.NumElements() != y.shape[3] {
			return nil, fmt.Errorf("bias %s%s, want f32[%d]", bv.DType, bv.Shape, y.shape[3])
		}
		ins = append(ins, bv)
	}
	kh, kw := w.shape[1], w.shape[2]
	pb := sh*(x.shape[1]-1) + kh - pt - y.shape[1]
	pr := sw*(x.shape[2]-1) + kw - pl - y.shape[2]
	outPad := []int64{0, 0}
	if pb < 0 {
		outPad[0], pb = int64(-pb), 0
	}
	if pr < 0 {
		outPad[1], pr = int64(-pr), 0
	}
	if pt < 0 || pl < 0 {
		return nil, fmt.Errorf("negative padding")
	}
	n := b.node("ConvTranspose", ins, b.newAct(y))
	n.SetInts("kernel_shape", []int64{int64(kh), int64(kw)})
	n.SetInts("strides", []int64{int64(sh), int64(sw)})
	n.SetInts("pads", []int64{int64(pt), int64(pl), int64(pb), int64(pr)})
	if outPad[0] != 0 || outPad[1] != 0 {
		n.SetInts("output_padding", outPad)
	}
	return n, nil
}
