package passes

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/tensor"
)

// evalGraph runs a graph with the real operators, node by node in fresh memory (ops.Eval), on a clone
// whose inputs are bound as constants: the oracle for "a pass preserves what the graph computes".
func evalGraph(t *testing.T, g *graph.Graph, inputs map[string]*tensor.Tensor) []*tensor.Tensor {
	t.Helper()
	c := g.Clone()
	for _, v := range c.Inputs {
		x := inputs[v.Name]
		v.Const, v.Shape, v.DType = x, x.Shape.Clone(), x.DType
	}
	for _, n := range c.Nodes {
		out, err := ops.Eval(n)
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range n.Outputs {
			if o != nil {
				o.Const = out[i]
			}
		}
	}
	res := make([]*tensor.Tensor, len(c.Outputs))
	for i, o := range c.Outputs {
		res[i] = o.Const
	}
	return res
}

func requireOps(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if ops.Lookup(n) == nil {
			t.Skipf("op %s not registered yet", n)
		}
	}
}

func assertClose(t *testing.T, got, want []*tensor.Tensor, tol float64) {
	t.Helper()
	for k := range want {
		if !got[k].Shape.Equal(want[k].Shape) {
			t.Fatalf("output %d: shape %s, want %s", k, got[k].Shape, want[k].Shape)
		}
		for i, w := range want[k].F32() {
			if d := math.Abs(float64(got[k].F32()[i] - w)); d > tol*(1+math.Abs(float64(w))) {
				t.Fatalf("output %d element %d: %g after optimization, %g before", k, i, got[k].F32()[i], w)
			}
		}
	}
}

// TestOptimizeRealOps builds a small CNN head the way PyTorch exports it (Conv, BN, activations,
// Dropout/Identity, a Shape->Gather->Unsqueeze->Concat->Reshape flatten, Gemm) and checks the optimized
// IR text and that its outputs agree with the original graph's to 1e-5.
func TestOptimizeRealOps(t *testing.T) {
	requireOps(t, "Conv", "BatchNormalization", "Relu", "Clip", "HardSwish", "Add", "Shape", "Gather",
		"Unsqueeze", "Concat", "Reshape", "Gemm", "Sigmoid", "Identity", "Dropout", "MatMul", "LeakyRelu", "HardSigmoid")
	r := rand.New(rand.NewPCG(11, 12))
	b := newBuilder()
	b.input("x", tensor.F32, tensor.Shape{-1, 3, 6, 5})
	c := func(name string, shape tensor.Shape, lo, hi float32) { b.constant(name, randT(r, shape, lo, hi)) }
	c("w1", tensor.Shape{4, 3, 3, 3}, -1, 1)
	c("b1", tensor.Shape{4}, -1, 1)
	c("s1", tensor.Shape{4}, 0.5, 2)
	c("beta1", tensor.Shape{4}, -1, 1)
	c("m1", tensor.Shape{4}, -1, 1)
	c("v1", tensor.Shape{4}, 0.2, 2)
	c("w2", tensor.Shape{4, 1, 3, 3}, -1, 1)
	c("s2", tensor.Shape{4}, 0.5, 2)
	c("beta2", tensor.Shape{4}, -1, 1)
	c("m2", tensor.Shape{4}, -1, 1)
	c("v2", tensor.Shape{4}, 0.2, 2)
	c("fcw", tensor.Shape{7, 120}, -0.2, 0.2)
	c("fcb", tensor.Shape{7}, -1, 1)
	c("mm", tensor.Shape{7, 7}, -1, 1)
	c("addc", tensor.Shape{7}, -1, 1)
	b.constant("lo", f32(tensor.Shape{}, 0))
	b.constant("hi", f32(tensor.Shape{}, 6))
	b.constant("zero", tensor.FromI64(tensor.Shape{}, []int64{0}))
	b.constant("ax0", tensor.FromI64(tensor.Shape{1}, []int64{0}))
	b.constant("minus1", tensor.FromI64(tensor.Shape{1}, []int64{-1}))

	b.node("Conv", "x, w1, b1", "c1").SetInts("pads", []int64{1, 1, 1, 1})
	b.node("BatchNormalization", "c1, s1, beta1, m1, v1", "bn1")
	b.node("Relu", "bn1", "r1")
	dw := b.node("Conv", "r1, w2", "c2")
	dw.SetInts("pads", []int64{1, 1, 1, 1})
	dw.SetInt("group", 4)
	b.node("BatchNormalization", "c2, s2, beta2, m2, v2", "bn2")
	b.node("Clip", "bn2, lo, hi", "r2")
	b.node("Add", "r2, r1", "sum")
	b.node("HardSwish", "sum", "hs")
	b.node("Dropout", "hs", "d")
	b.node("Shape", "d", "shp")
	b.node("Gather", "shp, zero", "n")
	b.node("Unsqueeze", "n, ax0", "n1")
	b.node("Concat", "n1, minus1", "target").SetInt("axis", 0)
	b.node("Reshape", "d, target", "flat")
	b.node("Gemm", "flat, fcw, fcb", "fc").SetInt("transB", 1)
	b.node("Identity", "fc", "fcid")
	b.node("MatMul", "fcid, mm", "mmo")
	b.node("LeakyRelu", "mmo", "lr")
	b.node("Add", "lr, addc", "a2")
	b.node("HardSigmoid", "a2", "y")
	b.node("Sigmoid", "fcid", "prob")
	b.output("y", "prob")

	orig := b.g.Clone()
	x := randT(r, tensor.Shape{2, 3, 6, 5}, -2, 2)
	want := evalGraph(t, orig, map[string]*tensor.Tensor{"x": x})

	if err := Optimize(b.g, ops.Semantics{}, map[string]tensor.Shape{"x": {2, 3, 6, 5}}); err != nil {
		t.Fatal(err)
	}
	// Identity rewiring leaves "fc" read by both MatMul and Sigmoid, so Gemm keeps no activation.
	wantIR := dedent(`
		input x f32[2,3,6,5]
		r1 = Conv(x, Conv0_W_bn:const f32[4,3,3,3], Conv0_B_bn:const f32[4]) {activation="Relu", pads=[1 1 1 1]} -> f32[2,4,6,5]
		r2 = Conv(r1, Conv3_W_bn:const f32[4,1,3,3], Conv3_B_bn:const f32[4]) {activation="Clip", activation_max=6, activation_min=0, group=4, pads=[1 1 1 1]} -> f32[2,4,6,5]
		hs = Add(r2, r1) {activation="HardSwish"} -> f32[2,4,6,5]
		flat = Reshape(hs, target:const i64[2]) -> f32[2,120]
		fc = Gemm(flat, fcw:const f32[7,120], fcb:const f32[7]) {transB=1} -> f32[2,7]
		lr = MatMul(fc, mm:const f32[7,7]) {activation="LeakyRelu", activation_alpha=0.01, activation_beta=0} -> f32[2,7]
		y = Add(lr, addc:const f32[7]) {activation="HardSigmoid", activation_alpha=0.2, activation_beta=0.5} -> f32[2,7]
		prob = Sigmoid(fc) -> f32[2,7]
		output y
		output prob`)
	if got := b.g.Dump(); got != wantIR {
		t.Errorf("optimized IR:\n%s\nwant:\n%s", got, wantIR)
	}
	got := evalGraph(t, b.g, map[string]*tensor.Tensor{"x": x})
	assertClose(t, got, want, 1e-5)
}
