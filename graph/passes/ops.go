package passes

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Ops is the operator semantics shape inference and constant folding need. The passes take it as a
// value instead of importing package ops so that they stay portable graph rewrites that do not link
// the kernels; ops.Semantics is the engine's implementation.
type Ops interface {
	// Known reports whether n's op (in n's domain) is supported.
	Known(n *graph.Node) bool
	// Infer sets the dtypes and shapes of n's outputs; n's op is known.
	Infer(n *graph.Node) error
	// Eval computes n, whose inputs are all constant, into new tensors.
	Eval(n *graph.Node) ([]*tensor.Tensor, error)
}
