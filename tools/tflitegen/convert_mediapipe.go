package tflitegen

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
)

// weight adds a constant weight: float32, or (Float16Weights) float16 read through DEQUANTIZE.
func (c *conv) weight(name string, shape []int32, v []float32) int32 {
	if !c.o.Float16Weights {
		return c.m.ConstF32(name, shape, v)
	}
	h := c.m.ConstF16(name+"/f16", shape, v)
	f := c.m.Act(name, shape...)
	c.m.AddOp(fb.BuiltinOperatorDEQUANTIZE, nil, []int32{h}, f)
	return f
}

func (c *conv) nodeMediaPipe(n *graph.Node) error {
	switch n.Op {
	case "ConvTranspose":
		return c.convTranspose(n)
	case "DepthToSpace":
		return c.depthToSpace(n)
	}
	return fmt.Errorf("no TFLite mapping")
}

// convTranspose writes a 2-D ConvTranspose as TRANSPOSE_CONV (or MediaPipe's
// Convolution2DTransposeBias, with TransposeConvBias, where its padding rule agrees). TFLite has
// neither groups nor dilation: the filter becomes a dense OHWI one with zero blocks between groups
// and zero taps between dilated ones. Leading pads TFLite's SAME rule does not produce are written
// as a VALID transposed convolution followed by STRIDED_SLICE.
func (c *conv) convTranspose(n *graph.Node) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	w := n.Input(1)
	xs, ys := n.Inputs[0].Shape, n.Outputs[0].Shape
	if w == nil || w.Const == nil || len(w.Shape) != 4 || len(xs) != 4 {
		return fmt.Errorf("2-D with constant weights only")
	}
	if n.Str("auto_pad", "NOTSET") != "NOTSET" || n.Ints("output_shape", nil) != nil {
		return fmt.Errorf("only explicit pads")
	}
	if n.Str("activation", "") != "" {
		return fmt.Errorf("fused activation")
	}
	cin, mg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	g := int(n.Int("group", 1))
	s, d := ints(n, "strides", []int64{1, 1}), ints(n, "dilations", []int64{1, 1})
	p := ints(n, "pads", []int64{0, 0, 0, 0})
	m, cg := mg*g, cin/g
	ekh, ekw := (kh-1)*int(d[0])+1, (kw-1)*int(d[1])+1
	wv := w.Const.F32()
	filt := make([]float32, m*ekh*ekw*cin)
	for o := 0; o < m; o++ {
		gi := o / mg
		for i := gi * cg; i < (gi+1)*cg; i++ {
			for ky := 0; ky < kh; ky++ {
				for kx := 0; kx < kw; kx++ {
					fy, fx := ky*int(d[0]), kx*int(d[1])
					filt[((o*ekh+fy)*ekw+fx)*cin+i] = wv[((i*mg+o%mg)*kh+ky)*kw+kx]
				}
			}
		}
	}
	bias := make([]float32, m)
	if b := n.Input(2); b != nil {
		if b.Const == nil {
			return fmt.Errorf("bias must be constant")
		}
		copy(bias, b.Const.F32())
	}
	sh, sw := int(s[0]), int(s[1])
	h, wd, oh, ow := xs[2], xs[3], ys[2], ys[3]
	pt, pl := int(p[0]), int(p[1])
	wt := c.weight(w.Name, []int32{int32(m), int32(ekh), int32(ekw), int32(cin)}, filt)
	bt := c.weight(n.Name+"/bias", []int32{int32(m)}, bias)
	y := c.out(n, 0)
	if c.o.TransposeConvBias {
		// MediaPipe's SAME: total = max(0, k - (in-1) % s - 1), leading total/2, out s*(in-1)+k-total.
		th, tw := max(0, ekh-(h-1)%sh-1), max(0, ekw-(wd-1)%sw-1)
		same := pt == th/2 && pl == tw/2 && oh == sh*(h-1)+ekh-th && ow == sw*(wd-1)+ekw-tw
		valid := pt == 0 && pl == 0 && oh == sh*(h-1)+ekh && ow == sw*(wd-1)+ekw
		if same || valid {
			pad := fb.PaddingSAME
			if !same {
				pad = fb.PaddingVALID
			}
			c.m.Ops = append(c.m.Ops, Op{Code: fb.BuiltinOperatorCUSTOM, CustomCode: "Convolution2DTransposeBias",
				CustomOptions: TransposeConvBiasOptions(pad, int32(sw), int32(sh)), Inputs: []int32{x, wt, bt}, Outputs: []int32{y}})
			return nil
		}
	}
	// TFLite's SAME: the forward convolution's leading pad for the output size.
	samePT, _ := samePad(fb.PaddingSAME, oh, ekh, sh, 1)
	samePL, _ := samePad(fb.PaddingSAME, ow, ekw, sw, 1)
	yshape := c.m.Tensors[y].Shape
	if samePT == pt && samePL == pl {
		c.m.AddOp(fb.BuiltinOperatorTRANSPOSE_CONV, TransposeConv{Padding: fb.PaddingSAME, StrideH: int32(sh), StrideW: int32(sw)},
			[]int32{c.m.ConstI32(n.Name+"/output_shape", []int32{4}, yshape), wt, x, bt}, y)
		return nil
	}
	fh, fw := max(sh*(h-1)+ekh, pt+oh), max(sw*(wd-1)+ekw, pl+ow)
	full := []int32{yshape[0], int32(fh), int32(fw), yshape[3]}
	tmp := c.m.Act(n.Outputs[0].Name+"/full", full...)
	c.m.AddOp(fb.BuiltinOperatorTRANSPOSE_CONV, TransposeConv{Padding: fb.PaddingVALID, StrideH: int32(sh), StrideW: int32(sw)},
		[]int32{c.m.ConstI32(n.Name+"/output_shape", []int32{4}, full), wt, x, bt}, tmp)
	c.m.AddOp(fb.BuiltinOperatorSTRIDED_SLICE, StridedSlice{},
		[]int32{tmp, c.m.ConstI32(n.Name+"/begin", []int32{4}, []int32{0, int32(pt), int32(pl), 0}),
			c.m.ConstI32(n.Name+"/end", []int32{4}, []int32{yshape[0], int32(pt + oh), int32(pl + ow), yshape[3]}),
			c.m.ConstI32(n.Name+"/strides", []int32{4}, []int32{1, 1, 1, 1})}, y)
	return nil
}

