package ops

// Pooling and additions inside a statically quantized region (u8 NHWC, see Q8Conv):
//
//	Q8MaxPool           X u8 [N,H,W,C] -> Y u8 [N,OH,OW,C]; attrs kernel_shape, strides, pads
//	                    (explicit), dilations. The maximum of the quantized values is the quantized
//	                    maximum: Y shares X's scale and zero point, and the result is exact.
//	Q8GlobalAveragePool X u8 [N,H,W,Cp] -> Y f32 [N,C,1,1]; attrs scale, zp, channels C:
//	                    y = scale·(Σx/(H·W) − zp), the region's exit into the float classifier head.
//	Q8Add               A, B u8 [N,H,W,C] -> Y u8 (same shape); attrs a_scale, a_zp, b_scale, b_zp
//	                    (the scales divided by Y's), y_zp, y_lo, y_hi:
//	                    y = clamp(roundEven(float32(a−a_zp)·a_scale + float32(b−b_zp)·b_scale) + y_zp)
//	                    for additions the pass could not fuse into the producing Q8Conv.

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/tensor"
)

func init() {
	RegisterIn(graph.ExtDomain, graph.OpQ8MaxPool, &Def{Infer: inferQ8MaxPool, Compile: compileQ8MaxPool})
	RegisterIn(graph.ExtDomain, graph.OpQ8GlobalAveragePool, &Def{Infer: inferQ8GAP, Compile: compileQ8GAP})
	RegisterIn(graph.ExtDomain, graph.OpQ8Add, &Def{Infer: inferQ8Add, Compile: compileQ8Add, InPlace: true})
}

func inferQ8MaxPool(n *graph.Node) error {
	x := n.Input(0)
	if x == nil || len(n.Outputs) < 1 || n.Outputs[0] == nil {
		return fmt.Errorf("ops: node %q (Q8MaxPool): needs X and one output", n.Name)
	}
	n.Outputs[0].DType = tensor.U8
	if x.Shape == nil {
		n.Outputs[0].Shape = nil
		return nil
	}
	g, err := q8Window(n, x.Shape, 0)
	if err != nil {
		return err
	}
	n.Outputs[0].Shape = tensor.Shape{g.N, g.OH, g.OW, g.C}
	return nil
}

type q8MaxPoolKernel struct{ g q8.Geom }

func compileQ8MaxPool(n *graph.Node) (Kernel, error) {
	if err := inferQ8MaxPool(n); err != nil {
		return nil, err
	}
	x := n.Input(0)
	if x.DType != tensor.U8 || !x.Shape.Known() || x.Shape[3]%4 != 0 {
		return nil, fmt.Errorf("ops: node %q (Q8MaxPool): X must be u8 NHWC with a known shape, channels a multiple of 4", n.Name)
	}
	g, err := q8Window(n, x.Shape, 0)
	if err != nil {
		return nil, err
	}
	return &q8MaxPoolKernel{g: g}, nil
}

func (k *q8MaxPoolKernel) ScratchBytes() int { return 0 }

func (k *q8MaxPoolKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	q8.MaxPool(out[0].Data, in[0].Data, &k.g)
	return nil
}

func inferQ8GAP(n *graph.Node) error {
	x := n.Input(0)
	if x == nil || len(n.Outputs) < 1 || n.Outputs[0] == nil {
		return fmt.Errorf("ops: node %q (Q8GlobalAveragePool): needs X and one output", n.Name)
	}
	c := int(n.Int(graph.AttrChannels, 0))
	n.Outputs[0].DType = tensor.F32
	if x.Shape == nil {
		n.Outputs[0].Shape = nil
		return nil
	}
	if len(x.Shape) != 4 || c <= 0 || (x.Shape[3] >= 0 && x.Shape[3] != q8.RoundUp(c, 4)) {
		return fmt.Errorf("ops: node %q (Q8GlobalAveragePool): X %s does not hold %d channels in NHWC", n.Name, x.Shape, c)
	}
	n.Outputs[0].Shape = tensor.Shape{x.Shape[0], c, 1, 1}
	return nil
}

