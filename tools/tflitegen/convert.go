package tflitegen

import (
	"fmt"

	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"

	"github.com/wanwu-ai/wanwu/graph"
)

// ConvertOptions picks among equivalent TFLite spellings so one source network exercises several
// importer paths.
type ConvertOptions struct {
	// GlobalPool is how GlobalAveragePool is written: "mean-keep" (MEAN keep_dims=true, the
	// default), "mean" (MEAN keep_dims=false, the following Flatten then disappears) or "avgpool"
	// (AVERAGE_POOL_2D over the whole map, VALID).
	GlobalPool string
	// Squeeze writes Flatten of a [N,C,1,1] map as SQUEEZE instead of RESHAPE.
	Squeeze bool
	// UnfusedAct writes activations as separate RELU/RELU6 ops instead of fused ones.
	UnfusedAct bool
	// Float16Weights stores every weight and bias as a float16 constant read through DEQUANTIZE,
	// as MediaPipe's models and the TFLite converter's float16 quantization do (values round to
	// half precision).
	Float16Weights bool
	// TransposeConvBias writes ConvTranspose as MediaPipe's custom Convolution2DTransposeBias where
	// its padding rule gives the same result, instead of TRANSPOSE_CONV.
	TransposeConvBias bool
}

type conv struct {
	g   *graph.Graph
	m   *Model
	o   ConvertOptions
	idx map[*graph.Value]int32
	// nonneg marks values known to be >= 0 (ReLU outputs), where zero padding equals -inf padding
	// for max pooling.
	nonneg map[*graph.Value]bool
}

// FromGraph converts an NCHW float32 IR graph with concrete shapes (run graph/passes.Optimize with a
// fixed input shape first, so BatchNormalization and activations are fused into Conv) into an NHWC
// TFLite model. Supported: Conv (plain, depthwise, grouped), Relu, Clip(0,6), Sigmoid, HardSwish,
// Add, Mul, MaxPool, AveragePool, GlobalAveragePool, Flatten, Gemm, Softmax, Concat; and
// (convert_mediapipe.go) ConvTranspose and DepthToSpace.
func FromGraph(g *graph.Graph, o ConvertOptions) (*Model, error) {
	c := &conv{g: g, m: &Model{Description: "tflitegen from " + g.Name}, o: o,
		idx: map[*graph.Value]int32{}, nonneg: map[*graph.Value]bool{}}
	for _, v := range g.Inputs {
		if v.DType.String() != "f32" || !v.Shape.Known() {
			return nil, fmt.Errorf("tflitegen: input %s must be f32 with a known shape, got %s%s", v.Name, v.DType, v.Shape)
		}
		c.idx[v] = c.m.Act(v.Name, nhwc(v.Shape)...)
		c.m.Inputs = append(c.m.Inputs, c.idx[v])
	}
	for _, n := range g.Nodes {
		if err := c.node(n); err != nil {
			return nil, fmt.Errorf("tflitegen: node %s (%s): %w", n.Name, n.Op, err)
		}
	}
	for _, v := range g.Outputs {
		ti, ok := c.idx[v]
		if !ok {
			return nil, fmt.Errorf("tflitegen: output %s not produced", v.Name)
		}
		c.m.Outputs = append(c.m.Outputs, ti)
	}
	return c.m, nil
}

// nhwc is the TFLite shape of an IR shape.
func nhwc(s []int) []int32 {
	if len(s) == 4 {
		return []int32{int32(s[0]), int32(s[2]), int32(s[3]), int32(s[1])}
	}
	out := make([]int32, len(s))
	for i, d := range s {
		out[i] = int32(d)
	}
	return out
}

func (c *conv) in(n *graph.Node, i int) (int32, error) {
	v := n.Input(i)
	if v == nil {
		return 0, fmt.Errorf("input %d missing", i)
	}
	if ti, ok := c.idx[v]; ok {
		return ti, nil
	}
	if v.Const == nil {
		return 0, fmt.Errorf("input %s not computed", v.Name)
	}
	if len(v.Shape) == 4 {
		return 0, fmt.Errorf("4-D constant operand %s not supported", v.Name)
	}
	ti := c.m.ConstF32(v.Name, nhwc(v.Shape), v.Const.F32())
	c.idx[v] = ti
	return ti, nil
}

