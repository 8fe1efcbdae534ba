package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// transpose6 is ONNX's definition of DepthToSpace/SpaceToDepth: view x as the 6-D shape in, permute
// the axes by perm, and read the result row-major.
func transpose6(x []float32, in [6]int, perm [6]int) []float32 {
	var st [6]int
	st[5] = 1
	for d := 4; d >= 0; d-- {
		st[d] = st[d+1] * in[d+1]
	}
	var out [6]int
	for d := range out {
		out[d] = in[perm[d]]
	}
	y := make([]float32, 0, len(x))
	var idx [6]int
	for range x {
		off := 0
		for d := range idx {
			off += idx[d] * st[perm[d]]
		}
		y = append(y, x[off])
		for d := 5; d >= 0; d-- {
			if idx[d]++; idx[d] < out[d] {
				break
			}
			idx[d] = 0
		}
	}
	return y
}

func TestDepthSpaceVsONNXDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, c := range []struct{ n, c, h, w, b int }{{1, 4, 2, 3, 2}, {2, 27, 1, 2, 3}, {1, 8, 5, 1, 2}, {3, 1, 2, 2, 1}} {
		x := randTensor(r, c.n, c.c, c.h, c.w)
		cc := c.c / (c.b * c.b)
		for _, mode := range []string{"DCR", "CRD"} {
			t.Run(fmt.Sprintf("DepthToSpace %v %s", c, mode), func(t *testing.T) {
				n := mkNode("DepthToSpace", map[string]graph.Attr{"blocksize": {Kind: graph.AttrInt, Int: int64(c.b)},
					"mode": {Kind: graph.AttrString, Str: mode}}, x)
				y := runOp(t, n, []*tensor.Tensor{x}, nil, nil)[0]
				if want := (tensor.Shape{c.n, cc, c.h * c.b, c.w * c.b}); !y.Shape.Equal(want) {
					t.Fatalf("shape %s, want %s", y.Shape, want)
				}
				want := transpose6(x.F32(), [6]int{c.n, c.b, c.b, cc, c.h, c.w}, [6]int{0, 3, 4, 1, 5, 2})
				if mode == "CRD" {
					want = transpose6(x.F32(), [6]int{c.n, cc, c.b, c.b, c.h, c.w}, [6]int{0, 1, 4, 2, 5, 3})
				}
				closeSlices(t, "DepthToSpace", y.F32(), want, 0)
			})
		}
		t.Run(fmt.Sprintf("SpaceToDepth %v", c), func(t *testing.T) {
			s := randTensor(r, c.n, cc, c.h*c.b, c.w*c.b)
			n := mkNode("SpaceToDepth", map[string]graph.Attr{"blocksize": {Kind: graph.AttrInt, Int: int64(c.b)}}, s)
			y := runOp(t, n, []*tensor.Tensor{s}, nil, nil)[0]
			want := transpose6(s.F32(), [6]int{c.n, cc, c.h, c.b, c.w, c.b}, [6]int{0, 3, 5, 1, 2, 4})
			closeSlices(t, "SpaceToDepth", y.F32(), want, 0)
		})
	}
	// Bytes move as they are: a uint8 tensor round-trips.
	u := tensor.New(tensor.U8, tensor.Shape{1, 8, 3, 2})
	for i := range u.Data {
		u.Data[i] = byte(i)
	}
	attrs := map[string]graph.Attr{"blocksize": {Kind: graph.AttrInt, Int: 2}}
	d := runOp(t, mkNode("DepthToSpace", attrs, u), []*tensor.Tensor{u}, nil, nil)[0]
	back := runOp(t, mkNode("SpaceToDepth", attrs, d), []*tensor.Tensor{d}, nil, nil)[0]
	if string(back.Data) != string(u.Data) {
		t.Errorf("SpaceToDepth(DepthToSpace(x)) != x for uint8")
	}
	if _, err := Eval(mkNode("DepthToSpace", attrs, tensor.New(tensor.F32, tensor.Shape{1, 6, 2, 2}))); err == nil {
		t.Error("6 channels in blocks of 2x2: want an error")
	}
}
