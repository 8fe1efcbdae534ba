package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Softmax, LogSoftmax and Hardmax (1 at the first largest element, 0 elsewhere) along one axis
// (opset >= 13 semantics; importers rewrite the older "flatten to 2-D at axis" form, which equals
// this one when axis is the last dim).

type softmaxKernel struct {
	outer, axis, inner int
	log, hard          bool
	x, dst             []float32
}

func (k *softmaxKernel) ScratchBytes() int { return 0 }

func (k *softmaxKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.dst = elems[float32](in[0]), elems[float32](out[0])
	ctx.pool().For(k.outer*k.inner, max(1, 4096/max(1, k.axis)), k)
	return nil
}

// Do handles lanes [lo, hi): lane l is outer index l/inner and inner offset l%inner, with the axis
// walked at stride inner. Max is subtracted first so large logits do not overflow exp.
func (k *softmaxKernel) Do(lo, hi int) {
	for l := lo; l < hi; l++ {
		o, i := l/k.inner, l%k.inner
		base := o*k.axis*k.inner + i
		if k.hard {
			best := 0
			for a := 1; a < k.axis; a++ {
				if k.x[base+a*k.inner] > k.x[base+best*k.inner] {
					best = a
				}
			}
			for a := 0; a < k.axis; a++ {
				k.dst[base+a*k.inner] = 0
			}
			k.dst[base+best*k.inner] = 1
			continue
		}
		mx := float32(math.Inf(-1))
		for a := 0; a < k.axis; a++ {
			mx = max(mx, k.x[base+a*k.inner])
		}
		var sum float64
		for a := 0; a < k.axis; a++ {
			p := base + a*k.inner
			e := math.Exp(float64(k.x[p] - mx))
			sum += e
			if !k.log {
				k.dst[p] = float32(e)
			}
		}
		if k.log {
			ls := float32(math.Log(sum))
			for a := 0; a < k.axis; a++ {
				p := base + a*k.inner
				k.dst[p] = k.x[p] - mx - ls
			}
		} else {
			inv := float32(1 / sum)
			for a := 0; a < k.axis; a++ {
				k.dst[base+a*k.inner] *= inv
			}
		}
	}
}

func compileSoftmax(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	if x.DType != tensor.F32 {
		return nil, errf(n, "unsupported dtype %s", x.DType)
	}
	ax, err := normAxis(n, n.Int("axis", -1), len(x.Shape))
	if err != nil {
		return nil, err
	}
	k := &softmaxKernel{axis: x.Shape[ax], log: n.Op == "LogSoftmax", hard: n.Op == "Hardmax"}
	k.outer, k.inner = blockDims(x.Shape, ax, 1)
	return k, nil
}

func init() {
	Register("Softmax", &Def{Infer: inferUnary, Compile: compileSoftmax, InPlace: true})
	Register("LogSoftmax", &Def{Infer: inferUnary, Compile: compileSoftmax, InPlace: true})
	Register("Hardmax", &Def{Infer: inferUnary, Compile: compileSoftmax, InPlace: true})
}
