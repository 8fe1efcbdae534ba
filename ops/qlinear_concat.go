package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// QLinearConcat (com.microsoft): inputs Y_scale, Y_zero_point, then (X_i, X_i_scale, X_i_zero_point)
// triples; attribute axis. Inputs already quantized like the output are copied; others are requantized
// (TFLite's ConcatenationWithScaling: round(x*s + bias) in float32 with std::round under
// rounding="tflite", half to even in ONNX mode).

func inferQLinearConcat(n *graph.Node) error {
	if len(n.Inputs) < 5 || (len(n.Inputs)-2)%3 != 0 {
		return qlErr(n, "needs Y_scale, Y_zero_point and (X, scale, zero point) triples")
	}
	first := n.Inputs[2].Shape
	rank := len(first)
	axis := int(n.Int("axis", 0))
	if axis < 0 {
		axis += rank
	}
	if axis < 0 || axis >= rank {
		return qlErr(n, "axis %d out of range for rank %d", n.Int("axis", 0), rank)
	}
	out := first.Clone()
	for i := 5; i < len(n.Inputs); i += 3 {
		s := n.Inputs[i].Shape
		if len(s) != rank {
			return qlErr(n, "input ranks differ")
		}
		if out[axis] >= 0 && s[axis] >= 0 {
			out[axis] += s[axis]
		} else {
			out[axis] = -1
		}
	}
	n.Outputs[0].DType = qlZPType(n.Input(1))
	n.Outputs[0].Shape = out
	return nil
}

type qlConcatKernel struct {
	n      *graph.Node
	outer  int   // product of dims before axis
	chunks []int // per input: elements per outer step
	s      [][1]float32
	z      [][1]int32
}

func compileQLinearConcat(n *graph.Node) (Kernel, error) {
	if err := inferQLinearConcat(n); err != nil {
		return nil, err
	}
	o := n.Outputs[0]
	if !o.Shape.Known() || !qlIsQ8(o.DType) {
		return nil, qlErr(n, "output %s%s: need concrete u8/i8", o.DType, o.Shape)
	}
	axis := int(n.Int("axis", 0))
	if axis < 0 {
		axis += len(o.Shape)
	}
	k := &qlConcatKernel{n: n, outer: 1}
	for i := 0; i < axis; i++ {
		k.outer *= o.Shape[i]
	}
	nin := (len(n.Inputs) - 2) / 3
	k.s = make([][1]float32, nin+1)
	k.z = make([][1]int32, nin+1)
	for i := 0; i < nin; i++ {
		v := n.Inputs[2+3*i]
		if !qlIsQ8(v.DType) {
			return nil, qlErr(n, "input %d is %s, want u8/i8", i, v.DType)
		}
		k.chunks = append(k.chunks, v.Shape.NumElements()/max(k.outer, 1))
	}
	return k, nil
}

func (k *qlConcatKernel) ScratchBytes() int { return 0 }

func (k *qlConcatKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	if err := qlReadQ(in[0], in[1], k.s[0][:], k.z[0][:]); err != nil {
		return qlErr(k.n, "y: %v", err)
	}
	y := out[0]
	ys, yz := k.s[0][0], k.z[0][0]
	lo, hi := qlRange(y.DType)
	tfl := qlTFLite(k.n)
	total := 0
	for _, c := range k.chunks {
		total += c
	}
	off := 0
	for i, c := range k.chunks {
		x := in[2+3*i]
		if err := qlReadQ(in[3+3*i], in[4+3*i], k.s[i+1][:], k.z[i+1][:]); err != nil {
			return qlErr(k.n, "input %d: %v", i, err)
		}
		xs, xz := k.s[i+1][0], k.z[i+1][0]
		same := xs == ys && xz == yz && x.DType == y.DType
		scale := xs / ys
		if tfl {
			scale = xs * (1 / ys)
		}
		bias := -float32(xz) * scale
		for o := 0; o < k.outer; o++ {
			src := x.Data[o*c : (o+1)*c]
			dst := y.Data[o*total+off : o*total+off+c]
			if same {
				copy(dst, src)
				continue
			}
			for j := range src {
				q := qlGet(x.DType, src, j)
				var r float64
				if tfl {
					r = float64(float32(q)*scale + bias)
				} else {
					r = float64(float32(q-xz) * xs / ys)
				}
				dst[j] = byte(qlQuantizeF(r, yz, lo, hi, tfl))
			}
		}
		off += c
	}
	return nil
}

func init() {
	Register("QLinearConcat", &Def{Infer: inferQLinearConcat, Compile: compileQLinearConcat})
}
