package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Each quantized op is checked against a float reference: dequantize the inputs, run a naive float
// implementation, quantize the result. Integer kernels may differ by one step from that (TFLite's own
// tolerance for its fixed-point arithmetic); never more.

func qlc(name string, t *tensor.Tensor) *graph.Value {
	return &graph.Value{Name: name, DType: t.DType, Shape: t.Shape.Clone(), Const: t}
}

func qlScalar(f float32) *graph.Value { return qlc("s", tensor.FromF32(tensor.Shape{}, []float32{f})) }

func qlZP(dt tensor.DType, z int32) *graph.Value {
	t := tensor.New(dt, tensor.Shape{})
	t.Data[0] = byte(z)
	return qlc("z", t)
}

func qlRand(r *rand.Rand, dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	t := tensor.New(dt, shape)
	for i := range t.Data {
		t.Data[i] = byte(r.IntN(256))
	}
	return t
}

func qlDeq(t *tensor.Tensor, s float32, z int32) []float64 {
	out := make([]float64, t.NumElements())
	for i := range out {
		out[i] = float64(qlGet(t.DType, t.Data, i)-z) * float64(s)
	}
	return out
}

func qlEval(t *testing.T, op string, attrs map[string]graph.Attr, ins ...*graph.Value) *tensor.Tensor {
	t.Helper()
	n := &graph.Node{Name: op, Op: op, Inputs: ins, Outputs: []*graph.Value{{Name: "y"}}, Attrs: attrs}
	out, err := Eval(n)
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

// qlCheck compares y with quantize(ref) and fails beyond tol steps; it returns the max difference.
func qlCheck(t *testing.T, y *tensor.Tensor, ref []float64, s float32, z int32, tol int32) int32 {
	t.Helper()
	lo, hi := qlRange(y.DType)
	var worst int32
	for i, r := range ref {
		want := qlQuantizeF(r/float64(s), z, lo, hi, true)
		d := qlGet(y.DType, y.Data, i) - want
		if d < 0 {
			d = -d
		}
		worst = max(worst, d)
		if d > tol {
			t.Fatalf("element %d: got %d want %d (ref %g)", i, qlGet(y.DType, y.Data, i), want, r)
		}
	}
	return worst
}

func tfl() map[string]graph.Attr {
	return map[string]graph.Attr{graph.AttrRounding: {Kind: graph.AttrString, Str: graph.RoundingTFLite}}
}

func TestQLinearConvAgainstFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct {
		name                     string
		cin, cout, h, w, k, s, p int
		group                    int
		wType                    tensor.DType
		perChannel, tflite       bool
		xType                    tensor.DType
	}{
		{"u8 3x3 s1 p1", 3, 7, 9, 11, 3, 1, 1, 1, tensor.U8, false, true, tensor.U8},
		{"u8 1x1 direct", 13, 24, 5, 7, 1, 1, 0, 1, tensor.U8, false, true, tensor.U8},
		{"i8 per-channel 3x3 s2", 24, 13, 11, 9, 3, 2, 1, 1, tensor.I8, true, true, tensor.U8},
		{"depthwise s2", 7, 7, 13, 13, 3, 2, 1, 7, tensor.I8, true, true, tensor.U8},
		{"depthwise x2 multiplier", 3, 6, 8, 8, 3, 1, 1, 3, tensor.U8, false, true, tensor.U8},
		{"grouped", 4, 6, 6, 6, 3, 1, 0, 2, tensor.U8, false, false, tensor.U8},
		{"onnx i8 input", 5, 9, 7, 7, 3, 1, 1, 1, tensor.I8, true, false, tensor.I8},
		{"tflite i8 input 1x1", 16, 17, 5, 5, 1, 1, 0, 1, tensor.I8, true, true, tensor.I8},
	} {
		t.Run(c.name, func(t *testing.T) {
			cg := c.cin / c.group
			x := qlRand(r, c.xType, tensor.Shape{1, c.cin, c.h, c.w})
			w := qlRand(r, c.wType, tensor.Shape{c.cout, cg, c.k, c.k})
			xs, ys := float32(0.02), float32(0.05)
			xz := int32(r.IntN(200) + 20)
			if c.xType == tensor.I8 {
				xz -= 128
			}
			ws := []float32{0.01}
			wz := []int32{int32(r.IntN(100) + 80)}
			if c.wType == tensor.I8 {
				wz[0] = 0
			}
			if c.perChannel {
				ws, wz = make([]float32, c.cout), make([]int32, c.cout)
				for i := range ws {
					ws[i] = 0.002 + 0.01*r.Float32()
				}
			}
			bias := tensor.New(tensor.I32, tensor.Shape{c.cout})
			for i := range bias.I32() {
				bias.I32()[i] = int32(r.IntN(2000) - 1000)
			}
			wsv := qlc("ws", tensor.FromF32(tensor.Shape{len(ws)}, ws))
			wzt := tensor.New(c.wType, tensor.Shape{len(wz)})
			for i, v := range wz {
				wzt.Data[i] = byte(v)
			}
			yz := int32(100)
			if c.xType == tensor.I8 {
				yz = -20
			}
			attrs := map[string]graph.Attr{
				"pads":    {Kind: graph.AttrInts, Ints: []int64{int64(c.p), int64(c.p), int64(c.p), int64(c.p)}},
				"strides": {Kind: graph.AttrInts, Ints: []int64{int64(c.s), int64(c.s)}},
				"group":   {Kind: graph.AttrInt, Int: int64(c.group)},
			}
			if c.tflite {
				attrs[graph.AttrRounding] = graph.Attr{Kind: graph.AttrString, Str: graph.RoundingTFLite}
				attrs[graph.AttrActivation] = graph.Attr{Kind: graph.AttrString, Str: "Relu"}
			}
			y := qlEval(t, "QLinearConv", attrs, qlc("x", x), qlScalar(xs), qlZP(c.xType, xz),
				qlc("w", w), wsv, qlc("wz", wzt), qlScalar(ys), qlZP(c.xType, yz), qlc("b", bias))
			// float reference
			xf := qlDeq(x, xs, xz)
			oh := (c.h+2*c.p-c.k)/c.s + 1
			ow := (c.w+2*c.p-c.k)/c.s + 1
			mg := c.cout / c.group
			ref := make([]float64, c.cout*oh*ow)
			for m := 0; m < c.cout; m++ {
				wsm, wzm := ws[min(m, len(ws)-1)], wz[min(m, len(wz)-1)]
				gi := m / mg
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						acc := float64(bias.I32()[m]) * float64(xs) * float64(wsm)
						for ci := 0; ci < cg; ci++ {
							for ky := 0; ky < c.k; ky++ {
								for kx := 0; kx < c.k; kx++ {
									iy, ix := oy*c.s-c.p+ky, ox*c.s-c.p+kx
									if iy < 0 || iy >= c.h || ix < 0 || ix >= c.w {
										continue
									}
									wi := ((m*cg+ci)*c.k+ky)*c.k + kx
									wv := float64(qlGet(c.wType, w.Data, wi)-wzm) * float64(wsm)
									acc += xf[((gi*cg+ci)*c.h+iy)*c.w+ix] * wv
								}
							}
						}
						if c.tflite {
							acc = math.Max(acc, 0)
						}
						ref[(m*oh+oy)*ow+ox] = acc
					}
				}
			}
			if !y.Shape.Equal(tensor.Shape{1, c.cout, oh, ow}) {
				t.Fatalf("shape %s", y.Shape)
			}
			d := qlCheck(t, y, ref, ys, yz, 1)
			t.Logf("max |diff| = %d", d)
		})
	}
}

func TestQLinearBinaryAgainstFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, op := range []string{"QLinearAdd", "QLinearMul"} {
		for _, mode := range []map[string]graph.Attr{nil, tfl()} {
			for _, bshape := range []tensor.Shape{{2, 3, 4, 5}, {1, 3, 1, 1}} {
				a := qlRand(r, tensor.U8, tensor.Shape{2, 3, 4, 5})
				b := qlRand(r, tensor.U8, bshape)
				as, bs, cs := float32(0.03), float32(0.07), float32(0.09)
				if op == "QLinearMul" {
					cs = 0.5
				}
				y := qlEval(t, op, mode, qlc("a", a), qlScalar(as), qlZP(tensor.U8, 120), qlc("b", b), qlScalar(bs), qlZP(tensor.U8, 3), qlScalar(cs), qlZP(tensor.U8, 128))
				af, bf := qlDeq(a, as, 120), qlDeq(b, bs, 3)
				idx := qlBroadcastIndex(a.Shape, bshape)
				ref := make([]float64, len(af))
				for i := range ref {
					bi := i
					if idx != nil {
						bi = int(idx[i])
					}
					if op == "QLinearAdd" {
						ref[i] = af[i] + bf[bi]
					} else {
						ref[i] = af[i] * bf[bi]
					}
				}
				d := qlCheck(t, y, ref, cs, 128, 1)
				t.Logf("%s %v b%s: max |diff| = %d", op, mode != nil, bshape, d)
			}
		}
	}
}

func TestQLinearPoolsAgainstFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	x := qlRand(r, tensor.U8, tensor.Shape{1, 5, 7, 7})
	xs, xz := float32(0.1), int32(90)
	xf := qlDeq(x, xs, xz)
	for _, mode := range []map[string]graph.Attr{nil, tfl()} {
		// Global average pool with a different output scale.
		y := qlEval(t, "QLinearGlobalAveragePool", mode, qlc("x", x), qlScalar(xs), qlZP(tensor.U8, xz), qlScalar(0.03), qlZP(tensor.U8, 10))
		ref := make([]float64, 5)
		for c := range ref {
			for i := 0; i < 49; i++ {
				ref[c] += xf[c*49+i] / 49
			}
		}
		qlCheck(t, y, ref, 0.03, 10, 1)
		// 3x3 stride 2 SAME-style average pool, padding excluded, same quantization in and out.
		attrs := map[string]graph.Attr{
			"kernel_shape": {Kind: graph.AttrInts, Ints: []int64{3, 3}},
			"strides":      {Kind: graph.AttrInts, Ints: []int64{2, 2}},
			"pads":         {Kind: graph.AttrInts, Ints: []int64{1, 1, 1, 1}},
		}
		for k, v := range mode {
			attrs[k] = v
		}
		y = qlEval(t, "QLinearAveragePool", attrs, qlc("x", x), qlScalar(xs), qlZP(tensor.U8, xz), qlScalar(xs), qlZP(tensor.U8, xz))
		ref = make([]float64, 5*4*4)
		for c := 0; c < 5; c++ {
			for oy := 0; oy < 4; oy++ {
				for ox := 0; ox < 4; ox++ {
					var s float64
					var n int
					for ky := 0; ky < 3; ky++ {
						for kx := 0; kx < 3; kx++ {
							iy, ix := oy*2-1+ky, ox*2-1+kx
							if iy >= 0 && iy < 7 && ix >= 0 && ix < 7 {
								s += xf[(c*7+iy)*7+ix]
								n++
							}
						}
					}
					ref[(c*4+oy)*4+ox] = s / float64(n)
				}
			}
		}
		qlCheck(t, y, ref, xs, xz, 1)
	}
}

func TestQLinearSoftmaxSigmoidConcat(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	x := qlRand(r, tensor.U8, tensor.Shape{2, 1001})
	xs, xz := float32(0.0634), int32(75)
	xf := qlDeq(x, xs, xz)
	y := qlEval(t, "QLinearSoftmax", tfl(), qlc("x", x), qlScalar(xs), qlZP(tensor.U8, xz), qlScalar(1.0/256), qlZP(tensor.U8, 0))
	ref := make([]float64, len(xf))
	for row := 0; row < 2; row++ {
		var s float64
		for i := 0; i < 1001; i++ {
			s += math.Exp(xf[row*1001+i])
		}
		for i := 0; i < 1001; i++ {
			ref[row*1001+i] = math.Exp(xf[row*1001+i]) / s
		}
	}
	qlCheck(t, y, ref, 1.0/256, 0, 1)

	y = qlEval(t, "QLinearSigmoid", nil, qlc("x", x), qlScalar(xs), qlZP(tensor.U8, xz), qlScalar(1.0/256), qlZP(tensor.U8, 0))
	for i := range ref {
		ref[i] = 1 / (1 + math.Exp(-xf[i]))
	}
	qlCheck(t, y, ref, 1.0/256, 0, 1)

	a := qlRand(r, tensor.U8, tensor.Shape{1, 2, 3, 3})
	b := qlRand(r, tensor.U8, tensor.Shape{1, 4, 3, 3})
	y = qlEval(t, "QLinearConcat", map[string]graph.Attr{"axis": {Kind: graph.AttrInt, Int: 1}, graph.AttrRounding: {Kind: graph.AttrString, Str: graph.RoundingTFLite}},
		qlScalar(0.1), qlZP(tensor.U8, 128), qlc("a", a), qlScalar(0.1), qlZP(tensor.U8, 128), qlc("b", b), qlScalar(0.05), qlZP(tensor.U8, 7))
	ref = append(qlDeq(a, 0.1, 128), qlDeq(b, 0.05, 7)...)
	if d := qlCheck(t, y, ref, 0.1, 128, 1); d != 0 {
		t.Logf("concat max diff %d", d)
	}
	for i := range a.Data { // same quantization: copied bit for bit
		if y.Data[i] != a.Data[i] {
			t.Fatalf("concat element %d changed", i)
		}
	}
}

