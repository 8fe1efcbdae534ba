package tflite

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tensorio"
)

// Operators that move elements: STRIDED_SLICE, DEPTH_TO_SPACE, SPACE_TO_DEPTH and the resizes.

// convStridedSlice maps tf.strided_slice onto Slice (NHWC axes moved to NCHW for 4-D inputs) and,
// where shrink_axis_mask drops dims, a reshape in TFLite element order. Per dim: a masked begin
// (end) takes the whole range in the stride's direction, negative values count from the end and
// values clamp; a shrunk dim keeps the one element at begin; offset=true makes end relative to
// begin. An ellipsis stands for as many whole dims as the spec leaves out (a spec shorter than the
// input has one at its end), and a new axis adds a dim of 1 to the output, consuming no input dim
// (denseSlice).
func convStridedSlice(b *builder, o *opc) error {
	x, err := b.in(o, 0)
	if err != nil {
		return err
	}
	xt := o.in[0]
	if len(o.in) < 4 {
		return fmt.Errorf("needs begin, end and strides inputs")
	}
	begin, err := constAxes(o.in[1])
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	end, err := constAxes(o.in[2])
	if err != nil {
		return fmt.Errorf("end: %w", err)
	}
	strides, err := constAxes(o.in[3])
	if err != nil {
		return fmt.Errorf("strides: %w", err)
	}
	op := opts[fb.StridedSliceOptions](o)
	r := len(xt.shape)
	if len(begin) != len(end) || len(begin) != len(strides) || !xt.shape.Known() {
		return fmt.Errorf("begin/end/strides of lengths %d/%d/%d for input %s", len(begin), len(end), len(strides), xt.shape)
	}
	if op.Offset() {
		for d := range end {
			end[d] += begin[d]
		}
	}
	sp, err := denseSlice(r, begin, end, strides, sliceMasks{op.BeginMask(), op.EndMask(), op.EllipsisMask(), op.NewAxisMask(), op.ShrinkAxisMask()})
	if err != nil {
		return err
	}
	return b.sliceDense(o, x, sp)
}

// convSlice: SLICE(x, begin, size) is the strided slice with end = begin + size (size -1: to the
// end) and stride 1.
func convSlice(b *builder, o *opc) error {
	x, err := b.in(o, 0)
	if err != nil {
		return err
	}
	xt := o.in[0]
	if len(o.in) < 3 {
		return fmt.Errorf("needs begin and size inputs")
	}
	begin, err := constAxes(o.in[1])
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	size, err := constAxes(o.in[2])
	if err != nil {
		return fmt.Errorf("size: %w", err)
	}
	r := len(xt.shape)
	if len(begin) != r || len(size) != r || !xt.shape.Known() {
		return fmt.Errorf("begin %v and size %v for input %s", begin, size, xt.shape)
	}
	sp := &denseSpec{begin: begin, end: make([]int, r), strides: make([]int, r)}
	for d := range begin {
		if begin[d] < 0 || begin[d] > xt.shape[d] || size[d] < -1 {
			return fmt.Errorf("begin %v and size %v for input %s", begin, size, xt.shape)
		}
		sp.strides[d], sp.end[d] = 1, begin[d]+size[d]
		if size[d] == -1 {
			sp.endMask |= 1 << d
		}
	}
	return b.sliceDense(o, x, sp)
}

