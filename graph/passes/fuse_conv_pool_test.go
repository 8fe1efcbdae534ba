package passes

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/tensor"
)

// stemGraph builds x -> Conv(k×k, stride s, pad k/2) + Relu -> MaxPool(3×3, stride 2, pad 1) -> y, with
// edit applied to the MaxPool (or the graph) to make the variants that must not fuse.
func stemGraph(r *rand.Rand, c, m, h, w, k, s int, edit func(b *builder, pool *graph.Node)) *builder {
	b := newBuilder()
	b.input("x", tensor.F32, tensor.Shape{1, c, h, w})
	b.constant("w", randT(r, tensor.Shape{m, c, k, k}, -0.5, 0.5))
	b.constant("b", randT(r, tensor.Shape{m}, -0.5, 0.5))
	conv := b.node("Conv", "x, w, b", "h")
	conv.SetInts("pads", []int64{int64(k / 2), int64(k / 2), int64(k / 2), int64(k / 2)})
	conv.SetInts("strides", []int64{int64(s), int64(s)})
	b.node("Relu", "h", "hr")
	pool := b.node("MaxPool", "hr", "y")
	pool.SetInts("kernel_shape", []int64{3, 3})
	pool.SetInts("strides", []int64{2, 2})
	pool.SetInts("pads", []int64{1, 1, 1, 1})
	b.output("y")
	if edit != nil {
		edit(b, pool)
	}
	return b
}

// TestFuseConvMaxPool folds the stem pattern (ResNet's 7×7 stride-2 stem, a 3×3 one, odd planes) and
// checks the fused graph computes what the unfused one does with the real kernels; the variants a
// pooled convolution does not cover (another pool geometry, ceil rounding, the Indices output, a second
// reader of the convolution, a graph output, a rule that refuses) must keep their MaxPool.
func TestFuseConvMaxPool(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	always := func(*graph.Node) bool { return true }
	for _, c := range []struct{ c, m, h, w, k, s int }{{3, 64, 30, 29, 7, 2}, {8, 32, 13, 11, 3, 1}, {5, 16, 16, 16, 3, 1}} {
		t.Run(fmt.Sprintf("c%d_m%d_%dx%d_k%ds%d", c.c, c.m, c.h, c.w, c.k, c.s), func(t *testing.T) {
			g := stemGraph(r, c.c, c.m, c.h, c.w, c.k, c.s, nil).g
			if err := Optimize(g, ops.Semantics{}, nil); err != nil {
				t.Fatal(err)
			}
			x := randT(r, tensor.Shape{1, c.c, c.h, c.w}, -1, 1)
			feeds := map[string]*tensor.Tensor{"x": x}
			want := evalGraph(t, g, feeds)
			fusable := ops.ConvMaxPoolFusable(g.Nodes[0])
			t.Logf("fusable %v", fusable)
			if err := FuseConvMaxPool(g, ops.ConvMaxPoolFusable); err != nil {
				t.Fatal(err)
			}
			pools := 0
			for _, n := range g.Nodes {
				if n.Op == "MaxPool" {
					pools++
				}
			}
			if fused := pools == 0; fused != fusable || (fused && (len(g.Nodes) != 1 || g.Nodes[0].Int(graph.AttrMaxPool3x3S2, 0) != 1 ||
				g.Nodes[0].Str(graph.AttrActivation, "") != "Relu")) {
				t.Fatalf("fusable %v, graph after the pass:\n%s", fusable, g.Dump())
			}
			assertClose(t, evalGraph(t, g, feeds), want, 1e-5)
		})
	}
	for _, v := range []struct {
		name string
		edit func(b *builder, pool *graph.Node)
		rule func(*graph.Node) bool
	}{
		{"stride 1", func(b *builder, p *graph.Node) { p.SetInts("strides", []int64{1, 1}) }, always},
		{"unpadded", func(b *builder, p *graph.Node) { p.SetInts("pads", []int64{0, 0, 0, 0}) }, always},
		{"2x2 window", func(b *builder, p *graph.Node) { p.SetInts("kernel_shape", []int64{2, 2}) }, always},
		{"ceil mode", func(b *builder, p *graph.Node) { p.SetInt("ceil_mode", 1) }, always},
		{"dilated", func(b *builder, p *graph.Node) { p.SetInts("dilations", []int64{2, 2}) }, always},
		{"indices", func(b *builder, p *graph.Node) { p.Outputs = append(p.Outputs, b.val("idx")) }, always},
		{"second reader", func(b *builder, p *graph.Node) { b.node("Relu", "hr", "z"); b.output("z") }, always},
		{"graph output", func(b *builder, p *graph.Node) { b.output("hr") }, always},
		{"rule refuses", nil, func(*graph.Node) bool { return false }},
	} {
		t.Run(v.name, func(t *testing.T) {
			g := stemGraph(r, 3, 16, 12, 12, 3, 1, v.edit).g
			if err := Optimize(g, ops.Semantics{}, nil); err != nil {
				t.Fatal(err)
			}
			if err := FuseConvMaxPool(g, v.rule); err != nil {
				t.Fatal(err)
			}
			for _, n := range g.Nodes {
				if n.Int(graph.AttrMaxPool3x3S2, 0) != 0 {
					t.Fatalf("fused:\n%s", g.Dump())
				}
			}
		})
	}
}
