package passes

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/tensor"
)

// resBlock builds x -> Conv3x3+Relu -> Conv1x1 (a) and, for downsample, a 1×1 projection of x (p); y =
// Relu(Add(a, p or x)), with the Add's operands in the given order.
func resBlock(r *rand.Rand, c, m int, downsample, swap bool) *builder {
	b := newBuilder()
	shape := tensor.Shape{1, c, 9, 7}
	b.input("x", tensor.F32, shape)
	b.constant("w1", randT(r, tensor.Shape{m, c, 3, 3}, -0.5, 0.5))
	b.constant("b1", randT(r, tensor.Shape{m}, -0.5, 0.5))
	b.constant("w2", randT(r, tensor.Shape{c, m, 1, 1}, -0.5, 0.5))
	n := b.node("Conv", "x, w1, b1", "h")
	n.SetInts("pads", []int64{1, 1, 1, 1})
	b.node("Relu", "h", "hr")
	b.node("Conv", "hr, w2", "a")
	skip := "x"
	if downsample {
		b.constant("wp", randT(r, tensor.Shape{c, c, 1, 1}, -0.5, 0.5))
		b.constant("bp", randT(r, tensor.Shape{c}, -0.5, 0.5))
		b.node("Conv", "x, wp, bp", "p")
		skip = "p"
	}
	if swap {
		b.node("Add", skip+", a", "s")
	} else {
		b.node("Add", "a, "+skip, "s")
	}
	b.node("Relu", "s", "y")
	b.output("y")
	return b
}

// TestFuseConvAddMatchesUnfused runs residual blocks (identity and projection shortcuts, both Add
// operand orders, awkward channel counts) through the pipeline with and without FuseConvAdd and
// compares the outputs: the fused Conv(x, W, b, z) {activation} must compute act(conv + b + z).
func TestFuseConvAddMatchesUnfused(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, c := range []int{1, 3, 7, 13, 24} {
		for _, down := range []bool{false, true} {
			for _, swap := range []bool{false, true} {
				b := resBlock(r, c, 5, down, swap)
				x := randT(r, tensor.Shape{1, c, 9, 7}, -1, 1)
				feeds := map[string]*tensor.Tensor{"x": x}
				g := b.g
				if err := Optimize(g, ops.Semantics{}, nil); err != nil {
					t.Fatal(err)
				}
				want := evalGraph(t, g, feeds)[0]
				if err := FuseConvAdd(g); err != nil {
					t.Fatal(err)
				}
				adds, fused := 0, 0
				for _, n := range g.Nodes {
					if n.Op == "Add" {
						adds++
					}
					if n.Op == "Conv" && n.Input(3) != nil {
						fused++
						if n.Str(graph.AttrActivation, "") != "Relu" {
							t.Errorf("c%d down=%v swap=%v: fused conv lost the Add's Relu:\n%s", c, down, swap, g.Dump())
						}
					}
				}
				if adds != 0 || fused != 1 {
					t.Fatalf("c%d down=%v swap=%v: %d Adds and %d fused convs left, want 0 and 1:\n%s", c, down, swap, adds, fused, g.Dump())
				}
				got := evalGraph(t, g, feeds)[0]
				for i, w := range want.F32() {
					if d := math.Abs(float64(got.F32()[i] - w)); d > 1e-5*(1+math.Abs(float64(w))) {
						t.Fatalf("c%d down=%v swap=%v: y[%d] = %v, unfused %v", c, down, swap, i, got.F32()[i], w)
					}
				}
			}
		}
	}
}

func TestFuseConvAdd(t *testing.T) {
	mk := func() *builder {
		b := newBuilder()
		b.input("x", tensor.F32, tensor.Shape{1, 1, 2, 2})
		b.input("z", tensor.F32, tensor.Shape{1, 1, 2, 2})
		b.constant("w", f32(tensor.Shape{1, 1, 1, 1}, 2))
		for _, v := range []string{"c", "y", "d"} {
			b.setShape(v, tensor.F32, tensor.Shape{1, 1, 2, 2})
		}
		return b
	}
	tests := []struct {
		name  string
		build func(b *builder)
		want  string
	}{
		{"conv then add", func(b *builder) {
			b.node("Conv", "x, w", "c")
			b.node("Add", "c, z", "y").SetStr(graph.AttrActivation, "Relu")
		}, `y = Conv(x, w:const f32[1,1,1,1], _, z) {activation="Relu"} -> f32[1,1,2,2]`},
		{"z computed after the conv: the conv moves", func(b *builder) {
			b.node("Conv", "x, w", "c")
			b.node("Relu", "z", "d")
			b.node("Add", "d, c", "y")
		}, `d = Relu(z) -> f32[1,1,2,2]
			y = Conv(x, w:const f32[1,1,1,1], _, d) -> f32[1,1,2,2]`},
		// Not fused: the conv output has a second reader.
		{"two readers", func(b *builder) {
			b.node("Conv", "x, w", "c")
			b.node("Add", "c, z", "y")
			b.node("Relu", "c", "d")
			b.output("d")
		}, `c = Conv(x, w:const f32[1,1,1,1]) -> f32[1,1,2,2]
			y = Add(c, z) -> f32[1,1,2,2]
			d = Relu(c) -> f32[1,1,2,2]`},
		// Not fused: the conv already applies an activation (it comes before the sum).
		{"conv with activation", func(b *builder) {
			b.node("Conv", "x, w", "c").SetStr(graph.AttrActivation, "Relu")
			b.node("Add", "c, z", "y")
		}, `c = Conv(x, w:const f32[1,1,1,1]) {activation="Relu"} -> f32[1,1,2,2]
			y = Add(c, z) -> f32[1,1,2,2]`},
		// Not fused: z broadcasts.
		{"broadcast", func(b *builder) {
			b.constant("s", f32(tensor.Shape{1, 1, 1, 1}, 3))
			b.node("Conv", "x, w", "c")
			b.node("Add", "c, s", "y")
		}, `c = Conv(x, w:const f32[1,1,1,1]) -> f32[1,1,2,2]
			y = Add(c, s:const f32[1,1,1,1]) -> f32[1,1,2,2]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mk()
			tt.build(b)
			outs := "output y"
			if len(b.g.Outputs) == 0 {
				b.output("y")
			} else {
				b.output("y")
				outs = "output d\noutput y"
			}
			checkPass(t, b.g, FuseConvAdd, "input x f32[1,1,2,2]\ninput z f32[1,1,2,2]\n"+tt.want+"\n"+outs)
		})
	}
}
