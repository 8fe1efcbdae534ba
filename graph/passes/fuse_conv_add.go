package passes

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// residualConv reports whether n's kernel (ops.Conv) takes a residual input Z after X, W and B.
func residualConv(n *graph.Node) bool {
	return n.Domain == "" && n.Op == "Conv" || n.Domain == graph.ExtDomain && n.Op == graph.OpF16Conv
}

// FuseConvAdd folds a residual Add into the convolution producing one of its operands:
//
//	y = Add(Conv(x, W, b), z) {activation=a}  =>  y = Conv(x, W, b, z) {activation=a}
//
// The convolution then adds z in the epilogue of its last k block, while the tile is still in
// registers, and applies a after it: the separate Add pass over y (read y and z, write y: three
// activation-sized streams per residual block) disappears. It applies when both Add operands are f32 of
// the output's exact shape (no broadcasting), the Conv (or F16Conv) has no activation and no residual
// input yet, and its output is read only by the Add and is not a graph output. When both operands
// qualify, the Conv that comes later in node order is fused. The fused node takes the Add's place in
// node order, so z is computed before it runs.
//
// It runs after the weight-precision rewrite (runtime compiles it last): an int8 DynQConv keeps its
// Add.
func FuseConvAdd(g *graph.Graph) error {
	prod := g.Producers()
	index := make(map[*graph.Node]int, len(g.Nodes))
	for i, n := range g.Nodes {
		index[n] = i
	}
	dead := map[*graph.Node]bool{}
	for ai, add := range g.Nodes {
		if add.Op != "Add" || len(add.Inputs) != 2 || len(add.Outputs) != 1 || add.Outputs[0] == nil {
			continue
		}
		y := add.Outputs[0]
		if y.DType != tensor.F32 || !y.Shape.Known() {
			continue
		}
		var conv *graph.Node
		var z *graph.Value
		for i, v := range add.Inputs {
			c := prod[v]
			if !fusableResidualConv(g, c, v, y) || dead[c] || !sameValueShape(add.Inputs[1-i], y) {
				continue
			}
			if conv == nil || index[c] > index[conv] {
				conv, z = c, add.Inputs[1-i]
			}
		}
		if conv == nil {
			continue
		}
		a, err := graph.ActivationOf(add)
		if err != nil {
			continue // Compile reports it
		}
		for len(conv.Inputs) < 3 {
			conv.Inputs = append(conv.Inputs, nil)
		}
		conv.Inputs = append(conv.Inputs, z)
		conv.Outputs[0] = y
		if a.Kind != graph.ActNone {
			graph.SetActivation(conv, a)
		}
		prod[y] = conv
		// The conv moves to the Add's slot: every input it reads is computed before either.
		g.Nodes[ai] = conv
		g.Nodes[index[conv]] = add
		index[add], index[conv] = index[conv], ai
		dead[add] = true
	}
	removeNodes(g, dead)
	return g.Validate()
}

// fusableResidualConv reports whether c, the producer of v (an operand of an Add whose output is y),
// can take the Add's other operand as its residual input.
func fusableResidualConv(g *graph.Graph, c *graph.Node, v, y *graph.Value) bool {
	if c == nil || !residualConv(c) || len(c.Outputs) != 1 || c.Outputs[0] != v || len(c.Inputs) > 3 {
		return false
	}
	if c.Str(graph.AttrActivation, "") != "" || !sameValueShape(v, y) || useCount(g, v) != 1 {
		return false
	}
	return true
}

func sameValueShape(v, y *graph.Value) bool {
	return v != nil && v.DType == tensor.F32 && v.Shape.Known() && v.Shape.Equal(y.Shape)
}
