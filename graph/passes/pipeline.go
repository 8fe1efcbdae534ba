// Package passes rewrites graphs before compilation: shape inference with constant folding, dead-code
// and identity elimination, and operator fusion. Each pass is one file; Optimize fixes their order.
package passes

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Pass is one graph rewrite.
type Pass struct {
	Name string
	Run  func(g *graph.Graph) error
}

// Pipeline lists the passes Optimize runs after shape inference, in order:
//   - identities go first so fusion patterns see producer -> consumer directly;
//   - dead code goes before fusion so "single consumer" checks are not fooled by unused readers;
//   - Conv+BN folds before activation fusion, since the activation follows the BN, not the Conv;
//   - a last dead-code sweep drops what fusion orphaned.
var Pipeline = []Pass{
	{"eliminate_identity", EliminateIdentity},
	{"eliminate_dead", EliminateDead},
	{"fuse_conv_bn", FuseConvBN},
	{"fuse_activation", FuseActivation},
	{"eliminate_dead", EliminateDead},
}

// Optimize fixes the input shapes, infers every shape (folding constant subgraphs on the way), then runs
// Pipeline. The graph is validated after every pass, so a broken rewrite is caught where it happens.
func Optimize(g *graph.Graph, ops Ops, inputShapes map[string]tensor.Shape) error {
	if err := g.Validate(); err != nil {
		return err
	}
	if err := InferShapes(g, ops, inputShapes); err != nil {
		return err
	}
	if err := g.Validate(); err != nil {
		return fmt.Errorf("passes: after infer_shapes: %w", err)
	}
	for _, p := range Pipeline {
		if err := p.Run(g); err != nil {
			return fmt.Errorf("passes: %s: %w", p.Name, err)
		}
		if err := g.Validate(); err != nil {
			return fmt.Errorf("passes: after %s: %w", p.Name, err)
		}
	}
	return nil
}

// replaceUses makes every node input and graph output that reads old read new instead.
func replaceUses(g *graph.Graph, old, new *graph.Value) {
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == old {
				n.Inputs[i] = new
			}
		}
	}
	for i, o := range g.Outputs {
		if o == old {
			g.Outputs[i] = new
		}
	}
}

// removeNodes drops the marked nodes, keeping order.
func removeNodes(g *graph.Graph, dead map[*graph.Node]bool) {
	if len(dead) == 0 {
		return
	}
	k := 0
	for _, n := range g.Nodes {
		if !dead[n] {
			g.Nodes[k] = n
			k++
		}
	}
	clear(g.Nodes[k:])
	g.Nodes = g.Nodes[:k]
}

// useCount counts how many times v is read: by node inputs and as a graph output.
func useCount(g *graph.Graph, v *graph.Value) int {
	c := 0
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in == v {
				c++
			}
		}
	}
	if g.IsOutput(v) {
		c++
	}
	return c
}

// isGraphInput reports whether v is one of g's inputs.
func isGraphInput(g *graph.Graph, v *graph.Value) bool {
	for _, in := range g.Inputs {
		if in == v {
			return true
		}
	}
	return false
}
