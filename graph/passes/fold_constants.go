package passes

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
)

// FoldConstants evaluates and removes every node whose inputs are all constant, in order, so chains of
// constant nodes fold completely. InferShapes already does this while it walks; this pass is for
// graphs whose shapes are known already.
func FoldConstants(g *graph.Graph, o Ops) error {
	folded := map[*graph.Node]bool{}
	for _, n := range g.Nodes {
		ok, err := foldNode(o, n)
		if err != nil {
			return err
		}
		if ok {
			folded[n] = true
		}
	}
	removeNodes(g, folded)
	return nil
}

// foldNode turns n's outputs into constants when that is possible without running the graph:
// either Infer already set every output's Const (Shape of a known shape, say), or every input is
// constant and ops.Eval computes them. It reports whether n can be removed. The folded tensors live
// in Go memory.
func foldNode(ops Ops, n *graph.Node) (bool, error) {
	allOut := len(n.Outputs) > 0
	for _, o := range n.Outputs {
		if o != nil && o.Const == nil {
			allOut = false
		}
	}
	if allOut {
		return true, nil
	}
	for _, in := range n.Inputs {
		if in != nil && in.Const == nil {
			return false, nil
		}
	}
	if len(n.Inputs) == 0 && !ops.Known(n) {
		return false, nil
	}
	if !foldable(n) {
		return false, nil
	}
	out, err := ops.Eval(n)
	if err != nil {
		return false, fmt.Errorf("passes: fold constant node %q (%s): %w", n.Name, n.Op, err)
	}
	for i, o := range n.Outputs {
		if o != nil {
			o.Const = out[i]
			o.DType = out[i].DType
			o.Shape = out[i].Shape.Clone()
		}
	}
	return true, nil
}

// foldMinBytes and foldGrowth bound what folding may allocate: a node is folded when its outputs take
// at most foldMinBytes, or at most foldGrowth times its constant inputs (weights dequantized from int8
// grow 4x, transposed or cast ones 1-2x). A node that would expand small inputs into a large tensor
// (ConstantOfShape, Expand, Tile or Range with hostile sizes) stays in the graph: its output is then
// planned in the arena like any activation, so the memory budget sees it before anything is allocated.
const (
	foldMinBytes = 16 << 20
	foldGrowth   = 8
)

// foldable reports whether evaluating n stays within the folding bound; shapes must be inferred.
func foldable(n *graph.Node) bool {
	in := 0
	for _, v := range n.Inputs {
		if v != nil && v.Const != nil {
			in += len(v.Const.Data)
		}
	}
	out := 0
	for _, o := range n.Outputs {
		if o == nil {
			continue
		}
		if !o.Shape.Known() {
			return true // Ops.Eval reports it
		}
		b, err := o.Shape.Bytes(o.DType)
		if err != nil {
			return false
		}
		out += b
	}
	return out <= foldMinBytes || out/foldGrowth <= in
}
