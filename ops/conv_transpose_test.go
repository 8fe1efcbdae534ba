package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/ops/ref"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestConvTransposeVsReference compares ConvTranspose with ref.ConvTranspose (a gather, where the
// kernel scatters) on awkward channel counts, strides smaller and larger than the kernel,
// dilations, groups, asymmetric pads, output_padding, output_shape past the natural size, 1-D, and
// a fused activation, single- and multi-threaded.
func TestConvTransposeVsReference(t *testing.T) {
	type tc struct {
		c, m, h, w, kh, kw, group int
		stride, dil               [2]int
		pads                      [4]int
		outPad                    [2]int
		outShape                  []int64
		act                       string
		oneD                      bool
	}
	cases := []tc{
		{c: 3, m: 5, h: 4, w: 5, kh: 3, kw: 3, stride: [2]int{2, 2}, dil: [2]int{1, 1}},
		{c: 7, m: 13, h: 5, w: 3, kh: 4, kw: 4, stride: [2]int{2, 2}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}},
		{c: 6, m: 4, h: 3, w: 4, kh: 2, kw: 3, group: 2, stride: [2]int{3, 1}, dil: [2]int{1, 2}, pads: [4]int{0, 2, 1, 0}},
		{c: 4, m: 4, h: 6, w: 6, kh: 3, kw: 3, group: 4, stride: [2]int{1, 1}, dil: [2]int{2, 1}, pads: [4]int{1, 1, 1, 1}, act: "Relu"},
		{c: 2, m: 3, h: 3, w: 3, kh: 3, kw: 3, stride: [2]int{2, 3}, dil: [2]int{1, 1}, outPad: [2]int{1, 2}},
		{c: 24, m: 7, h: 9, w: 11, kh: 2, kw: 2, stride: [2]int{2, 2}, dil: [2]int{1, 1}, act: "Clip"},
		{c: 1, m: 2, h: 3, w: 3, kh: 3, kw: 3, stride: [2]int{3, 2}, dil: [2]int{1, 1}, outShape: []int64{10, 8}},
		{c: 3, m: 2, h: 1, w: 7, kh: 1, kw: 3, stride: [2]int{1, 2}, dil: [2]int{1, 1}, pads: [4]int{0, 1, 0, 0}, oneD: true},
	}
	pool := parallel.NewPool(3)
	defer pool.Close()
	for i, c := range cases {
		for _, threads := range []*parallel.Pool{nil, pool} {
			t.Run(fmt.Sprintf("%d/threads=%d", i, threads.Threads()), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(i), 3))
				g := max(c.group, 1)
				x := randTensor(r, 2, c.c, c.h, c.w)
				w := randTensor(r, c.c, c.m/g, c.kh, c.kw)
				b := randTensor(r, c.m)
				attrs := map[string]graph.Attr{
					"group":     {Kind: graph.AttrInt, Int: int64(g)},
					"strides":   {Kind: graph.AttrInts, Ints: ints64(c.stride[:]...)},
					"dilations": {Kind: graph.AttrInts, Ints: ints64(c.dil[:]...)},
					"pads":      {Kind: graph.AttrInts, Ints: ints64(c.pads[0], c.pads[1], c.pads[2], c.pads[3])},
				}
				if c.outPad != [2]int{} {
					attrs["output_padding"] = graph.Attr{Kind: graph.AttrInts, Ints: ints64(c.outPad[:]...)}
				}
				if c.outShape != nil {
					attrs["output_shape"] = graph.Attr{Kind: graph.AttrInts, Ints: c.outShape}
					delete(attrs, "pads")
				}
				n := &graph.Node{Name: "ct", Op: "ConvTranspose", Attrs: attrs}
				switch c.act {
				case "Relu":
					SetActivation(n, Activation{Kind: ActRelu})
				case "Clip":
					SetActivation(n, Activation{Kind: ActClip, Min: -0.5, Max: 0.5})
				}
				ins := []*tensor.Tensor{x, w, b}
				if c.oneD {
					x1, w1 := x.Clone(), w.Clone()
					x1.Shape, w1.Shape = tensor.Shape{2, c.c, c.w}, tensor.Shape{c.c, c.m / g, c.kw}
					n.Attrs["strides"] = graph.Attr{Kind: graph.AttrInts, Ints: ints64(c.stride[1])}
					n.Attrs["dilations"] = graph.Attr{Kind: graph.AttrInts, Ints: ints64(c.dil[1])}
					n.Attrs["pads"] = graph.Attr{Kind: graph.AttrInts, Ints: ints64(c.pads[1], c.pads[3])}
					ins = []*tensor.Tensor{x1, w1, b}
				}
				y := runOp(t, n, ins, []bool{false, true, true}, threads)[0]
				oh, ow := y.Shape[2], y.Shape[len(y.Shape)-1]
				// Output size: ONNX's formula, or output_shape.
				wantOW := c.stride[1]*(c.w-1) + c.outPad[1] + c.dil[1]*(c.kw-1) + 1 - c.pads[1] - c.pads[3]
				pt, pl := c.pads[0], c.pads[1]
				if c.outShape != nil {
					wantOW = int(c.outShape[1])
					tot := func(a int) int {
						return c.stride[a]*([2]int{c.h, c.w}[a]-1) + c.dil[a]*([2]int{c.kh, c.kw}[a]-1) + 1 - int(c.outShape[a])
					}
					pt, pl = tot(0)-floorHalf(tot(0)), tot(1)-floorHalf(tot(1))
				}
				if ow != wantOW {
					t.Fatalf("output width %d, want %d", ow, wantOW)
				}
				if c.oneD {
					oh = 1
				}
				want := ref.ConvTranspose(x.F32(), [4]int{2, c.c, c.h, c.w}, w.F32(), [4]int{c.c, c.m / g, c.kh, c.kw}, b.F32(),
					ref.Conv2D{Group: g, Strides: c.stride, Dilations: c.dil, Pads: [4]int{pt, pl}}, oh, ow)
				for j := range want {
					switch c.act {
					case "Relu":
						want[j] = max(want[j], 0)
					case "Clip":
						want[j] = min(max(want[j], -0.5), 0.5)
					}
				}
				closeSlices(t, "ConvTranspose", y.F32(), want, 1e-5)
			})
		}
	}
}

func floorHalf(v int) int { return int(math.Floor(float64(v) / 2)) }
