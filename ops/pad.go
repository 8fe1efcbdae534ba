package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Pad with modes constant, reflect and edge. pads come from input 1 (or the "pads" attribute of
// opset < 11), the constant from input 2 (or "value"), optional axes from input 3 (opset 18).
// Negative pads crop. Works on any dtype; the constant is converted to the data's dtype.

func padAmounts(n *graph.Node, rank int) (before, after []int, ok bool, err error) {
	vals, present, known := intsInputOrAttr(n, 1, "pads")
	if !known {
		return nil, nil, false, nil
	}
	if !present {
		return nil, nil, true, errf(n, "pads are required")
	}
	axes := make([]int, 0, rank)
	if a, okA := constInts(n.Input(3)); okA {
		for _, v := range a {
			ax, err := normAxis(n, v, rank)
			if err != nil {
				return nil, nil, true, err
			}
			axes = append(axes, ax)
		}
	} else if n.Input(3) != nil {
		return nil, nil, false, nil
	} else {
		for i := 0; i < rank; i++ {
			axes = append(axes, i)
		}
	}
	if len(vals) != 2*len(axes) {
		return nil, nil, true, errf(n, "pads %v do not match %d axes", vals, len(axes))
	}
	before, after = make([]int, rank), make([]int, rank)
	for i, ax := range axes {
		before[ax], after[ax] = int(vals[i]), int(vals[i+len(axes)])
	}
	return before, after, true, nil
}

func inferPad(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	if x.Shape == nil {
		setOut(n, 0, x.DType, nil)
		return nil
	}
	before, after, ok, err := padAmounts(n, len(x.Shape))
	if err != nil {
		return err
	}
	if !ok {
		setOut(n, 0, x.DType, dynShape(len(x.Shape)))
		return nil
	}
	out := x.Shape.Clone()
	for i := range out {
		if out[i] >= 0 {
			out[i] += before[i] + after[i]
			if out[i] < 0 {
				return errf(n, "pads crop axis %d below zero", i)
			}
		}
	}
	setOut(n, 0, x.DType, out)
	return nil
}

const (
	padConstant = iota
	padReflect
	padEdge
)

// padKernel walks output rows (all dims but the last); each maps to one input row or, in constant
// mode, to "outside" (filled). Within a row the middle is one copy; the borders follow the mode.
type padKernel[T any] struct {
	mode      int
	in, out   []int
	before    []int
	ist       []int
	idx       []int
	value     T
	valueIn   bool // constant comes from input 2 at run time
	valueAttr float32
}

func (k *padKernel[T]) ScratchBytes() int { return 0 }

// srcIndex maps an output coordinate to an input coordinate along one axis; ok is false when it
// falls outside in constant mode.
func (k *padKernel[T]) srcIndex(d, i int) (int, bool) {
	s := i - k.before[d]
	n := k.in[d]
	if s >= 0 && s < n {
		return s, true
	}
	switch k.mode {
	case padEdge:
		return min(max(s, 0), n-1), true
	case padReflect:
		if n == 1 {
			return 0, true
		}
		period := 2 * (n - 1)
		s %= period
		if s < 0 {
			s += period
		}
		if s >= n {
			s = period - s
		}
		return s, true
	}
	return 0, false
}

func (k *padKernel[T]) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	x, y := elems[T](in[0]), elems[T](out[0])
	if len(y) == 0 {
		return nil
	}
	v := k.value
	if k.valueIn && len(in) > 2 && in[2] != nil && in[2].NumElements() > 0 {
		v = elems[T](in[2])[0]
	}
	r := len(k.out)
	if r == 0 {
		y[0] = x[0]
		return nil
	}
	if len(x) == 0 && k.mode != padConstant {
		return errPadEmpty
	}
	clear(k.idx)
	rowOut := k.out[r-1]
	for o := 0; o < len(y); o += rowOut {
		row := y[o : o+rowOut]
		p, inside := 0, true
		for d := 0; d < r-1; d++ {
			s, ok := k.srcIndex(d, k.idx[d])
			if !ok {
				inside = false
				break
			}
			p += s * k.ist[d]
		}
		if !inside {
			for i := range row {
				row[i] = v
			}
		} else {
			src := x[p : p+k.in[r-1]]
			lo := max(0, k.before[r-1])
			hi := min(rowOut, k.before[r-1]+k.in[r-1])
			if hi > lo {
				copy(row[lo:hi], src[lo-k.before[r-1]:])
			}
			for i := 0; i < lo; i++ {
				row[i] = k.border(src, r-1, i, v)
			}
			for i := max(hi, 0); i < rowOut; i++ {
				row[i] = k.border(src, r-1, i, v)
			}
		}
		for d := r - 2; d >= 0; d-- {
			k.idx[d]++
			if k.idx[d] < k.out[d] {
				break
			}
			k.idx[d] = 0
		}
	}
	return nil
}

func (k *padKernel[T]) border(src []T, d, i int, v T) T {
	if s, ok := k.srcIndex(d, i); ok {
		return src[s]
	}
	return v
}

var errPadEmpty = errorString("ops: Pad: reflect/edge padding of an empty axis")

func mkPad[T any](n *graph.Node, mode int, before []int, value T) Kernel {
	x := n.Inputs[0]
	return &padKernel[T]{mode: mode, in: []int(x.Shape.Clone()), out: []int(n.Outputs[0].Shape.Clone()),
		before: before, ist: x.Shape.Strides(), idx: make([]int, len(x.Shape)), value: value,
		valueIn: n.Input(2) != nil}
}

func compilePad(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	before, _, ok, err := padAmounts(n, len(x.Shape))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errf(n, "pads must be constant")
	}
	var mode int
	switch m := n.Str("mode", "constant"); m {
	case "constant":
		mode = padConstant
	case "reflect":
		mode = padReflect
		for i, d := range x.Shape {
			if d > 0 && (before[i] >= d || n.Outputs[0].Shape[i]-d-before[i] >= d) && d > 1 {
				return nil, errf(n, "reflect pad larger than axis %d (size %d)", i, d)
			}
		}
	case "edge":
		mode = padEdge
	default:
		return nil, errf(n, "unsupported mode %q", m)
	}
	if v := n.Input(2); v != nil && v.DType != x.DType {
		return nil, errf(n, "constant_value dtype %s differs from data %s", v.DType, x.DType)
	}
	val := float64(n.Float("value", 0))
	switch x.DType {
	case tensor.F32:
		return mkPad(n, mode, before, float32(val)), nil
	case tensor.F16:
		return mkPad(n, mode, before, tensor.F32ToF16(float32(val))), nil
	case tensor.U8, tensor.Bool:
		return mkPad(n, mode, before, uint8(val)), nil
	case tensor.I8:
		return mkPad(n, mode, before, int8(val)), nil
	case tensor.I32:
		return mkPad(n, mode, before, int32(val)), nil
	case tensor.I64:
		return mkPad(n, mode, before, int64(math.Trunc(val))), nil
	}
	return nil, errf(n, "unsupported dtype %s", x.DType)
}

func init() {
	Register("Pad", &Def{Infer: inferPad, Compile: compilePad})
}
