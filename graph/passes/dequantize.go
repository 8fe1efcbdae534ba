package passes

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Dequantize rewrites a quantized graph (QLinear* ops with constant scales and zero points, as the
// TFLite importer writes them) into the float32 graph it approximates: every quantized activation
// becomes the f32 value scale·(q − zp), constant weights and biases are dequantized once
// ((q − zp)·scale per channel; bias·x_scale·w_scale), and each QLinear op becomes its float op.
//
// A quantized graph input stays quantized (callers feed the same bytes) and is dequantized by a
// DequantizeLinear node at the start. The output range of each quantized op (its fused activation
// intersected with what the output's 8 bits can represent) is kept as a fused Clip, so the float
// graph saturates where the quantized one does. Float outputs replace quantized graph outputs.
func Dequantize(g *graph.Graph) error {
	d := &dequant{g: g, q: map[*graph.Value]qparam{}}
	if err := d.collect(); err != nil {
		return err
	}
	var nodes []*graph.Node
	// Graph inputs read by anything: dequantize at the start.
	for _, in := range g.Inputs {
		if !isQ8(in.DType) {
			continue
		}
		qp, ok := d.q[in]
		if !ok {
			return fmt.Errorf("passes: dequantize: input %q: no quantization parameters reach it", in.Name)
		}
		f := &graph.Value{Name: in.Name + "_f32", DType: tensor.F32, Shape: in.Shape.Clone()}
		replaceUses(g, in, f)
		nodes = append(nodes, &graph.Node{Name: in.Name + "_dequantize", Op: "DequantizeLinear",
			Inputs: []*graph.Value{in, qp.s, qp.z}, Outputs: []*graph.Value{f}})
	}
	for _, n := range g.Nodes {
		out, err := d.rewrite(n)
		if err != nil {
			return fmt.Errorf("passes: dequantize: node %q (%s): %w", n.Name, n.Op, err)
		}
		nodes = append(nodes, out...)
	}
	g.Nodes = nodes
	// Every non-constant 8-bit value other than the graph inputs now holds real numbers.
	inputs := map[*graph.Value]bool{}
	for _, in := range g.Inputs {
		inputs[in] = true
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != nil && o.Const == nil && isQ8(o.DType) && !inputs[o] {
				o.DType = tensor.F32
			}
		}
	}
	if err := EliminateDead(g); err != nil {
		return err
	}
	return g.Validate()
}

type qparam struct{ s, z *graph.Value }

type dequant struct {
	g *graph.Graph
	q map[*graph.Value]qparam // quantization of each 8-bit activation
}

func isQ8(dt tensor.DType) bool { return dt == tensor.U8 || dt == tensor.I8 }

// passThrough lists ops that move 8-bit values without changing their quantization.
var passThrough = map[string]bool{
	"Transpose": true, "Reshape": true, "Flatten": true, "Squeeze": true, "Unsqueeze": true,
	"MaxPool": true, "Pad": true, "Identity": true, "Slice": true, "Split": true, "Concat": true,
	"SpaceToDepth": true, "DepthToSpace": true, "Resize": true, "GlobalMaxPool": true,
}

// collect records the scale and zero point of every quantized activation, from the QLinear ops that
// read or write it, then spreads them through data-movement ops (both ways) to reach e.g. the graph
// input behind the importer's NHWC→NCHW Transpose.
func (d *dequant) collect() error {
	set := func(v, s, z *graph.Value) {
		if v != nil && v.Const == nil && isQ8(v.DType) {
			if _, ok := d.q[v]; !ok {
				d.q[v] = qparam{s, z}
			}
		}
	}
	for _, n := range d.g.Nodes {
		in := n.Input
		switch n.Op {
		case "QLinearConv", "QLinearMatMul":
			set(in(0), in(1), in(2))
			set(n.Outputs[0], in(6), in(7))
		case "QLinearAdd", "QLinearMul":
			set(in(0), in(1), in(2))
			set(in(3), in(4), in(5))
			set(n.Outputs[0], in(6), in(7))
		case "QLinearAveragePool", "QLinearGlobalAveragePool", "QLinearSoftmax", "QLinearSigmoid":
			set(in(0), in(1), in(2))
			set(n.Outputs[0], in(3), in(4))
		case "QLinearConcat":
			set(n.Outputs[0], in(0), in(1))
			for i := 2; i+2 < len(n.Inputs); i += 3 {
				set(in(i), in(i+1), in(i+2))
			}
		case "DequantizeLinear":
			set(in(0), in(1), in(2))
		case "QuantizeLinear":
			set(n.Outputs[0], in(1), in(2))
		}
	}
	for changed := true; changed; {
		changed = false
		for _, n := range d.g.Nodes {
			if !passThrough[n.Op] || len(n.Inputs) == 0 || len(n.Outputs) == 0 {
				continue
			}
			x, y := n.Inputs[0], n.Outputs[0]
			if x == nil || y == nil || !isQ8(x.DType) || !isQ8(y.DType) {
				continue
			}
			qx, okx := d.q[x]
			qy, oky := d.q[y]
			if okx && !oky {
				d.q[y], changed = qx, true
			} else if oky && !okx && x.Const == nil {
				d.q[x], changed = qy, true
			}
		}
	}
	return nil
}

