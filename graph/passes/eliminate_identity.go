package passes

import "github.com/wanwu-ai/wanwu/graph"

// EliminateIdentity removes Identity and Dropout nodes (Dropout is the identity at inference), rewiring
// their consumers to the input. Graph output names never change: when the node's output is a graph
// output, the producer of the input is made to write that output directly instead. A node whose input
// is a graph input or a constant and whose output is a graph output is kept (nothing to rename onto),
// as is a Dropout whose mask output is read.
func EliminateIdentity(g *graph.Graph) error {
	prod := g.Producers()
	dead := map[*graph.Node]bool{}
	for _, n := range g.Nodes {
		if n.Op != "Identity" && n.Op != "Dropout" {
			continue
		}
		in, out := n.Input(0), n.Outputs[0]
		if in == nil || out == nil {
			continue
		}
		if n.Op == "Dropout" && len(n.Outputs) > 1 && n.Outputs[1] != nil && useCount(g, n.Outputs[1]) > 0 {
			continue
		}
		if !g.IsOutput(out) {
			// x -> Identity -> y  =>  consumers of y read x
			replaceUses(g, out, in)
			dead[n] = true
			continue
		}
		p := prod[in]
		if p == nil || in.Const != nil || g.IsOutput(in) {
			continue
		}
		// p -> x -> Identity -> y(output)  =>  p writes y; readers of x read y
		for i, o := range p.Outputs {
			if o == in {
				p.Outputs[i] = out
			}
		}
		replaceUses(g, in, out)
		prod[out] = p
		delete(prod, in)
		dead[n] = true
	}
	removeNodes(g, dead)
	return nil
}