// depthToSpace writes DEPTH_TO_SPACE (TensorFlow's DCR order). PyTorch's PixelShuffle is CRD: the
// channels of the producing CONV_2D (its weights and bias, float32 or float16) are reordered so
// that DCR reads what CRD would.
func (c *conv) depthToSpace(n *graph.Node) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	b := int(n.Int("blocksize", 0))
	if n.Str("mode", "DCR") == "CRD" {
		uses := 0
		for _, o := range c.g.Nodes {
			for _, v := range o.Inputs {
				if v == n.Inputs[0] {
					uses++
				}
			}
		}
		prod := -1
		for i, op := range c.m.Ops {
			if len(op.Outputs) == 1 && op.Outputs[0] == x && op.Code == fb.BuiltinOperatorCONV_2D {
				prod = i
			}
		}
		if prod < 0 || uses != 1 {
			return fmt.Errorf("CRD order needs a CONV_2D producer used only here")
		}
		cc := int(c.m.Tensors[x].Shape[3])
		perm := make([]int, cc) // new channel -> old
		cp := cc / (b * b)
		for ch := 0; ch < cp; ch++ {
			for i := 0; i < b; i++ {
				for j := 0; j < b; j++ {
					perm[(i*b+j)*cp+ch] = ch*b*b + i*b + j
				}
			}
		}
		for _, ti := range c.m.Ops[prod].Inputs[1:] {
			if ti >= 0 {
				c.permuteRows(ti, perm)
			}
		}
	}
	c.m.AddOp(fb.BuiltinOperatorDEPTH_TO_SPACE, DepthToSpace{BlockSize: int32(b)}, []int32{x}, c.out(n, 0))
	return nil
}

// permuteRows reorders the rows (dim 0) of constant ti, or of the float16 constant a DEQUANTIZE
// turns into ti: new row r = old row perm[r].
func (c *conv) permuteRows(ti int32, perm []int) {
	for _, op := range c.m.Ops {
		if op.Code == fb.BuiltinOperatorDEQUANTIZE && op.Outputs[0] == ti {
			ti = op.Inputs[0]
		}
	}
	t := &c.m.Tensors[ti]
	row := len(t.Data) / len(perm)
	old := append([]byte(nil), t.Data...)
	for r, o := range perm {
		copy(t.Data[r*row:(r+1)*row], old[o*row:(o+1)*row])
	}
}
