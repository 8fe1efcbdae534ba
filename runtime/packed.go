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

// compileKernel compiles n. A kernel that repacks constant weights (Def.CompileCached) takes them from
// the compile's weight store: built once per store, or, for an Estimate, reserved and never written,
// so an estimate reads no weight page and allocates no packed copy.
func compileKernel(d *ops.Def, n *graph.Node, wc *weightCtx) (ops.Kernel, error) {
	if d.CompileCached != nil {
		return d.CompileCached(n, wc)
	}
	return d.Compile(n)
}
