package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/ops/ref"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestDepthwiseTileSchedule: depthwise convolutions the tiled schedule takes (multiplier 1, 16-channel
// groups, clamp-type activation, scratch small next to the tensors) against the reference, serial
// and on 2 and 3 threads: 3×3 and 5×5, strides 1 and 2, batches of two, planes split by channel
// groups and (56×56 and up, several threads) by bands of rows, bias or none. A residual, another
// activation, a channel multiplier, a channel count off the 16s or a layer too small for the scratch
// stays on the plane kernels.
func TestDepthwiseTileSchedule(t *testing.T) {
	prev := runtime.GOMAXPROCS(3) // the compiled slot count (the CI machine may have one core)
	defer runtime.GOMAXPROCS(prev)
	cases := []struct {
		cc    convCase
		z     bool // a fused residual input
		tiled bool
	}{
		{convCase{n: 1, c: 160, h: 14, w: 14, m: 160, kh: 3, kw: 3, stride: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true, act: "Clip"}, false, true},
		{convCase{n: 2, c: 192, h: 9, w: 13, m: 192, kh: 3, kw: 3, stride: [2]int{2, 2}, pads: [4]int{1, 1, 1, 1}, act: "Relu"}, false, true},
		{convCase{n: 1, c: 16, h: 60, w: 57, m: 16, kh: 3, kw: 3, stride: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true}, false, true},
		{convCase{n: 1, c: 64, h: 113, w: 112, m: 64, kh: 3, kw: 3, stride: [2]int{2, 2}, pads: [4]int{1, 1, 1, 1}, bias: true, act: "Clip"}, false, true},
		{convCase{n: 1, c: 208, h: 15, w: 15, m: 208, kh: 5, kw: 5, stride: [2]int{2, 2}, pads: [4]int{2, 2, 2, 2}, bias: true, act: "Relu"}, false, true},
		{convCase{n: 1, c: 64, h: 30, w: 30, m: 64, kh: 5, kw: 5, stride: [2]int{1, 1}, pads: [4]int{2, 2, 2, 2}}, false, true},
		{convCase{n: 1, c: 160, h: 14, w: 14, m: 160, kh: 3, kw: 3, stride: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true}, true, false},
		{convCase{n: 1, c: 160, h: 14, w: 14, m: 160, kh: 3, kw: 3, stride: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, act: "HardSwish"}, false, false},
		{convCase{n: 1, c: 48, h: 14, w: 14, m: 48, kh: 3, kw: 3, stride: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}}, false, false}, // scratch > 1/8 of the tensors
		{convCase{n: 1, c: 24, h: 14, w: 14, m: 24, kh: 3, kw: 3, stride: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}}, false, false},
		{convCase{n: 1, c: 16, h: 14, w: 14, m: 32, kh: 3, kw: 3, stride: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}}, false, false},
	}
	r := rand.New(rand.NewPCG(11, 12))
	pools := []*parallel.Pool{nil, parallel.NewPool(2), parallel.NewPool(3)}
	defer func() {
		for _, p := range pools[1:] {
			p.Close()
		}
	}()
	for _, tc := range cases {
		cc := tc.cc
		cc.group, cc.dil = cc.c, [2]int{1, 1}
		t.Run(fmt.Sprintf("%v_z%v", cc, tc.z), func(t *testing.T) {
			x := randTensor(r, cc.n, cc.c, cc.h, cc.w)
			w := randTensor(r, cc.m, 1, cc.kh, cc.kw)
			var b *tensor.Tensor
			var bias []float32
			if cc.bias {
				b = randTensor(r, cc.m)
				bias = b.F32()
			}
			want, ws := ref.Conv(x.F32(), [4]int{cc.n, cc.c, cc.h, cc.w}, w.F32(), [4]int{cc.m, 1, cc.kh, cc.kw}, bias,
				ref.Conv2D{Group: cc.group, Strides: cc.stride, Dilations: cc.dil, Pads: cc.pads})
			n := &graph.Node{Name: "dw", Op: "Conv"}
			n.SetInts("strides", ints64(cc.stride[0], cc.stride[1]))
			n.SetInts("pads", ints64(cc.pads[0], cc.pads[1], cc.pads[2], cc.pads[3]))
			n.SetInt("group", int64(cc.group))
			if cc.act != "" {
				SetActivation(n, Activation{Kind: actKind(cc.act), Min: -0.25, Max: 0.5})
			}
			ins, isConst := []*tensor.Tensor{x, w, b}, []bool{false, true, true}
			if tc.z {
				z := randTensor(r, ws[0], ws[1], ws[2], ws[3])
				for i := range want {
					want[i] += z.F32()[i]
				}
				ins, isConst = append(ins, z), append(isConst, false)
			}
			if cc.act != "" {
				Activation{Kind: actKind(cc.act), Min: -0.25, Max: 0.5}.Apply(want)
			}
			for _, p := range pools {
				got := runOpWith(t, n, ins, isConst, p, &CompileOptions{})
				closeSlices(t, "Conv", got[0].F32(), want, 2e-4)
			}
			k, err := LookupNode(n).CompileWith(n, CompileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			wantTiled := tc.tiled && f32.NewDepthwiseTile(&k.(*convKernel).geom) != nil
			if tiled := k.(*convKernel).dwt != nil; tiled != wantTiled {
				t.Fatalf("tiled schedule %v, want %v", tiled, wantTiled)
			}
		})
	}
}

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
