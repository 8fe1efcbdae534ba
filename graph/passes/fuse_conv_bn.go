package passes

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// FuseConvBN folds BatchNormalization into the Conv before it:
//
//	y = BN(Conv(x, W, b))  =>  y = Conv(x, W', b')
//	s   = scale / sqrt(var + epsilon)        (per output channel c)
//	W'c = Wc * s[c]
//	b'c = (b[c] - mean[c]) * s[c] + beta[c]  (b = 0 when absent)
//
// It applies when W, b and all BN parameters are f32 constants, the Conv output is read only by the BN
// and is not a graph output, the Conv carries no fused activation, and the BN computes only its first
// output. W' and b' are new tensors in Go memory; the originals are left untouched (they may view a
// memory-mapped file, or be shared with the graph this one was cloned from).
func FuseConvBN(g *graph.Graph) error {
	prod := g.Producers()
	dead := map[*graph.Node]bool{}
	for _, bn := range g.Nodes {
		if bn.Op != "BatchNormalization" || len(bn.Inputs) < 5 {
			continue
		}
		if len(bn.Outputs) > 1 {
			extra := false
			for _, o := range bn.Outputs[1:] {
				if o != nil && useCount(g, o) > 0 {
					extra = true
				}
			}
			if extra {
				continue
			}
		}
		y := bn.Inputs[0]
		conv := prod[y]
		if conv == nil || conv.Op != "Conv" || dead[conv] || conv.Outputs[0] != y || conv.Str(graph.AttrActivation, "") != "" {
			continue
		}
		if useCount(g, y) != 1 {
			continue
		}
		w, b := conv.Input(1), conv.Input(2)
		if !constF32(w) || (b != nil && !constF32(b)) || len(w.Const.Shape) < 1 {
			continue
		}
		cout := w.Const.Shape[0]
		params := bn.Inputs[1:5]
		okParams := true
		for _, p := range params {
			if !constF32(p) || p.Const.NumElements() != cout {
				okParams = false
			}
		}
		if !okParams || (b != nil && b.Const.NumElements() != cout) {
			continue
		}
		eps := float64(bn.Float("epsilon", 1e-5))
		scale, beta, mean, variance := params[0].Const.F32(), params[1].Const.F32(), params[2].Const.F32(), params[3].Const.F32()

		nw := w.Const.Clone()
		wf := nw.F32()
		per := len(wf) / cout
		nb := tensor.New(tensor.F32, tensor.Shape{cout})
		bf := nb.F32()
		for c := 0; c < cout; c++ {
			s := float64(scale[c]) / math.Sqrt(float64(variance[c])+eps)
			for i := c * per; i < (c+1)*per; i++ {
				wf[i] = float32(float64(wf[i]) * s)
			}
			bias := 0.0
			if b != nil {
				bias = float64(b.Const.F32()[c])
			}
			bf[c] = float32((bias-float64(mean[c]))*s + float64(beta[c]))
		}
		conv.Inputs[1] = &graph.Value{Name: conv.Name + "_W_bn", DType: tensor.F32, Shape: nw.Shape.Clone(), Const: nw}
		bv := &graph.Value{Name: conv.Name + "_B_bn", DType: tensor.F32, Shape: tensor.Shape{cout}, Const: nb}
		if len(conv.Inputs) < 3 {
			conv.Inputs = append(conv.Inputs, bv)
		} else {
			conv.Inputs[2] = bv
		}
		// Conv now writes the BN's output; y disappears.
		conv.Outputs[0] = bn.Outputs[0]
		dead[bn] = true
	}
	removeNodes(g, dead)
	return nil
}

func constF32(v *graph.Value) bool { return v.IsConst() && v.Const.DType == tensor.F32 }
