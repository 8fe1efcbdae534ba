package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/ops/ref"
	"github.com/wanwu-ai/wanwu/tensor"
)

// winoCases are 3×3 stride-1 convolutions on awkward shapes: channel counts that hit every MR/NR and
// KC tail (1, 3, 7, 13, 24, 64+odd, > KC), odd planes whose last tiles overhang the output, planes
// smaller than one 6×6 input tile, asymmetric and missing pads, groups, batch 2.
func winoCases() []convCase {
	var cs []convCase
	one := [2]int{1, 1}
	for _, c := range []int{1, 3, 7, 13, 24, 67} {
		for _, m := range []int{1, 13, 24, 71} {
			cs = append(cs, convCase{n: 1, c: c, h: 9, w: 7, m: m, kh: 3, kw: 3, group: 1, stride: one, dil: one, pads: [4]int{1, 1, 1, 1}, bias: c%2 == 1, act: "Relu"})
		}
	}
	cs = append(cs,
		convCase{n: 2, c: 5, h: 13, w: 11, m: 6, kh: 3, kw: 3, group: 1, stride: one, dil: one, pads: [4]int{2, 0, 1, 3}, bias: true, act: "Clip"},
		convCase{n: 2, c: 8, h: 4, w: 5, m: 9, kh: 3, kw: 3, group: 1, stride: one, dil: one, pads: [4]int{0, 0, 0, 0}, bias: true},
		convCase{n: 1, c: 3, h: 2, w: 17, m: 4, kh: 3, kw: 3, group: 1, stride: one, dil: one, pads: [4]int{1, 1, 1, 1}},
		convCase{n: 2, c: 12, h: 15, w: 14, m: 10, kh: 3, kw: 3, group: 2, stride: one, dil: one, pads: [4]int{1, 1, 1, 1}, bias: true, act: "Relu"},
		convCase{n: 1, c: 300, h: 7, w: 9, m: 33, kh: 3, kw: 3, group: 1, stride: one, dil: one, pads: [4]int{1, 1, 1, 1}, bias: true},
		convCase{n: 1, c: 64, h: 30, w: 31, m: 65, kh: 3, kw: 3, group: 1, stride: one, dil: one, pads: [4]int{1, 1, 1, 1}, bias: true, act: "Relu"},
	)
	return cs
}

// TestConvWinogradMatchesReference forces the Winograd path for every eligible case and compares it
// with ops/ref on each micro-kernel of the ISA ladder, serial and on three threads.
func TestConvWinogradMatchesReference(t *testing.T) {
	defer func(m int) { winogradMode = m }(winogradMode)
	for _, tm := range []int{2, 4} {
		winogradMode = tm
		t.Run(fmt.Sprintf("F%dx%d", tm, tm), testConvWinogradMatchesReference)
	}
}

func testConvWinogradMatchesReference(t *testing.T) {
	forEachF32Impl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		pool := parallel.NewPool(3)
		defer pool.Close()
		for i, cc := range winoCases() {
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
			n := &graph.Node{Name: "conv", Op: "Conv"}
			n.SetInts("pads", ints64(cc.pads[0], cc.pads[1], cc.pads[2], cc.pads[3]))
			n.SetInt("group", int64(cc.group))
			if cc.act != "" {
				act := Activation{Kind: actKind(cc.act), Min: -0.25, Max: 0.5}
				SetActivation(n, act)
				act.Apply(want)
			}
			p := pool
			if i%2 == 0 {
				p = nil
			}
			t.Run(cc.String(), func(t *testing.T) {
				// Every third case computes W at run time (transformed into scratch per Run).
				got := runOp(t, n, []*tensor.Tensor{x, w, b}, []bool{false, i%3 != 0, true}, p)
				if !got[0].Shape.Equal(tensor.Shape{ws[0], ws[1], ws[2], ws[3]}) {
					t.Fatalf("shape %s, want %v", got[0].Shape, ws)
				}
				if winogradMode == 2 {
					// F(2×2) meets the im2col path's per-element tolerance.
					closeSlices(t, "Conv", got[0].F32(), want, 1e-4)
				}
				winoClose(t, got[0].F32(), want)
				if winoOf(t, n) == nil {
					t.Fatal("case did not take the Winograd path")
				}
			})
		}
	})
}

// winoTol bounds F(4×4, 3×3)'s error relative to the output's scale, max|diff| / max|ref|. It is
// looser than the im2col path's per-element 1e-4·(1+|ref|) (TestConvMatchesReference): the transforms
// scale the GEMM's operands up to ~100× and its outputs are recombined with weights up to 64, so an
// output near zero in a layer of large outputs can be off by ~1e-5 of the layer's scale (measured up to
// 1.3e-5 here, the c300 case); that is why useWinograd's default rule keeps the path off.
const winoTol = 3e-5