// rewrite returns the float nodes replacing n.
func (d *dequant) rewrite(n *graph.Node) ([]*graph.Node, error) {
	in := n.Input
	attrs := func(keep ...string) map[string]graph.Attr {
		m := map[string]graph.Attr{}
		for _, k := range keep {
			if a, ok := n.Attrs[k]; ok {
				m[k] = a
			}
		}
		return m
	}
	convAttrs := []string{"kernel_shape", "strides", "dilations", "pads", "group", "auto_pad"}
	y := n.Outputs[0]
	switch n.Op {
	case "QLinearConv":
		xs, err := scalars(in(1), in(2))
		if err != nil {
			return nil, fmt.Errorf("x quantization: %w", err)
		}
		w := in(3)
		if w == nil || w.Const == nil || len(w.Shape) != 4 {
			return nil, fmt.Errorf("weights must be a constant 4-D tensor")
		}
		m := w.Shape[0]
		wf, ws, err := dequantConst(w.Const, in(4), in(5), m, 0)
		if err != nil {
			return nil, fmt.Errorf("weights: %w", err)
		}
		ins := []*graph.Value{in(0), fconst(w.Name+"_f32", w.Shape, wf)}
		if b := in(8); b != nil {
			bf, err := dequantBias(b, xs.s, ws, m)
			if err != nil {
				return nil, err
			}
			ins = append(ins, fconst(b.Name+"_f32", tensor.Shape{m}, bf))
		}
		c := &graph.Node{Name: n.Name, Op: "Conv", Inputs: ins, Outputs: n.Outputs, Attrs: attrs(convAttrs...)}
		return []*graph.Node{c}, d.clamp(n, c, in(6), in(7))
	case "QLinearMatMul":
		xs, err := scalars(in(1), in(2))
		if err != nil {
			return nil, fmt.Errorf("a quantization: %w", err)
		}
		w := in(3)
		if w == nil || w.Const == nil || len(w.Shape) != 2 {
			return nil, fmt.Errorf("b must be a constant 2-D tensor")
		}
		nOut := w.Shape[1]
		wf, ws, err := dequantConst(w.Const, in(4), in(5), nOut, 1)
		if err != nil {
			return nil, fmt.Errorf("b: %w", err)
		}
		ins := []*graph.Value{in(0), fconst(w.Name+"_f32", w.Shape, wf)}
		op := "MatMul"
		if b := in(8); b != nil {
			bf, err := dequantBias(b, xs.s, ws, nOut)
			if err != nil {
				return nil, err
			}
			ins = append(ins, fconst(b.Name+"_f32", tensor.Shape{nOut}, bf))
			op = "Gemm"
			if len(in(0).Shape) != 2 {
				return nil, fmt.Errorf("a bias needs a 2-D a, got %s", in(0).Shape)
			}
		}
		c := &graph.Node{Name: n.Name, Op: op, Inputs: ins, Outputs: n.Outputs, Attrs: map[string]graph.Attr{}}
		return []*graph.Node{c}, d.clamp(n, c, in(6), in(7))
	case "QLinearAdd", "QLinearMul":
		a, err := d.operand(in(0), in(1), in(2))
		if err != nil {
			return nil, err
		}
		b, err := d.operand(in(3), in(4), in(5))
		if err != nil {
			return nil, err
		}
		c := &graph.Node{Name: n.Name, Op: n.Op[len("QLinear"):], Inputs: []*graph.Value{a, b}, Outputs: n.Outputs, Attrs: map[string]graph.Attr{}}
		return []*graph.Node{c}, d.clamp(n, c, in(6), in(7))
	case "QLinearAveragePool", "QLinearGlobalAveragePool":
		op := n.Op[len("QLinear"):]
		keep := []string{"kernel_shape", "strides", "pads", "count_include_pad", "ceil_mode", "auto_pad", "dilations"}
		return d.withClip(n, &graph.Node{Name: n.Name, Op: op, Inputs: []*graph.Value{in(0)}, Outputs: n.Outputs, Attrs: attrs(keep...)}, in(3), in(4))
	case "QLinearSigmoid":
		return []*graph.Node{{Name: n.Name, Op: "Sigmoid", Inputs: []*graph.Value{in(0)}, Outputs: n.Outputs}}, nil
	case "QLinearSoftmax":
		x := in(0)
		var out []*graph.Node
		if beta := n.Float("beta", 1); beta != 1 {
			scaled := &graph.Value{Name: y.Name + "_beta", DType: tensor.F32, Shape: x.Shape.Clone()}
			out = append(out, &graph.Node{Name: n.Name + "_beta", Op: "Mul",
				Inputs: []*graph.Value{x, fconst(n.Name+"_beta_c", tensor.Shape{}, []float32{beta})}, Outputs: []*graph.Value{scaled}})
			x = scaled
		}
		return append(out, &graph.Node{Name: n.Name, Op: "Softmax", Inputs: []*graph.Value{x}, Outputs: n.Outputs, Attrs: attrs("axis")}), nil
	case "QLinearConcat":
		var ins []*graph.Value
		for i := 2; i+2 < len(n.Inputs); i += 3 {
			v, err := d.operand(in(i), in(i+1), in(i+2))
			if err != nil {
				return nil, err
			}
			ins = append(ins, v)
		}
		return []*graph.Node{{Name: n.Name, Op: "Concat", Inputs: ins, Outputs: n.Outputs, Attrs: attrs("axis")}}, nil
	case "DequantizeLinear":
		x := in(0)
		if x.Const == nil && !isGraphInput(d.g, x) {
			// The activation is already real-valued.
			return []*graph.Node{{Name: n.Name, Op: "Identity", Inputs: []*graph.Value{x}, Outputs: n.Outputs}}, nil
		}
		n.Attrs = attrs("axis") // ONNX arithmetic: exact for these inputs, no TFLite rounding to mimic
		return []*graph.Node{n}, nil
	case "QuantizeLinear":
		// The value stays real; keep the saturation of the 8-bit range.
		id := &graph.Node{Name: n.Name, Op: "Identity", Inputs: []*graph.Value{in(0)}, Outputs: n.Outputs}
		return d.withClip(n, id, in(1), in(2))
	case "Pad":
		// The importer pads quantized tensors with the zero point, i.e. with real 0.
		if v := in(2); v != nil && isQ8(v.DType) && in(0) != nil && isQ8(in(0).DType) {
			n.Inputs[2] = fconst(n.Name+"_zero", tensor.Shape{}, []float32{0})
		}
		return []*graph.Node{n}, nil
	}
	for _, v := range n.Inputs {
		if v != nil && v.Const != nil && isQ8(v.DType) && passThrough[n.Op] {
			return nil, fmt.Errorf("constant 8-bit operand %q of a data-movement op not supported", v.Name)
		}
	}
	if len(n.Op) > 7 && n.Op[:7] == "QLinear" {
		return nil, fmt.Errorf("quantized op not supported")
	}
	return []*graph.Node{n}, nil
}

