package runtime

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/tensor"
)

// weightReleaser keeps weights from being held twice while and after a program is compiled.
//
// Compiling reads constants: passes fold them (Conv+BN) into new tensors, kernels pack them into their
// layouts. What was read stays resident — Go memory for a folded copy, page cache mapped into the
// process for a memory-mapped model file — although nothing will read it again. So, as compilation goes:
//   - source constants the optimized graph no longer uses (folded away) have their file pages released
//     (graph.RangeReleaser) before kernels are compiled;
//   - once the last consumer of a constant has packed it (ops.InputsPacker), the constant loses its data
//     in the compiled graph (freeing a folded copy) and its file pages are released;
//   - small constants the program keeps reading (biases, BN and shape constants) are copied out of the
//     mapping: reading a few bytes of a mapped file faults in tens of KiB around them (fault-around and
//     readahead), which over a model's biases adds up to the size of many layers.
//
// A released range stays valid: if anything touches it again (another compile of the same graph), the
// kernel reads it back from the file.
type weightReleaser struct {
	rel      graph.RangeReleaser // nil when the source memory cannot release pages
	src      map[*tensor.Tensor]bool
	lastUse  map[*graph.Value]int // index of the last node reading each constant
	unpacked map[*graph.Value]bool
	wc       *weightCtx // copies small constants once per store
	// keepPrivate keeps the data of constants packed only by kernels for themselves (Options.Exportable).
	keepPrivate bool
}

// smallConst is the size below which a constant the program reads is copied out of a mapped file.
const smallConst = 64 << 10

// newWeightReleaser prepares releasing for compiling g (optimized from src). With release false
// (Estimate) no page is touched or released, but packed constants still lose their data in g, so the
// weight bytes Estimate reports match a compiled program's.
func newWeightReleaser(src, g *graph.Graph, release bool, wc *weightCtx) *weightReleaser {
	r := &weightReleaser{src: map[*tensor.Tensor]bool{}, lastUse: map[*graph.Value]int{}, unpacked: map[*graph.Value]bool{}, wc: wc}
	if release {
		r.rel, _ = src.Backing.(graph.RangeReleaser)
	}
	if r.rel != nil {
		for _, n := range src.Nodes {
			for _, v := range n.Inputs {
				if v.IsConst() {
					r.src[v.Const] = true
				}
			}
		}
	}
	used := map[*tensor.Tensor]bool{}
	for i, n := range g.Nodes {
		for _, v := range n.Inputs {
			if v.IsConst() {
				used[v.Const] = true
				r.lastUse[v] = i
			}
		}
	}
	for _, v := range g.Outputs {
		if v.IsConst() {
			used[v.Const] = true
			r.lastUse[v] = len(g.Nodes)
		}
	}
	for t := range r.src {
		if !used[t] {
			r.rel.ReleaseRange(t.Data)
		}
	}
	return r
}

// compiled is called after node i's kernel k is compiled.
func (r *weightReleaser) compiled(i int, n *graph.Node, k ops.Kernel) {
	var packed []int
	if p, ok := k.(ops.InputsPacker); ok {
		packed = p.PackedInputs()
	}
	for j, v := range n.Inputs {
		if !v.IsConst() {
			continue
		}
		if !contains(packed, j) {
			r.unpacked[v] = true
		}
		if r.lastUse[v] != i {
			continue
		}
		t := v.Const
		if !r.unpacked[v] && r.keepPrivate && !r.wc.storePacked[t] {
			continue
		}
		if !r.unpacked[v] {
			v.Const = &tensor.Tensor{DType: t.DType, Shape: t.Shape} // every reader packed it
		} else if r.rel != nil && r.src[t] && len(t.Data) <= smallConst {
			v.Const = &tensor.Tensor{DType: t.DType, Shape: t.Shape.Clone(), Data: r.wc.copyOf(t)}
		} else {
			continue
		}
		if r.rel != nil && r.src[t] {
			r.rel.ReleaseRange(t.Data)
		}
	}
}

func contains(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
