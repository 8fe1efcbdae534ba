package lower

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"unsafe"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/graph/passes"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/tensor"
)

// staticWeights makes a Q8Conv's packed weights, per-channel scales and per-channel sums of the
// quantized weights (real ones from the f32 tensor, or virtual ones for estimates).
type staticWeights func(w *graph.Value, m, cin, kh, kw, cp int) (packed []byte, scales []float32, sums []int32)

// QuantizeStatic rewrites the layers whose activations the calibration c covers into the statically
// quantized u8 NHWC ops (ops/q8_*.go), keeping everything else as it was:
//
//	y = Conv(x, w:const, b) {Relu|Clip|none}      -> y' = Q8Conv(x', w', b', s')
//	y = Add(Conv(x, w, b), r) {Relu|Clip|none}    -> y' = Q8Conv(x', w', b', s', r')  (fused residual)
//	y = Add(a, b)                                 -> y' = Q8Add(a', b')
//	y = MaxPool(x)                                -> y' = Q8MaxPool(x')              (x's scale)
//	y = GlobalAveragePool(x)                      -> y  = Q8GlobalAveragePool(x')    (f32 out)
//
// where v' is the u8 NHWC form of v (quantized with c[v.Name]). Where a float value enters the region a
// Q8Quantize is inserted, where a u8 one leaves it (a float consumer, a graph output) a Q8Dequantize
// producing the original value. Convs need a calibrated input and output, group 1 and an activation
// the clamp can express; the rest (and every Gemm) is left to the dynamic pass. Shapes must have been
// inferred (Optimize).
func QuantizeStatic(g *graph.Graph, c passes.Calibration, rel graph.RangeReleaser) error {
	return quantizeStatic(g, c, Conversion{Release: rel})
}

// quantizeStaticWith runs QuantizeStatic with the calibration stored in g (none: nothing to do), its
// weights converted as c says (released, virtual for estimates, shared through c.Memo).
func quantizeStaticWith(g *graph.Graph, c Conversion) error {
	cal, err := passes.LoadCalibration(g)
	if err != nil || cal == nil {
		return err
	}
	return quantizeStatic(g, cal, c)
}

// staticWeightsFor makes Q8Conv weights as c says.
func staticWeightsFor(c Conversion) staticWeights {
	build := func(w *graph.Value, m, cin, kh, kw, cp int) ([]byte, []float32, []int32) {
		if c.Virtual != nil {
			return c.Virtual(q8.PackedConvLen(m, kh*kw*cp)), make([]float32, m), make([]int32, m)
		}
		var release func([]byte)
		if c.Release != nil {
			release = c.Release.ReleaseRange
		}
		q, s, sums := ops.QuantizeConvWeightsNHWC(w.Const.F32(), m, cin, kh, kw, cp, release)
		return int8Bytes(q), s, sums
	}
	if c.Memo == nil {
		return build
	}
	return func(w *graph.Value, m, cin, kh, kw, cp int) ([]byte, []float32, []int32) {
		kind := fmt.Sprintf("int8 nhwc conv %d c%d %dx%d cp%d", m, cin, kh, kw, cp)
		r := c.Memo(w.Const, kind, func() [][]byte {
			q, s, sums := build(w, m, cin, kh, kw, cp)
			return [][]byte{q, f32Bytes(s), i32Bytes(sums)}
		})
		return r[0], bytesF32(r[1]), bytesI32(r[2])
	}
}

