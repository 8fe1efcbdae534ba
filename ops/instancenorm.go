package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// InstanceNormalization: each (n, c) plane of X [N, C, D1, ...] is normalised over its spatial
// elements, then scaled and shifted per channel: y = scale[c] * (x - mean) / sqrt(var + epsilon) + B[c].
// torch.onnx exports GroupNorm as Reshape -> InstanceNormalization (scale 1, bias 0) -> Reshape ->
// affine, so GroupNorm classifiers (ResNet-GN, BiT) need it. Statistics in float64, two passes.

type instanceNormKernel struct {
	planes, c, size int
	eps             float64
	x, y, s, b      []float32
}

func (k *instanceNormKernel) ScratchBytes() int { return 0 }

func (k *instanceNormKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.s, k.b, k.y = elems[float32](in[0]), elems[float32](in[1]), elems[float32](in[2]), elems[float32](out[0])
	ctx.pool().For(k.planes, max(1, 16384/max(1, k.size)), k)
	return nil
}

func (k *instanceNormKernel) Do(lo, hi int) {
	for p := lo; p < hi; p++ {
		x, y := k.x[p*k.size:(p+1)*k.size], k.y[p*k.size:(p+1)*k.size]
		mean, variance := meanVariance(x)
		c := p % k.c
		scale := float64(k.s[c]) / math.Sqrt(variance+k.eps)
		shift := float64(k.b[c]) - mean*scale
		for i, v := range x {
			y[i] = float32(float64(v)*scale + shift)
		}
	}
}

func compileInstanceNorm(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	if x.DType != tensor.F32 {
		return nil, errf(n, "unsupported dtype %s (float32 only)", x.DType)
	}
	if len(x.Shape) < 3 {
		return nil, errf(n, "input rank %d, want >= 3 (N, C, D1, ...)", len(x.Shape))
	}
	c := x.Shape[1]
	for i, v := range n.Inputs[1:3] {
		if v.DType != tensor.F32 || v.Shape.NumElements() != c {
			return nil, errf(n, "%s must be %d float32 values, is %s %s", []string{"scale", "B"}[i], c, v.DType, v.Shape)
		}
	}
	return &instanceNormKernel{planes: x.Shape[0] * c, c: c, size: x.Shape[2:].NumElements(),
		eps: float64(n.Float("epsilon", 1e-5))}, nil
}

func init() {
	Register("InstanceNormalization", &Def{Infer: func(n *graph.Node) error {
		if err := needInputs(n, 3); err != nil {
			return err
		}
		return inferUnary(n)
	}, Compile: compileInstanceNorm, InPlace: true})
}
