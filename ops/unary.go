package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Unary element-wise operators on f32: Relu, Clip, Sigmoid, HardSigmoid, HardSwish, LeakyRelu, Erf,
// Sqrt, Exp, Log, Neg, Abs, Reciprocal, Tanh, Floor, Ceil, Round, the trigonometric and hyperbolic
// functions and their inverses, Sign, Celu, Shrink (Clip, Neg, Abs and Relu also on integers).
// All run in place when the runtime aliases out to in[0].

type unaryKernel[T any] struct {
	f      func(d, x []T)
	x, dst []T
	// Clip bounds read from inputs at run time (they may be computed tensors).
	clip       bool
	lo, hi     T
	loIn, hiIn int // input index of min/max, or -1
	clipF      func(d, x []T, lo, hi T)
}

func (k *unaryKernel[T]) ScratchBytes() int { return 0 }

func (k *unaryKernel[T]) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.dst = elems[T](in[0]), elems[T](out[0])
	if k.clip {
		lo, hi := k.lo, k.hi
		if k.loIn >= 0 && k.loIn < len(in) && in[k.loIn] != nil {
			lo = elems[T](in[k.loIn])[0]
		}
		if k.hiIn >= 0 && k.hiIn < len(in) && in[k.hiIn] != nil {
			hi = elems[T](in[k.hiIn])[0]
		}
		k.lo, k.hi = lo, hi
	}
	ctx.pool().For((len(k.dst)+chunkElems-1)/chunkElems, 1, k)
	return nil
}

func (k *unaryKernel[T]) Do(lo, hi int) {
	a, e := lo*chunkElems, min(hi*chunkElems, len(k.dst))
	if k.clip {
		k.clipF(k.dst[a:e], k.x[a:e], k.lo, k.hi)
		return
	}
	k.f(k.dst[a:e], k.x[a:e])
}

func mapF32(f func(float32) float32) func(d, x []float32) {
	return func(d, x []float32) {
		x = x[:len(d)]
		for i, v := range x {
			d[i] = f(v)
		}
	}
}

func f64(f func(float64) float64) func(d, x []float32) {
	return mapF32(func(v float32) float32 { return float32(f(float64(v))) })
}

func unaryF32(n *graph.Node) func(d, x []float32) {
	switch n.Op {
	case "Relu":
		return func(d, x []float32) {
			x = x[:len(d)]
			for i, v := range x {
				d[i] = max(v, 0)
			}
		}
	case "Sigmoid":
		return f64(func(v float64) float64 { return 1 / (1 + math.Exp(-v)) })
	case "HardSigmoid":
		alpha, beta := n.Float("alpha", 0.2), n.Float("beta", 0.5)
		return mapF32(func(v float32) float32 { return min(max(alpha*v+beta, 0), 1) })
	case "HardSwish":
		return mapF32(func(v float32) float32 { return v * min(max(v/6+0.5, 0), 1) })
	case "LeakyRelu":
		alpha := n.Float("alpha", 0.01)
		return mapF32(func(v float32) float32 {
			if v < 0 {
				return v * alpha
			}
			return v
		})
	case "Erf":
		return f64(math.Erf)
	case "Sqrt":
		return f64(math.Sqrt)
	case "Exp":
		return f64(math.Exp)
	case "Log":
		return f64(math.Log)
	case "Tanh":
		return f64(math.Tanh)
	case "Floor":
		return f64(math.Floor)
	case "Ceil":
		return f64(math.Ceil)
	case "Round":
		return f64(math.RoundToEven) // ONNX Round: halves to even
	case "Neg":
		return mapF32(func(v float32) float32 { return -v })
	case "Abs":
		return mapF32(func(v float32) float32 { return float32(math.Abs(float64(v))) })
	case "Reciprocal":
		return mapF32(func(v float32) float32 { return 1 / v })
	case "Sin":
		return f64(math.Sin)
	case "Cos":
		return f64(math.Cos)
	case "Tan":
		return f64(math.Tan)
	case "Asin":
		return f64(math.Asin)
	case "Acos":
		return f64(math.Acos)
	case "Atan":
		return f64(math.Atan)
	case "Sinh":
		return f64(math.Sinh)
	case "Cosh":
		return f64(math.Cosh)
	case "Asinh":
		return f64(math.Asinh)
	case "Acosh":
		return f64(math.Acosh)
	case "Atanh":
		return f64(math.Atanh)
	case "Sign":
		return mapF32(func(v float32) float32 {
			switch {
			case v > 0:
				return 1
			case v < 0:
				return -1
			}
			return v // 0 stays 0 (and NaN NaN)
		})
	case "Celu": // max(0, x) + min(0, alpha * (exp(x / alpha) - 1))
		alpha := float64(n.Float("alpha", 1))
		return f64(func(v float64) float64 { return max(0, v) + min(0, alpha*math.Expm1(v/alpha)) })
	case "Shrink": // x + bias below -lambd, x - bias above lambd, 0 between
		bias, lambd := n.Float("bias", 0), n.Float("lambd", 0.5)
		return mapF32(func(v float32) float32 {
			switch {
			case v < -lambd:
				return v + bias
			case v > lambd:
				return v - bias
			}
			return 0
		})
	}
	return nil
}

