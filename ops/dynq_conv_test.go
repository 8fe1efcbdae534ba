package ops_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/tensor"
)

// dynqRelTol bounds max|int8 - f32| / max|f32| for one layer: u8 activations (step range/255) and
// int8 weights (step max|w|/127) each add about half a step of relative error per product.
const dynqRelTol = 0.03

func randF32(r *rand.Rand, n int, shift float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() + shift)
	}
	return v
}

func constV(name string, t *tensor.Tensor) *graph.Value {
	return &graph.Value{Name: name, DType: t.DType, Shape: t.Shape.Clone(), Const: t}
}

// TestDynQConvMatchesConv compares DynQConv with the f32 Conv on awkward shapes (channels 3, 7, 13,
// 24; odd sizes; strides, pads, dilations, groups) for every q8 implementation.
func TestDynQConvMatchesConv(t *testing.T) {
	type cs struct {
		n, c, h, w, m, k, s, p, d, g int
		act                          string
	}
	cases := []cs{
		{1, 3, 13, 11, 7, 3, 1, 1, 1, 1, ""},
		{2, 13, 9, 9, 24, 1, 1, 0, 1, 1, "Relu"},
		{1, 24, 15, 7, 13, 3, 2, 1, 1, 1, "Relu"},
		{1, 8, 10, 10, 8, 3, 1, 2, 2, 2, ""},
		{1, 3, 21, 21, 9, 7, 2, 3, 1, 1, "Relu"},
		{1, 64, 7, 7, 33, 1, 1, 0, 1, 1, ""},
	}
	for _, im := range q8.Impls() {
		t.Run(im.Name, func(t *testing.T) {
			if !im.Available {
				t.Skip("not available")
			}
			defer q8.Use(im)()
			r := rand.New(rand.NewPCG(11, 12))
			for _, c := range cases {
				x := tensor.FromF32(tensor.Shape{c.n, c.c, c.h, c.w}, randF32(r, c.n*c.c*c.h*c.w, 0.3))
				wf := randF32(r, c.m*c.c/c.g*c.k*c.k, 0)
				w := tensor.FromF32(tensor.Shape{c.m, c.c / c.g, c.k, c.k}, wf)
				b := tensor.FromF32(tensor.Shape{c.m}, randF32(r, c.m, 0))
				attrs := func(n *graph.Node) {
					n.SetInts("strides", []int64{int64(c.s), int64(c.s)})
					n.SetInts("pads", []int64{int64(c.p), int64(c.p), int64(c.p), int64(c.p)})
					n.SetInts("dilations", []int64{int64(c.d), int64(c.d)})
					n.SetInt("group", int64(c.g))
					if c.act != "" {
						n.SetStr(graph.AttrActivation, c.act)
					}
				}
				ref := &graph.Node{Name: "conv", Op: "Conv", Inputs: []*graph.Value{constV("x", x), constV("w", w), constV("b", b)}, Outputs: []*graph.Value{{Name: "y"}}}
				attrs(ref)
				want, err := ops.Eval(ref)
				if err != nil {
					t.Fatal(err)
				}
				k := c.c / c.g * c.k * c.k
				packed, scales := ops.QuantizeConvWeights(wf, c.m, k, c.g, nil)
				wq := &tensor.Tensor{DType: tensor.I8, Shape: tensor.Shape{len(packed)}, Data: make([]byte, len(packed))}
				for i, v := range packed {
					wq.Data[i] = byte(v)
				}
				dq := &graph.Node{Name: "dq", Op: graph.OpDynQConv, Domain: graph.ExtDomain, Inputs: []*graph.Value{constV("x", x), constV("wq", wq),
					constV("s", tensor.FromF32(tensor.Shape{c.m}, scales)), constV("b", b)}, Outputs: []*graph.Value{{Name: "y"}}}
				attrs(dq)
				dq.SetInts(graph.AttrWeightShape, []int64{int64(c.m), int64(c.c / c.g), int64(c.k), int64(c.k)})
				got, err := ops.Eval(dq)
				if err != nil {
					t.Fatal(err)
				}
				if !got[0].Shape.Equal(want[0].Shape) {
					t.Fatalf("%+v: shape %s, want %s", c, got[0].Shape, want[0].Shape)
				}
				var diff, scale float64
				for i, v := range want[0].F32() {
					diff = max(diff, math.Abs(float64(got[0].F32()[i]-v)))
					scale = max(scale, math.Abs(float64(v)))
				}
				t.Logf("%+v: max|diff| %.3g of max|y| %.3g (rel %.2e)", c, diff, scale, diff/scale)
				if diff > dynqRelTol*scale {
					t.Errorf("%+v: max|diff| %.3g > %g * %.3g", c, diff, dynqRelTol, scale)
				}
			}
		})
	}
}
