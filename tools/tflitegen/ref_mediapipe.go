package tflitegen

import (
	"encoding/binary"
	"fmt"
	"math"

	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
)

// evalMediaPipe is the reference for the ops MediaPipe-style float models add, written from TFLite's
// reference kernels (reference_ops.h; MediaPipe's transpose_conv_bias.cc for the custom op).
func evalMediaPipe(m *Model, vals [][]float32, op Op, xs, ys []int) ([]float32, error) {
	x := vals[op.Inputs[0]]
	in := func(i int) []float32 { return vals[op.Inputs[i]] }
	binary2 := func(f func(a, b float32) float32, af fb.ActivationFunctionType) []float32 {
		bs := shapeOf(m, op.Inputs[1])
		a, b := x, in(1)
		y := make([]float32, prod(ys))
		forEach(ys, func(idx []int, flat int) {
			y[flat] = act(af, f(a[bcast(xs, ys, idx)], b[bcast(bs, ys, idx)]))
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
	bool01 := func(c bool) float32 {
		if c {
			return 1
		}
		return 0
	}
	switch op.Code {
	case fb.BuiltinOperatorDEQUANTIZE:
		if t := m.Tensors[op.Inputs[0]]; t.Data != nil && t.Sparsity == nil {
			return dequantize(t)
		}
		return append([]float32(nil), x...), nil // a computed (densified) float16 tensor, held widened
	case fb.BuiltinOperatorDENSIFY:
		return append([]float32(nil), x...), nil
	case fb.BuiltinOperatorSUB:
		return binary2(func(a, b float32) float32 { return a - b }, optAct(op.Options)), nil
	case fb.BuiltinOperatorDIV:
		return binary2(func(a, b float32) float32 { return a / b }, optAct(op.Options)), nil
	case fb.BuiltinOperatorPRELU:
		return binary2(func(a, alpha float32) float32 {
			if a >= 0 {
				return a
			}
			return alpha * a
		}, fb.ActivationFunctionTypeNONE), nil
	case fb.BuiltinOperatorGREATER_EQUAL:
		return binary2(func(a, b float32) float32 { return bool01(a >= b) }, fb.ActivationFunctionTypeNONE), nil
	case fb.BuiltinOperatorLESS:
		return binary2(func(a, b float32) float32 { return bool01(a < b) }, fb.ActivationFunctionTypeNONE), nil
	case fb.BuiltinOperatorNEG:
		return unary(func(v float64) float64 { return -v }), nil
	case fb.BuiltinOperatorABS:
		return unary(math.Abs), nil
	case fb.BuiltinOperatorEXP:
		return unary(math.Exp), nil
	case fb.BuiltinOperatorTANH:
		return unary(math.Tanh), nil
	case fb.BuiltinOperatorLEAKY_RELU:
		alpha := float64(op.Options.(LeakyRelu).Alpha)
		return unary(func(v float64) float64 {
			if v < 0 {
				return alpha * v
			}
			return v
		}), nil
	case fb.BuiltinOperatorCAST:
		to := m.Tensors[op.Outputs[0]].Type
		return unary(func(v float64) float64 {
			switch to {
			case fb.TensorTypeBOOL:
				return float64(bool01(v != 0))
			case fb.TensorTypeINT32, fb.TensorTypeINT64:
				return math.Trunc(v) // static_cast<int>
			}
			return v
		}), nil
	case fb.BuiltinOperatorSUM, fb.BuiltinOperatorREDUCE_MAX:
		return reduce(xs, x, i32Data(m, op.Inputs[1]), op.Code == fb.BuiltinOperatorREDUCE_MAX), nil
	case fb.BuiltinOperatorSTRIDED_SLICE:
		return stridedSlice(xs, x, i32Data(m, op.Inputs[1]), i32Data(m, op.Inputs[2]), i32Data(m, op.Inputs[3]), op.Options.(StridedSlice))
	case fb.BuiltinOperatorDEPTH_TO_SPACE, fb.BuiltinOperatorSPACE_TO_DEPTH:
		return depthSpace(op, xs, ys, x), nil
	case fb.BuiltinOperatorRESIZE_BILINEAR, fb.BuiltinOperatorRESIZE_NEAREST_NEIGHBOR:
		return resize(op, xs, ys, x)
	case fb.BuiltinOperatorTRANSPOSE_CONV:
		o := op.Options.(TransposeConv)
		ws := shapeOf(m, op.Inputs[1])
		x = in(2)
		xs = shapeOf(m, op.Inputs[2])
		var bias []float32
		if len(op.Inputs) > 3 && op.Inputs[3] >= 0 {
			bias = in(3)
		}
		// Padding as the forward conv from the output's size (transpose_conv.cc).
		padH, _ := samePad(o.Padding, ys[1], ws[1], int(o.StrideH), 1)
		padW, _ := samePad(o.Padding, ys[2], ws[2], int(o.StrideW), 1)
		return transposeConv(x, xs, in(1), ws, bias, ys, int(o.StrideH), int(o.StrideW), padH, padW, o.Act), nil
	case fb.BuiltinOperatorCUSTOM:
		if op.CustomCode != "Convolution2DTransposeBias" || len(op.CustomOptions) < 12 {
			return nil, fmt.Errorf("custom op %q not supported by the reference", op.CustomCode)
		}
		c := op.CustomOptions
		p := int32(binary.LittleEndian.Uint32(c))
		sw, sh := int(int32(binary.LittleEndian.Uint32(c[4:]))), int(int32(binary.LittleEndian.Uint32(c[8:])))
		ws := shapeOf(m, op.Inputs[1])
		padH, padW := 0, 0
		if p == 1 { // SAME (MediaPipe's Prepare/Eval)
			padH = max(0, ws[1]-(xs[1]-1)%sh-1) / 2
			padW = max(0, ws[2]-(xs[2]-1)%sw-1) / 2
		}
		return transposeConv(x, xs, in(1), ws, in(2), ys, sh, sw, padH, padW, fb.ActivationFunctionTypeNONE), nil
	}
	return evalWild(m, vals, op, xs, ys)
}

func optAct(o Options) fb.ActivationFunctionType {
	switch o := o.(type) {
	case Sub:
		return o.Act
	case Div:
		return o.Act
	}
	return fb.ActivationFunctionTypeNONE
}

// dequantize is DEQUANTIZE of a constant: float16 bits widened, or (q - zero_point) * scale per
// quantized dimension for int8/uint8.
func dequantize(t Tensor) ([]float32, error) {
	switch t.Type {
	case fb.TensorTypeFLOAT16:
		y := make([]float32, len(t.Data)/2)
		for i := range y {
			y[i] = half(binary.LittleEndian.Uint16(t.Data[2*i:]))
		}
		return y, nil
	case fb.TensorTypeINT8, fb.TensorTypeUINT8:
		s := make([]int, len(t.Shape))
		for i, d := range t.Shape {
			s[i] = int(d)
		}
		y := make([]float32, prod(s))
		forEach(s, func(idx []int, flat int) {
			q := 0
			if len(t.Scale) > 1 {
				q = idx[t.QDim]
			}
			v := float64(t.Data[flat])
			if t.Type == fb.TensorTypeINT8 {
				v = float64(int8(t.Data[flat]))
			}
			y[flat] = float32((v - float64(t.ZeroPoint[q])) * float64(t.Scale[q]))
		})
		return y, nil
	}
	return nil, fmt.Errorf("DEQUANTIZE of %s", fb.EnumNamesTensorType[t.Type])
}

// half decodes IEEE 754 binary16 bits.
func half(h uint16) float32 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, f := int(h>>10)&0x1f, float64(h&0x3ff)
	switch e {
	case 0:
		return float32(sign * math.Ldexp(f, -24))
	case 31:
		if f != 0 {
			return float32(math.NaN())
		}
		return float32(sign * math.Inf(1))
	}
	return float32(sign * math.Ldexp(1024+f, e-25))
}

// reduce sums (or takes the max of) x over axes; keep_dims only changes the shape.
func reduce(xs []int, x []float32, axes []int32, isMax bool) []float32 {
	red := make([]bool, len(xs))
	for _, a := range axes {
		if a < 0 {
			a += int32(len(xs))
		}
		red[a] = true
	}
	var outShape []int
	for d, n := range xs {
		if !red[d] {
			outShape = append(outShape, n)
		}
	}
	acc := make([]float64, max(1, prod(outShape)))
	if isMax {
		for i := range acc {
			acc[i] = math.Inf(-1)
		}
	}
	forEach(xs, func(idx []int, flat int) {
		o := 0
		for d := range xs {
			if !red[d] {
				o = o*xs[d] + idx[d]
			}
		}
		if isMax {
			acc[o] = math.Max(acc[o], float64(x[flat]))
		} else {
			acc[o] += float64(x[flat])
		}
	})
	y := make([]float32, len(acc))
	for i, v := range acc {
		y[i] = float32(v)
	}
	return y
}

// stridedSlice follows tf.strided_slice: per dim, masked begin/end take the whole range in the
// stride's direction, negative values count from the end, values clamp, and shrink_axis keeps the
// single element at begin. Spec entries before the (first) ellipsis index input dims from the
// front, entries after it from the back, and the dims between are taken whole (no ellipsis: one at
// the end); a new-axis entry indexes no input dim (it only adds a 1 to the output shape, which
// leaves the element order as it is).
func stridedSlice(xs []int, x []float32, begin, end, strides []int32, o StridedSlice) ([]float32, error) {
	r := len(xs)
	spec := make([]int, r) // input dim -> spec entry, -1 for a dim taken whole
	for d := range spec {
		spec[d] = -1
	}
	ell := len(begin)
	for i := range begin {
		if o.EllipsisMask&(1<<i) != 0 {
			ell = i
			break
		}
	}
	indexes := func(i int) bool { return o.EllipsisMask&(1<<i) == 0 && o.NewAxisMask&(1<<i) == 0 }
	d := 0
	for i := 0; i < ell; i++ {
		if indexes(i) {
			if d >= r {
				return nil, fmt.Errorf("spec indexes more dims than %d", r)
			}
			spec[d] = i
			d++
		}
	}
	back := r - 1
	for i := len(begin) - 1; i > ell; i-- {
		if indexes(i) {
			if back < d {
				return nil, fmt.Errorf("spec indexes more dims than %d", r)
			}
			spec[back] = i
			back--
		}
	}
	type rng struct{ start, stride, n int }
	rs := make([]rng, r)
	for d := 0; d < r; d++ {
		dim := xs[d]
		i := spec[d]
		if i < 0 {
			rs[d] = rng{0, 1, dim}
			continue
		}
		s := int(strides[i])
		b, e := int(begin[i]), int(end[i])
		if o.Offset {
			e += b
		}
		if b < 0 {
			b += dim
		}
		if e < 0 {
			e += dim
		}
		if o.ShrinkAxisMask&(1<<i) != 0 {
			if b < 0 || b >= dim {
				return nil, fmt.Errorf("shrink index %d out of range", begin[d])
			}
			rs[d] = rng{b, 1, 1}
			continue
		}
		lo, hi := 0, dim // clamp range for a positive stride
		if s < 0 {
			lo, hi = -1, dim-1
		}
		if o.BeginMask&(1<<i) != 0 {
			b = map[bool]int{true: 0, false: dim - 1}[s > 0]
		}
		if o.EndMask&(1<<i) != 0 {
			e = map[bool]int{true: dim, false: -1}[s > 0]
		}
		b, e = min(max(b, lo), hi), min(max(e, lo), hi)
		n := 0
		if s > 0 && e > b {
			n = (e - b + s - 1) / s
		}
		if s < 0 && e < b {
			n = (b - e - s - 1) / -s
		}
		rs[d] = rng{b, s, n}
	}
	var shape []int
	for _, q := range rs {
		shape = append(shape, q.n)
	}
	y := make([]float32, 0, prod(shape))
	forEach(shape, func(idx []int, _ int) {
		o := 0
		for d := range xs {
			o = o*xs[d] + rs[d].start + idx[d]*rs[d].stride
		}
		y = append(y, x[o])
	})
	return y, nil
}

// depthSpace is DEPTH_TO_SPACE / SPACE_TO_DEPTH on NHWC:
// out[b, h*bs+i, w*bs+j, c] = in[b, h, w, (i*bs+j)*C' + c] and its inverse.
func depthSpace(op Op, xs, ys []int, x []float32) []float32 {
	y := make([]float32, prod(ys))
	if op.Code == fb.BuiltinOperatorDEPTH_TO_SPACE {
		bs := int(op.Options.(DepthToSpace).BlockSize)
		forEach(ys, func(idx []int, flat int) {
			b, oh, ow, c := idx[0], idx[1], idx[2], idx[3]
			ic := ((oh%bs)*bs+ow%bs)*ys[3] + c
			y[flat] = x[((b*xs[1]+oh/bs)*xs[2]+ow/bs)*xs[3]+ic]
		})
		return y
	}
	bs := int(op.Options.(SpaceToDepth).BlockSize)
	forEach(ys, func(idx []int, flat int) {
		b, oh, ow, oc := idx[0], idx[1], idx[2], idx[3]
		blk, c := oc/xs[3], oc%xs[3]
		y[flat] = x[((b*xs[1]+oh*bs+blk/bs)*xs[2]+ow*bs+blk%bs)*xs[3]+c]
	})
	return y
}

// resize is RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR (reference_ops: scales in float, TfLiteRound
// for align_corners nearest, clamped interpolation bounds for bilinear).
func resize(op Op, xs, ys []int, x []float32) ([]float32, error) {
	var align, half bool
	nearest := op.Code == fb.BuiltinOperatorRESIZE_NEAREST_NEIGHBOR
	if nearest {
		o := op.Options.(ResizeNearest)
		align, half = o.AlignCorners, o.HalfPixelCenters
	} else {
		o := op.Options.(ResizeBilinear)
		align, half = o.AlignCorners, o.HalfPixelCenters
	}
	scale := func(in, out int) float32 {
		if align && out > 1 {
			return float32(in-1) / float32(out-1)
		}
		return float32(in) / float32(out)
	}
	sh, sw := scale(xs[1], ys[1]), scale(xs[2], ys[2])
	c := xs[3]
	at := func(b, yy, xx, ch int) float32 { return x[((b*xs[1]+yy)*xs[2]+xx)*c+ch] }
	y := make([]float32, prod(ys))
	nn := func(v int, s float32, size int) int {
		off := float32(0)
		if half {
			off = 0.5
		}
		var r int
		if align {
			r = int(math.Round(float64((float32(v) + off) * s))) // TfLiteRound: half away from zero
		} else {
			r = int(math.Floor(float64((float32(v) + off) * s)))
		}
		r = min(r, size-1)
		if half {
			r = max(r, 0)
		}
		return r
	}
	interp := func(v int, s float32, size int) (float32, int, int) {
		f := float32(v) * s
		if half {
			f = (float32(v)+0.5)*s - 0.5
		}
		lo := max(int(math.Floor(float64(f))), 0)
		hi := min(int(math.Ceil(float64(f))), size-1)
		return f, lo, hi
	}
	forEach(ys, func(idx []int, flat int) {
		b, oy, ox, ch := idx[0], idx[1], idx[2], idx[3]
		if nearest {
			y[flat] = at(b, nn(oy, sh, xs[1]), nn(ox, sw, xs[2]), ch)
			return
		}
		fy, y0, y1 := interp(oy, sh, xs[1])
		fx, x0, x1 := interp(ox, sw, xs[2])
		dy, dx := fy-float32(y0), fx-float32(x0)
		y[flat] = at(b, y0, x0, ch)*(1-dy)*(1-dx) + at(b, y1, x0, ch)*dy*(1-dx) +
			at(b, y0, x1, ch)*(1-dy)*dx + at(b, y1, x1, ch)*dy*dx
	})
	return y, nil
}

// transposeConv scatters every input pixel through the OHWI filter into the output:
// out[b, iy*sh - padH + fy, ix*sw - padW + fx, o] += in[b, iy, ix, i] * w[o, fy, fx, i], on top of
// the bias, then the activation.
func transposeConv(x []float32, xs []int, w []float32, ws []int, bias []float32, ys []int, sh, sw, padH, padW int,
	af fb.ActivationFunctionType) []float32 {
	acc := make([]float64, prod(ys))
	oc := ys[3]
	if bias != nil {
		for i := range acc {
			acc[i] = float64(bias[i%oc])
		}
	}
	forEach(xs, func(idx []int, flat int) {
		b, iy, ix, ic := idx[0], idx[1], idx[2], idx[3]
		for fy := 0; fy < ws[1]; fy++ {
			for fx := 0; fx < ws[2]; fx++ {
				oy, ox := iy*sh-padH+fy, ix*sw-padW+fx
				if oy < 0 || oy >= ys[1] || ox < 0 || ox >= ys[2] {
					continue
				}
				for o := 0; o < oc; o++ {
					acc[((b*ys[1]+oy)*ys[2]+ox)*oc+o] += float64(x[flat]) * float64(w[((o*ws[1]+fy)*ws[2]+fx)*ws[3]+ic])
				}
			}
		}
	})
	y := make([]float32, len(acc))
	for i, v := range acc {
		y[i] = act(af, float32(v))
	}
	return y
}
