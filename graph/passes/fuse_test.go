package passes

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

func randT(r *rand.Rand, shape tensor.Shape, lo, hi float32) *tensor.Tensor {
	t := tensor.New(tensor.F32, shape)
	for i := range t.F32() {
		t.F32()[i] = lo + (hi-lo)*r.Float32()
	}
	return t
}

// naiveConv is an independent NCHW convolution (pads [t,l,b,r], strides, groups) used as the oracle.
func naiveConv(x, w, b *tensor.Tensor, pads, strides []int, group int) *tensor.Tensor {
	n, cin, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	cout, cpg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	oh := (h+pads[0]+pads[2]-kh)/strides[0] + 1
	ow := (wd+pads[1]+pads[3]-kw)/strides[1] + 1
	y := tensor.New(tensor.F32, tensor.Shape{n, cout, oh, ow})
	xs, ws, ys := x.F32(), w.F32(), y.F32()
	opg := cout / group
	_ = cin
	for in := 0; in < n; in++ {
		for oc := 0; oc < cout; oc++ {
			g := oc / opg
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					acc := 0.0
					if b != nil {
						acc = float64(b.F32()[oc])
					}
					for ic := 0; ic < cpg; ic++ {
						for ky := 0; ky < kh; ky++ {
							for kx := 0; kx < kw; kx++ {
								iy, ix := oy*strides[0]-pads[0]+ky, ox*strides[1]-pads[1]+kx
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								c := g*cpg + ic
								acc += float64(xs[((in*x.Shape[1]+c)*h+iy)*wd+ix]) * float64(ws[((oc*cpg+ic)*kh+ky)*kw+kx])
							}
						}
					}
					ys[((in*cout+oc)*oh+oy)*ow+ox] = float32(acc)
				}
			}
		}
	}
	return y
}

func naiveBN(x, scale, beta, mean, variance *tensor.Tensor, eps float64) *tensor.Tensor {
	y := x.Clone()
	c, hw := x.Shape[1], x.Shape[2]*x.Shape[3]
	ys := y.F32()
	for i := range ys {
		ch := (i / hw) % c
		ys[i] = float32(float64(scale.F32()[ch])*(float64(ys[i])-float64(mean.F32()[ch]))/math.Sqrt(float64(variance.F32()[ch])+eps) + float64(beta.F32()[ch]))
	}
	return y
}

func TestFuseConvBN(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct {
		name      string
		cin, cout int
		group     int
		bias      bool
	}{
		{"dense bias", 3, 5, 1, true},
		{"dense nobias", 4, 7, 1, false},
		{"depthwise", 6, 6, 6, true},
		{"grouped", 4, 6, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := randT(r, tensor.Shape{2, tc.cin, 7, 6}, -1, 1)
			w := randT(r, tensor.Shape{tc.cout, tc.cin / tc.group, 3, 3}, -1, 1)
			scale, beta := randT(r, tensor.Shape{tc.cout}, 0.5, 2), randT(r, tensor.Shape{tc.cout}, -1, 1)
			mean, variance := randT(r, tensor.Shape{tc.cout}, -1, 1), randT(r, tensor.Shape{tc.cout}, 0.1, 3)
			wOrig := w.Clone()
			b := newBuilder()
			b.input("x", tensor.F32, x.Shape)
			b.constant("w", w)
			ins := "x, w"
			var bias *tensor.Tensor
			if tc.bias {
				bias = randT(r, tensor.Shape{tc.cout}, -1, 1)
				b.constant("b", bias)
				ins += ", b"
			}
			b.constant("scale", scale)
			b.constant("beta", beta)
			b.constant("mean", mean)
			b.constant("var", variance)
			conv := b.node("Conv", ins, "c")
			conv.Name = "conv"
			conv.SetInts("pads", []int64{1, 0, 1, 2})
			conv.SetInt("group", int64(tc.group))
			bn := b.node("BatchNormalization", "c, scale, beta, mean, var", "y")
			bn.SetFloat("epsilon", 1e-3)
			b.setShape("c", tensor.F32, tensor.Shape{2, tc.cout, 7, 8})
			b.setShape("y", tensor.F32, tensor.Shape{2, tc.cout, 7, 8})
			b.output("y")
			checkPass(t, b.g, FuseConvBN, `
				input x f32`+x.Shape.String()+`
				y = Conv(x, conv_W_bn:const f32`+w.Shape.String()+`, conv_B_bn:const f32[`+strconv.Itoa(tc.cout)+`]) {group=`+strconv.Itoa(tc.group)+`, pads=[1 0 1 2]} -> f32[2,`+strconv.Itoa(tc.cout)+`,7,8]
				output y`)
			pads, strides := []int{1, 0, 1, 2}, []int{1, 1}
			want := naiveBN(naiveConv(x, wOrig, bias, pads, strides, tc.group), scale, beta, mean, variance, 1e-3)
			got := naiveConv(x, conv.Inputs[1].Const, conv.Inputs[2].Const, pads, strides, tc.group)
			for i, v := range want.F32() {
				if d := math.Abs(float64(v - got.F32()[i])); d > 1e-5*(1+math.Abs(float64(v))) {
					t.Fatalf("element %d: folded %g, conv+bn %g", i, got.F32()[i], v)
				}
			}
			// The original weight (which may view a model file) is untouched.
			for i, v := range w.F32() {
				if v != wOrig.F32()[i] {
					t.Fatal("original weight modified")
				}
			}
		})
	}
}

