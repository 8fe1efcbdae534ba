package ops

import "github.com/wanwu-ai/wanwu/graph"

// The fused-activation encoding is graph's (graph/activation.go), so that passes use it without
// importing the kernels; kernels and their tests name it unqualified.

type (
	ActKind    = graph.ActKind
	Activation = graph.Activation
)

const (
	ActNone        = graph.ActNone
	ActRelu        = graph.ActRelu
	ActClip        = graph.ActClip
	ActLeakyRelu   = graph.ActLeakyRelu
	ActSigmoid     = graph.ActSigmoid
	ActHardSigmoid = graph.ActHardSigmoid
	ActHardSwish   = graph.ActHardSwish
)

// ActivationOf reads a node's fused activation.
func ActivationOf(n *graph.Node) (Activation, error) { return graph.ActivationOf(n) }

// SetActivation records a fused activation on n.
func SetActivation(n *graph.Node, a Activation) { graph.SetActivation(n, a) }
