package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// View operators: Reshape, Flatten, Squeeze, Unsqueeze, Identity and inference-mode Dropout. They are
// Alias (the runtime reuses the input bytes) but still compile a copying kernel for Eval and for
// runtimes that do not alias.

// reshapeTarget applies Reshape's rules: 0 copies the input dim (unless allowzero), -1 is inferred.
// With a partly unknown input, dims that cannot be derived stay -1.
func reshapeTarget(n *graph.Node, in tensor.Shape, spec []int64, allowZero bool) (tensor.Shape, error) {
	out := make(tensor.Shape, len(spec))
	infer := -1
	for i, v := range spec {
		switch {
		case v == 0 && !allowZero:
			if i >= len(in) {
				return nil, errf(n, "shape[%d]=0 has no input dim to copy", i)
			}
			out[i] = in[i]
		case v == -1:
			if infer >= 0 {
				return nil, errf(n, "more than one -1 in shape %v", spec)
			}
			infer = i
			out[i] = -1
		case v < -1:
			return nil, errf(n, "invalid dim %d in shape %v", v, spec)
		default:
			out[i] = int(v)
		}
	}
	total := in.NumElements()
	if infer >= 0 {
		// Dims copied with 0 cancel between input and output, so [?,3,8,8] -> [0,-1] still gives [?,192].
		copied := func(i int) bool { return i < len(spec) && spec[i] == 0 && !allowZero }
		rest, known := 1, 1
		for i, d := range in {
			if !copied(i) {
				if d < 0 {
					return out, nil
				}
				rest *= d
			}
		}
		for i, d := range out {
			if i != infer && !copied(i) {
				if d < 0 {
					return out, nil
				}
				known *= d
			}
		}
		if known == 0 || rest%known != 0 {
			return nil, errf(n, "cannot reshape %v to %v", in, spec)
		}
		out[infer] = rest / known
	}
	if total >= 0 && out.Known() && out.NumElements() != total {
		return nil, errf(n, "cannot reshape %v (%d elements) to %v", in, total, out)
	}
	return out, nil
}

func inferReshape(n *graph.Node) error {
	if err := needInputs(n, 2); err != nil {
		return err
	}
	x, s := n.Inputs[0], n.Inputs[1]
	spec, ok := constInts(s)
	if !ok {
		// Unknown target: the rank is still known when the shape input's length is.
		if len(s.Shape) == 1 && s.Shape[0] >= 0 {
			setOut(n, 0, x.DType, dynShape(s.Shape[0]))
		} else {
			setOut(n, 0, x.DType, nil)
		}
		return nil
	}
	in := x.Shape
	if in == nil {
		in = tensor.Shape{-1}
	}
	out, err := reshapeTarget(n, in, spec, n.Int("allowzero", 0) != 0)
	if err != nil {
		return err
	}
	setOut(n, 0, x.DType, out)
	return nil
}

func compileView(n *graph.Node) (Kernel, error) {
	if !n.Outputs[0].Shape.Known() {
		return nil, errf(n, "output shape %v is not concrete", n.Outputs[0].Shape)
	}
	if n.Outputs[0].Shape.NumElements() != n.Inputs[0].Shape.NumElements() {
		return nil, errf(n, "element count changes from %v to %v", n.Inputs[0].Shape, n.Outputs[0].Shape)
	}
	return copyKernel{}, nil
}

func inferFlatten(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	if x.Shape == nil {
		setOut(n, 0, x.DType, tensor.Shape{-1, -1})
		return nil
	}
	r := len(x.Shape)
	axis := n.Int("axis", 1)
	if axis < -int64(r) || axis > int64(r) {
		return errf(n, "axis %d out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += int64(r)
	}
	setOut(n, 0, x.DType, tensor.Shape{prodDims(x.Shape[:axis]), prodDims(x.Shape[axis:])})
	return nil
}

// prodDims multiplies dims; -1 when any is unknown.
func prodDims(s tensor.Shape) int {
	p := 1
	for _, d := range s {
		if d < 0 {
			return -1
		}
		p *= d
	}
	return p
}

func inferSqueeze(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	axes, present, known := intsInputOrAttr(n, 1, "axes")
	if x.Shape == nil || !known {
		setOut(n, 0, x.DType, nil)
		return nil
	}
	r := len(x.Shape)
	drop := make([]bool, r)
	if !present {
		for i, d := range x.Shape {
			if d < 0 {
				setOut(n, 0, x.DType, nil) // which dims go depends on unknown sizes
				return nil
			}
			drop[i] = d == 1
		}
	}
	for _, a := range axes {
		ax, err := normAxis(n, a, r)
		if err != nil {
			return err
		}
		if x.Shape[ax] > 1 {
			return errf(n, "cannot squeeze axis %d of size %d", ax, x.Shape[ax])
		}
		drop[ax] = true
	}
	out := tensor.Shape{}
	for i, d := range x.Shape {
		if !drop[i] {
			out = append(out, d)
		}
	}
	setOut(n, 0, x.DType, out)
	return nil
}

func inferUnsqueeze(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	axes, present, known := intsInputOrAttr(n, 1, "axes")
	if !present {
		return errf(n, "axes are required")
	}
	if x.Shape == nil || !known {
		setOut(n, 0, x.DType, nil)
		return nil
	}
	r := len(x.Shape) + len(axes)
	ins := make([]bool, r)
	for _, a := range axes {
		ax, err := normAxis(n, a, r)
		if err != nil {
			return err
		}
		if ins[ax] {
			return errf(n, "repeated axis %d", a)
		}
		ins[ax] = true
	}
	out := make(tensor.Shape, r)
	j := 0
	for i := range out {
		if ins[i] {
			out[i] = 1
		} else {
			out[i] = x.Shape[j]
			j++
		}
	}
	setOut(n, 0, x.DType, out)
	return nil
}

func inferIdentity(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	setOut(n, 0, n.Inputs[0].DType, n.Inputs[0].Shape.Clone())
	return nil
}

func inferDropout(n *graph.Node) error {
	if len(n.Outputs) > 1 && n.Outputs[1] != nil {
		// The mask is all true at inference, but an Alias op runs no kernel, so it could not be written.
		return errf(n, "the mask output is not supported (inference-only Dropout)")
	}
	if v := n.Input(2); v != nil {
		if t, ok := constInts(v); !ok || (len(t) > 0 && t[0] != 0) {
			return errf(n, "training_mode is not supported (inference-only Dropout)")
		}
	}
	return inferIdentity(n)
}

func init() {
	Register("Reshape", &Def{Infer: inferReshape, Compile: compileView, Alias: true})
	Register("Flatten", &Def{Infer: inferFlatten, Compile: compileView, Alias: true})
	Register("Squeeze", &Def{Infer: inferSqueeze, Compile: compileView, Alias: true})
	Register("Unsqueeze", &Def{Infer: inferUnsqueeze, Compile: compileView, Alias: true})
	Register("Identity", &Def{Infer: inferIdentity, Compile: compileView, Alias: true})
	Register("Dropout", &Def{Infer: inferDropout, Compile: compileView, Alias: true})
}
