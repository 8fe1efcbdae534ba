package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// LayerNormalization (opset 17): each row of X flattened at axis is normalised to zero mean and unit
// variance, then scaled and shifted: Y = (x - mean) / sqrt(var + epsilon) * Scale + B. The optional
// outputs Mean and InvStdDev have X's shape with the normalised dims set to 1. Statistics are
// accumulated in float64 (stash_type 1 asks for at least float32), so long rows lose nothing.

type layerNormKernel struct {
	rows, cols   int
	eps          float64
	scaleN, bN   int // element counts of Scale and B: cols, or 1 (broadcast scalar); bN 0 = no B
	x, y, s, b   []float32
	mean, invStd []float32
}

func (k *layerNormKernel) ScratchBytes() int { return 0 }

func (k *layerNormKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.y, k.s = elems[float32](in[0]), elems[float32](out[0]), elems[float32](in[1])
	k.b, k.mean, k.invStd = nil, nil, nil
	if k.bN > 0 {
		k.b = elems[float32](in[2])
	}
	if len(out) > 1 && out[1] != nil {
		k.mean = elems[float32](out[1])
	}
	if len(out) > 2 && out[2] != nil {
		k.invStd = elems[float32](out[2])
	}
	ctx.pool().For(k.rows, max(1, 16384/max(1, k.cols)), k)
	return nil
}

// Do normalises rows [lo, hi).
func (k *layerNormKernel) Do(lo, hi int) {
	for r := lo; r < hi; r++ {
		x, y := k.x[r*k.cols:(r+1)*k.cols], k.y[r*k.cols:(r+1)*k.cols]
		mean, variance := meanVariance(x)
		inv := 1 / math.Sqrt(variance+k.eps)
		for i, v := range x {
			s := k.s[0]
			if k.scaleN > 1 {
				s = k.s[i]
			}
			o := float32((float64(v)-mean)*inv) * s
			switch k.bN {
			case 1:
				o += k.b[0]
			case 0:
			default:
				o += k.b[i]
			}
			y[i] = o
		}
		if k.mean != nil {
			k.mean[r] = float32(mean)
		}
		if k.invStd != nil {
			k.invStd[r] = float32(inv)
		}
	}
}

func inferLayerNorm(n *graph.Node) error {
	if err := needInputs(n, 2); err != nil {
		return err
	}
	x := n.Inputs[0]
	setOut(n, 0, x.DType, x.Shape.Clone())
	if len(n.Outputs) < 2 {
		return nil
	}
	var stats tensor.Shape
	if x.Shape != nil {
		ax, err := normAxis(n, n.Int("axis", -1), len(x.Shape))
		if err != nil {
			return err
		}
		stats = x.Shape.Clone()
		for i := ax; i < len(stats); i++ {
			stats[i] = 1
		}
	}
	for i := 1; i < len(n.Outputs) && i < 3; i++ {
		setOut(n, i, x.DType, stats.Clone())
	}
	return nil
}

// paramCount checks that a Scale or B shape broadcasts to the normalised shape in one of the two
// ways exporters produce: exactly the normalised dims (with optional leading 1s) or a single element.
func paramCount(n *graph.Node, what string, p, norm tensor.Shape) (int, error) {
	cnt := p.NumElements()
	if cnt == 1 {
		return 1, nil
	}
	trim := p
	for len(trim) > len(norm) && trim[0] == 1 {
		trim = trim[1:]
	}
	for len(trim) < len(norm) {
		trim = append(tensor.Shape{1}, trim...)
	}
	if !trim.Equal(norm) {
		return 0, errf(n, "%s shape %s does not match the normalised shape %s", what, p, norm)
	}
	return cnt, nil
}

func compileLayerNorm(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	if x.DType != tensor.F32 || n.Inputs[1].DType != tensor.F32 {
		return nil, errf(n, "unsupported dtype %s (float32 only)", x.DType)
	}
	ax, err := normAxis(n, n.Int("axis", -1), len(x.Shape))
	if err != nil {
		return nil, err
	}
	k := &layerNormKernel{rows: 1, cols: 1, eps: float64(n.Float("epsilon", 1e-5))}
	for _, d := range x.Shape[:ax] {
		k.rows *= d
	}
	norm := x.Shape[ax:]
	for _, d := range norm {
		k.cols *= d
	}
	if k.scaleN, err = paramCount(n, "Scale", n.Inputs[1].Shape, norm); err != nil {
		return nil, err
	}
	if b := n.Input(2); b != nil {
		if b.DType != tensor.F32 {
			return nil, errf(n, "unsupported B dtype %s", b.DType)
		}
		if k.bN, err = paramCount(n, "B", b.Shape, norm); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func init() {
	Register("LayerNormalization", &Def{Infer: inferLayerNorm, Compile: compileLayerNorm})
}

// meanVariance returns the mean and the (population) variance of x in float64. Two passes (mean, then
// centred squares) keep the variance exact where E[x²]-E[x]² would cancel.
func meanVariance(x []float32) (mean, variance float64) {
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	mean = sum / float64(len(x))
	var sq float64
	for _, v := range x {
		d := float64(v) - mean
		sq += d * d
	}
	return mean, sq / float64(len(x))
}