// sliceDense emits the Slice (and the reshape a shrink or new axis needs) for a dense spec.
func (b *builder) sliceDense(o *opc, x *graph.Value, sp *denseSpec) error {
	xt := o.in[0]
	r := len(xt.shape)
	begin, end, strides := sp.begin, sp.end, sp.strides
	var starts, ends, axes, steps []int64
	sliced := xt.shape.Clone()
	shrunk := sp.newAxes // the output's rank differs from the input's: reshape after the Slice
	for d := range begin {
		dim, s := xt.shape[d], strides[d]
		if s == 0 {
			return fmt.Errorf("stride 0 on axis %d", d)
		}
		bg, en := begin[d], end[d]
		if bg < 0 {
			bg += dim
		}
		if en < 0 {
			en += dim
		}
		if sp.shrink&(1<<d) != 0 {
			if bg < 0 || bg >= dim {
				return fmt.Errorf("shrink index %d out of range for axis %d of size %d", begin[d], d, dim)
			}
			en, s, shrunk = bg+1, 1, true
		} else {
			lo, hi := 0, dim
			if s < 0 {
				lo, hi = -1, dim-1
			}
			if sp.beginMask&(1<<d) != 0 {
				bg = hi
				if s > 0 {
					bg = lo
				}
			}
			if sp.endMask&(1<<d) != 0 {
				en = lo
				if s > 0 {
					en = hi
				}
			}
			bg, en = min(max(bg, lo), hi), min(max(en, lo), hi)
		}
		n := 0
		if s > 0 && en > bg {
			n = (en - bg + s - 1) / s
		} else if s < 0 && en < bg {
			n = (bg - en - s - 1) / -s
		}
		if n == 0 {
			return fmt.Errorf("axis %d slices to nothing", d)
		}
		sliced[d] = n
		if en == -1 {
			en = -dim - 1 // "before element 0" for a negative stride, in Slice's terms
		}
		starts, ends = append(starts, int64(bg)), append(ends, int64(en))
		axes, steps = append(axes, int64(axisNCHW(d, r))), append(steps, int64(s))
	}
	ins := []*graph.Value{x, b.i64Const("starts", starts), b.i64Const("ends", ends), b.i64Const("axes", axes), b.i64Const("steps", steps)}
	if !shrunk {
		if !sliced.Equal(o.out[0].shape) {
			return fmt.Errorf("slices %s to %s, the output is %s", xt.shape, sliced, o.out[0].shape)
		}
		b.node("Slice", ins, b.newAct(o.out[0]))
		return nil
	}
	if sliced.NumElements() != o.out[0].shape.NumElements() {
		return fmt.Errorf("slices %s to %s, the output is %s", xt.shape, sliced, o.out[0].shape)
	}
	v := &graph.Value{Name: b.name(o.out[0].name + "_sliced"), DType: x.DType, Shape: nchw(sliced)}
	b.node("Slice", ins, v)
	b.reshapeTo(b.flatNHWC(v, &tinfo{name: v.Name, shape: sliced, dt: xt.dt}), o.out[0])
	return nil
}

// sliceMasks are STRIDED_SLICE's bit masks over the positions of its begin/end/strides spec.
type sliceMasks struct{ begin, end, ellipsis, newAxis, shrink int32 }

// denseSpec is a strided-slice spec with one entry per input dim.
type denseSpec struct {
	begin, end, strides        []int
	beginMask, endMask, shrink int32 // bits per input dim
	newAxes                    bool  // the spec inserts dims of 1 into the output
}