// operand returns the float form of a quantized operand: activations are already float, constants
// are dequantized.
func (d *dequant) operand(v, s, z *graph.Value) (*graph.Value, error) {
	if v == nil || v.Const == nil {
		return v, nil
	}
	f, _, err := dequantConst(v.Const, s, z, 1, 0)
	if err != nil {
		return nil, fmt.Errorf("constant %q: %w", v.Name, err)
	}
	return fconst(v.Name+"_f32", v.Shape, f), nil
}

// outRange is the real interval an 8-bit output with scale s and zero point z can hold.
func outRange(s, z *graph.Value, dt tensor.DType) (float32, float32, error) {
	q, err := scalars(s, z)
	if err != nil {
		return 0, 0, err
	}
	lo, hi := float32(0), float32(255)
	if dt == tensor.I8 {
		lo, hi = -128, 127
	}
	return q.s * (lo - q.z), q.s * (hi - q.z), nil
}

// clamp sets on c (a float op taking fused activations) the output range of the quantized node n: its
// fused activation intersected with the range of its 8-bit output.
func (d *dequant) clamp(n, c *graph.Node, s, z *graph.Value) error {
	a, err := d.outAct(n, s, z)
	if err != nil {
		return err
	}
	graph.SetActivation(c, a)
	return nil
}

func (d *dequant) outAct(n *graph.Node, s, z *graph.Value) (graph.Activation, error) {
	act, err := graph.ActivationOf(n)
	if err != nil {
		return act, err
	}
	lo, hi, err := outRange(s, z, n.Outputs[0].DType)
	if err != nil {
		return act, fmt.Errorf("output quantization: %w", err)
	}
	switch act.Kind {
	case graph.ActNone:
	case graph.ActRelu:
		lo = max(lo, 0)
	case graph.ActClip:
		lo, hi = max(lo, act.Min), min(hi, act.Max)
	default:
		return act, fmt.Errorf("fused activation %v on a quantized op not supported", act.Kind)
	}
	return graph.Activation{Kind: graph.ActClip, Min: lo, Max: hi}, nil
}

