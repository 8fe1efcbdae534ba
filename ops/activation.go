package ops

import (
	"fmt"
	"math"

	"github.com/wanwu-ai/wanwu/graph"
)

// Fused activations: a producer (Conv, Gemm, MatMul, Add, QLinear*) may carry attribute "activation"
// naming the activation applied to its output, with "activation_min"/"activation_max" for Clip and
// "activation_alpha" ("activation_beta") for LeakyRelu/HardSigmoid. The fusion pass and the TFLite importer
// (fused_activation_function) write these; kernels read them with ActivationOf.

// ActKind is a fused activation kind.
type ActKind uint8

const (
	ActNone ActKind = iota
	ActRelu
	ActClip
	ActLeakyRelu
	ActSigmoid
	ActHardSigmoid
	ActHardSwish
)

// Activation is a fused element-wise activation.
type Activation struct {
	Kind        ActKind
	Min, Max    float32 // Clip bounds
	Alpha, Beta float32 // LeakyRelu alpha; HardSigmoid alpha, beta
}

var actNames = map[string]ActKind{
	"": ActNone, "Relu": ActRelu, "Clip": ActClip, "LeakyRelu": ActLeakyRelu,
	"Sigmoid": ActSigmoid, "HardSigmoid": ActHardSigmoid, "HardSwish": ActHardSwish,
}

// ActivationOf reads a node's fused activation.
func ActivationOf(n *graph.Node) (Activation, error) {
	name := n.Str("activation", "")
	k, ok := actNames[name]
	if !ok {
		return Activation{}, fmt.Errorf("ops: node %q: unknown fused activation %q", n.Name, name)
	}
	a := Activation{Kind: k,
		Min:   n.Float("activation_min", float32(math.Inf(-1))),
		Max:   n.Float("activation_max", float32(math.Inf(1))),
		Alpha: n.Float("activation_alpha", 0.01),
		Beta:  n.Float("activation_beta", 0.5),
	}
	if k == ActHardSigmoid && !n.Has("activation_alpha") {
		a.Alpha = 0.2
	}
	return a, nil
}

// SetActivation records a fused activation on n.
func SetActivation(n *graph.Node, a Activation) {
	for name, k := range actNames {
		if k == a.Kind {
			n.SetStr("activation", name)
		}
	}
	switch a.Kind {
	case ActClip:
		n.SetFloat("activation_min", a.Min)
		n.SetFloat("activation_max", a.Max)
	case ActLeakyRelu, ActHardSigmoid:
		n.SetFloat("activation_alpha", a.Alpha)
		n.SetFloat("activation_beta", a.Beta)
	}
}

// Apply applies the activation to x in place.
func (a Activation) Apply(x []float32) {
	switch a.Kind {
	case ActNone:
	case ActRelu:
		// max compiles to a branch-free MAXSS; an if mispredicts on mixed-sign activations.
		for i, v := range x {
			x[i] = max(v, 0)
		}
	case ActClip:
		for i, v := range x {
			x[i] = min(max(v, a.Min), a.Max)
		}
	case ActLeakyRelu:
		for i, v := range x {
			if v < 0 {
				x[i] = v * a.Alpha
			}
		}
	case ActSigmoid:
		for i, v := range x {
			x[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	case ActHardSigmoid:
		for i, v := range x {
			x[i] = min(max(a.Alpha*v+a.Beta, 0), 1)
		}
	case ActHardSwish:
		for i, v := range x {
			x[i] = v * min(max(v/6+0.5, 0), 1)
		}
	}
}