// denseSlice expands a STRIDED_SLICE spec over rank input dims as TensorFlow does
// (strided_slice_op.cc's BuildDenseSpec): the first ellipsis covers the input dims that the
// entries around it leave over (a spec without one gets one at its end), each taken whole; a
// new-axis entry (which wins over shrink, and loses to ellipsis, on the same position) consumes no
// input dim; every other entry consumes the next input dim.
func denseSlice(rank int, begin, end, strides []int, m sliceMasks) (*denseSpec, error) {
	n := len(begin)
	ellipsis := -1
	for i := 0; i < n; i++ {
		if m.ellipsis&(1<<i) != 0 {
			ellipsis = i
			break
		}
	}
	consumed := 0 // input dims the entries other than the ellipsis consume
	for i := 0; i < n; i++ {
		if i != ellipsis && m.newAxis&(1<<i) == 0 {
			consumed++
		}
	}
	if ellipsis < 0 {
		ellipsis = n // the implicit ellipsis at the end
	}
	if consumed > rank {
		return nil, fmt.Errorf("the slice spec indexes %d dims of a rank-%d input", consumed, rank)
	}
	sp := &denseSpec{begin: make([]int, rank), end: make([]int, rank), strides: make([]int, rank)}
	full := 0
	whole := func(k int) {
		for ; k > 0; k-- {
			sp.strides[full] = 1
			sp.beginMask |= 1 << full
			sp.endMask |= 1 << full
			full++
		}
	}
	for i := 0; i < n; i++ {
		switch {
		case i == ellipsis:
			whole(rank - consumed)
		case m.ellipsis&(1<<i) != 0:
			return nil, fmt.Errorf("more than one ellipsis in the slice spec")
		case m.newAxis&(1<<i) != 0:
			sp.newAxes = true
		default:
			sp.begin[full], sp.end[full], sp.strides[full] = begin[i], end[i], strides[i]
			if m.begin&(1<<i) != 0 {
				sp.beginMask |= 1 << full
			}
			if m.end&(1<<i) != 0 {
				sp.endMask |= 1 << full
			}
			if m.shrink&(1<<i) != 0 {
				sp.shrink |= 1 << full
			}
			full++
		}
	}
	if ellipsis == n {
		whole(rank - consumed)
	}
	return sp, nil
}

// convDepthSpace: TensorFlow's DepthToSpace is ONNX's DCR order, SpaceToDepth the same in both.
func convDepthSpace(b *builder, o *opc) error {
	x, err := b.in(o, 0)
	if err != nil {
		return err
	}
	if len(o.in[0].shape) != 4 {
		return fmt.Errorf("input must be 4-D, is %s", o.in[0].shape)
	}
	code, _ := b.builtin(o.op)
	var bs int32
	op := "DepthToSpace"
	if code == fb.BuiltinOperatorDEPTH_TO_SPACE {
		bs = opts[fb.DepthToSpaceOptions](o).BlockSize()
	} else {
		bs, op = opts[fb.SpaceToDepthOptions](o).BlockSize(), "SpaceToDepth"
	}
	if bs < 1 {
		return fmt.Errorf("block size %d", bs)
	}
	n := b.node(op, []*graph.Value{x}, b.newAct(o.out[0]))
	n.SetInt("blocksize", int64(bs))
	if op == "DepthToSpace" {
		n.SetStr("mode", "DCR")
	}
	return nil
}

// convResize maps RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR onto Resize with the output's size:
//
//	bilinear: half_pixel_centers -> half_pixel, align_corners -> align_corners, else asymmetric
//	nearest:  floor((o [+0.5 with half_pixel_centers]) * in/out), or with align_corners
//	          round-half-up(o * (in-1)/(out-1)): tf_half_pixel_for_nn / asymmetric with floor,
//	          align_corners with round_prefer_ceil
//
// (TensorFlow's bilinear clamps source coordinates into the image, as Resize's linear mode does.)
func convResize(b *builder, o *opc) error {
	x, err := b.in(o, 0)
	if err != nil {
		return err
	}
	xt, yt := o.in[0], o.out[0]
	if len(xt.shape) != 4 || len(yt.shape) != 4 || !yt.shape.Known() {
		return fmt.Errorf("input and output must be 4-D with a known size, are %s and %s", xt.shape, yt.shape)
	}
	y := b.newAct(yt)
	if quantized(o) {
		// TFLite keeps the input's scale and zero point; the resize runs on the dequantized values
		// and rounds back (TFLite's integer kernels interpolate in fixed point: at most one step
		// apart, on few elements).
		xs, xz := b.qparams(xt)
		ys, yz := b.qparams(yt)
		f := &graph.Value{Name: b.name(y.Name + "_f32"), DType: tensor.F32, Shape: x.Shape.Clone()}
		b.node("DequantizeLinear", []*graph.Value{x, xs, xz}, f).SetStr(graph.AttrRounding, graph.RoundingTFLite)
		g := &graph.Value{Name: b.name(y.Name + "_f32out"), DType: tensor.F32, Shape: y.Shape.Clone()}
		if err := b.resize(o, f, g); err != nil {
			return err
		}
		b.node("QuantizeLinear", []*graph.Value{g, ys, yz}, y).SetStr(graph.AttrRounding, graph.RoundingTFLite)
		return nil
	}
	return b.resize(o, x, y)
}