func i32Bytes(v []int32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

func bytesI32(b []byte) []int32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// staticRewrite is the state of one QuantizeStatic run.
type staticRewrite struct {
	g      *graph.Graph
	c      passes.Calibration
	wts    staticWeights
	conv   Conversion
	prod   map[*graph.Value]*graph.Node
	uses   map[*graph.Value]int
	twin   map[*graph.Value]*graph.Value // f32 value -> its u8 NHWC form
	params map[*graph.Value]passes.ActivationQuant
	lost   map[*graph.Value]bool // f32 values whose producer was converted: dequantize before use
	out    []*graph.Node
	seq    int
}

func quantizeStatic(g *graph.Graph, c passes.Calibration, conv Conversion) error {
	if len(c) == 0 {
		return nil
	}
	s := &staticRewrite{g: g, c: c, wts: staticWeightsFor(conv), conv: conv, prod: g.Producers(), uses: map[*graph.Value]int{},
		twin: map[*graph.Value]*graph.Value{}, params: map[*graph.Value]passes.ActivationQuant{}, lost: map[*graph.Value]bool{}}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != nil {
				s.uses[in]++
			}
		}
	}
	for _, o := range g.Outputs {
		s.uses[o]++
	}
	// Residual fusion: an Add whose one input is an eligible Conv's only use takes that Conv over.
	fusedInto := map[*graph.Node]*graph.Node{} // conv -> add
	fusedConv := map[*graph.Node]*graph.Node{} // add -> conv
	for _, n := range g.Nodes {
		if conv, _ := s.residualAdd(n); conv != nil && fusedInto[conv] == nil {
			fusedInto[conv], fusedConv[n] = n, conv
		}
	}
	for _, n := range g.Nodes {
		switch {
		case fusedInto[n] != nil:
			continue // emitted at its Add
		case fusedConv[n] != nil:
			conv := fusedConv[n]
			_, r := s.residualAdd(n)
			if err := s.emitConv(conv, n.Outputs[0], r, n); err != nil {
				return err
			}
			continue
		case n.Op == "Conv" && s.convOK(n, n.Outputs[0]):
			if err := s.emitConv(n, n.Outputs[0], nil, n); err != nil {
				return err
			}
			continue
		case n.Op == "Add" && s.addOK(n):
			s.emitAdd(n)
			continue
		case n.Op == "MaxPool" && s.poolOK(n):
			if err := s.emitMaxPool(n); err != nil {
				return err
			}
			continue
		case n.Op == "GlobalAveragePool" && s.gapOK(n):
			s.emitGAP(n)
			continue
		}
		s.floatInputs(n)
		s.out = append(s.out, n)
	}
	for i, o := range g.Outputs {
		if s.lost[o] {
			s.dequantize(o)
		}
		g.Outputs[i] = o
	}
	g.Nodes = s.out
	return g.Validate()
}

// quant is v's calibration, if any (f32 activations only).
func (s *staticRewrite) quant(v *graph.Value) (passes.ActivationQuant, bool) {
	if v == nil || v.Const != nil || v.DType != tensor.F32 {
		return passes.ActivationQuant{}, false
	}
	if p, ok := s.params[v]; ok {
		return p, true
	}
	q, ok := s.c[v.Name]
	return q, ok
}

// convOK: a group-1 2-D Conv with constant f32 weights, an activation the output clamp expresses,
// and calibrated input and output y.
func (s *staticRewrite) convOK(n *graph.Node, y *graph.Value) bool {
	x, w := n.Input(0), n.Input(1)
	if x == nil || len(x.Shape) != 4 || !x.Shape.Known() || !isF32Const(w) || len(w.Shape) != 4 || len(n.Inputs) > 3 {
		return false
	}
	if b := n.Input(2); b != nil && (!isF32Const(b) || b.Const.NumElements() != w.Shape[0]) {
		return false
	}
	if n.Int("group", 1) != 1 || w.Shape[1] != x.Shape[1] || len(n.Outputs) != 1 {
		return false
	}
	if _, ok := staticAct(n); !ok {
		return false
	}
	_, okx := s.quant(x)
	_, oky := s.quant(y)
	return okx && oky && len(y.Shape) == 4 && y.Shape.Known()
}

// staticAct is n's fused activation as a real-valued clamp [lo, hi] (±Inf when open).
func staticAct(n *graph.Node) ([2]float32, bool) {
	a, err := graph.ActivationOf(n)
	if err != nil {
		return [2]float32{}, false
	}
	inf := float32(math.Inf(1))
	switch a.Kind {
	case graph.ActNone:
		return [2]float32{-inf, inf}, true
	case graph.ActRelu:
		return [2]float32{0, inf}, true
	case graph.ActClip:
		return [2]float32{a.Min, a.Max}, true
	}
	return [2]float32{}, false
}

// residualAdd recognises y = Add(conv, r) with conv an eligible activation-free Conv read only here;
// it returns the Conv and r.
func (s *staticRewrite) residualAdd(n *graph.Node) (*graph.Node, *graph.Value) {
	if n.Op != "Add" || len(n.Inputs) != 2 || len(n.Outputs) != 1 {
		return nil, nil
	}
	y := n.Outputs[0]
	if _, ok := s.quant(y); !ok {
		return nil, nil
	}
	if _, ok := staticAct(n); !ok {
		return nil, nil
	}
	for i := 0; i < 2; i++ {
		a, r := n.Inputs[i], n.Inputs[1-i]
		p := s.prod[a]
		if p == nil || p.Op != "Conv" || s.uses[a] != 1 || a == r || p.Str(graph.AttrActivation, "") != "" {
			continue
		}
		if !a.Shape.Known() || !a.Shape.Equal(r.Shape) || !a.Shape.Equal(y.Shape) {
			continue
		}
		if _, ok := s.quant(r); !ok || !s.convOK(p, y) {
			continue
		}
		return p, r
	}
	return nil, nil
}

