package passes

import (
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"

	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/tensor"
)

func TestInferShapes(t *testing.T) {
	// x[?,3,2] -> tShape -> reshape target built from constants; c1+c2 folds to a constant.
	b := newBuilder()
	b.input("x", tensor.F32, tensor.Shape{-1, 3, 2})
	v1, v2 := make([]float32, 24), make([]float32, 24)
	for i := range v1 {
		v1[i], v2[i] = float32(i), float32(10*i)
	}
	b.constant("c1", f32(tensor.Shape{4, 6}, v1...))
	b.constant("c2", f32(tensor.Shape{4, 6}, v2...))
	b.constant("flat", tensor.FromI64(tensor.Shape{2}, []int64{0, -1}))
	b.node("tShape", "x", "s")
	b.node("tAdd", "c1, c2", "c3")
	b.node("tReshape", "x, flat", "y")
	b.node("tAdd", "y, c3", "z")
	b.output("z", "s")
	checkPass(t, b.g, func(g *graph.Graph) error {
		return InferShapes(g, ops.Semantics{}, map[string]tensor.Shape{"x": {4, 3, 2}})
	}, `
		input x f32[4,3,2]
		y = tReshape(x, flat:const i64[2]) -> f32[4,6]
		z = tAdd(y, c3:const f32[4,6]) -> f32[4,6]
		output z
		output s`)
	if c3 := b.vals["c3"].Const; c3 == nil || c3.F32()[23] != 23*11 {
		t.Fatalf("c3 not folded to c1+c2: %v", c3)
	}
	if s := b.vals["s"].Const; s == nil || s.I64()[0] != 4 || s.I64()[2] != 2 {
		t.Fatalf("shape output not folded: %v", s)
	}
}

func TestInferShapesErrors(t *testing.T) {
	mk := func() *builder {
		b := newBuilder()
		b.input("img", tensor.F32, tensor.Shape{-1, 3, 8, 8})
		b.constant("one", f32(tensor.Shape{1, 3, 8, 8}, make([]float32, 192)...))
		b.node("tAdd", "img, one", "y")
		b.output("y")
		return b
	}
	tests := []struct {
		name   string
		shapes map[string]tensor.Shape
		op     string
		want   string
	}{
		{"fixed dim", map[string]tensor.Shape{"img": {1, 3, 9, 8}}, "", `input "img" dim 2 is fixed at 8`},
		{"rank", map[string]tensor.Shape{"img": {1, 3, 8}}, "", `input "img" has rank 4`},
		{"name", map[string]tensor.Shape{"image": {1, 3, 8, 8}}, "", `no graph input named "image"`},
		{"unsupported", nil, "NoSuchOp", `unsupported op NoSuchOp (node "tAdd0")`},
		{"infer error", map[string]tensor.Shape{"img": {2, 3, 8, 8}}, "", `node "tAdd0" (tAdd): tAdd: shapes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mk()
			if tt.op != "" {
				b.g.Nodes[0].Op = tt.op
			}
			err := InferShapes(b.g, ops.Semantics{}, tt.shapes)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	// A dynamic dim left dynamic is fine (infer propagates it).
	b := mk()
	if err := InferShapes(b.g, ops.Semantics{}, nil); err != nil {
		t.Fatal(err)
	}
	if got := b.vals["y"].Shape.String(); got != "[?,3,8,8]" {
		t.Fatalf("y shape %s", got)
	}
}