// resize emits the float Resize of x into y for RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR.
func (b *builder) resize(o *opc, x, y *graph.Value) error {
	yt := o.out[0]
	code, _ := b.builtin(o.op)
	var align, half bool
	mode := "linear"
	if code == fb.BuiltinOperatorRESIZE_BILINEAR {
		op := opts[fb.ResizeBilinearOptions](o)
		align, half = op.AlignCorners(), op.HalfPixelCenters()
	} else {
		op := opts[fb.ResizeNearestNeighborOptions](o)
		align, half, mode = op.AlignCorners(), op.HalfPixelCenters(), "nearest"
	}
	if align && half {
		return fmt.Errorf("align_corners together with half_pixel_centers is not supported")
	}
	if len(o.in) > 1 && o.in[1] != nil && o.in[1].data != nil {
		size, err := constAxes(o.in[1])
		if err != nil {
			return err
		}
		if len(size) != 2 || size[0] != yt.shape[1] || size[1] != yt.shape[2] {
			return fmt.Errorf("size %v disagrees with the output %s", size, yt.shape)
		}
	}
	sizes := b.i64Const("sizes", []int64{int64(yt.shape[0]), int64(yt.shape[3]), int64(yt.shape[1]), int64(yt.shape[2])})
	n := b.node("Resize", []*graph.Value{x, nil, nil, sizes}, y)
	n.SetStr("mode", mode)
	ctm := "asymmetric"
	switch {
	case align:
		ctm = "align_corners"
	case half && mode == "linear":
		ctm = "half_pixel"
	case half:
		ctm = "tf_half_pixel_for_nn"
	}
	n.SetStr("coordinate_transformation_mode", ctm)
	if mode == "nearest" {
		if align {
			n.SetStr("nearest_mode", "round_prefer_ceil")
		} else {
			n.SetStr("nearest_mode", "floor")
		}
	}
	return nil
}

// convTranspose: TRANSPOSE's perm (a constant) names TFLite axes; a 4-D value is held NCHW, so IR
// axis i of the output is TFLite axis [0,3,1,2][i], which perm takes from TFLite input axis
// perm[that], held at IR axis axisNCHW(perm[that]).
func convTranspose(b *builder, o *opc) error {
	x, err := b.in(o, 0)
	if err != nil {
		return err
	}
	perm, err := constAxes(o.in[1])
	if err != nil {
		return fmt.Errorf("perm: %w", err)
	}
	r := len(o.in[0].shape)
	if len(perm) != r || len(o.out[0].shape) != r {
		return fmt.Errorf("perm %v for input %s and output %s", perm, o.in[0].shape, o.out[0].shape)
	}
	seen := make([]bool, r)
	for _, p := range perm {
		if p < 0 || p >= r || seen[p] {
			return fmt.Errorf("perm %v is not a permutation of %d axes", perm, r)
		}
		seen[p] = true
	}
	ir := make([]int64, r)
	for i := range ir {
		a := i
		if r == 4 {
			a = [4]int{0, 3, 1, 2}[i]
		}
		ir[i] = int64(axisNCHW(perm[a], r))
	}
	b.node("Transpose", []*graph.Value{x}, b.newAct(o.out[0])).SetInts("perm", ir)
	return nil
}