func (s *staticRewrite) addOK(n *graph.Node) bool {
	if len(n.Inputs) != 2 || len(n.Outputs) != 1 {
		return false
	}
	a, b, y := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	_, oka := s.quant(a)
	_, okb := s.quant(b)
	_, oky := s.quant(y)
	_, okact := staticAct(n)
	return oka && okb && oky && okact && len(a.Shape) == 4 && a.Shape.Known() && a.Shape.Equal(b.Shape) && a.Shape.Equal(y.Shape)
}

func (s *staticRewrite) poolOK(n *graph.Node) bool {
	x, y := n.Input(0), n.Outputs[0]
	_, ok := s.quant(x)
	return ok && len(n.Outputs) == 1 && len(x.Shape) == 4 && x.Shape.Known() && len(y.Shape) == 4 && y.Shape.Known() &&
		len(n.Ints("kernel_shape", nil)) == 2
}

func (s *staticRewrite) gapOK(n *graph.Node) bool {
	x := n.Input(0)
	_, ok := s.quant(x)
	return ok && len(x.Shape) == 4 && x.Shape.Known() && len(n.Outputs) == 1
}

func (s *staticRewrite) name(base, suffix string) string {
	s.seq++
	return fmt.Sprintf("%s%s%d", base, suffix, s.seq)
}

// u8 returns the u8 NHWC form of f32 value v, inserting a Q8Quantize where v is still a float.
func (s *staticRewrite) u8(v *graph.Value) *graph.Value {
	if t := s.twin[v]; t != nil {
		return t
	}
	q, _ := s.quant(v)
	t := &graph.Value{Name: v.Name + "_u8", DType: tensor.U8,
		Shape: tensor.Shape{v.Shape[0], v.Shape[2], v.Shape[3], q8.RoundUp(v.Shape[1], 4)}}
	n := &graph.Node{Name: s.name(v.Name, "/q8quantize"), Op: graph.OpQ8Quantize, Domain: graph.ExtDomain, Inputs: []*graph.Value{v}, Outputs: []*graph.Value{t}}
	n.SetFloat(graph.AttrScale, q.Scale)
	n.SetInt(graph.AttrZP, int64(q.ZP))
	s.out = append(s.out, n)
	s.twin[v], s.params[v] = t, q
	return t
}

// produced records that the converted node now producing t (u8) replaced v's producer.
func (s *staticRewrite) produced(v, t *graph.Value, q passes.ActivationQuant) {
	s.twin[v], s.params[v] = t, q
	s.lost[v] = true
}

// dequantize makes v (a converted node's f32 output) available as a float again.
func (s *staticRewrite) dequantize(v *graph.Value) {
	q := s.params[v]
	n := &graph.Node{Name: s.name(v.Name, "/q8dequantize"), Op: graph.OpQ8Dequantize, Domain: graph.ExtDomain, Inputs: []*graph.Value{s.twin[v]}, Outputs: []*graph.Value{v}}
	n.SetFloat(graph.AttrScale, q.Scale)
	n.SetInt(graph.AttrZP, int64(q.ZP))
	n.SetInt(graph.AttrChannels, int64(v.Shape[1]))
	s.out = append(s.out, n)
	s.lost[v] = false
}

// floatInputs dequantizes the converted values a float node reads.
func (s *staticRewrite) floatInputs(n *graph.Node) {
	for _, in := range n.Inputs {
		if in != nil && s.lost[in] {
			s.dequantize(in)
		}
	}
}

// outValue is the u8 NHWC value a converted node writes for f32 value v.
func outValue(v *graph.Value, channels int) *graph.Value {
	return &graph.Value{Name: v.Name + "_u8", DType: tensor.U8,
		Shape: tensor.Shape{v.Shape[0], v.Shape[2], v.Shape[3], q8.RoundUp(channels, 4)}}
}

