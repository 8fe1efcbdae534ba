package runtime

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/tensor"
)

// convPackedBytes is what the f32 Conv kernel allocates in Compile for a constant weight: one
// f32.PackA panel set per group (depthwise convolutions read W as it is). The kernel does not report
// it (it does not implement PackedWeights), so the runtime accounts for it here; a kernel that does
// implement PackedWeights is trusted instead.
func convPackedBytes(n *graph.Node) int {
	if n.Op != "Conv" {
		return 0
	}
	x, w := n.Input(0), n.Input(1)
	if x == nil || w == nil || !w.IsConst() || w.DType != tensor.F32 || len(w.Shape) < 3 || !x.Shape.Known() || len(x.Shape) < 2 {
		return 0
	}
	groups := int(n.Int("group", 1))
	if groups < 1 || w.Shape[0]%groups != 0 {
		return 0
	}
	cpg := w.Shape[1] // input channels per group
	if cpg == 1 && groups > 1 {
		return 0 // depthwise
	}
	return ops.ConvPackedBytes(n) // Winograd U or PackA panels, decided from shapes as Compile does
}

// packedBytes is the weight copy kernel k keeps for node n.
func packedBytes(n *graph.Node, k ops.Kernel) int {
	if pw, ok := k.(PackedWeights); ok {
		return pw.PackedBytes()
	}
	return convPackedBytes(n)
}

// estimateKernel stands in for a kernel compiled by Estimate without its weight copy: Run is never
// called, ScratchBytes is what the real kernel would ask for and PackedBytes what it would allocate.
type estimateKernel struct {
	ops.Kernel
	scratch, packed int
}

func (k estimateKernel) ScratchBytes() int { return k.scratch }
func (k estimateKernel) PackedBytes() int  { return k.packed }

// PackedInputs: the real kernel packs W (ops.InputsPacker).
func (k estimateKernel) PackedInputs() []int { return []int{1} }

// compileKernel compiles n. With estimate set, a Conv whose constant weights the kernel would repack
// (allocating and writing a copy as large as the weights) is compiled with W made non-constant instead,
// which makes the kernel plan to pack W into scratch at Run; that scratch share is then moved back to
// PackedBytes. The plan comes out identical and Estimate allocates no weight copies and reads no weight
// pages, so it can run before a budgeted load.
func compileKernel(d *ops.Def, n *graph.Node, estimate bool) (ops.Kernel, error) {
	packed := 0
	if estimate {
		packed = convPackedBytes(n)
	}
	if packed == 0 {
		return d.Compile(n)
	}
	lite := *n
	lite.Inputs = append([]*graph.Value(nil), n.Inputs...)
	w := *n.Inputs[1]
	w.Const = nil
	lite.Inputs[1] = &w
	k, err := d.Compile(&lite)
	if err != nil || k == nil {
		return k, err
	}
	s := k.ScratchBytes() - packed
	if s < 0 {
		panic("runtime: Conv estimate: scratch smaller than the packed weights; convPackedBytes is out of date")
	}
	return estimateKernel{Kernel: k, scratch: s, packed: packed}, nil
}