func winoClose(t *testing.T, got, want []float32) {
	t.Helper()
	var maxDiff, maxRef float64
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) {
			t.Fatalf("element %d is NaN", i)
		}
		maxDiff = max(maxDiff, math.Abs(g-w))
		maxRef = max(maxRef, math.Abs(w))
	}
	if len(got) != len(want) || maxDiff > winoTol*max(maxRef, 1) {
		t.Fatalf("max|diff| %.3g, max|ref| %.3g: relative %.3g > %g", maxDiff, maxRef, maxDiff/maxRef, winoTol)
	}
	t.Logf("max|diff|/max|ref| = %.2g", maxDiff/max(maxRef, 1))
}

// TestConvPackedBytes checks that ConvPackedBytes, which sees shapes only, predicts the packed bytes
// the compiled kernel reports for constant weights on each path (Winograd, GEMM, depthwise).
func TestConvPackedBytes(t *testing.T) {
	for _, cc := range []convCase{
		{n: 1, c: 64, h: 28, w: 28, m: 64, kh: 3, kw: 3, group: 1, pads: [4]int{1, 1, 1, 1}},  // Winograd
		{n: 1, c: 64, h: 28, w: 28, m: 64, kh: 3, kw: 3, group: 2, pads: [4]int{1, 1, 1, 1}},  // grouped
		{n: 1, c: 512, h: 7, w: 7, m: 512, kh: 3, kw: 3, group: 1, pads: [4]int{1, 1, 1, 1}},  // GEMM: few tiles
		{n: 1, c: 64, h: 28, w: 28, m: 128, kh: 1, kw: 1, group: 1},                           // pointwise
		{n: 1, c: 32, h: 28, w: 28, m: 32, kh: 3, kw: 3, group: 32, pads: [4]int{1, 1, 1, 1}}, // depthwise
	} {
		w := tensor.New(tensor.F32, tensor.Shape{cc.m, cc.c / cc.group, cc.kh, cc.kw})
		n := &graph.Node{Name: "conv", Op: "Conv", Outputs: []*graph.Value{{Name: "y"}},
			Inputs: []*graph.Value{{Name: "x", DType: tensor.F32, Shape: tensor.Shape{cc.n, cc.c, cc.h, cc.w}}, {Name: "w", DType: tensor.F32, Shape: w.Shape, Const: w}}}
		n.SetInts("pads", ints64(cc.pads[0], cc.pads[1], cc.pads[2], cc.pads[3]))
		n.SetInt("group", int64(cc.group))
		k, err := compileConv(n)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ConvPackedBytes(n), k.(*convKernel).PackedBytes(); got != want {
			t.Errorf("%v: ConvPackedBytes %d, kernel packs %d", cc, got, want)
		}
	}
}

// winoOf compiles n again and returns its Winograd state (nil when it took another path).
func winoOf(t *testing.T, n *graph.Node) *winoState {
	t.Helper()
	k, err := compileConv(n)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*convKernel).wino
}

// TestConvWinogradGuards runs the Winograd path with the output inside a NaN-poisoned, guard-padded
// buffer and scratch with guards too: a transform that writes outside its tile or reads an unwritten
// workspace element shows up as a changed guard or a NaN.
func TestConvWinogradGuards(t *testing.T) {
	defer func(m int) { winogradMode = m }(winogradMode)
	for _, tm := range []int{2, 4} {
		winogradMode = tm
		t.Run(fmt.Sprintf("F%dx%d", tm, tm), testConvWinogradGuards)
	}
}

func testConvWinogradGuards(t *testing.T) {
	const guard = 64
	r := rand.New(rand.NewPCG(9, 10))
	for _, cc := range winoCases()[len(winoCases())-4:] {
		x := randTensor(r, cc.n, cc.c, cc.h, cc.w)
		w := randTensor(r, cc.m, cc.c/cc.group, 3, 3)
		n := &graph.Node{Name: "conv", Op: "Conv", Outputs: []*graph.Value{{Name: "y"}},
			Inputs: []*graph.Value{{Name: "x", DType: tensor.F32, Shape: x.Shape}, {Name: "w", DType: tensor.F32, Shape: w.Shape, Const: w}}}
		n.SetInts("pads", ints64(cc.pads[0], cc.pads[1], cc.pads[2], cc.pads[3]))
		n.SetInt("group", int64(cc.group))
		if err := inferConv(n); err != nil {
			t.Fatal(err)
		}
		k, err := compileConv(n)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ref.Conv(x.F32(), [4]int{cc.n, cc.c, cc.h, cc.w}, w.F32(), [4]int{cc.m, cc.c / cc.group, 3, 3}, nil,
			ref.Conv2D{Group: cc.group, Strides: [2]int{1, 1}, Dilations: [2]int{1, 1}, Pads: cc.pads})
		ny := n.Outputs[0].Shape.NumElements()
		buf := tensor.New(tensor.F32, tensor.Shape{ny + 2*guard})
		sentinel := float32(math.Float32frombits(0x7fc0dead))
		for i := range buf.F32() {
			buf.F32()[i] = sentinel
		}
		y := &tensor.Tensor{DType: tensor.F32, Shape: n.Outputs[0].Shape, Data: buf.Data[4*guard : 4*(guard+ny)]}
		scratch := make([]byte, k.ScratchBytes()+8*guard)
		for i := range scratch {
			scratch[i] = 0xff // NaN patterns everywhere, guards included
		}
		ctx := &Ctx{Scratch: scratch[4*guard : len(scratch)-4*guard]}
		if err := k.Run(ctx, []*tensor.Tensor{x, w}, []*tensor.Tensor{y}); err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprint(cc), func(t *testing.T) {
			all := buf.F32()
			for i := 0; i < guard; i++ {
				if math.Float32bits(all[i]) != 0x7fc0dead || math.Float32bits(all[guard+ny+i]) != 0x7fc0dead {
					t.Fatalf("guard %d overwritten", i)
				}
			}
			for i := 0; i < 4*guard; i++ {
				if scratch[i] != 0xff || scratch[len(scratch)-1-i] != 0xff {
					t.Fatalf("scratch guard %d overwritten", i)
				}
			}
			winoClose(t, y.F32(), want)
		})
	}
}