func TestFuseConvBNSkips(t *testing.T) {
	mk := func() *builder {
		b := newBuilder()
		b.input("x", tensor.F32, tensor.Shape{1, 1, 2, 2})
		b.constant("w", f32(tensor.Shape{1, 1, 1, 1}, 2))
		for _, n := range []string{"scale", "beta", "mean", "var"} {
			b.constant(n, f32(tensor.Shape{1}, 1))
		}
		b.node("Conv", "x, w", "c")
		b.node("BatchNormalization", "c, scale, beta, mean, var", "y")
		b.output("y")
		return b
	}
	tests := []struct {
		name   string
		modify func(b *builder)
	}{
		{"conv output also read", func(b *builder) { b.node("Relu", "c", "z"); b.output("z") }},
		{"conv output is graph output", func(b *builder) { b.output("c") }},
		{"weight not constant", func(b *builder) { b.vals["w"].Const = nil; b.g.Inputs = append(b.g.Inputs, b.vals["w"]) }},
		{"mean not constant", func(b *builder) { b.vals["mean"].Const = nil; b.g.Inputs = append(b.g.Inputs, b.vals["mean"]) }},
		{"conv has activation", func(b *builder) { b.g.Nodes[0].SetStr(graph.AttrActivation, "Relu") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mk()
			tt.modify(b)
			before := b.g.Dump()
			checkPass(t, b.g, FuseConvBN, before)
		})
	}
}

