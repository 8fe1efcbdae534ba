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

// TestConvDirectSchedule: convolutions the direct schedule takes (3×3 stride 1 or 2, the 7×7 stride-2
// stem, pointwise 1×1 on planes up to 7×7; output channels per group a multiple of 16) against the
// reference, with and without a fused residual Add, serial and on 2 and 3 threads: several 64-channel
// blocks and a narrower last one, groups, batches of two, asymmetric pads and none (the input read in
// place), bias, Relu and Clip, units cut band-major and block-major, planes of one band and of many.
// Another activation, a larger pointwise plane or a padded 1×1 must stay on the GEMM path.
func TestConvDirectSchedule(t *testing.T) {
	prev := runtime.GOMAXPROCS(3) // the compiled slot count (the CI machine may have one core)
	defer runtime.GOMAXPROCS(prev)
	cases := []struct {
		cc     convCase
		direct bool
	}{
		{convCase{n: 1, c: 40, h: 14, w: 14, m: 144, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true, act: "Relu"}, true},
		{convCase{n: 2, c: 64, h: 7, w: 7, m: 64, kh: 3, kw: 3, group: 2, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, act: "Clip"}, true},
		{convCase{n: 1, c: 16, h: 15, w: 13, m: 16, kh: 3, kw: 3, group: 1, stride: [2]int{2, 2}, dil: [2]int{1, 1}, pads: [4]int{0, 1, 2, 1}, bias: true}, true},
		{convCase{n: 1, c: 3, h: 8, w: 30, m: 32, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 0, 1, 2}, bias: true, act: "Relu"}, true},
		{convCase{n: 2, c: 16, h: 15, w: 16, m: 32, kh: 3, kw: 3, group: 1, stride: [2]int{2, 2}, dil: [2]int{1, 1}, bias: true}, true}, // read in place
		{convCase{n: 1, c: 8, h: 14, w: 14, m: 32, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, act: "HardSwish"}, false},
		{convCase{n: 1, c: 8, h: 28, w: 28, m: 32, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true}, true},
		{convCase{n: 1, c: 70, h: 40, w: 57, m: 80, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true, act: "Relu"}, true},
		{convCase{n: 1, c: 3, h: 61, w: 64, m: 32, kh: 3, kw: 3, group: 1, stride: [2]int{2, 2}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true, act: "Clip"}, true},
		{convCase{n: 2, c: 3, h: 45, w: 38, m: 64, kh: 7, kw: 7, group: 1, stride: [2]int{2, 2}, dil: [2]int{1, 1}, pads: [4]int{3, 3, 3, 3}, bias: true, act: "Relu"}, true},
		{convCase{n: 1, c: 8, h: 14, w: 14, m: 24, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}}, false},
		{convCase{n: 2, c: 200, h: 7, w: 7, m: 80, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, bias: true, act: "Relu"}, true},
		{convCase{n: 1, c: 48, h: 6, w: 8, m: 272, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, bias: true}, true},
		{convCase{n: 1, c: 64, h: 7, w: 7, m: 64, kh: 1, kw: 1, group: 2, stride: [2]int{1, 1}, dil: [2]int{1, 1}, act: "Clip"}, true},
		{convCase{n: 1, c: 16, h: 28, w: 28, m: 32, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, bias: true}, false},
		{convCase{n: 1, c: 16, h: 7, w: 7, m: 32, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true}, false},
	}
	r := rand.New(rand.NewPCG(9, 10))
	pools := []*parallel.Pool{nil, parallel.NewPool(2), parallel.NewPool(3)}
	defer func() {
		for _, p := range pools[1:] {
			p.Close()
		}
	}()
	for _, tc := range cases {
		cc := tc.cc
		t.Run(cc.String(), func(t *testing.T) {
			x := randTensor(r, cc.n, cc.c, cc.h, cc.w)
			w := randTensor(r, cc.m, cc.c/cc.group, cc.kh, cc.kw)
			var b *tensor.Tensor
			var bias []float32
			if cc.bias {
				b = randTensor(r, cc.m)
				bias = b.F32()
			}
			want, ws := ref.Conv(x.F32(), [4]int{cc.n, cc.c, cc.h, cc.w}, w.F32(), [4]int{cc.m, cc.c / cc.group, cc.kh, cc.kw}, bias,
				ref.Conv2D{Group: cc.group, Strides: cc.stride, Dilations: cc.dil, Pads: cc.pads})
			var act Activation
			if cc.act != "" {
				act = Activation{Kind: actKind(cc.act), Min: -0.25, Max: 0.5}
			}
			z := randTensor(r, ws[0], ws[1], ws[2], ws[3])
			wantZ := append([]float32(nil), want...)
			for j := range wantZ {
				wantZ[j] += z.F32()[j] // the residual goes before the activation
			}
			act.Apply(want)
			act.Apply(wantZ)
			for _, withZ := range []bool{false, true} {
				n := &graph.Node{Name: "conv", Op: "Conv"}
				n.SetInts("strides", ints64(cc.stride[0], cc.stride[1]))
				n.SetInts("pads", ints64(cc.pads[0], cc.pads[1], cc.pads[2], cc.pads[3]))
				n.SetInt("group", int64(cc.group))
				if cc.act != "" {
					SetActivation(n, act)
				}
				ins, isConst, exp := []*tensor.Tensor{x, w, b}, []bool{false, true, true}, want
				if withZ {
					ins, isConst, exp = append(ins, z), append(isConst, false), wantZ
				}
				for _, p := range pools {
					got := runOpWith(t, n, ins, isConst, p, &CompileOptions{})
					closeSlices(t, "Conv", got[0].F32(), exp, 2e-4)
				}
				k, err := LookupNode(n).CompileWith(n, CompileOptions{})
				if err != nil {
					t.Fatal(err)
				}
				ck := k.(*convKernel)
				wantDirect := tc.direct && f32.ConvDirectSupported(&ck.geom, ck.mg)
				if (ck.dc != nil) != wantDirect {
					t.Fatalf("direct schedule %v, want %v", ck.dc != nil, wantDirect)
				}
			}
		})
	}
}

