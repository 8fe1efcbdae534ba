package runtime

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/ops"
)

// packedBytes is the weight copy kernel k keeps for node n (ops kernels that repack report it).
func packedBytes(_ *graph.Node, k ops.Kernel) int {
	if pw, ok := k.(PackedWeights); ok {
		return pw.PackedBytes()
	}
	return 0
}

// compileKernel compiles n with the program's options. A kernel that repacks constant weights
// (Def.CompileWith) takes them from the compile's weight store (o.Weights): built once per store, or,
// for an Estimate, reserved and never written, so an estimate reads no weight page and allocates no
// packed copy.
func compileKernel(d *ops.Def, n *graph.Node, o ops.CompileOptions) (ops.Kernel, error) {
	if d.CompileWith != nil {
		return d.CompileWith(n, o)
	}
	return d.Compile(n)
}
