package passes

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// FuseConvMaxPool folds a 3×3, stride-2 MaxPool padded by one into the convolution producing its
// input:
//
//	y = MaxPool(Conv(x, W, b) {activation=a})  =>  y = Conv(x, W, b) {activation=a, max_pool_3x3_s2=1}
//
// The convolution then pools the rows it computes while they are in cache and writes only the
// pooled quarter (ResNet's stem: a 64×112×112 intermediate, 3.2 MB, never written or read back). It
// applies when the Conv (or F16Conv) has no residual input, its output is read only by the MaxPool
// and is not a graph output, the MaxPool is 2-D with kernel 3×3, strides 2, pads 1 on every side,
// no dilation, floor rounding and no Indices output, and fusable (the kernels' own rule:
// ops.ConvMaxPoolFusable) accepts the Conv.
//
// It runs after the weight-precision rewrite, like FuseConvAdd: an int8 DynQConv keeps its MaxPool.
func FuseConvMaxPool(g *graph.Graph, fusable func(conv *graph.Node) bool) error {
	prod := g.Producers()
	dead := map[*graph.Node]bool{}
	for _, pool := range g.Nodes {
		if !maxPool3x3S2(pool) {
			continue
		}
		v := pool.Inputs[0]
		conv := prod[v]
		if conv == nil || dead[conv] || !residualConv(conv) || len(conv.Outputs) != 1 || conv.Outputs[0] != v ||
			len(conv.Inputs) > 3 || conv.Int(graph.AttrMaxPool3x3S2, 0) != 0 || useCount(g, v) != 1 ||
			v.DType != tensor.F32 || len(v.Shape) != 4 || !fusable(conv) {
			continue
		}
		conv.SetInt(graph.AttrMaxPool3x3S2, 1)
		conv.Outputs[0] = pool.Outputs[0]
		prod[pool.Outputs[0]] = conv
		dead[pool] = true
	}
	removeNodes(g, dead)
	return g.Validate()
}

// maxPool3x3S2 reports whether n is the MaxPool FuseConvMaxPool folds.
func maxPool3x3S2(n *graph.Node) bool {
	if n.Domain != "" || n.Op != "MaxPool" || len(n.Inputs) != 1 || n.Inputs[0] == nil || len(n.Outputs) != 1 || n.Outputs[0] == nil {
		return false
	}
	// every reports whether vals holds n values, each want.
	every := func(vals []int64, n int, want int64) bool {
		if len(vals) != n {
			return false
		}
		for _, v := range vals {
			if v != want {
				return false
			}
		}
		return true
	}
	dil := n.Ints("dilations", nil)
	return every(n.Ints("kernel_shape", nil), 2, 3) && every(n.Ints("strides", nil), 2, 2) &&
		every(n.Ints("pads", nil), 4, 1) && (dil == nil || every(dil, 2, 1)) &&
		n.Int("ceil_mode", 0) == 0 && n.Int("storage_order", 0) == 0 && n.Str("auto_pad", "NOTSET") == "NOTSET"
}