func (c *conv) out(n *graph.Node, i int) int32 {
	v := n.Outputs[i]
	ti := c.m.Act(v.Name, nhwc(v.Shape)...)
	c.idx[v] = ti
	return ti
}

// activation maps the fused-activation attributes (graph/activation.go convention) to TFLite's.
func activation(n *graph.Node) (fb.ActivationFunctionType, error) {
	switch k := n.Str("activation", ""); k {
	case "":
		return fb.ActivationFunctionTypeNONE, nil
	case "Relu":
		return fb.ActivationFunctionTypeRELU, nil
	case "Clip":
		lo, hi := n.Float("activation_min", 0), n.Float("activation_max", 0)
		switch {
		case lo == 0 && hi == 6:
			return fb.ActivationFunctionTypeRELU6, nil
		case lo == -1 && hi == 1:
			return fb.ActivationFunctionTypeRELU_N1_TO_1, nil
		}
		return 0, fmt.Errorf("Clip(%g,%g) has no TFLite fused form", lo, hi)
	default:
		return 0, fmt.Errorf("activation %s has no TFLite fused form", k)
	}
}

// withAct emits op with its fused activation, or (UnfusedAct) with NONE followed by RELU/RELU6.
func (c *conv) withAct(n *graph.Node, af fb.ActivationFunctionType, code fb.BuiltinOperator, mk func(fb.ActivationFunctionType) Options, in []int32) error {
	y := c.out(n, 0)
	if af == fb.ActivationFunctionTypeRELU || af == fb.ActivationFunctionTypeRELU6 {
		c.nonneg[n.Outputs[0]] = true
	}
	if !c.o.UnfusedAct || af == fb.ActivationFunctionTypeNONE {
		c.m.AddOp(code, mk(af), in, y)
		return nil
	}
	pre := c.m.Act(n.Outputs[0].Name+"/preact", c.m.Tensors[y].Shape...)
	c.m.AddOp(code, mk(fb.ActivationFunctionTypeNONE), in, pre)
	switch af {
	case fb.ActivationFunctionTypeRELU:
		c.m.AddOp(fb.BuiltinOperatorRELU, nil, []int32{pre}, y)
	case fb.ActivationFunctionTypeRELU6:
		c.m.AddOp(fb.BuiltinOperatorRELU6, nil, []int32{pre}, y)
	default:
		return fmt.Errorf("activation %s cannot be unfused", fb.EnumNamesActivationFunctionType[af])
	}
	return nil
}

// padding returns TFLite SAME or VALID for explicit ONNX pads [t,l,b,r], or VALID plus the pads an
// explicit PAD op must add first.
func padding(pads []int64, in []int, k, s, d []int64) (fb.Padding, []int32) {
	zero, same := true, true
	for i := 0; i < 2; i++ {
		lo, hi := pads[i], pads[i+2]
		if lo != 0 || hi != 0 {
			zero = false
		}
		out := (int64(in[i]) + s[i] - 1) / s[i]
		total := max(0, (out-1)*s[i]+(k[i]-1)*d[i]+1-int64(in[i]))
		if lo != total/2 || hi != total-total/2 {
			same = false
		}
	}
	switch {
	case zero:
		return fb.PaddingVALID, nil
	case same:
		return fb.PaddingSAME, nil
	}
	// NHWC paddings [[0,0],[t,b],[l,r],[0,0]].
	return fb.PaddingVALID, []int32{0, 0, int32(pads[0]), int32(pads[2]), int32(pads[1]), int32(pads[3]), 0, 0}
}

func ints(n *graph.Node, name string, def []int64) []int64 { return n.Ints(name, def) }

