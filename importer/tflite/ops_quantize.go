package tflite

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// QUANTIZE, DEQUANTIZE (of activations; constants are folded by fold.go) and DENSIFY.

func convQuantize(b *builder, o *opc) error {
	x, err := b.in(o, 0)
	if err != nil {
		return err
	}
	xt, yt := o.in[0], o.out[0]
	if !yt.quantized() {
		return fmt.Errorf("output is not quantized")
	}
	ys, yz := b.qparams(yt)
	if xt.dt == tensor.F32 {
		b.node("QuantizeLinear", []*graph.Value{x, ys, yz}, b.newAct(yt)).SetStr(graph.AttrRounding, graph.RoundingTFLite)
		return nil
	}
	if !xt.quantized() {
		return fmt.Errorf("input %s is neither float nor quantized", xt.dt)
	}
	xs, xz := b.qparams(xt)
	// Requantization. An int8 <-> uint8 pair with the same scale whose zero points differ by 128 is
	// the identity on wanwu's uint8 carrier, so it maps to no node at all.
	if actType(xt) == actType(yt) && len(xt.scale) == 1 && len(yt.scale) == 1 && xt.scale[0] == yt.scale[0] &&
		carrierZP(xt) == carrierZP(yt) {
		b.vals[yt.ti] = x
		return nil
	}
	f := &graph.Value{Name: b.name(yt.name + "_f32"), DType: tensor.F32, Shape: x.Shape.Clone()}
	b.node("DequantizeLinear", []*graph.Value{x, xs, xz}, f).SetStr(graph.AttrRounding, graph.RoundingTFLite)
	b.node("QuantizeLinear", []*graph.Value{f, ys, yz}, b.newAct(yt)).SetStr(graph.AttrRounding, graph.RoundingTFLite)
	return nil
}

func carrierZP(t *tinfo) int64 {
	if t.toU8 || t.dt == tensor.I8 {
		return t.zp[0] + 128
	}
	return t.zp[0]
}

// convDensify is reached only for a DENSIFY that fold.go could not compute (a computed input).
func convDensify(b *builder, o *opc) error {
	if o.in[0].data != nil {
		// A dense constant: DENSIFY is the identity.
		v, err := b.value(o.in[0].ti)
		if err != nil {
			return err
		}
		b.vals[o.out[0].ti] = v
		return nil
	}
	return fmt.Errorf("DENSIFY of a computed tensor is not supported (only of constant weights)")
}

// convDequantize converts DEQUANTIZE of an activation (constants were folded by fold.go).
func convDequantize(b *builder, o *opc) error {
	xt := o.in[0]
	x, err := b.in(o, 0)
	if err != nil {
		return err
	}
	if !xt.quantized() {
		return fmt.Errorf("input is not quantized")
	}
	xs, xz := b.qparams(xt)
	n := b.node("DequantizeLinear", []*graph.Value{x, xs, xz}, b.newAct(o.out[0]))
	n.SetStr(graph.AttrRounding, graph.RoundingTFLite)
	if len(xt.scale) > 1 {
		n.SetInt("axis", int64(axisNCHW(xt.qdim, len(xt.shape))))
	}
	return nil
}