// convArgMax: ARG_MAX/ARG_MIN over one constant axis, the axis dropped, the index as the output
// tensor's int32 or int64. Over the channels of a 4-D input the NCHW result [N,H,W] is already in
// TFLite's order; over another axis the IR keeps the reduced dim and the result is reshaped in
// NHWC element order.
func convArgMax(b *builder, o *opc) error {
	x, err := b.in(o, 0)
	if err != nil {
		return err
	}
	ax, err := constAxes(o.in[1])
	if err != nil || len(ax) != 1 {
		return fmt.Errorf("axis must be one constant, %v", err)
	}
	xt, yt := o.in[0], o.out[0]
	r := len(xt.shape)
	a := ax[0]
	if a < 0 {
		a += r
	}
	if a < 0 || a >= r || !xt.shape.Known() {
		return fmt.Errorf("axis %d for input %s", ax[0], xt.shape)
	}
	if yt.dt != tensor.I32 && yt.dt != tensor.I64 {
		return fmt.Errorf("output type %s (want int32 or int64)", yt.dt)
	}
	code, _ := b.builtin(o.op)
	op := "ArgMax"
	if code == fb.BuiltinOperatorARG_MIN {
		op = "ArgMin"
	}
	kept := xt.shape.Clone()
	kept[a] = 1
	direct := r != 4 || a == 3
	idx := &graph.Value{Name: b.name(yt.name + "_i64"), DType: tensor.I64}
	if direct {
		idx.Shape = append(xt.shape[:a:a].Clone(), xt.shape[a+1:]...)
	} else {
		idx.Shape = nchw(kept)
	}
	if quantized(o) {
		// The largest quantized value is the largest real one (scale > 0): find it in float.
		xs, xz := b.qparams(xt)
		f := &graph.Value{Name: b.name(xt.name + "_f32"), DType: tensor.F32, Shape: x.Shape.Clone()}
		b.node("DequantizeLinear", []*graph.Value{x, xs, xz}, f).SetStr(graph.AttrRounding, graph.RoundingTFLite)
		x = f
	}
	n := b.node(op, []*graph.Value{x}, idx)
	n.SetInt("axis", int64(axisNCHW(a, r)))
	if direct {
		n.SetInt("keepdims", 0)
	} else {
		n.SetInt("keepdims", 1)
		flat := b.flatNHWC(idx, &tinfo{name: idx.Name, shape: kept, dt: tensor.I64})
		mid := &graph.Value{Name: b.name(yt.name + "_i64_flat"), DType: tensor.I64, Shape: yt.shape.Clone()}
		b.reshapeNode(flat, mid, yt.shape)
		idx = mid
	}
	y := b.newAct(yt)
	if yt.dt == tensor.I64 {
		b.node("Identity", []*graph.Value{idx}, y)
		return nil
	}
	b.node("Cast", []*graph.Value{idx}, y).SetInt("to", tensorio.ONNXFromDType(tensor.I32))
	return nil
}

// convPad: PAD (quantized: pads with the zero point, a real 0), PADV2 (its constant_values) and
// MIRROR_PAD (REFLECT only) onto Pad; TFLite's [rank][2] paddings become ONNX's befores, afters.
func convPad(b *builder, o *opc) error {
	x, err := b.in(o, 0)
	if err != nil {
		return err
	}
	xt, pt := o.in[0], o.in[1]
	if pt == nil || pt.data == nil {
		return fmt.Errorf("paddings must be constant")
	}
	p, err := constAxes(pt)
	if err != nil {
		return err
	}
	rank := len(xt.shape)
	if len(p) != 2*rank {
		return fmt.Errorf("paddings has %d values for rank %d", len(p), rank)
	}
	// TFLite paddings are [rank][2] (before, after); ONNX pads are all befores then all afters.
	onnx := make([]int64, 2*rank)
	for d := 0; d < rank; d++ {
		if p[2*d] < 0 || p[2*d+1] < 0 {
			return fmt.Errorf("negative padding %v", p)
		}
		id := d
		if rank == 4 {
			id = axisNCHW(d, 4)
		}
		onnx[id], onnx[rank+id] = int64(p[2*d]), int64(p[2*d+1])
	}
	ins := []*graph.Value{x, b.i64Const("pads", onnx)}
	code, _ := b.builtin(o.op)
	switch {
	case code == fb.BuiltinOperatorMIRROR_PAD:
		if opts[fb.MirrorPadOptions](o).Mode() != fb.MirrorPadModeREFLECT {
			return fmt.Errorf("SYMMETRIC mirror padding is not supported (REFLECT is)")
		}
		b.node("Pad", ins, b.newAct(o.out[0])).SetStr("mode", "reflect")
		return nil
	case code == fb.BuiltinOperatorPADV2 && len(o.in) > 2 && o.in[2] != nil:
		v, err := b.padValue(o.in[2], xt)
		if err != nil {
			return err
		}
		ins = append(ins, v)
	case quantized(o):
		// Padding with the zero point pads with real 0.
		_, z := b.qparams(o.out[0])
		ins = append(ins, z)
	}
	b.node("Pad", ins, b.newAct(o.out[0]))
	return nil
}