// explicitPad emits PAD in front of x when p is non-nil.
func (c *conv) explicitPad(x int32, name string, p []int32) int32 {
	if p == nil {
		return x
	}
	s := c.m.Tensors[x].Shape
	ps := []int32{s[0], s[1] + p[2] + p[3], s[2] + p[4] + p[5], s[3]}
	y := c.m.Act(name+"/pad", ps...)
	c.m.AddOp(fb.BuiltinOperatorPAD, Pad{}, []int32{x, c.m.ConstI32(name+"/paddings", []int32{4, 2}, p)}, y)
	return y
}

func (c *conv) node(n *graph.Node) error {
	switch n.Op {
	case "Conv":
		return c.conv(n)
	case "Relu", "Sigmoid", "HardSwish", "Clip":
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		code := map[string]fb.BuiltinOperator{"Relu": fb.BuiltinOperatorRELU, "Sigmoid": fb.BuiltinOperatorLOGISTIC,
			"HardSwish": fb.BuiltinOperatorHARD_SWISH, "Clip": fb.BuiltinOperatorRELU6}[n.Op]
		if n.Op == "Clip" {
			lo, hi := n.Input(1), n.Input(2)
			if lo == nil || hi == nil || lo.Const == nil || hi.Const == nil || lo.Const.F32()[0] != 0 || hi.Const.F32()[0] != 6 {
				return fmt.Errorf("only Clip(0,6) maps to RELU6")
			}
		}
		if n.Op == "Relu" || n.Op == "Clip" {
			c.nonneg[n.Outputs[0]] = true
		}
		c.m.AddOp(code, nil, []int32{x}, c.out(n, 0))
		return nil
	case "Add", "Mul":
		a, err := c.in(n, 0)
		if err != nil {
			return err
		}
		b, err := c.in(n, 1)
		if err != nil {
			return err
		}
		af, err := activation(n)
		if err != nil {
			return err
		}
		if n.Op == "Add" {
			return c.withAct(n, af, fb.BuiltinOperatorADD, func(f fb.ActivationFunctionType) Options { return Add{f} }, []int32{a, b})
		}
		return c.withAct(n, af, fb.BuiltinOperatorMUL, func(f fb.ActivationFunctionType) Options { return Mul{f} }, []int32{a, b})
	case "MaxPool", "AveragePool":
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		xs := n.Inputs[0].Shape
		k, s := ints(n, "kernel_shape", nil), ints(n, "strides", []int64{1, 1})
		pads := ints(n, "pads", []int64{0, 0, 0, 0})
		if n.Int("ceil_mode", 0) != 0 {
			return fmt.Errorf("ceil_mode not supported")
		}
		p, explicit := padding(pads, xs[2:], k, s, []int64{1, 1})
		if explicit != nil {
			// PAD writes zeros: right for max pooling of non-negative values only, never for averages
			// (TFLite's average excludes padding).
			if n.Op == "AveragePool" || !c.nonneg[n.Inputs[0]] {
				return fmt.Errorf("pads %v match neither SAME nor VALID", pads)
			}
			x = c.explicitPad(x, n.Outputs[0].Name, explicit)
		}
		if n.Op == "AveragePool" && p == fb.PaddingSAME && n.Int("count_include_pad", 0) != 0 {
			return fmt.Errorf("count_include_pad=1 with padding has no TFLite form")
		}
		code := fb.BuiltinOperatorMAX_POOL_2D
		if n.Op == "AveragePool" {
			code = fb.BuiltinOperatorAVERAGE_POOL_2D
		}
		af, err := activation(n)
		if err != nil {
			return err
		}
		return c.withAct(n, af, code, func(f fb.ActivationFunctionType) Options {
			return Pool2D{Padding: p, StrideH: int32(s[0]), StrideW: int32(s[1]), FilterHeight: int32(k[0]), FilterWidth: int32(k[1]), Act: f}
		}, []int32{x})
	case "GlobalAveragePool":
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		xs := n.Inputs[0].Shape
		switch c.o.GlobalPool {
		case "", "mean-keep":
			c.m.AddOp(fb.BuiltinOperatorMEAN, Reducer{KeepDims: true}, []int32{x, c.m.ConstI32(n.Name+"/axes", []int32{2}, []int32{1, 2})}, c.out(n, 0))
		case "mean":
			// Reduce straight to [N,C]; the value keeps its IR shape [N,C,1,1] for the next node, so
			// record the 2-D tensor and let Flatten alias it.
			y := c.m.Act(n.Outputs[0].Name, int32(xs[0]), int32(xs[1]))
			c.m.AddOp(fb.BuiltinOperatorMEAN, Reducer{}, []int32{x, c.m.ConstI32(n.Name+"/axes", []int32{2}, []int32{1, 2})}, y)
			c.idx[n.Outputs[0]] = y
		case "avgpool":
			c.m.AddOp(fb.BuiltinOperatorAVERAGE_POOL_2D, Pool2D{Padding: fb.PaddingVALID, StrideH: 1, StrideW: 1,
				FilterHeight: int32(xs[2]), FilterWidth: int32(xs[3])}, []int32{x}, c.out(n, 0))
		default:
			return fmt.Errorf("GlobalPool %q", c.o.GlobalPool)
		}
		return nil
	case "Flatten":
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		xs := n.Inputs[0].Shape
		if len(xs) == 4 && (xs[2] != 1 || xs[3] != 1) {
			return fmt.Errorf("Flatten of a spatial map would need TRANSPOSE")
		}
		if len(c.m.Tensors[x].Shape) == 2 {
			c.idx[n.Outputs[0]] = x // already [N,C] (GlobalPool "mean")
			return nil
		}
		ys := nhwc(n.Outputs[0].Shape)
		if c.o.Squeeze {
			c.m.AddOp(fb.BuiltinOperatorSQUEEZE, Squeeze{Dims: []int32{1, 2}}, []int32{x}, c.out(n, 0))
			return nil
		}
		c.m.AddOp(fb.BuiltinOperatorRESHAPE, Reshape{NewShape: ys}, []int32{x, c.m.ConstI32(n.Name+"/shape", []int32{int32(len(ys))}, ys)}, c.out(n, 0))
		return nil
	case "Gemm":
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		if n.Float("alpha", 1) != 1 || n.Float("beta", 1) != 1 || n.Int("transA", 0) != 0 {
			return fmt.Errorf("only alpha=beta=1, transA=0")
		}
		w := n.Input(1)
		if w == nil || w.Const == nil {
			return fmt.Errorf("weights must be constant")
		}
		wv := w.Const.F32()
		ws := []int32{int32(w.Shape[0]), int32(w.Shape[1])}
		if n.Int("transB", 0) == 0 {
			// [K,N] -> [N,K]
			k, nn := w.Shape[0], w.Shape[1]
			t := make([]float32, len(wv))
			for i := 0; i < k; i++ {
				for j := 0; j < nn; j++ {
					t[j*k+i] = wv[i*nn+j]
				}
			}
			wv, ws = t, []int32{int32(nn), int32(k)}
		}
		ins := []int32{x, c.weight(w.Name, ws, wv), -1}
		if b := n.Input(2); b != nil {
			if b.Const == nil || len(b.Shape) != 1 {
				return fmt.Errorf("bias must be a 1-D constant")
			}
			ins[2] = c.weight(b.Name, []int32{int32(b.Shape[0])}, b.Const.F32())
		}
		af, err := activation(n)
		if err != nil {
			return err
		}
		return c.withAct(n, af, fb.BuiltinOperatorFULLY_CONNECTED, func(f fb.ActivationFunctionType) Options { return FullyConnected{Act: f} }, ins)
	case "Softmax":
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		r := len(n.Inputs[0].Shape)
		if a := n.Int("axis", -1); a != -1 && a != int64(r-1) || r == 4 {
			return fmt.Errorf("only softmax over the last axis of a non-4-D tensor")
		}
		c.m.AddOp(fb.BuiltinOperatorSOFTMAX, Softmax{Beta: 1}, []int32{x}, c.out(n, 0))
		return nil
	case "Concat":
		var ins []int32
		for i := range n.Inputs {
			x, err := c.in(n, i)
			if err != nil {
				return err
			}
			ins = append(ins, x)
		}
		r := len(n.Outputs[0].Shape)
		a := int(n.Int("axis", 0))
		if a < 0 {
			a += r
		}
		if r == 4 {
			a = [4]int{0, 3, 1, 2}[a]
		}
		c.m.AddOp(fb.BuiltinOperatorCONCATENATION, Concatenation{Axis: int32(a)}, ins, c.out(n, 0))
		return nil
	}
	return c.nodeMediaPipe(n)
}