// BenchmarkConvWinograd times the 3×3 stride-1 layers of ResNet-50 (and a ResNeSt split-attention
// conv) with im2col, Winograd F(2×2) and F(4×4), alternating in the same process, and reports the
// minimum CPU time per run of each (the machine is shared: min of N is the figure); with -cpu 2 it
// runs on a two-thread pool and reports the minimum wall time too.
//
//	go test -run XXX -bench ConvWinograd -benchtime 1x -cpu 1,2 ./ops
func BenchmarkConvWinograd(b *testing.B) {
	defer func(m int) { winogradMode = m }(winogradMode)
	for _, cc := range []convCase{
		{n: 1, c: 64, h: 56, w: 56, m: 64, group: 1},
		{n: 1, c: 128, h: 28, w: 28, m: 128, group: 1},
		{n: 1, c: 256, h: 14, w: 14, m: 256, group: 1},
		{n: 1, c: 512, h: 7, w: 7, m: 512, group: 1},
		{n: 1, c: 128, h: 56, w: 56, m: 256, group: 2},
		{n: 1, c: 32, h: 112, w: 112, m: 32, group: 1},
	} {
		b.Run(fmt.Sprintf("c%d_%dx%d_m%d_g%d", cc.c, cc.h, cc.w, cc.m, cc.group), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			x := randTensor(r, cc.n, cc.c, cc.h, cc.w)
			w := randTensor(r, cc.m, cc.c/cc.group, 3, 3)
			var ks [3]Kernel
			var ctxs [3]*Ctx
			var y *tensor.Tensor
			for i, mode := range []int{-1, 2, 4} {
				winogradMode = mode
				n := &graph.Node{Name: "conv", Op: "Conv", Outputs: []*graph.Value{{Name: "y"}},
					Inputs: []*graph.Value{{Name: "x", DType: tensor.F32, Shape: x.Shape}, {Name: "w", DType: tensor.F32, Shape: w.Shape, Const: w}}}
				n.SetInts("pads", ints64(1, 1, 1, 1))
				n.SetInt("group", int64(cc.group))
				if err := inferConv(n); err != nil {
					b.Fatal(err)
				}
				k, err := compileConv(n)
				if err != nil {
					b.Fatal(err)
				}
				ks[i], ctxs[i] = k, &Ctx{Scratch: make([]byte, k.ScratchBytes())}
				y = tensor.New(tensor.F32, n.Outputs[0].Shape)
			}
			ins, outs := []*tensor.Tensor{x, w, nil}, []*tensor.Tensor{y}
			var pool *parallel.Pool
			if threads := goruntime.GOMAXPROCS(0); threads > 1 {
				pool = parallel.NewPool(threads)
				defer pool.Close()
			}
			best := [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
			wall := best
			for i := 0; i < max(b.N, 15); i++ {
				for j := range ks {
					ctxs[j].Pool = pool
					c0, w0 := cpuTime(), time.Now()
					_ = ks[j].Run(ctxs[j], ins, outs)
					best[j] = min(best[j], (cpuTime() - c0).Seconds())
					wall[j] = min(wall[j], time.Since(w0).Seconds())
				}
			}
			if pool != nil {
				b.ReportMetric(wall[0]*1e3, "im2col-wall-ms")
				b.ReportMetric(wall[1]*1e3, "F2-wall-ms")
			}
			macs := float64(y.NumElements() * cc.c / cc.group * 9)
			b.ReportMetric(best[0]*1e3, "im2col-ms")
			b.ReportMetric(best[1]*1e3, "F2-ms")
			b.ReportMetric(best[2]*1e3, "F4-ms")
			b.ReportMetric(2*macs/best[0]/1e9, "im2col-GFLOP/s")
		})
	}
}
