package passes

import "github.com/wanwu-ai/wanwu/graph"

// EliminateDead removes nodes none of whose outputs reach a graph output. Constants live only as node
// inputs in this IR, so constants read solely by dead nodes are dropped with them (and their memory
// becomes collectable once the original graph lets go). Graph inputs stay, even when unused, so the
// program's calling convention does not depend on the model's internals.
func EliminateDead(g *graph.Graph) error {
	live := map[*graph.Value]bool{}
	for _, o := range g.Outputs {
		live[o] = true
	}
	dead := map[*graph.Node]bool{}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		used := false
		for _, o := range n.Outputs {
			if o != nil && live[o] {
				used = true
			}
		}
		if !used {
			dead[n] = true
			continue
		}
		for _, in := range n.Inputs {
			if in != nil {
				live[in] = true
			}
		}
	}
	removeNodes(g, dead)
	return nil
}
