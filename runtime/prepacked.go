package runtime

import (
	"fmt"
	"unsafe"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Packing is a weight as a kernel of a compiled program packed it: input Input of node Node of the
// program's graph (Program.Graph) in layout Layout (ops.WeightCache). With the graph, the packings are
// all a compiled model file needs to compile the program again without packing anything.
type Packing struct {
	Node, Input int
	Layout      string
	Data        []byte
}

// PackedWeight is a packing made earlier (Options.Prepacked): Weight, a constant of the graph being
// compiled, in Layout.
type PackedWeight struct {
	Weight *tensor.Tensor
	Layout string
	Data   []byte
	// Only says the weight exists only packed: its Data holds zeros of the right size (so nothing
	// reading it can fault), not the weight, and a kernel asking for another layout of it fails.
	Only bool
}

// Packings lists the packings the program's kernels hold, by node and input of Graph. The bytes are
// the program's own (or its Shared's): read-only, valid until the program is closed.
func (p *Program) Packings() []Packing { return p.packings }

// takenPack is a packing a kernel asked the store for while node was compiled.
type takenPack struct {
	w      *tensor.Tensor
	layout string
	data   []byte
}

// prepack puts packings made earlier into the store under the ids this compile gives their weights. A
// weight that exists only packed is named by its header's address: its zeros may be shared, and the
// header lives as long as the graph that holds it.
func (c *weightCtx) prepack(pws []PackedWeight) {
	for _, pw := range pws {
		if pw.Only {
			c.ids[pw.Weight] = weightID{uint64(uintptr(unsafe.Pointer(pw.Weight))), 1<<63 | 1<<62}
			c.absent[pw.Weight] = true
		}
		data := pw.Data
		c.store.product(c.id(pw.Weight), pw.Layout, func() [][]byte { return [][]byte{data} })
	}
}

// packingsOf resolves the packings node n's kernel took into Packings, by the input holding each
// weight. It must run before the weight releaser swaps n's constants for data-less headers.
func (c *weightCtx) packingsOf(node int, n *graph.Node) []Packing {
	taken := c.taken
	c.taken = nil
	var out []Packing
	for _, t := range taken {
		for j, v := range n.Inputs {
			if v.IsConst() && v.Const == t.w {
				out = append(out, Packing{Node: node, Input: j, Layout: t.layout, Data: t.data})
				break
			}
		}
	}
	return out
}

// missingPacking is the error of a kernel asking for a packing of a weight that exists only packed,
// in another layout: the file was compiled for kernels this process does not run.
func missingPacking(layout string) error {
	return fmt.Errorf("the weight exists only packed and not in layout %q (compiled for another CPU's kernels? convert the model again)", layout)
}
