package ops

// The edges of a statically quantized region (lower.QuantizeStatic): Q8Quantize turns an f32
// NCHW tensor into the region's u8 NHWC layout, Q8Dequantize turns one back.
//
//	Q8Quantize   X f32 [N,C,H,W] -> Y u8 [N,H,W,RoundUp(C,4)]; attrs scale, zp:
//	             y = clamp(roundEven(float32(x/scale)) + zp, 0, 255) (as q8.Quantize), pad channels = zp
//	Q8Dequantize X u8 [N,H,W,Cp] -> Y f32 [N,C,H,W]; attrs scale, zp, channels C: y = scale·(x − zp)

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/tensor"
)

func init() {
	RegisterIn(graph.ExtDomain, graph.OpQ8Quantize, &Def{Infer: inferQ8Quantize, Compile: compileQ8Quantize})
	RegisterIn(graph.ExtDomain, graph.OpQ8Dequantize, &Def{Infer: inferQ8Dequantize, Compile: compileQ8Dequantize})
}

// q8Params reads a node's (scale, zp) attributes.
func q8Params(n *graph.Node) (float32, uint8, error) {
	s, zp := n.Float(graph.AttrScale, 0), n.Int(graph.AttrZP, -1)
	if !(s > 0) || zp < 0 || zp > 255 {
		return 0, 0, fmt.Errorf("ops: node %q (%s): needs scale > 0 and zp in 0..255, got %g, %d", n.Name, n.Op, s, zp)
	}
	return s, uint8(zp), nil
}

func inferQ8Quantize(n *graph.Node) error {
	x := n.Input(0)
	if x == nil || len(n.Outputs) < 1 || n.Outputs[0] == nil {
		return fmt.Errorf("ops: node %q (Q8Quantize): needs X and one output", n.Name)
	}
	n.Outputs[0].DType = tensor.U8
	if x.Shape == nil {
		n.Outputs[0].Shape = nil
		return nil
	}
	if len(x.Shape) != 4 {
		return fmt.Errorf("ops: node %q (Q8Quantize): X %s is not NCHW", n.Name, x.Shape)
	}
	c := x.Shape[1]
	if c >= 0 {
		c = q8.RoundUp(c, 4)
	}
	n.Outputs[0].Shape = tensor.Shape{x.Shape[0], x.Shape[2], x.Shape[3], c}
	return nil
}

type q8QuantizeKernel struct {
	n, c, cp, hw int
	inv          float32
	zp           uint8
	x            []float32
	y, planes    []uint8
	phase        int
}

func compileQ8Quantize(n *graph.Node) (Kernel, error) {
	if err := inferQ8Quantize(n); err != nil {
		return nil, err
	}
	x := n.Input(0)
	if x.DType != tensor.F32 || !x.Shape.Known() {
		return nil, fmt.Errorf("ops: node %q (Q8Quantize): X must be f32 with a known shape", n.Name)
	}
	s, zp, err := q8Params(n)
	if err != nil {
		return nil, err
	}
	k := &q8QuantizeKernel{n: x.Shape[0], c: x.Shape[1], hw: x.Shape[2] * x.Shape[3], inv: 1 / s, zp: zp}
	k.cp = q8.RoundUp(k.c, 4)
	return k, nil
}

// ScratchBytes: the quantized planes of one image, before they are interleaved.
func (k *q8QuantizeKernel) ScratchBytes() int { return q8.RoundUp(k.cp*k.hw, 64) }

func (k *q8QuantizeKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.y = in[0].F32(), out[0].Data
	k.planes = ctx.Scratch[:k.cp*k.hw]
	q8.Fill(k.planes[k.c*k.hw:], k.zp)
	for b := 0; b < k.n; b++ {
		k.phase = b
		ctx.Pool.For(k.c, 1, (*q8QuantizePlanes)(k))
		q8.Interleave4(k.y[b*k.hw*k.cp:], k.cp, k.planes, k.hw, k.cp/4)
	}
	return nil
}

