package graph

import (
	"fmt"
	"math"
)

// Fused activations: a producer (Conv, Gemm, MatMul, Add, QLinear*) may carry attribute AttrActivation
// naming the activation applied to its output, with AttrActivationMin/Max for Clip and
// AttrActivationAlpha (Beta) for LeakyRelu/HardSigmoid. The fusion pass and the TFLite importer
// (fused_activation_function) write these; kernels read them with ActivationOf. The encoding lives
// here, beside the attribute names, so that passes read and write it without importing the kernels.

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

// ActKindNamed returns the kind AttrActivation value name stands for.
func ActKindNamed(name string) (ActKind, bool) {
	k, ok := actNames[name]
	return k, ok
}

var actNames = map[string]ActKind{
	"": ActNone, "Relu": ActRelu, "Clip": ActClip, "LeakyRelu": ActLeakyRelu,
	"Sigmoid": ActSigmoid, "HardSigmoid": ActHardSigmoid, "HardSwish": ActHardSwish,
}

// ActivationOf reads a node's fused activation.
func ActivationOf(n *Node) (Activation, error) {
	name := n.Str(AttrActivation, "")
	k, ok := actNames[name]
	if !ok {
		return Activation{}, fmt.Errorf("graph: node %q: unknown fused activation %q", n.Name, name)
	}
	a := Activation{Kind: k,
		Min:   n.Float(AttrActivationMin, float32(math.Inf(-1))),
		Max:   n.Float(AttrActivationMax, float32(math.Inf(1))),
		Alpha: n.Float(AttrActivationAlpha, 0.01),
		Beta:  n.Float(AttrActivationBeta, 0.5),
	}
	if k == ActHardSigmoid && !n.Has(AttrActivationAlpha) {
		a.Alpha = 0.2
	}
	return a, nil
}

// SetActivation records a fused activation on n.
func SetActivation(n *Node, a Activation) {
	for name, k := range actNames {
		if k == a.Kind {
			n.SetStr(AttrActivation, name)
		}
	}
	switch a.Kind {
	case ActClip:
		n.SetFloat(AttrActivationMin, a.Min)
		n.SetFloat(AttrActivationMax, a.Max)
	case ActLeakyRelu, ActHardSigmoid:
		n.SetFloat(AttrActivationAlpha, a.Alpha)
		n.SetFloat(AttrActivationBeta, a.Beta)
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

// ClampBounds reports whether the activation is a clamp a GEMM epilogue can apply (Relu, Clip), and
// its bounds.
func (a Activation) ClampBounds() (ok bool, lo, hi float32) {
	switch a.Kind {
	case ActRelu:
		return true, 0, float32(math.Inf(1))
	case ActClip:
		return true, a.Min, a.Max
	}
	return false, 0, 0
}