func intUnary[T integer](op string) func(d, x []T) {
	switch op {
	case "Relu":
		return func(d, x []T) {
			for i, v := range x[:len(d)] {
				d[i] = max(v, 0)
			}
		}
	case "Neg":
		return func(d, x []T) {
			for i, v := range x[:len(d)] {
				d[i] = -v
			}
		}
	case "Abs":
		return func(d, x []T) {
			for i, v := range x[:len(d)] {
				if v < 0 {
					v = -v
				}
				d[i] = v
			}
		}
	}
	return nil
}

func inferUnary(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	setOut(n, 0, n.Inputs[0].DType, n.Inputs[0].Shape.Clone())
	return nil
}

func compileUnary(n *graph.Node) (Kernel, error) {
	dt := n.Inputs[0].DType
	switch dt {
	case tensor.F32:
		if f := unaryF32(n); f != nil {
			return &unaryKernel[float32]{f: f}, nil
		}
	case tensor.I64:
		if f := intUnary[int64](n.Op); f != nil {
			return &unaryKernel[int64]{f: f}, nil
		}
	case tensor.I32:
		if f := intUnary[int32](n.Op); f != nil {
			return &unaryKernel[int32]{f: f}, nil
		}
	case tensor.I8:
		if f := intUnary[int8](n.Op); f != nil {
			return &unaryKernel[int8]{f: f}, nil
		}
	}
	return nil, errf(n, "unsupported dtype %s", dt)
}

func clipRow[T number](d, x []T, lo, hi T) {
	x = x[:len(d)]
	for i, v := range x {
		d[i] = min(max(v, lo), hi)
	}
}

func mkClip[T number](n *graph.Node, lo, hi T) (Kernel, error) {
	k := &unaryKernel[T]{clip: true, clipF: clipRow[T], lo: lo, hi: hi, loIn: -1, hiIn: -1}
	if v := n.Input(1); v != nil {
		if v.DType != n.Inputs[0].DType || (v.Shape != nil && v.Shape.NumElements() != 1) {
			return nil, errf(n, "min must be a scalar of the input dtype")
		}
		k.loIn = 1
	}
	if v := n.Input(2); v != nil {
		if v.DType != n.Inputs[0].DType || (v.Shape != nil && v.Shape.NumElements() != 1) {
			return nil, errf(n, "max must be a scalar of the input dtype")
		}
		k.hiIn = 2
	}
	return &clipKernel[T]{k: k, lo: lo, hi: hi}, nil
}

// clipKernel resets the attribute bounds before each run so bounds read from inputs do not stick.
type clipKernel[T number] struct {
	k      *unaryKernel[T]
	lo, hi T
}

func (c *clipKernel[T]) ScratchBytes() int { return 0 }
func (c *clipKernel[T]) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	c.k.lo, c.k.hi = c.lo, c.hi
	return c.k.Run(ctx, in, out)
}

func compileClip(n *graph.Node) (Kernel, error) {
	switch n.Inputs[0].DType {
	case tensor.F32:
		return mkClip(n, n.Float("min", float32(math.Inf(-1))), n.Float("max", float32(math.Inf(1))))
	case tensor.I64:
		return mkClip[int64](n, math.MinInt64, math.MaxInt64)
	case tensor.I32:
		return mkClip[int32](n, math.MinInt32, math.MaxInt32)
	case tensor.I8:
		return mkClip[int8](n, math.MinInt8, math.MaxInt8)
	case tensor.U8:
		return mkClip[uint8](n, 0, math.MaxUint8)
	}
	return nil, errf(n, "unsupported dtype %s", n.Inputs[0].DType)
}

func init() {
	for _, op := range []string{"Relu", "Sigmoid", "HardSigmoid", "HardSwish", "LeakyRelu", "Erf", "Sqrt", "Exp",
		"Log", "Neg", "Abs", "Reciprocal", "Tanh", "Floor", "Ceil", "Round",
		"Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Sign", "Celu", "Shrink"} {
		Register(op, &Def{Infer: inferUnary, Compile: compileUnary, InPlace: true})
	}
	Register("Clip", &Def{Infer: inferUnary, Compile: compileClip, InPlace: true})
}
