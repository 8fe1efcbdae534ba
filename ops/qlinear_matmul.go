package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/tensor"
)

// QLinearMatMul (ONNX): inputs a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point.
// a is [..., M, K], b is [K, N] or [..., K, N] with the same leading dims; b_scale/b_zero_point may be
// per column ([N]). wanwu extension for TFLite FULLY_CONNECTED: an optional ninth input holds an i32 bias
// [N] added to the accumulator, and a fused activation narrows the output range.

func inferQLinearMatMul(n *graph.Node) error {
	if len(n.Inputs) < 8 || n.Inputs[0] == nil || n.Inputs[3] == nil {
		return qlErr(n, "needs 8 or 9 inputs")
	}
	as, bs := n.Inputs[0].Shape, n.Inputs[3].Shape
	if len(as) < 2 || len(bs) < 2 {
		return qlErr(n, "a%s and b%s must be at least 2-D", as, bs)
	}
	out := as.Clone()
	out[len(out)-1] = bs[len(bs)-1]
	n.Outputs[0].DType = qlZPType(n.Input(7))
	n.Outputs[0].Shape = out
	return nil
}

type qlMatMulKernel struct {
	n          *graph.Node
	batch      int
	m, k, nn   int
	bBatched   bool
	as, bs, ys []float32
	az, bz, yz []int32
	out        qlOut
	lo, hi     int32
}

func compileQLinearMatMul(n *graph.Node) (Kernel, error) {
	if err := inferQLinearMatMul(n); err != nil {
		return nil, err
	}
	as, bs := n.Inputs[0].Shape, n.Inputs[3].Shape
	if !as.Known() || !bs.Known() {
		return nil, qlErr(n, "shapes not concrete")
	}
	if !qlIsQ8(n.Inputs[0].DType) || !qlIsQ8(n.Inputs[3].DType) || !qlIsQ8(n.Outputs[0].DType) {
		return nil, qlErr(n, "a, b and y must be u8/i8")
	}
	k := &qlMatMulKernel{n: n, m: as[len(as)-2], k: as[len(as)-1], nn: bs[len(bs)-1]}
	if bs[len(bs)-2] != k.k {
		return nil, qlErr(n, "inner dims differ: a%s b%s", as, bs)
	}
	k.batch = as.NumElements() / (k.m * k.k)
	if len(bs) > 2 {
		if bs.NumElements()/(k.k*k.nn) != k.batch {
			return nil, qlErr(n, "batch dims differ: a%s b%s", as, bs)
		}
		k.bBatched = true
	}
	if b := n.Input(8); b != nil && (b.DType != tensor.I32 || b.Shape.NumElements() != k.nn) {
		return nil, qlErr(n, "bias must be i32[%d]", k.nn)
	}
	k.as, k.az = make([]float32, 1), make([]int32, 1)
	k.bs, k.bz = make([]float32, k.nn), make([]int32, k.nn)
	k.ys, k.yz = make([]float32, 1), make([]int32, 1)
	k.out.tfl = qlTFLite(n)
	k.out.rq = make([]q8.Requant, k.nn)
	k.out.scale = make([]float32, k.nn)
	return k, nil
}

func (k *qlMatMulKernel) ScratchBytes() int { return 0 }

func (k *qlMatMulKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	if err := qlReadQ(in[1], in[2], k.as, k.az); err != nil {
		return qlErr(k.n, "a: %v", err)
	}
	if err := qlReadQ(in[4], in[5], k.bs, k.bz); err != nil {
		return qlErr(k.n, "b: %v", err)
	}
	if err := qlReadQ(in[6], qlAt(in, 7), k.ys, k.yz); err != nil {
		return qlErr(k.n, "y: %v", err)
	}
	lo, hi := qlRange(out[0].DType)
	var err error
	if k.out.lo, k.out.hi, err = qlActRange(k.n, k.ys[0], k.yz[0], lo, hi); err != nil {
		return err
	}
	k.out.zp = k.yz[0]
	perTensor := in[4].NumElements() == 1
	for j := range k.bs {
		if k.out.tfl {
			if perTensor {
				k.out.rq[j] = q8.NewRequant(float64(k.as[0]*k.bs[j]) / float64(k.ys[0]))
			} else {
				k.out.rq[j] = q8.NewRequant(float64(k.as[0]) * float64(k.bs[j]) / float64(k.ys[0]))
			}
		} else {
			k.out.scale[j] = k.as[0] * k.bs[j] / k.ys[0]
		}
	}
	a, b, y := in[0], in[3], out[0]
	var bias []int32
	if t := qlAt(in, 8); t != nil {
		bias = t.I32()
	}
	for bt := 0; bt < k.batch; bt++ {
		aOff := bt * k.m * k.k
		bOff := 0
		if k.bBatched {
			bOff = bt * k.k * k.nn
		}
		for i := 0; i < k.m; i++ {
			for j := 0; j < k.nn; j++ {
				var acc int32
				for p := 0; p < k.k; p++ {
					av := qlGet(a.DType, a.Data, aOff+i*k.k+p) - k.az[0]
					bv := qlGet(b.DType, b.Data, bOff+p*k.nn+j) - k.bz[j]
					acc += av * bv
				}
				if bias != nil {
					acc += bias[j]
				}
				y.Data[(bt*k.m+i)*k.nn+j] = byte(k.out.apply(acc, j))
			}
		}
	}
	return nil
}

func init() {
	Register("QLinearMatMul", &Def{Infer: inferQLinearMatMul, Compile: compileQLinearMatMul, MACs: matMulMACs})
}
