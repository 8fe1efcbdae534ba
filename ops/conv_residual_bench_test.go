package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// BenchmarkConvResidual times ResNet-50's 1×1 layers that end a bottleneck block with and without the
// fused residual Add (GEMM path, bias, Relu), alternating in one process, and reports each one's
// minimum. "cold" streams 64 MiB through the cache before every run, as the layers between a block's
// input and its Add do in a model: the residual then comes from memory, and only the micro-kernel's
// prefetch of the next row panel's Z rows keeps the Add from stalling on it.
//
//	go test -run XXX -bench ConvResidual -benchtime 40x -cpu 1 ./ops
func BenchmarkConvResidual(b *testing.B) {
	for _, cc := range []convCase{
		{n: 1, c: 64, h: 56, w: 56, m: 256, stride: [2]int{1, 1}},
		{n: 1, c: 128, h: 28, w: 28, m: 512, stride: [2]int{1, 1}},
		{n: 1, c: 256, h: 56, w: 56, m: 512, stride: [2]int{2, 2}},
		{n: 1, c: 512, h: 28, w: 28, m: 1024, stride: [2]int{2, 2}},
	} {
		for _, cold := range []bool{false, true} {
			name := fmt.Sprintf("c%d_%dx%d_m%d_s%d/warm", cc.c, cc.h, cc.w, cc.m, cc.stride[0])
			if cold {
				name = name[:len(name)-len("warm")] + "cold"
			}
			b.Run(name, func(b *testing.B) { benchConvResidual(b, cc, cold) })
		}
	}
}

func benchConvResidual(b *testing.B, cc convCase, cold bool) {
	r := rand.New(rand.NewPCG(1, 1))
	x := randTensor(r, cc.n, cc.c, cc.h, cc.w)
	w := randTensor(r, cc.m, cc.c, 1, 1)
	bias := randTensor(r, cc.m)
	var ks [2]Kernel
	var ctxs [2]*Ctx
	var y, z *tensor.Tensor
	for i := range ks {
		n := &graph.Node{Name: "conv", Op: "Conv", Outputs: []*graph.Value{{Name: "y"}},
			Inputs: []*graph.Value{{Name: "x", DType: tensor.F32, Shape: x.Shape}, {Name: "w", DType: tensor.F32, Shape: w.Shape, Const: w},
				{Name: "b", DType: tensor.F32, Shape: bias.Shape, Const: bias}}}
		n.SetInts("strides", ints64(cc.stride[0], cc.stride[1]))
		n.SetInts("pads", ints64(0, 0, 0, 0))
		n.SetInt("group", 1)
		n.SetStr(graph.AttrActivation, "Relu")
		if err := inferConv(n); err != nil {
			b.Fatal(err)
		}
		if i == 1 {
			z = randTensor(r, n.Outputs[0].Shape...)
			n.Inputs = append(n.Inputs, &graph.Value{Name: "z", DType: tensor.F32, Shape: z.Shape})
		}
		y = tensor.New(tensor.F32, n.Outputs[0].Shape)
		k, err := compileConvPacked(n, nil, 0, CompileOptions{})
		if err != nil {
			b.Fatal(err)
		}
		ks[i], ctxs[i] = k, &Ctx{Scratch: make([]byte, k.ScratchBytes())}
	}
	var evict []float32
	if cold {
		evict = make([]float32, 16<<20)
	}
	best := [2]float64{math.Inf(1), math.Inf(1)}
	for i := 0; i < max(b.N, 15); i++ {
		for j := range ks {
			ins := []*tensor.Tensor{x, w, bias}
			if j == 1 {
				ins = append(ins, z)
			}
			for q := range evict {
				evict[q]++
			}
			t0 := time.Now()
			_ = ks[j].Run(ctxs[j], ins, []*tensor.Tensor{y})
			best[j] = min(best[j], time.Since(t0).Seconds())
		}
	}
	b.ReportMetric(best[0]*1e3, "plain-ms")
	b.ReportMetric(best[1]*1e3, "residual-ms")
}
