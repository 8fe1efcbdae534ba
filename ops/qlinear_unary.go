package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// QLinearSoftmax (com.microsoft): inputs X, X_scale, x_zero_point, Y_scale, Y_zero_point; attribute axis
// (default -1); wanwu also reads TFLite's "beta" (default 1). QLinearSigmoid (com.microsoft): same inputs.
// Both dequantize, compute in float64 and requantize (half away from zero with rounding="tflite",
// half to even otherwise), which stays within ±1 of TFLite's fixed-point reference.

type qlUnaryKernel struct {
	n            *graph.Node
	softmax      bool
	outer, inner int // softmax: rows of length inner along the (last) axis
	s            [2][1]float32
	z            [2][1]int32
}

func compileQLinearUnary(softmax bool) func(n *graph.Node) (Kernel, error) {
	return func(n *graph.Node) (Kernel, error) {
		if err := qlInferSame(4)(n); err != nil {
			return nil, err
		}
		if len(n.Inputs) < 4 {
			return nil, qlErr(n, "needs 4 or 5 inputs")
		}
		xs := n.Inputs[0].Shape
		if !xs.Known() {
			return nil, qlErr(n, "input shape %s not concrete", xs)
		}
		if !qlIsQ8(n.Inputs[0].DType) || !qlIsQ8(n.Outputs[0].DType) {
			return nil, qlErr(n, "X and Y must be u8/i8")
		}
		k := &qlUnaryKernel{n: n, softmax: softmax, outer: 1, inner: xs.NumElements()}
		if softmax {
			axis := int(n.Int("axis", -1))
			if axis < 0 {
				axis += len(xs)
			}
			if axis != len(xs)-1 {
				return nil, qlErr(n, "softmax only along the last axis (got axis %d of %s)", axis, xs)
			}
			k.inner = xs[len(xs)-1]
			k.outer = xs.NumElements() / max(k.inner, 1)
		}
		return k, nil
	}
}

func (k *qlUnaryKernel) ScratchBytes() int { return 0 }

func (k *qlUnaryKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	if err := qlReadQ(in[1], in[2], k.s[0][:], k.z[0][:]); err != nil {
		return qlErr(k.n, "x: %v", err)
	}
	if err := qlReadQ(in[3], qlAt(in, 4), k.s[1][:], k.z[1][:]); err != nil {
		return qlErr(k.n, "y: %v", err)
	}
	x, y := in[0], out[0]
	xs, xz, ys, yz := float64(k.s[0][0]), k.z[0][0], float64(k.s[1][0]), k.z[1][0]
	lo, hi := qlRange(y.DType)
	tfl := qlTFLite(k.n)
	if !k.softmax {
		for i := 0; i < k.inner; i++ {
			v := float64(qlGet(x.DType, x.Data, i)-xz) * xs
			y.Data[i] = byte(qlQuantizeF(1/(1+math.Exp(-v))/ys, yz, lo, hi, tfl))
		}
		return nil
	}
	beta := float64(k.n.Float("beta", 1))
	for r := 0; r < k.outer; r++ {
		base := r * k.inner
		mx := int32(math.MinInt32)
		for i := 0; i < k.inner; i++ {
			mx = max(mx, qlGet(x.DType, x.Data, base+i))
		}
		var sum float64
		for i := 0; i < k.inner; i++ {
			sum += math.Exp(beta * xs * float64(qlGet(x.DType, x.Data, base+i)-mx))
		}
		for i := 0; i < k.inner; i++ {
			p := math.Exp(beta*xs*float64(qlGet(x.DType, x.Data, base+i)-mx)) / sum
			y.Data[base+i] = byte(qlQuantizeF(p/ys, yz, lo, hi, tfl))
		}
	}
	return nil
}

func init() {
	Register("QLinearSoftmax", &Def{Infer: qlInferSame(4), Compile: compileQLinearUnary(true)})
	Register("QLinearSigmoid", &Def{Infer: qlInferSame(4), Compile: compileQLinearUnary(false), InPlace: true})
}
