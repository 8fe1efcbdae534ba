package tflitegen

import (
	"fmt"
	"math"

	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
)

// evalWild evaluates the element-wise, layout and index operators that TF2-converted float models
// use beyond MediaPipe's (reference_ops semantics; booleans as 0/1, indices as their values).
func evalWild(m *Model, vals [][]float32, op Op, xs, ys []int) ([]float32, error) {
	x := vals[op.Inputs[0]]
	binary := func(f func(a, b float64) float64) []float32 {
		b, bs := vals[op.Inputs[1]], shapeOf(m, op.Inputs[1])
		y := make([]float32, prod(ys))
		forEach(ys, func(idx []int, flat int) {
			y[flat] = float32(f(float64(x[bcast(xs, ys, idx)]), float64(b[bcast(bs, ys, idx)])))
		})
		return y
	}
	unary := func(f func(v float64) float64) []float32 {
		y := make([]float32, len(x))
		for i, v := range x {
			y[i] = float32(f(float64(v)))
		}
		return y
	}
	is := func(c bool) float64 {
		if c {
			return 1
		}
		return 0
	}
	switch op.Code {
	case fb.BuiltinOperatorMAXIMUM:
		return binary(math.Max), nil
	case fb.BuiltinOperatorMINIMUM:
		return binary(math.Min), nil
	case fb.BuiltinOperatorPOW:
		return binary(math.Pow), nil
	case fb.BuiltinOperatorSQUARED_DIFFERENCE:
		return binary(func(a, b float64) float64 { return (a - b) * (a - b) }), nil
	case fb.BuiltinOperatorGREATER:
		return binary(func(a, b float64) float64 { return is(a > b) }), nil
	case fb.BuiltinOperatorLESS_EQUAL:
		return binary(func(a, b float64) float64 { return is(a <= b) }), nil
	case fb.BuiltinOperatorEQUAL:
		return binary(func(a, b float64) float64 { return is(a == b) }), nil
	case fb.BuiltinOperatorRELU_N1_TO_1:
		return unary(func(v float64) float64 { return math.Min(math.Max(v, -1), 1) }), nil
	case fb.BuiltinOperatorRELU_0_TO_1:
		return unary(func(v float64) float64 { return math.Min(math.Max(v, 0), 1) }), nil
	case fb.BuiltinOperatorSQRT:
		return unary(math.Sqrt), nil
	case fb.BuiltinOperatorRSQRT:
		return unary(func(v float64) float64 { return 1 / math.Sqrt(v) }), nil
	case fb.BuiltinOperatorSQUARE:
		return unary(func(v float64) float64 { return v * v }), nil
	case fb.BuiltinOperatorLOG:
		return unary(math.Log), nil
	case fb.BuiltinOperatorFLOOR:
		return unary(math.Floor), nil
	case fb.BuiltinOperatorCEIL:
		return unary(math.Ceil), nil
	case fb.BuiltinOperatorELU:
		return unary(func(v float64) float64 {
			if v < 0 {
				return math.Expm1(v)
			}
			return v
		}), nil
	case fb.BuiltinOperatorGELU:
		if o, ok := op.Options.(Gelu); ok && o.Approximate {
			return unary(func(v float64) float64 {
				return 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
			}), nil
		}
		return unary(func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) }), nil
	case fb.BuiltinOperatorSIN:
		return unary(math.Sin), nil
	case fb.BuiltinOperatorCOS:
		return unary(math.Cos), nil
	case fb.BuiltinOperatorLOCAL_RESPONSE_NORMALIZATION: // over the last (depth) axis
		o := op.Options.(LocalResponseNormalization)
		depth := xs[len(xs)-1]
		y := make([]float32, len(x))
		for i := range x {
			c, base := i%depth, i-i%depth
			var s float64
			for cc := max(0, c-int(o.Radius)); cc <= min(depth-1, c+int(o.Radius)); cc++ {
				s += float64(x[base+cc]) * float64(x[base+cc])
			}
			y[i] = float32(float64(x[i]) * math.Pow(float64(o.Bias)+float64(o.Alpha)*s, -float64(o.Beta)))
		}
		return y, nil
	case fb.BuiltinOperatorSLICE:
		begin, size := i32Data(m, op.Inputs[1]), i32Data(m, op.Inputs[2])
		y := make([]float32, 0, prod(ys))
		forEach(xs, func(idx []int, flat int) {
			for d, i := range idx {
				if i < int(begin[d]) || size[d] >= 0 && i >= int(begin[d]+size[d]) {
					return
				}
			}
			y = append(y, x[flat])
		})
		return y, nil
	case fb.BuiltinOperatorSPLIT, fb.BuiltinOperatorSPLIT_V:
		// Outputs one after another: for each, the input elements whose axis index is in its range.
		xi, ai := 1, 0
		if op.Code == fb.BuiltinOperatorSPLIT_V {
			xi, ai = 0, 2
		}
		x, xs = vals[op.Inputs[xi]], shapeOf(m, op.Inputs[xi])
		axis := int(i32Data(m, op.Inputs[ai])[0])
		if axis < 0 {
			axis += len(xs)
		}
		var y []float32
		lo := 0
		for _, o := range op.Outputs {
			hi := lo + shapeOf(m, o)[axis]
			forEach(xs, func(idx []int, flat int) {
				if idx[axis] >= lo && idx[axis] < hi {
					y = append(y, x[flat])
				}
			})
			lo = hi
		}
		return y, nil
	case fb.BuiltinOperatorEXPAND_DIMS:
		return append([]float32(nil), x...), nil
	case fb.BuiltinOperatorTRANSPOSE:
		perm := i32Data(m, op.Inputs[1])
		y := make([]float32, prod(ys))
		xi := make([]int, len(xs))
		forEach(ys, func(idx []int, flat int) {
			for j, p := range perm {
				xi[p] = idx[j] // output axis j is input axis perm[j]
			}
			o := 0
			for d := range xs {
				o = o*xs[d] + xi[d]
			}
			y[flat] = x[o]
		})
		return y, nil
	case fb.BuiltinOperatorARG_MAX, fb.BuiltinOperatorARG_MIN:
		axis := int(i32Data(m, op.Inputs[1])[0])
		if axis < 0 {
			axis += len(xs)
		}
		outer, n, inner := prod(xs[:axis]), xs[axis], prod(xs[axis+1:])
		y := make([]float32, outer*inner)
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				best := 0
				for k := 1; k < n; k++ { // the first of equal extremes wins
					v, b := x[(o*n+k)*inner+i], x[(o*n+best)*inner+i]
					if op.Code == fb.BuiltinOperatorARG_MAX && v > b || op.Code == fb.BuiltinOperatorARG_MIN && v < b {
						best = k
					}
				}
				y[o*inner+i] = float32(best)
			}
		}
		return y, nil
	case fb.BuiltinOperatorPADV2, fb.BuiltinOperatorMIRROR_PAD:
		p := i32Data(m, op.Inputs[1])
		fill := float32(0)
		if op.Code == fb.BuiltinOperatorPADV2 && len(op.Inputs) > 2 {
			fill = vals[op.Inputs[2]][0]
		}
		y := make([]float32, prod(ys))
		xi := make([]int, len(xs))
		forEach(ys, func(idx []int, flat int) {
			for d := range xs {
				i := idx[d] - int(p[2*d])
				if op.Code == fb.BuiltinOperatorMIRROR_PAD { // REFLECT: mirror about the edge elements
					if i < 0 {
						i = -i
					}
					if i >= xs[d] {
						i = 2*(xs[d]-1) - i
					}
				}
				if i < 0 || i >= xs[d] {
					y[flat] = fill
					return
				}
				xi[d] = i
			}
			o := 0
			for d := range xs {
				o = o*xs[d] + xi[d]
			}
			y[flat] = x[o]
		})
		return y, nil
	}
	return nil, fmt.Errorf("not supported by the reference")
}
