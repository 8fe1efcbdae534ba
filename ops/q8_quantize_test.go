package ops

import (
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestQ8Dequantize checks Q8Dequantize (u8 NHWC with channels padded to 4 -> f32 NCHW) against
// y = scale·(x − zp) written out, on images whose pixel count is below, at and past the kernel's block.
func TestQ8Dequantize(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pool := parallel.NewPool(3)
	defer pool.Close()
	for _, c := range []struct{ n, ch, h, w int }{
		{1, 1, 1, 1}, {1, 3, 7, 7}, {2, 5, 16, 8}, {1, 96, 13, 11}, {2, 32, 12, 23}, {1, 8, 1, dequantBlock + 1},
	} {
		cp := q8.RoundUp(c.ch, 4)
		x := tensor.New(tensor.U8, tensor.Shape{c.n, c.h, c.w, cp})
		for i := range x.Data {
			x.Data[i] = uint8(r.IntN(256))
		}
		const scale, zp = 0.037, 131
		n := &graph.Node{Name: "dq", Op: graph.OpQ8Dequantize, Domain: graph.ExtDomain, Attrs: map[string]graph.Attr{
			graph.AttrScale:    {Kind: graph.AttrFloat, Float: scale},
			graph.AttrZP:       {Kind: graph.AttrInt, Int: zp},
			graph.AttrChannels: {Kind: graph.AttrInt, Int: int64(c.ch)},
		}}
		for _, p := range []*parallel.Pool{nil, pool} {
			y := runOp(t, n, []*tensor.Tensor{x}, nil, p)[0]
			if want := (tensor.Shape{c.n, c.ch, c.h, c.w}); !y.Shape.Equal(want) {
				t.Fatalf("%+v: shape %v, want %v", c, y.Shape, want)
			}
			got := y.F32()
			for b := 0; b < c.n; b++ {
				for ch := 0; ch < c.ch; ch++ {
					for px := 0; px < c.h*c.w; px++ {
						want := float32(scale) * (float32(x.Data[(b*c.h*c.w+px)*cp+ch]) - zp)
						if g := got[(b*c.ch+ch)*c.h*c.w+px]; g != want {
							t.Fatalf("%+v: y[%d,%d,%d] = %g, want %g", c, b, ch, px, g, want)
						}
					}
				}
			}
		}
	}
}