type q8QuantizePlanes q8QuantizeKernel

func (t *q8QuantizePlanes) Do(lo, hi int) {
	k := (*q8QuantizeKernel)(t)
	x := k.x[k.phase*k.c*k.hw:]
	for c := lo; c < hi; c++ {
		q8.Quantize(k.planes[c*k.hw:(c+1)*k.hw], x[c*k.hw:(c+1)*k.hw], k.inv, k.zp)
	}
}

func inferQ8Dequantize(n *graph.Node) error {
	x := n.Input(0)
	if x == nil || len(n.Outputs) < 1 || n.Outputs[0] == nil {
		return fmt.Errorf("ops: node %q (Q8Dequantize): needs X and one output", n.Name)
	}
	c := int(n.Int(graph.AttrChannels, 0))
	n.Outputs[0].DType = tensor.F32
	if x.Shape == nil {
		n.Outputs[0].Shape = nil
		return nil
	}
	if len(x.Shape) != 4 || c <= 0 || (x.Shape[3] >= 0 && (c > x.Shape[3] || x.Shape[3] != q8.RoundUp(c, 4))) {
		return fmt.Errorf("ops: node %q (Q8Dequantize): X %s does not hold %d channels in NHWC", n.Name, x.Shape, c)
	}
	n.Outputs[0].Shape = tensor.Shape{x.Shape[0], c, x.Shape[1], x.Shape[2]}
	return nil
}

type q8DequantizeKernel struct {
	n, c, cp, hw int
	lut          [256]float32 // scale·(v − zp) for every byte v
	x            []uint8
	y            []float32
}

// dequantBlock is how many pixels one work item of Q8Dequantize transposes: its NHWC rows (block·cp
// bytes) stay in L1 while each channel's output run (block floats) is written contiguously. Walking
// one channel over the whole image instead reads a byte per cache line, cp times over.
const dequantBlock = 128

func compileQ8Dequantize(n *graph.Node) (Kernel, error) {
	if err := inferQ8Dequantize(n); err != nil {
		return nil, err
	}
	x := n.Input(0)
	if x.DType != tensor.U8 || !x.Shape.Known() {
		return nil, fmt.Errorf("ops: node %q (Q8Dequantize): X must be u8 with a known shape", n.Name)
	}
	s, zp, err := q8Params(n)
	if err != nil {
		return nil, err
	}
	k := &q8DequantizeKernel{n: x.Shape[0], c: int(n.Int(graph.AttrChannels, 0)), cp: x.Shape[3], hw: x.Shape[1] * x.Shape[2]}
	for v := range k.lut {
		k.lut[v] = s * (float32(v) - float32(zp))
	}
	return k, nil
}

func (k *q8DequantizeKernel) ScratchBytes() int { return 0 }

func (k *q8DequantizeKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.y = in[0].Data, out[0].F32()
	ctx.Pool.For(k.n*k.blocks(), 1, k)
	return nil
}

func (k *q8DequantizeKernel) blocks() int { return (k.hw + dequantBlock - 1) / dequantBlock }

// Do dequantizes work items lo..hi-1, each one block of pixels of one image, NHWC to NCHW.
func (k *q8DequantizeKernel) Do(lo, hi int) {
	nb := k.blocks()
	for i := lo; i < hi; i++ {
		b, p0 := i/nb, (i%nb)*dequantBlock
		p1 := min(p0+dequantBlock, k.hw)
		x := k.x[(b*k.hw+p0)*k.cp : (b*k.hw+p1)*k.cp]
		y := k.y[b*k.c*k.hw:]
		for c := 0; c < k.c; c++ {
			row := y[c*k.hw+p0 : c*k.hw+p1]
			for p := range row {
				row[p] = k.lut[x[p*k.cp+c]]
			}
		}
	}
}