// BenchmarkConvDirectVsGEMM times ResNet-50's 3×3 layers (bias, Relu) on the direct schedule and on
// the GEMM path, alternating run by run in one process, and reports each one's minimum wall time
// (the machine is shared: the minimum of many interleaved runs is the figure that compares); with
// -cpu 2 both run on a two-thread pool. It is what convDirectMaxPixels is set from.
//
//	go test -run XXX -bench ConvDirectVsGEMM -benchtime 40x -cpu 1,2 ./ops
func BenchmarkConvDirectVsGEMM(b *testing.B) {
	defer func(m string) { convDirectMode = m }(convDirectMode)
	for _, cc := range []convCase{
		{n: 1, c: 64, h: 56, w: 56, m: 64, stride: [2]int{1, 1}},
		{n: 1, c: 128, h: 28, w: 28, m: 128, stride: [2]int{1, 1}},
		{n: 1, c: 256, h: 14, w: 14, m: 256, stride: [2]int{1, 1}},
		{n: 1, c: 512, h: 7, w: 7, m: 512, stride: [2]int{1, 1}},
		{n: 1, c: 128, h: 56, w: 56, m: 128, stride: [2]int{2, 2}},
		{n: 1, c: 256, h: 28, w: 28, m: 256, stride: [2]int{2, 2}},
		{n: 1, c: 512, h: 14, w: 14, m: 512, stride: [2]int{2, 2}},
		{n: 1, c: 3, h: 224, w: 224, m: 32, stride: [2]int{2, 2}},            // MobileNetV2's stem
		{n: 1, c: 3, h: 224, w: 224, m: 64, stride: [2]int{2, 2}},            // ResNeSt's deep stem
		{n: 1, c: 64, h: 112, w: 112, m: 64, stride: [2]int{1, 1}},           // (its second and third convs)
		{n: 1, c: 64, h: 112, w: 112, m: 128, stride: [2]int{1, 1}},          //
		{n: 1, c: 128, h: 56, w: 56, m: 256, stride: [2]int{1, 1}, group: 2}, // a ResNeSt radix-2 conv
		{n: 1, c: 3, h: 224, w: 224, m: 64, kh: 7, stride: [2]int{2, 2}},     // ResNet-50's stem
		{n: 1, c: 2048, h: 7, w: 7, m: 512, kh: 1, stride: [2]int{1, 1}},     // ResNet-50's 1×1 layers
		{n: 1, c: 512, h: 7, w: 7, m: 2048, kh: 1, stride: [2]int{1, 1}},
		{n: 1, c: 1024, h: 14, w: 14, m: 256, kh: 1, stride: [2]int{1, 1}},
		{n: 1, c: 256, h: 14, w: 14, m: 1024, kh: 1, stride: [2]int{1, 1}},
		{n: 1, c: 1024, h: 14, w: 14, m: 512, kh: 1, stride: [2]int{1, 1}},
		{n: 1, c: 512, h: 28, w: 28, m: 128, kh: 1, stride: [2]int{1, 1}},
	} {
		cc.group = max(cc.group, 1)
		if cc.kh == 0 {
			cc.kh = 3
		}
		b.Run(fmt.Sprintf("c%d_%dx%d_m%d_k%d_s%d_g%d", cc.c, cc.h, cc.w, cc.m, cc.kh, cc.stride[0], cc.group), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			x := randTensor(r, cc.n, cc.c, cc.h, cc.w)
			w := randTensor(r, cc.m, cc.c/cc.group, cc.kh, cc.kh)
			bias := randTensor(r, cc.m)
			var ks [2]Kernel
			var ctxs [2]*Ctx
			var y *tensor.Tensor
			for i, mode := range []string{"on", "off"} {
				convDirectMode = mode
				n := &graph.Node{Name: "conv", Op: "Conv", Outputs: []*graph.Value{{Name: "y"}},
					Inputs: []*graph.Value{{Name: "x", DType: tensor.F32, Shape: x.Shape}, {Name: "w", DType: tensor.F32, Shape: w.Shape, Const: w},
						{Name: "b", DType: tensor.F32, Shape: bias.Shape, Const: bias}}}
				n.SetInts("strides", ints64(cc.stride[0], cc.stride[1]))
				p := cc.kh / 2
				n.SetInts("pads", ints64(p, p, p, p))
				n.SetInt("group", int64(cc.group))
				n.SetStr(graph.AttrActivation, "Relu")
				if err := inferConv(n); err != nil {
					b.Fatal(err)
				}
				k, err := compileConvPacked(n, nil, 0, CompileOptions{}) // Winograd off, as the runtime compiles
				if err != nil {
					b.Fatal(err)
				}
				if direct := k.(*convKernel).dc != nil; direct != (mode == "on") {
					b.Skipf("direct schedule %v with WANWU_CONV_DIRECT=%s", direct, mode)
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
			b.ReportMetric(best[0]*1e3, "direct-ms")
			b.ReportMetric(best[1]*1e3, "gemm-ms")
			b.ReportMetric(best[0]/best[1], "direct/gemm")
		})
	}
}
