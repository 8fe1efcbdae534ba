package passes

import (
	"fmt"
	"slices"
	"sort"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// InferShapes fixes graph input shapes from inputShapes (name -> shape), then walks the nodes in order
// calling each op's Infer. A node whose inputs are all constant is evaluated right away and removed
// (see foldNode), so shape-computing subgraphs (Shape -> Gather -> Concat -> Reshape) collapse into
// constants and later Reshape targets become known.
//
// A given shape must have the input's rank and agree with its fixed dims; only dynamic dims (< 0) may
// change. Names not among the graph inputs, and unsupported ops, are errors, and so is any shape, given
// or inferred, whose bytes exceed tensor.MaxBytes (checked without overflow), so that nothing after
// inference computes a size that wraps.
func InferShapes(g *graph.Graph, ops Ops, inputShapes map[string]tensor.Shape) error {
	if err := setInputShapes(g, inputShapes); err != nil {
		return err
	}
	folded := map[*graph.Node]bool{}
	for _, n := range g.Nodes {
		if !ops.Known(n) {
			return fmt.Errorf("passes: unsupported op %s (node %q)", n.Op, n.Name)
		}
		if err := ops.Infer(n); err != nil {
			return fmt.Errorf("passes: infer shapes of node %q (%s): %w", n.Name, n.Op, err)
		}
		for _, o := range n.Outputs {
			if o == nil || o.Shape == nil {
				continue
			}
			if _, err := o.Shape.Bytes(o.DType); err != nil {
				return fmt.Errorf("passes: node %q (%s): output %q: %w", n.Name, n.Op, o.Name, err)
			}
		}
		ok, err := foldNode(ops, n)
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

func setInputShapes(g *graph.Graph, shapes map[string]tensor.Shape) error {
	names := make([]string, 0, len(shapes))
	for name := range shapes {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic error for several bad names
	for _, name := range names {
		want := shapes[name]
		i := slices.IndexFunc(g.Inputs, func(v *graph.Value) bool { return v.Name == name })
		if i < 0 {
			have := make([]string, len(g.Inputs))
			for j, v := range g.Inputs {
				have[j] = v.Name
			}
			return fmt.Errorf("passes: no graph input named %q (inputs: %q)", name, have)
		}
		in := g.Inputs[i]
		if !want.Known() {
			return fmt.Errorf("passes: shape %s given for input %q has unknown dims", want, name)
		}
		if _, err := want.Bytes(in.DType); err != nil {
			return fmt.Errorf("passes: input %q: %w", name, err)
		}
		if in.Shape != nil {
			if len(in.Shape) != len(want) {
				return fmt.Errorf("passes: input %q has rank %d (%s), shape %s given", name, len(in.Shape), in.Shape, want)
			}
			for d := range want {
				if in.Shape[d] >= 0 && in.Shape[d] != want[d] {
					return fmt.Errorf("passes: input %q dim %d is fixed at %d (shape %s), %d given", name, d, in.Shape[d], in.Shape, want[d])
				}
			}
		}
		in.Shape = want.Clone()
	}
	return nil
}
