package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// LRN (local response normalization across channels, as AlexNet, CaffeNet and GoogLeNet in the ONNX
// model zoo use it): for X [N, C, D1, ...],
//
//	y[n, c, d] = x[n, c, d] / (bias + alpha/size · Σ x[n, c', d]²)^beta
//
// over c' from c - floor((size-1)/2) to c + ceil((size-1)/2), clipped to [0, C). Sums in float64.

type lrnKernel struct {
	n, c, plane       int
	half, halfUp      int
	alpha, beta, bias float64
	x, y              []float32
}

func (k *lrnKernel) ScratchBytes() int { return 0 }

func (k *lrnKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.y = elems[float32](in[0]), elems[float32](out[0])
	ctx.pool().For(k.n*k.c, max(1, 4096/max(1, k.plane)), k)
	return nil
}

// Do normalises the (n, c) planes lo..hi-1.
func (k *lrnKernel) Do(lo, hi int) {
	for p := lo; p < hi; p++ {
		b, c := p/k.c, p%k.c
		c0, c1 := max(0, c-k.half), min(k.c-1, c+k.halfUp)
		x, y := k.x[p*k.plane:(p+1)*k.plane], k.y[p*k.plane:(p+1)*k.plane]
		for i := range x {
			var s float64
			for cc := c0; cc <= c1; cc++ {
				v := float64(k.x[(b*k.c+cc)*k.plane+i])
				s += v * v
			}
			y[i] = float32(float64(x[i]) / math.Pow(k.bias+k.alpha*s, k.beta))
		}
	}
}

func compileLRN(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	if x.DType != tensor.F32 || len(x.Shape) < 3 {
		return nil, errf(n, "input must be float32 of rank >= 3 (N, C, D1, ...), is %s%s", x.DType, x.Shape)
	}
	size := int(n.Int("size", 0))
	if size < 1 {
		return nil, errf(n, "size %d must be positive", size)
	}
	return &lrnKernel{n: x.Shape[0], c: x.Shape[1], plane: x.Shape[2:].NumElements(),
		half: (size - 1) / 2, halfUp: size / 2,
		alpha: float64(n.Float("alpha", 1e-4)) / float64(size), beta: float64(n.Float("beta", 0.75)),
		bias: float64(n.Float("bias", 1))}, nil
}

func init() {
	Register("LRN", &Def{Infer: inferUnary, Compile: compileLRN})
}
