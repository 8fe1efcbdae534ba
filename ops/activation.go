package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Less common element-wise activations that user exports contain: Elu, Selu, Softplus, Softsign,
// Gelu (opset 20; torch exports it as Erf arithmetic below that), Mish (opset 18), ThresholdedRelu.
// Each is unaryKernel with a per-element function; defaults follow the ONNX spec.

func moreUnaryF32(n *graph.Node) func(d, x []float32) {
	switch n.Op {
	case "Elu":
		alpha := float64(n.Float("alpha", 1))
		return f64(func(v float64) float64 {
			if v < 0 {
				return alpha * math.Expm1(v)
			}
			return v
		})
	case "Selu":
		alpha, gamma := float64(n.Float("alpha", 1.67326319217681884765625)), float64(n.Float("gamma", 1.05070102214813232421875))
		return f64(func(v float64) float64 {
			if v <= 0 {
				return gamma * alpha * math.Expm1(v)
			}
			return gamma * v
		})
	case "Softplus":
		return f64(softplus)
	case "Softsign":
		return f64(func(v float64) float64 { return v / (1 + math.Abs(v)) })
	case "Mish":
		return f64(func(v float64) float64 { return v * math.Tanh(softplus(v)) })
	case "ThresholdedRelu":
		alpha := n.Float("alpha", 1)
		return mapF32(func(v float32) float32 {
			if v > alpha {
				return v
			}
			return 0
		})
	case "Gelu":
		if n.Str("approximate", "none") == "tanh" {
			c := math.Sqrt(2 / math.Pi)
			return f64(func(v float64) float64 { return 0.5 * v * (1 + math.Tanh(c*(v+0.044715*v*v*v))) })
		}
		return f64(func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) })
	}
	return nil
}

// softplus is log(1+e^v) without overflow for large v.
func softplus(v float64) float64 {
	if v > 30 {
		return v
	}
	return math.Log1p(math.Exp(v))
}

func compileMoreUnary(n *graph.Node) (Kernel, error) {
	if n.Inputs[0].DType != tensor.F32 {
		return nil, errf(n, "unsupported dtype %s (float32 only)", n.Inputs[0].DType)
	}
	if n.Op == "Gelu" {
		if a := n.Str("approximate", "none"); a != "none" && a != "tanh" {
			return nil, errf(n, "unknown approximate %q", a)
		}
	}
	return &unaryKernel[float32]{f: moreUnaryF32(n)}, nil
}

func init() {
	for _, op := range []string{"Elu", "Selu", "Softplus", "Softsign", "Mish", "ThresholdedRelu", "Gelu"} {
		Register(op, &Def{Infer: inferUnary, Compile: compileMoreUnary, InPlace: true})
	}
}
