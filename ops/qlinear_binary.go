package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/tensor"
)

// QLinearAdd, QLinearMul (com.microsoft): inputs A, A_scale, A_zero_point, B, B_scale, B_zero_point,
// C_scale, C_zero_point; numpy broadcasting. ONNX mode computes in float and rounds half to even;
// rounding="tflite" follows TFLite's reference ADD (inputs shifted left by 20 bits, rescaled to twice
// the larger input scale, summed, rescaled to the output) and MUL (one multiplier for sa*sb/sc).

func inferQLinearBinary(n *graph.Node) error {
	if len(n.Inputs) < 7 || n.Inputs[0] == nil || n.Inputs[3] == nil {
		return qlErr(n, "needs 7 or 8 inputs")
	}
	s, err := qlBroadcastShape(n.Inputs[0].Shape, n.Inputs[3].Shape)
	if err != nil {
		return qlErr(n, "%v", err)
	}
	n.Outputs[0].DType = qlZPType(n.Input(7))
	n.Outputs[0].Shape = s
	return nil
}

func qlBroadcastShape(a, b tensor.Shape) (tensor.Shape, error) {
	r := max(len(a), len(b))
	out := make(tensor.Shape, r)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		case da < 0 || db < 0:
			out[i] = max(da, db)
		default:
			return nil, errShape(a, b)
		}
	}
	return out, nil
}

type qlShapeErr struct{ a, b tensor.Shape }

func (e qlShapeErr) Error() string {
	return "shapes " + e.a.String() + " and " + e.b.String() + " do not broadcast"
}
func errShape(a, b tensor.Shape) error { return qlShapeErr{a, b} }

// qlBroadcastIndex maps each output element to its source element (nil when no broadcast is needed).
func qlBroadcastIndex(out, in tensor.Shape) []int32 {
	if out.Equal(in) {
		return nil
	}
	r := len(out)
	st := make([]int, r)
	acc := 1
	for i := len(in) - 1; i >= 0; i-- {
		j := i + r - len(in)
		if in[i] != 1 {
			st[j] = acc
		}
		acc *= in[i]
	}
	idx := make([]int32, out.NumElements())
	ctr := make([]int, r)
	off := 0
	for e := range idx {
		idx[e] = int32(off)
		for d := r - 1; d >= 0; d-- {
			ctr[d]++
			off += st[d]
			if ctr[d] < out[d] {
				break
			}
			off -= st[d] * ctr[d]
			ctr[d] = 0
		}
	}
	return idx
}

type qlBinaryKernel struct {
	n      *graph.Node
	mul    bool
	ia, ib []int32
	s, z   [3][1]float32
	zp     [3][]int32
	lo, hi int32
	add    q8.AddRQ // vector TFLite Add parameters (refreshed per Run)
}

func compileQLinearBinary(mul bool) func(n *graph.Node) (Kernel, error) {
	return func(n *graph.Node) (Kernel, error) {
		if err := inferQLinearBinary(n); err != nil {
			return nil, err
		}
		o := n.Outputs[0]
		if !o.Shape.Known() || !n.Inputs[0].Shape.Known() || !n.Inputs[3].Shape.Known() {
			return nil, qlErr(n, "shapes not concrete")
		}
		if !qlIsQ8(n.Inputs[0].DType) || !qlIsQ8(n.Inputs[3].DType) || !qlIsQ8(o.DType) {
			return nil, qlErr(n, "A, B and C must be u8/i8")
		}
		k := &qlBinaryKernel{n: n, mul: mul}
		k.ia = qlBroadcastIndex(o.Shape, n.Inputs[0].Shape)
		k.ib = qlBroadcastIndex(o.Shape, n.Inputs[3].Shape)
		for i := range k.zp {
			k.zp[i] = make([]int32, 1)
		}
		return k, nil
	}
}

func (k *qlBinaryKernel) ScratchBytes() int { return 0 }

func (k *qlBinaryKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	for i, si := range [3]int{1, 4, 6} {
		if err := qlReadQ(in[si], qlAt(in, si+1), k.s[i][:], k.zp[i]); err != nil {
			return qlErr(k.n, "%v", err)
		}
	}
	lo, hi := qlRange(out[0].DType)
	lo, hi, err := qlActRange(k.n, k.s[2][0], k.zp[2][0], lo, hi)
	if err != nil {
		return err
	}
	a, b, c := in[0], in[3], out[0]
	sa, sb, sc := k.s[0][0], k.s[1][0], k.s[2][0]
	za, zb, zc := k.zp[0][0], k.zp[1][0], k.zp[2][0]
	tfl := qlTFLite(k.n)
	var r1, r2, ro q8.Requant
	const leftShift = 20
	if tfl {
		if k.mul {
			ro = q8.NewRequant(float64(sa) * float64(sb) / float64(sc))
		} else {
			twiceMax := 2 * float64(max(sa, sb))
			r1 = q8.NewRequant(float64(sa) / twiceMax)
			r2 = q8.NewRequant(float64(sb) / twiceMax)
			ro = q8.NewRequant(twiceMax / (float64(int64(1)<<leftShift) * float64(sc)))
		}
	}
	n := c.NumElements()
	if !qlFastOff && tfl && !k.mul && k.ia == nil && k.ib == nil && a.DType == tensor.U8 && b.DType == tensor.U8 &&
		qlRQOK(r1) && qlRQOK(r2) && qlRQOK(ro) {
		// Same-shape u8 Add (MobileNet residuals): the vector kernel computes the identical bytes.
		k.add = q8.AddRQ{A: q8.NewRQ(r1, 0), B: q8.NewRQ(r2, 0), Out: q8.NewRQ(ro, 0), ZA: za, ZB: zb,
			O: q8.RQOut{ZP: zc, Lo: lo, Hi: hi}}
		q8.AddU8(c.Data[:n], a.Data[:n], b.Data[:n], &k.add)
		return nil
	}
	for e := 0; e < n; e++ {
		ea, eb := e, e
		if k.ia != nil {
			ea = int(k.ia[e])
		}
		if k.ib != nil {
			eb = int(k.ib[e])
		}
		va := qlGet(a.DType, a.Data, ea) - za
		vb := qlGet(b.DType, b.Data, eb) - zb
		var v int32
		switch {
		case tfl && k.mul:
			v = ro.Apply(va*vb) + zc
		case tfl:
			s := r1.Apply(va*(1<<leftShift)) + r2.Apply(vb*(1<<leftShift))
			v = ro.Apply(s) + zc
		case k.mul:
			v = qlQuantizeF(float64(float32(va)*sa*float32(vb)*sb/sc), zc, lo, hi, false)
		default:
			v = qlQuantizeF(float64((float32(va)*sa+float32(vb)*sb)/sc), zc, lo, hi, false)
		}
		c.Data[e] = byte(q8.Clamp(v, lo, hi))
	}
	return nil
}

// qlRQOK reports whether r is within what q8.NewRQ (the vector kernels) accepts.
func qlRQOK(r q8.Requant) bool { return r.Mult >= 0 && r.Shift >= -31 && r.Shift <= 31 }

func init() {
	Register("QLinearAdd", &Def{Infer: inferQLinearBinary, Compile: compileQLinearBinary(false), InPlace: true})
	Register("QLinearMul", &Def{Infer: inferQLinearBinary, Compile: compileQLinearBinary(true), InPlace: true})
}
