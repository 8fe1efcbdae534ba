package ops

import (
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// An input with a zero-sized dimension: constant padding produces only padding; edge/reflect have
// nothing to copy and are refused at Compile (found by fuzzing the TFLite importer).
func TestPadEmptyInput(t *testing.T) {
	for _, c := range []struct {
		mode  string
		shape tensor.Shape
		pads  []int64
		out   tensor.Shape
	}{
		{"constant", tensor.Shape{2, 0}, []int64{0, 1, 0, 2}, tensor.Shape{2, 3}},
		{"constant", tensor.Shape{0, 3}, []int64{1, 0, 1, 0}, tensor.Shape{2, 3}},
		{"constant", tensor.Shape{1, 0, 2}, []int64{0, 1, 0, 0, 1, 0}, tensor.Shape{1, 2, 2}},
		{"edge", tensor.Shape{2, 0}, []int64{0, 1, 0, 2}, nil},
		{"reflect", tensor.Shape{0, 3}, []int64{1, 0, 1, 0}, nil},
	} {
		mode := c.mode
		x := &graph.Value{Name: "x", DType: tensor.F32, Shape: c.shape, Const: tensor.New(tensor.F32, c.shape)}
		pads := &graph.Value{Name: "p", DType: tensor.I64, Shape: tensor.Shape{len(c.pads)}, Const: tensor.FromI64(tensor.Shape{len(c.pads)}, c.pads)}
		y := &graph.Value{Name: "y"}
		n := &graph.Node{Name: "pad", Op: "Pad", Inputs: []*graph.Value{x, pads}, Outputs: []*graph.Value{y}}
		n.SetStr("mode", mode)
		n.SetFloat("value", 0)
		out, err := Eval(n)
		if mode != "constant" {
			if err == nil {
				t.Errorf("%s: padding an empty tensor should be refused", mode)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !out[0].Shape.Equal(c.out) {
			t.Fatalf("shape %s", out[0].Shape)
		}
		for _, v := range out[0].F32() {
			if v != 0 {
				t.Fatalf("got %v", out[0].F32())
			}
		}
	}
}
