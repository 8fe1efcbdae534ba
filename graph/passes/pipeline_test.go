package passes

import (
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/tensor"
)

func TestOptimizeTestOps(t *testing.T) {
	b := newBuilder()
	b.input("x", tensor.F32, tensor.Shape{-1, 6})
	b.constant("shape", tensor.FromI64(tensor.Shape{3}, []int64{0, 2, 3}))
	b.node("tReshape", "x, shape", "r")
	b.node("tAdd", "r, r", "dead") // unused: eliminated
	b.node("tAdd", "r, r", "y")
	b.output("y")
	if err := Optimize(b.g, ops.Semantics{}, map[string]tensor.Shape{"x": {5, 6}}); err != nil {
		t.Fatal(err)
	}
	want := dedent(`
		input x f32[5,6]
		r = tReshape(x, shape:const i64[3]) -> f32[5,2,3]
		y = tAdd(r, r) -> f32[5,2,3]
		output y`)
	if got := b.g.Dump(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	err := Optimize(b.g, ops.Semantics{}, map[string]tensor.Shape{"x": {5, 7}})
	if err == nil || !strings.Contains(err.Error(), `input "x" dim 1 is fixed at 6`) {
		t.Fatalf("err = %v", err)
	}
}
