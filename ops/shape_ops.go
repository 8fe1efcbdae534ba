package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Shape-computing and view operators: Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze, Identity,
// Dropout, Constant, ConstantOfShape, Cast. Reshape-like ops are Alias (the runtime reuses the input
// bytes) but still compile a copying kernel for Eval and for runtimes that do not alias.

func inferShape(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	s := n.Inputs[0].Shape
	if s == nil {
		setOut(n, 0, tensor.I64, tensor.Shape{-1})
		return nil
	}
	r := int64(len(s))
	clampIdx := func(v int64) int64 {
		if v < 0 {
			v += r
		}
		return min(max(v, 0), r)
	}
	start := clampIdx(n.Int("start", 0))
	end := clampIdx(n.Int("end", r))
	if end < start {
		end = start
	}
	dims := s[start:end]
	setOut(n, 0, tensor.I64, tensor.Shape{len(dims)})
	// A fully known shape is a constant: shape inference folds Shape->Gather->Concat chains through it.
	if dims.Known() {
		v := make([]int64, len(dims))
		for i, d := range dims {
			v[i] = int64(d)
		}
		n.Outputs[0].Const = tensor.FromI64(tensor.Shape{len(dims)}, v)
	}
	return nil
}

// shapeKernel writes the (concrete) input dims at run time.
type shapeKernel struct{ start int }

func (shapeKernel) ScratchBytes() int { return 0 }
func (k shapeKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	y := elems[int64](out[0])
	for i := range y {
		y[i] = int64(in[0].Shape[k.start+i])
	}
	return nil
}

func compileShape(n *graph.Node) (Kernel, error) {
	r := int64(len(n.Inputs[0].Shape))
	start := n.Int("start", 0)
	if start < 0 {
		start += r
	}
	return shapeKernel{start: int(min(max(start, 0), r))}, nil
}

func inferSize(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	setOut(n, 0, tensor.I64, tensor.Shape{})
	if s := n.Inputs[0].Shape; s != nil && s.Known() {
		n.Outputs[0].Const = tensor.FromI64(tensor.Shape{}, []int64{int64(s.NumElements())})
	}
	return nil
}

type sizeKernel struct{}

func (sizeKernel) ScratchBytes() int { return 0 }
func (sizeKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	elems[int64](out[0])[0] = int64(in[0].NumElements())
	return nil
}

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

func inferConstant(n *graph.Node) error {
	var t *tensor.Tensor
	switch {
	case n.Has("value"):
		t = n.Attrs["value"].Tensor
	case n.Has("value_float"):
		t = tensor.FromF32(tensor.Shape{}, []float32{n.Float("value_float", 0)})
	case n.Has("value_floats"):
		v := n.Floats("value_floats", nil)
		t = tensor.FromF32(tensor.Shape{len(v)}, v)
	case n.Has("value_int"):
		t = tensor.FromI64(tensor.Shape{}, []int64{n.Int("value_int", 0)})
	case n.Has("value_ints"):
		v := n.Ints("value_ints", nil)
		t = tensor.FromI64(tensor.Shape{len(v)}, v)
	}
	if t == nil {
		return errf(n, "no supported value attribute (value, value_float(s), value_int(s))")
	}
	if len(n.Outputs) == 0 || n.Outputs[0] == nil {
		return errf(n, "has no output")
	}
	setOut(n, 0, t.DType, t.Shape.Clone())
	n.Outputs[0].Const = t
	return nil
}

// constKernel writes a fixed tensor.
type constKernel struct{ t *tensor.Tensor }

func (constKernel) ScratchBytes() int { return 0 }
func (k constKernel) Run(_ *Ctx, _, out []*tensor.Tensor) error {
	copy(out[0].Data[:out[0].ByteSize()], k.t.Data)
	return nil
}

func compileConstant(n *graph.Node) (Kernel, error) { return constKernel{t: n.Outputs[0].Const}, nil }

func constOfShapeValue(n *graph.Node) (*tensor.Tensor, error) {
	a, ok := n.Attrs["value"]
	if !ok || a.Tensor == nil {
		return tensor.New(tensor.F32, tensor.Shape{1}), nil
	}
	if a.Tensor.NumElements() != 1 {
		return nil, errf(n, "value must hold one element")
	}
	return a.Tensor, nil
}

func inferConstantOfShape(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	v, err := constOfShapeValue(n)
	if err != nil {
		return err
	}
	dims, ok := constInts(n.Inputs[0])
	switch {
	case ok:
		s := make(tensor.Shape, len(dims))
		for i, d := range dims {
			if d < 0 {
				return errf(n, "negative dim %d", d)
			}
			s[i] = int(d)
		}
		setOut(n, 0, v.DType, s)
	case len(n.Inputs[0].Shape) == 1 && n.Inputs[0].Shape[0] >= 0:
		setOut(n, 0, v.DType, dynShape(n.Inputs[0].Shape[0]))
	default:
		setOut(n, 0, v.DType, nil)
	}
	return nil
}

// fillKernel repeats one element's bytes over the output.
type fillKernel struct{ v []byte }