func TestQLinearMatMulWithBias(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	a := qlRand(r, tensor.U8, tensor.Shape{3, 20})
	b := qlRand(r, tensor.I8, tensor.Shape{20, 6})
	bias := tensor.New(tensor.I32, tensor.Shape{6})
	for i := range bias.I32() {
		bias.I32()[i] = int32(r.IntN(400) - 200)
	}
	as, bs, ys := float32(0.05), float32(0.01), float32(0.08)
	y := qlEval(t, "QLinearMatMul", tfl(), qlc("a", a), qlScalar(as), qlZP(tensor.U8, 128), qlc("b", b), qlScalar(bs), qlZP(tensor.I8, 0), qlScalar(ys), qlZP(tensor.U8, 100), qlc("bias", bias))
	af, bf := qlDeq(a, as, 128), qlDeq(b, bs, 0)
	ref := make([]float64, 18)
	for i := 0; i < 3; i++ {
		for j := 0; j < 6; j++ {
			s := float64(bias.I32()[j]) * float64(as) * float64(bs)
			for p := 0; p < 20; p++ {
				s += af[i*20+p] * bf[p*6+j]
			}
			ref[i*6+j] = s
		}
	}
	qlCheck(t, y, ref, ys, 100, 1)
}

func TestQuantizeDequantizeLinear(t *testing.T) {
	x := tensor.FromF32(tensor.Shape{2, 3}, []float32{-1.5, 0.25, 0.75, 1.25, 300, -300})
	// ONNX rounds half to even, TFLite half away from zero: 0.25/0.5 = 0.5 -> 0 vs 1, 1.25/0.5 = 2.5 -> 2 vs 3.
	y := qlEval(t, "QuantizeLinear", nil, qlc("x", x), qlScalar(0.5), qlZP(tensor.U8, 10))
	if got, want := y.U8(), []uint8{7, 10, 12, 12, 255, 0}; string(got) != string(want) {
		t.Fatalf("onnx QuantizeLinear = %v, want %v", got, want)
	}
	y = qlEval(t, "QuantizeLinear", tfl(), qlc("x", x), qlScalar(0.5), qlZP(tensor.U8, 10))
	if got, want := y.U8(), []uint8{7, 11, 12, 13, 255, 0}; string(got) != string(want) {
		t.Fatalf("tflite QuantizeLinear = %v, want %v", got, want)
	}
	// Per-axis int8 dequantization along axis 1.
	q := tensor.New(tensor.I8, tensor.Shape{2, 3})
	copy(q.I8(), []int8{-128, 0, 127, 5, -5, 1})
	y = qlEval(t, "DequantizeLinear", nil, qlc("q", q), qlc("s", tensor.FromF32(tensor.Shape{3}, []float32{1, 0.5, 0.25})), qlc("z", tensor.New(tensor.I8, tensor.Shape{3})))
	if got, want := y.F32(), []float32{-128, 0, 31.75, 5, -2.5, 0.25}; !equalF32(got, want) {
		t.Fatalf("DequantizeLinear = %v, want %v", got, want)
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestQLinearConvRunDoesNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	x := qlRand(r, tensor.U8, tensor.Shape{1, 8, 10, 10})
	w := qlRand(r, tensor.U8, tensor.Shape{16, 8, 3, 3})
	n := &graph.Node{Name: "c", Op: "QLinearConv", Attrs: tfl(), Outputs: []*graph.Value{{Name: "y"}},
		Inputs: []*graph.Value{qlc("x", x), qlScalar(0.1), qlZP(tensor.U8, 3), qlc("w", w), qlScalar(0.01), qlZP(tensor.U8, 120), qlScalar(0.2), qlZP(tensor.U8, 5)}}
	n.SetInts("pads", []int64{1, 1, 1, 1})
	if err := inferQLinearConv(n); err != nil {
		t.Fatal(err)
	}
	k, err := compileQLinearConv(n)
	if err != nil {
		t.Fatal(err)
	}
	in := []*tensor.Tensor{x, n.Inputs[1].Const, n.Inputs[2].Const, w, n.Inputs[4].Const, n.Inputs[5].Const, n.Inputs[6].Const, n.Inputs[7].Const}
	out := []*tensor.Tensor{tensor.New(tensor.U8, n.Outputs[0].Shape)}
	ctx := &Ctx{Scratch: make([]byte, k.ScratchBytes())}
	if a := testing.AllocsPerRun(5, func() { _ = k.Run(ctx, in, out) }); a != 0 {
		t.Fatalf("Run allocates %v times", a)
	}
}
