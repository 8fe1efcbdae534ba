package ops

import (
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestArgMinMaxVsReference checks ArgMin and ArgMax against a naive scan, on values drawn from a
// small set so ties (select_last_index) occur on most lanes.
func TestArgMinMaxVsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	shape := tensor.Shape{3, 5, 4}
	x := tensor.New(tensor.F32, shape)
	for i := range x.F32() {
		x.F32()[i] = float32(r.IntN(3))
	}
	for _, op := range []string{"ArgMin", "ArgMax"} {
		for axis := 0; axis < 3; axis++ {
			for _, last := range []int64{0, 1} {
				n := mkNode(op, map[string]graph.Attr{"axis": {Kind: graph.AttrInt, Int: int64(axis - 3)},
					"keepdims": {Kind: graph.AttrInt, Int: 0}, "select_last_index": {Kind: graph.AttrInt, Int: last}}, x)
				out, err := Eval(n)
				if err != nil {
					t.Fatal(err)
				}
				got := out[0].I64()
				strides := shape.Strides()
				k := 0
				for i := 0; i < shape.NumElements(); i++ {
					if (i/strides[axis])%shape[axis] != 0 {
						continue // visit each lane once, from its first element
					}
					best := 0
					for a := 1; a < shape[axis]; a++ {
						v, b := x.F32()[i+a*strides[axis]], x.F32()[i+best*strides[axis]]
						if op == "ArgMin" {
							v, b = -v, -b
						}
						if v > b || (last == 1 && v == b) {
							best = a
						}
					}
					if got[k] != int64(best) {
						t.Fatalf("%s axis %d last %d: lane %d = %d, want %d", op, axis, last, k, got[k], best)
					}
					k++
				}
			}
		}
	}
}