// window returns the explicit leading pads of a 2-D window node and the trailing ones that give its
// inferred output size by the floor formula (so auto_pad and ceil_mode need no handling downstream).
func window(n *graph.Node, in, out tensor.Shape, kernel []int) (pads []int64, err error) {
	st, dl := n.Ints("strides", []int64{1, 1}), n.Ints("dilations", []int64{1, 1})
	if len(st) != 2 || len(dl) != 2 {
		return nil, fmt.Errorf("lower: node %q: 2-D strides/dilations expected", n.Name)
	}
	pads = make([]int64, 4)
	p := n.Ints("pads", []int64{0, 0, 0, 0})
	for i := 0; i < 2; i++ {
		h, o, s := in[2+i], out[2+i], int(st[i])
		ext := int(dl[i])*(kernel[i]-1) + 1
		var lead int
		switch n.Str("auto_pad", "NOTSET") {
		case "NOTSET", "":
			if len(p) != 4 {
				return nil, fmt.Errorf("lower: node %q: 4 pads expected", n.Name)
			}
			lead = int(p[i])
		case "SAME_UPPER":
			lead = max(0, (o-1)*s+ext-h) / 2
		case "SAME_LOWER":
			t := max(0, (o-1)*s+ext-h)
			lead = t - t/2
		case "VALID":
		default:
			return nil, fmt.Errorf("lower: node %q: auto_pad %q", n.Name, n.Str("auto_pad", ""))
		}
		trail := max(0, (o-1)*s+ext-h-lead)
		if (h+lead+trail-ext)/s+1 != o {
			return nil, fmt.Errorf("lower: node %q: cannot express output size %d with explicit pads", n.Name, o)
		}
		pads[i], pads[2+i] = int64(lead), int64(trail)
	}
	return pads, nil
}

// clampBytes turns a real-valued clamp into output bytes for quantization q.
func clampBytes(act [2]float32, q passes.ActivationQuant) (lo, hi int64) {
	lo, hi = 0, 255
	if !math.IsInf(float64(act[0]), -1) {
		lo = max(0, min(255, int64(math.RoundToEven(float64(act[0]/q.Scale)))+int64(q.ZP)))
	}
	if !math.IsInf(float64(act[1]), 1) {
		hi = max(lo, min(255, int64(math.RoundToEven(float64(act[1]/q.Scale)))+int64(q.ZP)))
	}
	return lo, hi
}

// emitConv writes the Q8Conv computing conv (activation and output taken from at, the Conv itself or
// the Add it is fused into) with output y and optional residual r.
func (s *staticRewrite) emitConv(conv *graph.Node, y, r *graph.Value, at *graph.Node) error {
	x, w := conv.Input(0), conv.Input(1)
	m, cin, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	pads, err := window(conv, x.Shape, y.Shape, []int{kh, kw})
	if err != nil {
		return err
	}
	xq := s.u8(x)
	var rq *graph.Value
	if r != nil {
		rq = s.u8(r)
	}
	qx, _ := s.quant(x)
	qy, _ := s.quant(y)
	cp := xq.Shape[3]
	packed, wscale, sums := s.wts(w, m, cin, kh, kw, cp)
	var b []float32
	if bv := conv.Input(2); bv != nil {
		b = bv.Const.F32()
	}
	// The requantization constants depend on the weight, both activations' quantization and the bias;
	// they go through the Memo as a derivation of the weight, so programs sharing converted weights
	// share them too and an estimate (zero virtual scales) counts each layer's as a distinct weight.
	h := fnv.New64a()
	for _, v := range b {
		binary.Write(h, binary.LittleEndian, math.Float32bits(v))
	}
	kind := fmt.Sprintf("int8 nhwc requant %d x%g/%d y%g/%d b%d:%016x", m, qx.Scale, qx.ZP, qy.Scale, qy.ZP, len(b), h.Sum64())
	req := s.conv.memoized(w.Const, kind, func() [][]byte {
		panels := (m + q8.CN - 1) / q8.CN
		bias := make([]int32, panels*q8.CN)
		mult := make([]float32, panels*q8.CN)
		for oc := 0; oc < m; oc++ {
			unit := float64(qx.Scale) * float64(wscale[oc]) // one accumulator step
			acc := -float64(qx.ZP) * float64(sums[oc])
			if b != nil && unit > 0 {
				acc += math.RoundToEven(float64(b[oc]) / unit)
			}
			bias[oc] = int32(max(math.MinInt32, min(math.MaxInt32, acc)))
			mult[oc] = float32(unit / float64(qy.Scale))
		}
		return [][]byte{i32Bytes(bias), f32Bytes(mult)}
	})
	bias, mult := bytesI32(req[0]), bytesF32(req[1])
	act, _ := staticAct(at)
	lo, hi := clampBytes(act, qy)
	yq := outValue(y, m)
	ins := []*graph.Value{xq, i8Value(w.Name+"_q8s", packed), i32Value(w.Name+"_q8bias", bias), f32Value(w.Name+"_q8mult", mult)}
	n := &graph.Node{Name: at.Name, Op: graph.OpQ8Conv, Domain: graph.ExtDomain, Outputs: []*graph.Value{yq}}
	n.SetInts("kernel_shape", []int64{int64(kh), int64(kw)})
	n.SetInts("strides", conv.Ints("strides", []int64{1, 1}))
	n.SetInts("dilations", conv.Ints("dilations", []int64{1, 1}))
	n.SetInts("pads", pads)
	n.SetInt(graph.AttrOutChannels, int64(m))
	n.SetInt(graph.AttrXZP, int64(qx.ZP))
	n.SetInt(graph.AttrYZP, int64(qy.ZP))
	n.SetInt(graph.AttrYLo, lo)
	n.SetInt(graph.AttrYHi, hi)
	if rq != nil {
		qr, _ := s.quant(r)
		ins = append(ins, rq)
		n.SetFloat(graph.AttrRScale, float32(float64(qr.Scale)/float64(qy.Scale)))
		n.SetInt(graph.AttrRZP, int64(qr.ZP))
	}
	n.Inputs = ins
	s.out = append(s.out, n)
	s.produced(y, yq, qy)
	return nil
}

