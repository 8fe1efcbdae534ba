package tflitegen

import (
	"fmt"
	"math"

	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
)

// Eval runs a float32 model with a naive NHWC interpreter (ref_mediapipe.go: the ops of MediaPipe-style
// models; every value is held as float32, booleans as 0/1) written from the TFLite op definitions
// (reference_ops semantics: SAME padding puts the odd pixel after, average pooling counts only
// in-bounds pixels, broadcasting is NumPy's). It shares no code with the importer, which is what makes
// it useful as an oracle. inputs are flat row-major data for m.Inputs in order.
func Eval(m *Model, inputs [][]float32) ([][]float32, error) {
	if len(inputs) != len(m.Inputs) {
		return nil, fmt.Errorf("tflitegen: %d inputs for %d", len(inputs), len(m.Inputs))
	}
	vals := make([][]float32, len(m.Tensors))
	for i, t := range m.Tensors {
		switch {
		case t.Sparsity != nil:
			vals[i] = t.Dense // DENSIFY's reference is the dense tensor the encoding was made from
		case t.Data != nil && t.Type == fb.TensorTypeFLOAT32:
			vals[i] = F32s(t.Data)
		case t.Data != nil && t.Type == fb.TensorTypeINT32:
			for _, v := range i32Data(m, int32(i)) {
				vals[i] = append(vals[i], float32(v))
			}
		}
	}
	for i, ti := range m.Inputs {
		if len(inputs[i]) != numel(m.Tensors[ti].Shape) {
			return nil, fmt.Errorf("tflitegen: input %d has %d values, shape %v", i, len(inputs[i]), m.Tensors[ti].Shape)
		}
		vals[ti] = inputs[i]
	}
	for k, op := range m.Ops {
		y, err := evalOp(m, vals, op)
		if err != nil {
			return nil, fmt.Errorf("tflitegen: op %d (%s): %w", k, fb.EnumNamesBuiltinOperator[op.Code], err)
		}
		// An op with several outputs returns them one after another.
		total := 0
		for _, o := range op.Outputs {
			total += numel(m.Tensors[o].Shape)
		}
		if len(y) != total {
			return nil, fmt.Errorf("tflitegen: op %d (%s) produced %d values for outputs of %d", k,
				fb.EnumNamesBuiltinOperator[op.Code], len(y), total)
		}
		for _, o := range op.Outputs {
			n := numel(m.Tensors[o].Shape)
			vals[o], y = y[:n:n], y[n:]
		}
	}
	out := make([][]float32, len(m.Outputs))
	for i, ti := range m.Outputs {
		out[i] = vals[ti]
	}
	return out, nil
}

func shapeOf(m *Model, ti int32) []int {
	s := make([]int, len(m.Tensors[ti].Shape))
	for i, d := range m.Tensors[ti].Shape {
		s[i] = int(d)
	}
	return s
}

func act(f fb.ActivationFunctionType, v float32) float32 {
	switch f {
	case fb.ActivationFunctionTypeRELU:
		return max(v, 0)
	case fb.ActivationFunctionTypeRELU6:
		return min(max(v, 0), 6)
	case fb.ActivationFunctionTypeRELU_N1_TO_1:
		return min(max(v, -1), 1)
	}
	return v
}

// samePad returns the leading pad and output size of one spatial dim.
func samePad(p fb.Padding, in, k, stride, dil int) (pad, out int) {
	ek := (k-1)*dil + 1
	if p == fb.PaddingVALID {
		return 0, (in-ek)/stride + 1
	}
	out = (in + stride - 1) / stride
	return max(0, (out-1)*stride+ek-in) / 2, out
}

