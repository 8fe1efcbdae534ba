package ops

import (
	"fmt"
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/tensor"
)

// BatchNormalization (inference): y = scale*(x-mean)/sqrt(var+eps) + B, folded per channel into
// y = x*a + b. With constant statistics a and b are computed once in Compile; otherwise into scratch
// at Run. training_mode=1 is rejected. The kernel tolerates out == in, so the op runs in place.

func init() {
	Register("BatchNormalization", &Def{Infer: inferBatchNorm, Compile: compileBatchNorm, InPlace: true})
}

func inferBatchNorm(n *graph.Node) error {
	x := n.Input(0)
	if x == nil || len(n.Inputs) < 5 || len(n.Outputs) < 1 || n.Outputs[0] == nil {
		return fmt.Errorf("ops: node %q (BatchNormalization): needs X, scale, B, mean, var and one output", n.Name)
	}
	n.Outputs[0].DType = x.DType
	n.Outputs[0].Shape = x.Shape.Clone()
	return nil
}

type batchNormKernel struct {
	n, c, spatial int
	eps           float32
	a, b          []float32 // folded affine map, nil when computed at Run

	x, y, sa, sb []float32
}

func compileBatchNorm(n *graph.Node) (Kernel, error) {
	if err := inferBatchNorm(n); err != nil {
		return nil, err
	}
	if n.Int("training_mode", 0) != 0 {
		return nil, fmt.Errorf("ops: node %q (BatchNormalization): training_mode=1 is not supported (inference only)", n.Name)
	}
	for i, v := range n.Outputs[1:] {
		if v != nil {
			return nil, fmt.Errorf("ops: node %q (BatchNormalization): output %d (training statistics) is not supported", n.Name, i+1)
		}
	}
	x := n.Input(0)
	if x.DType != tensor.F32 || !x.Shape.Known() || len(x.Shape) < 2 {
		return nil, fmt.Errorf("ops: node %q (BatchNormalization): X %s%s, want concrete f32 [N, C, ...]", n.Name, x.DType, x.Shape)
	}
	k := &batchNormKernel{n: x.Shape[0], c: x.Shape[1], eps: n.Float("epsilon", 1e-5)}
	k.spatial = x.Shape.NumElements() / max(k.n*k.c, 1)
	consts := true
	for i := 1; i < 5; i++ {
		v := n.Input(i)
		if v == nil || v.DType != tensor.F32 || v.Shape.NumElements() != k.c {
			return nil, fmt.Errorf("ops: node %q (BatchNormalization): input %d must be f32[%d]", n.Name, i, k.c)
		}
		consts = consts && v.IsConst()
	}
	if consts {
		k.a, k.b = make([]float32, k.c), make([]float32, k.c)
		k.fold(k.a, k.b, n.Input(1).Const.F32(), n.Input(2).Const.F32(), n.Input(3).Const.F32(), n.Input(4).Const.F32())
	}
	return k, nil
}

func (k *batchNormKernel) fold(a, b, scale, bias, mean, variance []float32) {
	for i := range a {
		a[i] = float32(float64(scale[i]) / math.Sqrt(float64(variance[i])+float64(k.eps)))
		b[i] = bias[i] - mean[i]*a[i]
	}
}

func (k *batchNormKernel) ScratchBytes() int {
	if k.a != nil {
		return 0
	}
	return 8 * k.c
}

func (k *batchNormKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.y = in[0].F32(), out[0].F32()
	k.sa, k.sb = k.a, k.b
	if k.a == nil {
		s := bytesAsF32(ctx.Scratch)
		k.sa, k.sb = s[:k.c], s[k.c:2*k.c]
		k.fold(k.sa, k.sb, in[1].F32(), in[2].F32(), in[3].F32(), in[4].F32())
	}
	ctx.Pool.For(k.n*k.c, max(1, 4096/max(k.spatial, 1)), k)
	return nil
}

func (k *batchNormKernel) Do(lo, hi int) {
	for p := lo; p < hi; p++ {
		ch := p % k.c
		f32.ScaleShift(k.y[p*k.spatial:(p+1)*k.spatial], k.x[p*k.spatial:(p+1)*k.spatial], k.sa[ch], k.sb[ch])
	}
}