func (c *conv) conv(n *graph.Node) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	w := n.Input(1)
	if w == nil || w.Const == nil || len(w.Shape) != 4 {
		return fmt.Errorf("weights must be a 4-D constant")
	}
	xs := n.Inputs[0].Shape
	oc, icg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	k := []int64{int64(kh), int64(kw)}
	s := ints(n, "strides", []int64{1, 1})
	d := ints(n, "dilations", []int64{1, 1})
	p, explicit := padding(ints(n, "pads", []int64{0, 0, 0, 0}), xs[2:], k, s, d)
	x = c.explicitPad(x, n.Outputs[0].Name, explicit)
	group := int(n.Int("group", 1))
	af, err := activation(n)
	if err != nil {
		return err
	}
	wv := w.Const.F32()
	var filt []float32
	var fs []int32
	code := fb.BuiltinOperatorCONV_2D
	var mk func(fb.ActivationFunctionType) Options
	if group > 1 && group == xs[1] && icg == 1 {
		// Depthwise: [O,1,kh,kw] -> [1,kh,kw,O].
		code = fb.BuiltinOperatorDEPTHWISE_CONV_2D
		filt = make([]float32, len(wv))
		for o := 0; o < oc; o++ {
			for i := 0; i < kh*kw; i++ {
				filt[i*oc+o] = wv[o*kh*kw+i]
			}
		}
		fs = []int32{1, int32(kh), int32(kw), int32(oc)}
		mult := int32(oc / group)
		mk = func(f fb.ActivationFunctionType) Options {
			return DepthwiseConv2D{Padding: p, StrideH: int32(s[0]), StrideW: int32(s[1]), DilationH: int32(d[0]), DilationW: int32(d[1]), DepthMultiplier: mult, Act: f}
		}
	} else {
		// OIHW -> OHWI (grouped convs keep I = in-channels per group, as TFLite's CONV_2D does).
		filt = make([]float32, len(wv))
		for o := 0; o < oc; o++ {
			for i := 0; i < icg; i++ {
				for y := 0; y < kh; y++ {
					for xx := 0; xx < kw; xx++ {
						filt[((o*kh+y)*kw+xx)*icg+i] = wv[((o*icg+i)*kh+y)*kw+xx]
					}
				}
			}
		}
		fs = []int32{int32(oc), int32(kh), int32(kw), int32(icg)}
		mk = func(f fb.ActivationFunctionType) Options {
			return Conv2D{Padding: p, StrideH: int32(s[0]), StrideW: int32(s[1]), DilationH: int32(d[0]), DilationW: int32(d[1]), Act: f}
		}
	}
	ins := []int32{x, c.weight(w.Name, fs, filt), -1}
	if b := n.Input(2); b != nil {
		if b.Const == nil {
			return fmt.Errorf("bias must be constant")
		}
		ins[2] = c.weight(b.Name, []int32{int32(oc)}, b.Const.F32())
	} else {
		// TFLite's converter always writes a bias; a zero one keeps the importer's common path.
		ins[2] = c.m.ConstF32(n.Name+"/bias", []int32{int32(oc)}, make([]float32, oc))
	}
	return c.withAct(n, af, code, mk, ins)
}
