package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Helpers for the Def.MACs of the matrix ops, each defined in its op's file.

// outElems is the element count of n's output 0, or -1 while it is unknown.
func outElems(n *graph.Node) int64 {
	if len(n.Outputs) == 0 || n.Outputs[0] == nil || !n.Outputs[0].Shape.Known() {
		return -1
	}
	return int64(n.Outputs[0].Shape.NumElements())
}

// dimOf is v's dim i, or 0 when v or that dim is absent or unknown.
func dimOf(v *graph.Value, i int) int64 {
	if v == nil || i < 0 || i >= len(v.Shape) || v.Shape[i] < 0 {
		return 0
	}
	return int64(v.Shape[i])
}

// weightMACs is the MACs of a convolution-like op with weight w ([M, C/group, k...]): every output
// element takes one dot product over w's trailing dims.
func weightMACs(n *graph.Node, w *graph.Value) int64 {
	outN := outElems(n)
	if outN < 0 || w == nil || !w.Shape.Known() || len(w.Shape) < 2 {
		return 0
	}
	return outN * int64(tensor.Shape(w.Shape[1:]).NumElements())
}

// lastDimMACs is the MACs of a matrix product whose reduction runs over a's last dim.
func lastDimMACs(n *graph.Node, a *graph.Value) int64 {
	outN := outElems(n)
	if outN < 0 || a == nil {
		return 0
	}
	return outN * dimOf(a, len(a.Shape)-1)
}
