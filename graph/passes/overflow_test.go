package passes

import (
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Shapes given for inputs and shapes inferred for outputs are checked against tensor.MaxBytes without
// overflow; the error names the input, or the node and output, and the shape.
func TestInferShapesOverflow(t *testing.T) {
	b := newBuilder()
	b.input("img", tensor.F32, tensor.Shape{-1, 3, -1, -1})
	err := InferShapes(b.g, ops.Semantics{}, map[string]tensor.Shape{"img": {1, 3, 1 << 31, 1 << 31}})
	if want := `input "img": shape [1,3,2147483648,2147483648] of f32 is too large: it needs more than 256 TiB`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("huge input shape: %v; want %q", err, want)
	}

	for _, tc := range []struct {
		target []int64
		want   string // "" = infers
	}{
		{[]int64{1, 4, 1 << 10, 1 << 10}, ""},
		{[]int64{1, 4, 1 << 31, 1 << 31}, `node "big" (Expand): output "e": shape [1,4,2147483648,2147483648] of f32 is too large: it needs more than 256 TiB`},
		{[]int64{1 << 40, 4, 1 << 40, 1}, `node "big" (Expand): output "e": shape [1099511627776,4,1099511627776,1] of f32`}, // 2^84 bytes: wraps int64
	} {
		b := newBuilder()
		b.input("x", tensor.F32, tensor.Shape{1, 4, 1, 1})
		b.constant("shape", tensor.FromI64(tensor.Shape{4}, tc.target))
		b.node("Expand", "x, shape", "e").Name = "big"
		b.output("e")
		err := InferShapes(b.g, ops.Semantics{}, nil)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Expand to %v: %v", tc.target, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("Expand to %v: %v; want %q", tc.target, err, tc.want)
		}
	}
}

// Folding evaluates constant nodes unless that would expand small inputs into a large tensor: such a
// node stays in the graph (its output is then planned in the arena, where the budget sees it).
func TestFoldingIsBounded(t *testing.T) {
	for _, tc := range []struct {
		shape  []int64
		folded bool
	}{
		{[]int64{4, 4}, true},
		{[]int64{1024, 1024, 4}, true},   // 16 MiB: foldMinBytes
		{[]int64{1024, 1024, 64}, false}, // 256 MiB from a 24-byte shape
	} {
		b := newBuilder()
		b.constant("shape", tensor.FromI64(tensor.Shape{len(tc.shape)}, tc.shape))
		b.node("ConstantOfShape", "shape", "c")
		b.output("c")
		if err := InferShapes(b.g, ops.Semantics{}, nil); err != nil {
			t.Fatal(err)
		}
		c := b.vals["c"]
		if folded := c.Const != nil && len(b.g.Nodes) == 0; folded != tc.folded {
			t.Errorf("ConstantOfShape %v: folded %v, want %v", tc.shape, folded, tc.folded)
		}
		want := tensor.Shape{}
		for _, d := range tc.shape {
			want = append(want, int(d))
		}
		if !c.Shape.Equal(want) {
			t.Errorf("ConstantOfShape %v: shape %s", tc.shape, c.Shape)
		}
	}
	// Growth up to foldGrowth times the constant inputs folds whatever the size (weights dequantized
	// from int8 grow 4x).
	w := tensor.New(tensor.I8, tensor.Shape{6 << 20})
	b := newBuilder()
	b.constant("w", w)
	b.constant("scale", f32(tensor.Shape{}, 0.5))
	b.node("DequantizeLinear", "w, scale", "wf")
	b.output("wf")
	if err := InferShapes(b.g, ops.Semantics{}, nil); err != nil {
		t.Fatal(err)
	}
	if b.vals["wf"].Const == nil {
		t.Errorf("a 24 MiB dequantized weight (4x its int8 input) was not folded")
	}
}