// withClip returns c followed by a Clip to n's output range (for float ops without fused activations).
func (d *dequant) withClip(n, c *graph.Node, s, z *graph.Value) ([]*graph.Node, error) {
	a, err := d.outAct(n, s, z)
	if err != nil {
		return nil, err
	}
	y := c.Outputs[0]
	pre := &graph.Value{Name: y.Name + "_preclip", DType: tensor.F32, Shape: y.Shape.Clone()}
	c.Outputs = []*graph.Value{pre}
	clip := &graph.Node{Name: n.Name + "_clip", Op: "Clip", Outputs: []*graph.Value{y}, Inputs: []*graph.Value{pre,
		fconst(n.Name+"_min", tensor.Shape{}, []float32{a.Min}), fconst(n.Name+"_max", tensor.Shape{}, []float32{a.Max})}}
	return []*graph.Node{c, clip}, nil
}

type scalarQ struct {
	s float32
	z float32
}

// scalars reads a per-tensor scale and zero point (absent zero point = 0).
func scalars(s, z *graph.Value) (scalarQ, error) {
	sv, zv, err := readQ(s, z)
	if err != nil {
		return scalarQ{}, err
	}
	if len(sv) != 1 || len(zv) > 1 {
		return scalarQ{}, fmt.Errorf("per-tensor quantization expected, got %d scales", len(sv))
	}
	q := scalarQ{s: sv[0]}
	if len(zv) == 1 {
		q.z = float32(zv[0])
	}
	return q, nil
}

// readQ reads constant scales and zero points.
func readQ(s, z *graph.Value) ([]float32, []int32, error) {
	if s == nil || s.Const == nil || s.Const.DType != tensor.F32 {
		return nil, nil, fmt.Errorf("scale must be a constant f32 tensor")
	}
	sv := s.Const.F32()
	if z == nil {
		return sv, nil, nil
	}
	if z.Const == nil {
		return nil, nil, fmt.Errorf("zero point must be constant")
	}
	zv, err := ints(z.Const)
	return sv, zv, err
}

func ints(t *tensor.Tensor) ([]int32, error) {
	n := t.NumElements()
	out := make([]int32, n)
	switch t.DType {
	case tensor.U8:
		for i, v := range t.U8() {
			out[i] = int32(v)
		}
	case tensor.I8:
		for i, v := range t.I8() {
			out[i] = int32(v)
		}
	case tensor.I32:
		copy(out, t.I32())
	default:
		return nil, fmt.Errorf("quantized dtype %s not supported", t.DType)
	}
	return out, nil
}

// dequantConst returns (q − zp)·scale of a constant, with scales and zero points either per tensor or
// one per index along axis (of size n). It also returns the scales broadcast to n.
func dequantConst(q *tensor.Tensor, s, z *graph.Value, n, axis int) ([]float32, []float32, error) {
	sv, zv, err := readQ(s, z)
	if err != nil {
		return nil, nil, err
	}
	if len(sv) != 1 && len(sv) != n || len(zv) > 1 && len(zv) != len(sv) {
		return nil, nil, fmt.Errorf("%d scales and %d zero points for %d channels", len(sv), len(zv), n)
	}
	vals, err := ints(q)
	if err != nil {
		return nil, nil, err
	}
	// Index along axis of flat element i: (i / inner) % n.
	inner := 1
	for _, dim := range q.Shape[axis+1:] {
		inner *= dim
	}
	if len(sv) == 1 {
		inner, n = len(vals)+1, 1
	}
	out := make([]float32, len(vals))
	for i, v := range vals {
		c := (i / inner) % n
		zp := int32(0)
		if len(zv) > 0 {
			zp = zv[min(c, len(zv)-1)]
		}
		out[i] = float32(v-zp) * sv[c]
	}
	ws := make([]float32, max(n, 1))
	for i := range ws {
		ws[i] = sv[min(i, len(sv)-1)]
	}
	return out, ws, nil
}

// dequantBias turns an int32 bias (scale x_scale·w_scale[m], zero point 0) into f32.
func dequantBias(b *graph.Value, xs float32, ws []float32, m int) ([]float32, error) {
	if b.Const == nil || b.Const.DType != tensor.I32 || b.Const.NumElements() != m {
		return nil, fmt.Errorf("bias %q must be a constant int32 [%d]", b.Name, m)
	}
	out := make([]float32, m)
	for i, v := range b.Const.I32() {
		// TFLite's bias scale is the product of the float32 scales.
		out[i] = float32(float64(v) * float64(xs*ws[min(i, len(ws)-1)]))
	}
	return out, nil
}

func fconst(name string, shape tensor.Shape, v []float32) *graph.Value {
	return &graph.Value{Name: name, DType: tensor.F32, Shape: shape.Clone(), Const: tensor.FromF32(shape.Clone(), v)}
}