type q8GAPKernel struct {
	n, c, cp, hw int
	scale, zp    float32
}

func compileQ8GAP(n *graph.Node) (Kernel, error) {
	if err := inferQ8GAP(n); err != nil {
		return nil, err
	}
	x := n.Input(0)
	if x.DType != tensor.U8 || !x.Shape.Known() {
		return nil, fmt.Errorf("ops: node %q (Q8GlobalAveragePool): X must be u8 with a known shape", n.Name)
	}
	s, zp, err := q8Params(n)
	if err != nil {
		return nil, err
	}
	return &q8GAPKernel{n: x.Shape[0], c: int(n.Int(graph.AttrChannels, 0)), cp: x.Shape[3], hw: x.Shape[1] * x.Shape[2],
		scale: s, zp: float32(zp)}, nil
}

func (k *q8GAPKernel) ScratchBytes() int { return k.cp * 4 }

func (k *q8GAPKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	acc := bytesAsI32(ctx.Scratch[:k.cp*4])
	x, y := in[0].Data, out[0].F32()
	inv := 1 / float32(k.hw)
	for b := 0; b < k.n; b++ {
		clear(acc)
		q8.SumPixels(acc, x[b*k.hw*k.cp:], k.hw, k.cp)
		for c := 0; c < k.c; c++ {
			y[b*k.c+c] = k.scale * (float32(acc[c])*inv - k.zp)
		}
	}
	return nil
}

func inferQ8Add(n *graph.Node) error {
	a, b := n.Input(0), n.Input(1)
	if a == nil || b == nil || len(n.Outputs) < 1 || n.Outputs[0] == nil {
		return fmt.Errorf("ops: node %q (Q8Add): needs A, B and one output", n.Name)
	}
	n.Outputs[0].DType = tensor.U8
	n.Outputs[0].Shape = a.Shape.Clone()
	if a.Shape != nil && b.Shape != nil && a.Shape.Known() && b.Shape.Known() && !a.Shape.Equal(b.Shape) {
		return fmt.Errorf("ops: node %q (Q8Add): A %s and B %s differ", n.Name, a.Shape, b.Shape)
	}
	return nil
}

type q8AddKernel struct {
	ma, mb     float32
	za, zb, zy int32
	lo, hi     float32
	a, b, y    []uint8
}

func compileQ8Add(n *graph.Node) (Kernel, error) {
	if err := inferQ8Add(n); err != nil {
		return nil, err
	}
	if n.Input(0).DType != tensor.U8 || n.Input(1).DType != tensor.U8 || !n.Input(0).Shape.Known() {
		return nil, fmt.Errorf("ops: node %q (Q8Add): A and B must be u8 with known shapes", n.Name)
	}
	k := &q8AddKernel{ma: n.Float(graph.AttrAScale, 1), mb: n.Float(graph.AttrBScale, 1),
		za: int32(n.Int(graph.AttrAZP, 0)), zb: int32(n.Int(graph.AttrBZP, 0)), zy: int32(n.Int(graph.AttrYZP, 0))}
	lo, hi := n.Int(graph.AttrYLo, 0), n.Int(graph.AttrYHi, 255)
	if lo < 0 || hi > 255 || lo > hi || k.zy < 0 || k.zy > 255 {
		return nil, fmt.Errorf("ops: node %q (Q8Add): zero point and clamp must be bytes with y_lo <= y_hi", n.Name)
	}
	k.lo, k.hi = float32(int32(lo)-k.zy), float32(int32(hi)-k.zy)
	return k, nil
}

func (k *q8AddKernel) ScratchBytes() int { return 0 }

func (k *q8AddKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.a, k.b, k.y = in[0].Data, in[1].Data, out[0].Data
	ctx.Pool.For(len(k.y), 16384, k)
	return nil
}

func (k *q8AddKernel) Do(lo, hi int) {
	for i := lo; i < hi; i++ {
		v := float32(float32(int32(k.a[i])-k.za)*k.ma) + float32(float32(int32(k.b[i])-k.zb)*k.mb)
		k.y[i] = q8.RequantByte(v, k.lo, k.hi, k.zy)
	}
}
