package passes

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// fusable producers: their kernels apply graph.ActivationOf to what they write.
var actProducers = map[string]bool{"Conv": true, "Gemm": true, "MatMul": true, "Add": true}

// FuseActivation folds an element-wise activation into the op producing its input:
//
//	y = Relu(Conv(x, W))  =>  y = Conv(x, W) {activation="Relu"}
//
// for producers Conv, Gemm, MatMul, Add (f32) and activations Relu, Clip (constant or absent min/max),
// LeakyRelu, HardSigmoid, HardSwish, Sigmoid, when the intermediate is read only by the activation, is
// not a graph output, and the producer has no activation yet.
func FuseActivation(g *graph.Graph) error {
	prod := g.Producers()
	dead := map[*graph.Node]bool{}
	for _, act := range g.Nodes {
		a, ok := activationOf(act)
		if !ok {
			continue
		}
		x := act.Input(0)
		p := prod[x]
		if x == nil || p == nil || dead[p] || !actProducers[p.Op] || p.Outputs[0] != x || len(p.Outputs) != 1 {
			continue
		}
		if x.DType != tensor.F32 || p.Str(graph.AttrActivation, "") != "" || useCount(g, x) != 1 {
			continue
		}
		graph.SetActivation(p, a)
		p.Outputs[0] = act.Outputs[0]
		prod[act.Outputs[0]] = p
		dead[act] = true
	}
	removeNodes(g, dead)
	return nil
}

// activationOf recognises an activation node and reads its parameters with ONNX defaults.
func activationOf(n *graph.Node) (graph.Activation, bool) {
	switch n.Op {
	case "Relu":
		return graph.Activation{Kind: graph.ActRelu}, true
	case "Sigmoid":
		return graph.Activation{Kind: graph.ActSigmoid}, true
	case "HardSwish":
		return graph.Activation{Kind: graph.ActHardSwish}, true
	case "LeakyRelu":
		return graph.Activation{Kind: graph.ActLeakyRelu, Alpha: n.Float("alpha", 0.01)}, true
	case "HardSigmoid":
		return graph.Activation{Kind: graph.ActHardSigmoid, Alpha: n.Float("alpha", 0.2), Beta: n.Float("beta", 0.5)}, true
	case "Clip":
		// Opset < 11 kept min/max as attributes; later ones as optional constant inputs.
		lo := n.Float("min", float32(math.Inf(-1)))
		hi := n.Float("max", float32(math.Inf(1)))
		for i, dst := range []*float32{&lo, &hi} {
			v := n.Input(i + 1)
			if v == nil {
				continue
			}
			if !constF32(v) || v.Const.NumElements() != 1 {
				return graph.Activation{}, false
			}
			*dst = v.Const.F32()[0]
		}
		return graph.Activation{Kind: graph.ActClip, Min: lo, Max: hi}, true
	}
	return graph.Activation{}, false
}