func (fillKernel) ScratchBytes() int { return 0 }
func (k fillKernel) Run(_ *Ctx, _, out []*tensor.Tensor) error {
	d := out[0].Data[:out[0].ByteSize()]
	for i := 0; i < len(d); i += len(k.v) {
		copy(d[i:], k.v)
	}
	return nil
}

func compileConstantOfShape(n *graph.Node) (Kernel, error) {
	v, err := constOfShapeValue(n)
	if err != nil {
		return nil, err
	}
	return fillKernel{v: v.Data[:v.DType.Size()]}, nil
}

func inferCast(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	dt, ok := onnxDTypes[n.Int("to", 0)]
	if !ok {
		return errf(n, "unsupported target type %d", n.Int("to", 0))
	}
	setOut(n, 0, dt, n.Inputs[0].Shape.Clone())
	return nil
}

// inferCastLike: Cast to the dtype of input 1 (whose values are not read).
func inferCastLike(n *graph.Node) error {
	if err := needInputs(n, 2); err != nil {
		return err
	}
	setOut(n, 0, n.Inputs[1].DType, n.Inputs[0].Shape.Clone())
	return nil
}

// castKernel converts through float64 (floats) or int64 (integers), so every pair of dtypes works:
// float -> integer truncates toward zero like C, anything -> bool is "!= 0", f16 rounds to nearest even.
type castKernel struct{ from, to tensor.DType }

func (castKernel) ScratchBytes() int { return 0 }

func (k castKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	x, y := in[0], out[0]
	if k.from == k.to {
		copy(y.Data[:y.ByteSize()], x.Data)
		return nil
	}
	n := x.NumElements()
	for i := 0; i < n; i++ {
		switch k.from {
		case tensor.F32, tensor.F16:
			var f float64
			if k.from == tensor.F32 {
				f = float64(elems[float32](x)[i])
			} else {
				f = float64(tensor.F16ToF32(elems[uint16](x)[i]))
			}
			putFloat(y, i, f)
		default:
			putInt(y, i, getInt(x, i))
		}
	}
	return nil
}

func getInt(t *tensor.Tensor, i int) int64 {
	switch t.DType {
	case tensor.I64:
		return elems[int64](t)[i]
	case tensor.I32:
		return int64(elems[int32](t)[i])
	case tensor.I8:
		return int64(elems[int8](t)[i])
	default: // U8, Bool
		return int64(t.Data[i])
	}
}

func putInt(t *tensor.Tensor, i int, v int64) {
	switch t.DType {
	case tensor.F32:
		elems[float32](t)[i] = float32(v)
	case tensor.F16:
		elems[uint16](t)[i] = tensor.F32ToF16(float32(v))
	case tensor.I64:
		elems[int64](t)[i] = v
	case tensor.I32:
		elems[int32](t)[i] = int32(v)
	case tensor.I8:
		elems[int8](t)[i] = int8(v)
	case tensor.U8:
		t.Data[i] = uint8(v)
	case tensor.Bool:
		t.Data[i] = b2u(v != 0)
	}
}

func putFloat(t *tensor.Tensor, i int, f float64) {
	switch t.DType {
	case tensor.F32:
		elems[float32](t)[i] = float32(f)
	case tensor.F16:
		elems[uint16](t)[i] = tensor.F32ToF16(float32(f))
	case tensor.Bool:
		t.Data[i] = b2u(f != 0)
	default:
		if math.IsNaN(f) {
			f = 0
		}
		putInt(t, i, int64(math.Trunc(f)))
	}
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func compileCast(n *graph.Node) (Kernel, error) {
	from := n.Inputs[0].DType
	if from.Size() == 0 {
		return nil, errf(n, "unsupported input dtype %s", from)
	}
	return castKernel{from: from, to: n.Outputs[0].DType}, nil
}

func init() {
	Register("Shape", &Def{Infer: inferShape, Compile: compileShape})
	Register("Size", &Def{Infer: inferSize, Compile: func(*graph.Node) (Kernel, error) { return sizeKernel{}, nil }})
	Register("Reshape", &Def{Infer: inferReshape, Compile: compileView, Alias: true})
	Register("Flatten", &Def{Infer: inferFlatten, Compile: compileView, Alias: true})
	Register("Squeeze", &Def{Infer: inferSqueeze, Compile: compileView, Alias: true})
	Register("Unsqueeze", &Def{Infer: inferUnsqueeze, Compile: compileView, Alias: true})
	Register("Identity", &Def{Infer: inferIdentity, Compile: compileView, Alias: true})
	Register("Dropout", &Def{Infer: inferDropout, Compile: compileView, Alias: true})
	Register("Constant", &Def{Infer: inferConstant, Compile: compileConstant})
	Register("ConstantOfShape", &Def{Infer: inferConstantOfShape, Compile: compileConstantOfShape})
	Register("Cast", &Def{Infer: inferCast, Compile: compileCast, InPlace: true})
	Register("CastLike", &Def{Infer: inferCastLike, Compile: compileCast, InPlace: true})
}
