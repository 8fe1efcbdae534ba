package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/tensor"
)

// BenchmarkDepthwiseTile times MobileNetV2's depthwise layers (bias, ReLU6) on the tiled schedule and
// on the plane kernels, alternating run by run in one process, and reports each one's minimum wall
// time; with -cpu 2 both run on a two-thread pool. It is what dwTileMaxPixels is set from.
//
//	go test -run XXX -bench DepthwiseTile -benchtime 100x -cpu 1,2 ./ops
func BenchmarkDepthwiseTile(b *testing.B) {
	defer func(m string) { dwTileMode = m }(dwTileMode)
	for _, cc := range []struct{ c, h, s int }{
		{32, 112, 1}, {96, 112, 2}, {144, 56, 1}, {144, 56, 2}, {192, 28, 1}, {192, 28, 2},
		{384, 14, 1}, {576, 14, 1}, {576, 14, 2}, {960, 7, 1},
	} {
		b.Run(fmt.Sprintf("c%d_%dx%d_s%d", cc.c, cc.h, cc.h, cc.s), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			x := randTensor(r, 1, cc.c, cc.h, cc.h)
			w := randTensor(r, cc.c, 1, 3, 3)
			bias := randTensor(r, cc.c)
			var ks [2]Kernel
			var ctxs [2]*Ctx
			var y *tensor.Tensor
			for i, mode := range []string{"on", "off"} {
				dwTileMode = mode
				n := &graph.Node{Name: "dw", Op: "Conv", Outputs: []*graph.Value{{Name: "y"}},
					Inputs: []*graph.Value{{Name: "x", DType: tensor.F32, Shape: x.Shape}, {Name: "w", DType: tensor.F32, Shape: w.Shape, Const: w},
						{Name: "b", DType: tensor.F32, Shape: bias.Shape, Const: bias}}}
				n.SetInts("strides", ints64(cc.s, cc.s))
				n.SetInts("pads", ints64(1, 1, 1, 1))
				n.SetInt("group", int64(cc.c))
				SetActivation(n, Activation{Kind: actKind("Clip"), Min: 0, Max: 6})
				if err := inferConv(n); err != nil {
					b.Fatal(err)
				}
				k, err := compileConvPacked(n, nil, 0, CompileOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if tiled := k.(*convKernel).dwt != nil; tiled != (mode == "on") {
					b.Skipf("tiled schedule %v with WANWU_DW_TILE=%s", tiled, mode)
				}
				ks[i], ctxs[i] = k, &Ctx{Scratch: make([]byte, k.ScratchBytes())}
				y = tensor.New(tensor.F32, n.Outputs[0].Shape)
			}
			ins, outs := []*tensor.Tensor{x, w, bias}, []*tensor.Tensor{y}
			var pool *parallel.Pool
			if threads := runtime.GOMAXPROCS(0); threads > 1 {
				pool = parallel.NewPool(threads)
				defer pool.Close()
			}
			best := [2]float64{math.Inf(1), math.Inf(1)}
			for i := 0; i < max(b.N, 15); i++ {
				for j := range ks {
					ctxs[j].Pool = pool
					t0 := time.Now()
					_ = ks[j].Run(ctxs[j], ins, outs)
					best[j] = min(best[j], time.Since(t0).Seconds())
				}
			}
			b.ReportMetric(best[0]*1e6, "tiled-µs")
			b.ReportMetric(best[1]*1e6, "planes-µs")
			b.ReportMetric(best[0]/best[1], "tiled/planes")
		})
	}
}