func evalOp(m *Model, vals [][]float32, op Op) ([]float32, error) {
	in := func(i int) []float32 { return vals[op.Inputs[i]] }
	for i, ti := range op.Inputs {
		if ti >= 0 && vals[ti] == nil && m.Tensors[ti].Type == fb.TensorTypeFLOAT32 {
			return nil, fmt.Errorf("input %d not computed", i)
		}
	}
	xs := shapeOf(m, op.Inputs[0])
	ys := shapeOf(m, op.Outputs[0])
	x := in(0)
	switch op.Code {
	case fb.BuiltinOperatorCONV_2D, fb.BuiltinOperatorDEPTHWISE_CONV_2D:
		ws := shapeOf(m, op.Inputs[1])
		w := in(1)
		var bias []float32
		if len(op.Inputs) > 2 && op.Inputs[2] >= 0 {
			bias = in(2)
		}
		var pad fb.Padding
		var sh, sw, dh, dw int
		var af fb.ActivationFunctionType
		dw2 := op.Code == fb.BuiltinOperatorDEPTHWISE_CONV_2D
		mult := 1
		if dw2 {
			o := op.Options.(DepthwiseConv2D)
			pad, sh, sw, dh, dw, af, mult = o.Padding, int(o.StrideH), int(o.StrideW), int(max(o.DilationH, 1)), int(max(o.DilationW, 1)), o.Act, int(max(o.DepthMultiplier, 1))
		} else {
			o := op.Options.(Conv2D)
			pad, sh, sw, dh, dw, af = o.Padding, int(o.StrideH), int(o.StrideW), int(max(o.DilationH, 1)), int(max(o.DilationW, 1)), o.Act
		}
		n, h, wd, c := xs[0], xs[1], xs[2], xs[3]
		kh, kw := ws[1], ws[2]
		pt, oh := samePad(pad, h, kh, sh, dh)
		pl, ow := samePad(pad, wd, kw, sw, dw)
		oc := ws[0]
		if dw2 {
			oc = ws[3]
		}
		if ys[1] != oh || ys[2] != ow || ys[3] != oc {
			return nil, fmt.Errorf("output shape %v, computed [%d %d %d %d]", ys, n, oh, ow, oc)
		}
		y := make([]float32, n*oh*ow*oc)
		for b := 0; b < n; b++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					for o := 0; o < oc; o++ {
						var s float64
						if bias != nil {
							s = float64(bias[o])
						}
						for ky := 0; ky < kh; ky++ {
							iy := oy*sh - pt + ky*dh
							if iy < 0 || iy >= h {
								continue
							}
							for kx := 0; kx < kw; kx++ {
								ix := ox*sw - pl + kx*dw
								if ix < 0 || ix >= wd {
									continue
								}
								base := ((b*h+iy)*wd + ix) * c
								if dw2 {
									s += float64(x[base+o/mult]) * float64(w[(ky*kw+kx)*oc+o])
									continue
								}
								ic := ws[3]
								g0 := (o / (oc / (c / ic))) * ic // grouped conv: filter in-channels per group
								for i := 0; i < ic; i++ {
									s += float64(x[base+g0+i]) * float64(w[((o*kh+ky)*kw+kx)*ic+i])
								}
							}
						}
						y[((b*oh+oy)*ow+ox)*oc+o] = act(af, float32(s))
					}
				}
			}
		}
		return y, nil
	case fb.BuiltinOperatorFULLY_CONNECTED:
		ws := shapeOf(m, op.Inputs[1])
		w := in(1)
		nOut, k := ws[0], ws[1]
		var bias []float32
		if len(op.Inputs) > 2 && op.Inputs[2] >= 0 {
			bias = in(2)
		}
		o := op.Options.(FullyConnected)
		rows := len(x) / k
		y := make([]float32, rows*nOut)
		for r := 0; r < rows; r++ {
			for j := 0; j < nOut; j++ {
				var s float64
				if bias != nil {
					s = float64(bias[j])
				}
				for i := 0; i < k; i++ {
					s += float64(x[r*k+i]) * float64(w[j*k+i])
				}
				y[r*nOut+j] = act(o.Act, float32(s))
			}
		}
		return y, nil
	case fb.BuiltinOperatorAVERAGE_POOL_2D, fb.BuiltinOperatorMAX_POOL_2D:
		o := op.Options.(Pool2D)
		n, h, wd, c := xs[0], xs[1], xs[2], xs[3]
		kh, kw, sh, sw := int(o.FilterHeight), int(o.FilterWidth), int(o.StrideH), int(o.StrideW)
		pt, oh := samePad(o.Padding, h, kh, sh, 1)
		pl, ow := samePad(o.Padding, wd, kw, sw, 1)
		y := make([]float32, n*oh*ow*c)
		for b := 0; b < n; b++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					for ch := 0; ch < c; ch++ {
						var s float64
						cnt := 0
						mx := float32(math.Inf(-1))
						for ky := 0; ky < kh; ky++ {
							for kx := 0; kx < kw; kx++ {
								iy, ix := oy*sh-pt+ky, ox*sw-pl+kx
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								v := x[((b*h+iy)*wd+ix)*c+ch]
								s += float64(v)
								mx = max(mx, v)
								cnt++
							}
						}
						r := mx
						if op.Code == fb.BuiltinOperatorAVERAGE_POOL_2D {
							r = float32(s / float64(cnt))
						}
						y[((b*oh+oy)*ow+ox)*c+ch] = act(o.Act, r)
					}
				}
			}
		}
		return y, nil
	case fb.BuiltinOperatorMEAN:
		axes := i32Data(m, op.Inputs[1])
		red := make([]bool, len(xs))
		for _, a := range axes {
			if a < 0 {
				a += int32(len(xs))
			}
			red[a] = true
		}
		// Output index = input index with reduced dims dropped (keep_dims only changes the shape).
		outShape := []int{}
		for d, n := range xs {
			if !red[d] {
				outShape = append(outShape, n)
			}
		}
		sum := make([]float64, max(1, prod(outShape)))
		cnt := len(x) / len(sum)
		forEach(xs, func(idx []int, flat int) {
			o := 0
			for d := range xs {
				if !red[d] {
					o = o*xs[d] + idx[d]
				}
			}
			sum[o] += float64(x[flat])
		})
		y := make([]float32, len(sum))
		for i, s := range sum {
			y[i] = float32(s / float64(cnt))
		}
		return y, nil
	case fb.BuiltinOperatorADD, fb.BuiltinOperatorMUL:
		var af fb.ActivationFunctionType
		if o, ok := op.Options.(Add); ok {
			af = o.Act
		}
		if o, ok := op.Options.(Mul); ok {
			af = o.Act
		}
		as, bs := xs, shapeOf(m, op.Inputs[1])
		a, bv := x, in(1)
		y := make([]float32, prod(ys))
		forEach(ys, func(idx []int, flat int) {
			va, vb := a[bcast(as, ys, idx)], bv[bcast(bs, ys, idx)]
			if op.Code == fb.BuiltinOperatorADD {
				y[flat] = act(af, va+vb)
			} else {
				y[flat] = act(af, va*vb)
			}
		})
		return y, nil
	case fb.BuiltinOperatorPAD:
		p := i32Data(m, op.Inputs[1])
		y := make([]float32, prod(ys))
		forEach(xs, func(idx []int, flat int) {
			o := 0
			for d := range xs {
				o = o*ys[d] + idx[d] + int(p[2*d])
			}
			y[o] = x[flat]
		})
		return y, nil
	case fb.BuiltinOperatorRESHAPE, fb.BuiltinOperatorSQUEEZE:
		return append([]float32(nil), x...), nil
	case fb.BuiltinOperatorCONCATENATION:
		o := op.Options.(Concatenation)
		axis := int(o.Axis)
		if axis < 0 {
			axis += len(ys)
		}
		outer := prod(ys[:axis])
		y := make([]float32, 0, prod(ys))
		for i := 0; i < outer; i++ {
			for _, ti := range op.Inputs {
				s := shapeOf(m, ti)
				chunk := prod(s[axis:])
				for _, v := range vals[ti][i*chunk : (i+1)*chunk] {
					y = append(y, act(o.Act, v))
				}
			}
		}
		return y, nil
	case fb.BuiltinOperatorSOFTMAX:
		beta := op.Options.(Softmax).Beta
		c := xs[len(xs)-1]
		y := make([]float32, len(x))
		for r := 0; r < len(x)/c; r++ {
			row := x[r*c : (r+1)*c]
			mx := row[0]
			for _, v := range row {
				mx = max(mx, v)
			}
			var s float64
			for i, v := range row {
				e := math.Exp(float64(beta) * float64(v-mx))
				y[r*c+i] = float32(e)
				s += e
			}
			for i := range row {
				y[r*c+i] = float32(float64(y[r*c+i]) / s)
			}
		}
		return y, nil
	case fb.BuiltinOperatorLOGISTIC, fb.BuiltinOperatorHARD_SWISH, fb.BuiltinOperatorRELU, fb.BuiltinOperatorRELU6:
		y := make([]float32, len(x))
		for i, v := range x {
			switch op.Code {
			case fb.BuiltinOperatorLOGISTIC:
				y[i] = float32(1 / (1 + math.Exp(-float64(v))))
			case fb.BuiltinOperatorHARD_SWISH:
				y[i] = v * min(max(v+3, 0), 6) / 6
			case fb.BuiltinOperatorRELU:
				y[i] = max(v, 0)
			default:
				y[i] = min(max(v, 0), 6)
			}
		}
		return y, nil
	}
	return evalMediaPipe(m, vals, op, xs, ys)
}

func i32Data(m *Model, ti int32) []int32 {
	d := m.Tensors[ti].Data
	v := make([]int32, len(d)/4)
	for i := range v {
		v[i] = int32(uint32(d[4*i]) | uint32(d[4*i+1])<<8 | uint32(d[4*i+2])<<16 | uint32(d[4*i+3])<<24)
	}
	return v
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// forEach calls f for every multi-index of shape s in row-major order.
func forEach(s []int, f func(idx []int, flat int)) {
	n := prod(s)
	idx := make([]int, len(s))
	for flat := 0; flat < n; flat++ {
		f(idx, flat)
		for d := len(s) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < s[d] {
				break
			}
			idx[d] = 0
		}
	}
}

// bcast maps an output index to the flat index of a NumPy-broadcast operand of shape s.
func bcast(s, out []int, idx []int) int {
	off := len(out) - len(s)
	o := 0
	for d := range s {
		i := idx[off+d]
		if s[d] == 1 {
			i = 0
		}
		o = o*s[d] + i
	}
	return o
}
