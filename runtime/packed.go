package runtime

import (
	goruntime "runtime"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
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
	if w := n.Input(1); w == nil || w.DType != tensor.F32 {
		return 0
	}
	return 4 * convPackedElems(n)
}

// convPackedElems is the number of elements of the f32.PackA panels (f32, or f16 for an f16 W) the
// f32 Conv kernel packs a constant W into; 0 for depthwise or malformed convolutions.
func convPackedElems(n *graph.Node) int {
	x, w := n.Input(0), n.Input(1)
	if x == nil || w == nil || !w.IsConst() || len(w.Shape) < 3 || !x.Shape.Known() || len(x.Shape) < 2 {
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
	mg := w.Shape[0] / groups
	k := tensor.Shape(w.Shape[1:]).NumElements()
	return groups * f32.PackedALen(mg, k)
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
//
// An f16 W (fp16 precision) is estimated the same way, from the f32 kernel's plan: the f16 kernel keeps
// its packing in halves (half the bytes) and, instead of packing W at Run, gives each worker slot an
// f32.Widen16Len widening buffer (ops/conv.go); TestEstimateMatchesCompile checks both.
func compileKernel(d *ops.Def, n *graph.Node, estimate bool) (ops.Kernel, error) {
	packed, half := 0, false
	if estimate && n.Op == "Conv" {
		if w := n.Input(1); w != nil && w.DType == tensor.F16 {
			half = true
		}
		packed = 4 * convPackedElems(n)
	}
	if packed == 0 {
		return d.Compile(n)
	}
	lite := *n
	lite.Inputs = append([]*graph.Value(nil), n.Inputs...)
	w := *n.Inputs[1]
	w.Const, w.DType = nil, tensor.F32
	lite.Inputs[1] = &w
	k, err := d.Compile(&lite)
	if err != nil || k == nil {
		return k, err
	}
	s := k.ScratchBytes() - packed
	if s < 0 {
		panic("runtime: Conv estimate: scratch smaller than the packed weights; convPackedBytes is out of date")
	}
	if half {
		s += 4 * goruntime.GOMAXPROCS(0) * f32.Widen16Len()
		packed /= 2
	}
	return estimateKernel{Kernel: k, scratch: s, packed: packed}, nil
}