// padValue is PADV2's constant_values, a one-element constant of the input's type (an int8 one
// moved to the uint8 the activations are carried in).
func (b *builder) padValue(t, xt *tinfo) (*graph.Value, error) {
	if t.data == nil || t.shape.NumElements() != 1 || t.dt != xt.dt {
		return nil, fmt.Errorf("constant_values must be one constant %s value", xt.dt)
	}
	if xt.toU8 {
		return b.zpConst(tensor.U8, int64(int8(t.data[0]))+128), nil
	}
	return b.constant(t.name, t.dt, tensor.Shape{}, t.data[:t.dt.Size()]), nil
}

// convSplit: SPLIT (axis, x; num_splits equal parts) and SPLIT_V (x, size_splits, axis; one size
// may be -1, the rest) onto Split with explicit sizes along the NCHW axis.
func convSplit(b *builder, o *opc) error {
	code, _ := b.builtin(o.op)
	xi, ai := 1, 0
	if code == fb.BuiltinOperatorSPLIT_V {
		xi, ai = 0, 2
	}
	if len(o.in) <= max(xi, ai) || o.in[xi] == nil {
		return fmt.Errorf("needs the input and the axis")
	}
	x, err := b.value(o.in[xi].ti)
	if err != nil {
		return err
	}
	xt := o.in[xi]
	ax, err := constAxes(o.in[ai])
	if err != nil || len(ax) != 1 {
		return fmt.Errorf("axis must be one constant, %v", err)
	}
	r := len(xt.shape)
	a := ax[0]
	if a < 0 {
		a += r
	}
	if a < 0 || a >= r || !xt.shape.Known() {
		return fmt.Errorf("axis %d for input %s", ax[0], xt.shape)
	}
	dim, n := xt.shape[a], len(o.out)
	sizes := make([]int64, n)
	if code == fb.BuiltinOperatorSPLIT {
		if dim%n != 0 {
			return fmt.Errorf("%d outputs do not split %d evenly", n, dim)
		}
		for i := range sizes {
			sizes[i] = int64(dim / n)
		}
	} else {
		ss, err := constAxes(o.in[1])
		if err != nil || len(ss) != n {
			return fmt.Errorf("size_splits %v for %d outputs (%v)", ss, n, err)
		}
		rest, free := dim, -1
		for i, v := range ss {
			switch {
			case v == -1 && free < 0:
				free = i
			case v < 0:
				return fmt.Errorf("size_splits %v", ss)
			default:
				sizes[i] = int64(v)
				rest -= v
			}
		}
		if free >= 0 {
			sizes[free] = int64(rest)
		} else if rest != 0 {
			return fmt.Errorf("size_splits %v do not sum to %d", ss, dim)
		}
		if rest < 0 {
			return fmt.Errorf("size_splits %v exceed %d", ss, dim)
		}
	}
	outs := make([]*graph.Value, n)
	for i, t := range o.out {
		outs[i] = b.newAct(t)
	}
	b.node("Split", []*graph.Value{x, b.i64Const("split", sizes)}, outs...).SetInt("axis", int64(axisNCHW(a, r)))
	return nil
}