func TestFuseActivation(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *builder)
		want  string
	}{
		{"conv relu", func(b *builder) {
			b.node("Conv", "x, w", "a")
			b.node("Relu", "a", "y")
		}, `y = Conv(x, w:const f32[1,1,1,1]) {activation="Relu"} -> f32[1,1,2,2]`},
		{"gemm clip inputs", func(b *builder) {
			b.constant("lo", f32(tensor.Shape{}, 0))
			b.constant("hi", f32(tensor.Shape{}, 6))
			b.node("Gemm", "x, w", "a")
			b.node("Clip", "a, lo, hi", "y")
		}, `y = Gemm(x, w:const f32[1,1,1,1]) {activation="Clip", activation_max=6, activation_min=0} -> f32[1,1,2,2]`},
		{"clip old attrs, max only via input", func(b *builder) {
			b.constant("hi", f32(tensor.Shape{1}, 6))
			b.node("MatMul", "x, w", "a")
			n := b.node("Clip", "a, , hi", "y")
			n.SetFloat("min", -1)
		}, `y = MatMul(x, w:const f32[1,1,1,1]) {activation="Clip", activation_max=6, activation_min=-1} -> f32[1,1,2,2]`},
		{"add leaky", func(b *builder) {
			b.node("Add", "x, w", "a")
			n := b.node("LeakyRelu", "a", "y")
			n.SetFloat("alpha", 0.1)
		}, `y = Add(x, w:const f32[1,1,1,1]) {activation="LeakyRelu", activation_alpha=0.1, activation_beta=0} -> f32[1,1,2,2]`},
		{"hardsigmoid defaults", func(b *builder) {
			b.node("Conv", "x, w", "a")
			b.node("HardSigmoid", "a", "y")
		}, `y = Conv(x, w:const f32[1,1,1,1]) {activation="HardSigmoid", activation_alpha=0.2, activation_beta=0.5} -> f32[1,1,2,2]`},
		{"hardswish", func(b *builder) {
			b.node("Conv", "x, w", "a")
			b.node("HardSwish", "a", "y")
		}, `y = Conv(x, w:const f32[1,1,1,1]) {activation="HardSwish"} -> f32[1,1,2,2]`},
		{"sigmoid", func(b *builder) {
			b.node("Gemm", "x, w", "a")
			b.node("Sigmoid", "a", "y")
		}, `y = Gemm(x, w:const f32[1,1,1,1]) {activation="Sigmoid"} -> f32[1,1,2,2]`},
		// Not fused: a computed Clip bound.
		{"clip dynamic max", func(b *builder) {
			b.node("Conv", "x, w", "a")
			b.node("Clip", "a, , x", "y")
		}, `a = Conv(x, w:const f32[1,1,1,1]) -> f32[1,1,2,2]
			y = Clip(a, _, x) -> f32[1,1,2,2]`},
		// Not fused: the producer is not one that applies activations.
		{"mul relu", func(b *builder) {
			b.node("Mul", "x, w", "a")
			b.node("Relu", "a", "y")
		}, `a = Mul(x, w:const f32[1,1,1,1]) -> f32[1,1,2,2]
			y = Relu(a) -> f32[1,1,2,2]`},
		// Not fused: a second reader needs the pre-activation values.
		{"two readers", func(b *builder) {
			b.node("Conv", "x, w", "a")
			b.node("Relu", "a", "r")
			b.node("Add", "r, a", "y")
		}, `a = Conv(x, w:const f32[1,1,1,1]) -> f32[1,1,2,2]
			r = Relu(a) -> f32[1,1,2,2]
			y = Add(r, a) -> f32[1,1,2,2]`},
		// Chained: only the first activation fuses, the second stays.
		{"two activations", func(b *builder) {
			b.node("Conv", "x, w", "a")
			b.node("Relu", "a", "r")
			b.node("Sigmoid", "r", "y")
		}, `r = Conv(x, w:const f32[1,1,1,1]) {activation="Relu"} -> f32[1,1,2,2]
			y = Sigmoid(r) -> f32[1,1,2,2]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBuilder()
			b.input("x", tensor.F32, tensor.Shape{1, 1, 2, 2})
			b.constant("w", f32(tensor.Shape{1, 1, 1, 1}, 1))
			tt.build(b)
			for name, v := range b.vals {
				if v.Shape == nil && name != "" {
					b.setShape(name, tensor.F32, tensor.Shape{1, 1, 2, 2})
				}
			}
			b.output("y")
			checkPass(t, b.g, FuseActivation, "input x f32[1,1,2,2]\n"+tt.want+"\noutput y")
		})
	}
	// An intermediate that is a graph output keeps its producer un-fused.
	b := newBuilder()
	b.input("x", tensor.F32, tensor.Shape{1})
	b.node("Conv", "x", "a")
	b.node("Relu", "a", "y")
	b.output("a", "y")
	checkPass(t, b.g, FuseActivation, b.g.Dump())
}