func (s *staticRewrite) emitAdd(n *graph.Node) {
	a, b, y := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	aq, bq := s.u8(a), s.u8(b)
	qa, _ := s.quant(a)
	qb, _ := s.quant(b)
	qy, _ := s.quant(y)
	act, _ := staticAct(n)
	lo, hi := clampBytes(act, qy)
	yq := outValue(y, y.Shape[1])
	q := &graph.Node{Name: n.Name, Op: graph.OpQ8Add, Domain: graph.ExtDomain, Inputs: []*graph.Value{aq, bq}, Outputs: []*graph.Value{yq}}
	q.SetFloat(graph.AttrAScale, float32(float64(qa.Scale)/float64(qy.Scale)))
	q.SetInt(graph.AttrAZP, int64(qa.ZP))
	q.SetFloat(graph.AttrBScale, float32(float64(qb.Scale)/float64(qy.Scale)))
	q.SetInt(graph.AttrBZP, int64(qb.ZP))
	q.SetInt(graph.AttrYZP, int64(qy.ZP))
	q.SetInt(graph.AttrYLo, lo)
	q.SetInt(graph.AttrYHi, hi)
	s.out = append(s.out, q)
	s.produced(y, yq, qy)
}

func (s *staticRewrite) emitMaxPool(n *graph.Node) error {
	x, y := n.Input(0), n.Outputs[0]
	ks := n.Ints("kernel_shape", nil)
	pads, err := window(n, x.Shape, y.Shape, []int{int(ks[0]), int(ks[1])})
	if err != nil {
		return err
	}
	xq := s.u8(x)
	qx, _ := s.quant(x)
	yq := outValue(y, y.Shape[1])
	q := &graph.Node{Name: n.Name, Op: graph.OpQ8MaxPool, Domain: graph.ExtDomain, Inputs: []*graph.Value{xq}, Outputs: []*graph.Value{yq}}
	q.SetInts("kernel_shape", ks)
	q.SetInts("strides", n.Ints("strides", []int64{1, 1}))
	q.SetInts("dilations", n.Ints("dilations", []int64{1, 1}))
	q.SetInts("pads", pads)
	s.out = append(s.out, q)
	s.produced(y, yq, qx) // the maximum keeps x's scale and zero point
	return nil
}

func (s *staticRewrite) emitGAP(n *graph.Node) {
	x := n.Input(0)
	xq := s.u8(x)
	qx, _ := s.quant(x)
	q := &graph.Node{Name: n.Name, Op: graph.OpQ8GlobalAveragePool, Domain: graph.ExtDomain, Inputs: []*graph.Value{xq}, Outputs: n.Outputs}
	q.SetFloat(graph.AttrScale, qx.Scale)
	q.SetInt(graph.AttrZP, int64(qx.ZP))
	q.SetInt(graph.AttrChannels, int64(x.Shape[1]))
	s.out = append(s.out, q)
}

func i32Value(name string, v []int32) *graph.Value {
	t := &tensor.Tensor{DType: tensor.I32, Shape: tensor.Shape{len(v)}, Data: i32Bytes(v)}
	return &graph.Value{Name: name, DType: tensor.I32, Shape: tensor.Shape{len(v)}, Const: t}
}
