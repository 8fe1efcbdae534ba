package ops

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestConvSubsample runs strided 1×1 convolutions, which compile to a stride-1 pointwise layer over
// their compacted input, against the reference convolution: ResNet's shortcut shapes (even planes,
// one SubsampleRows call per thread), odd planes (the last input row and column unread), strides 3
// and (2, 1), a batch, groups, f16 weights and a fused residual, on one, two and three threads. A
// padded strided 1×1 reads zeros outside the input and must keep the strided path.
func TestConvSubsample(t *testing.T) {
	prev := runtime.GOMAXPROCS(2) // the compiled slot count (the CI machine may have one core)
	defer runtime.GOMAXPROCS(prev)
	cases := []struct {
		convCase
		sub bool // compiles to the subsample schedule
	}{
		{convCase{n: 1, c: 64, h: 56, w: 56, m: 128, kh: 1, kw: 1, group: 1, stride: [2]int{2, 2}, dil: [2]int{1, 1}, bias: true, act: "Relu"}, true},
		{convCase{n: 1, c: 96, h: 14, w: 14, m: 160, kh: 1, kw: 1, group: 1, stride: [2]int{2, 2}, dil: [2]int{1, 1}, bias: true}, true},
		{convCase{n: 1, c: 24, h: 13, w: 15, m: 32, kh: 1, kw: 1, group: 1, stride: [2]int{2, 2}, dil: [2]int{1, 1}, act: "Clip"}, true},
		{convCase{n: 2, c: 16, h: 9, w: 10, m: 48, kh: 1, kw: 1, group: 2, stride: [2]int{3, 3}, dil: [2]int{1, 1}, bias: true}, true},
		{convCase{n: 1, c: 8, h: 12, w: 33, m: 16, kh: 1, kw: 1, group: 1, stride: [2]int{2, 1}, dil: [2]int{1, 1}, bias: true, act: "Relu"}, true},
		{convCase{n: 1, c: 8, h: 11, w: 11, m: 16, kh: 1, kw: 1, group: 1, stride: [2]int{2, 2}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true}, false},
	}
	forEachF32Impl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		pools := testPools(t)
		for _, cc := range cases {
			for _, half := range []bool{false, true} {
				x, wIn, b, want, ws := cc.data(r, half)
				z := randTensor(r, ws[0], ws[1], ws[2], ws[3])
				wantZ := append([]float32(nil), want...)
				for j := range wantZ {
					wantZ[j] += z.F32()[j]
				}
				var act Activation
				if cc.act != "" {
					act = Activation{Kind: actKind(cc.act), Min: -0.25, Max: 0.5}
				}
				act.Apply(want)
				act.Apply(wantZ)
				name := cc.String()
				if half {
					name += "_f16"
				}
				t.Run(name, func(t *testing.T) {
					for _, withZ := range []bool{false, true} {
						n := &graph.Node{Name: "conv", Op: "Conv"}
						n.SetInts("strides", ints64(cc.stride[0], cc.stride[1]))
						n.SetInts("dilations", ints64(cc.dil[0], cc.dil[1]))
						n.SetInts("pads", ints64(cc.pads[0], cc.pads[1], cc.pads[2], cc.pads[3]))
						n.SetInt("group", int64(cc.group))
						if cc.act != "" {
							SetActivation(n, act)
						}
						ins, isConst, exp := []*tensor.Tensor{x, wIn, b}, []bool{false, true, true}, want
						if withZ {
							ins, isConst, exp = append(ins, z), append(isConst, false), wantZ
						}
						for _, p := range pools {
							got := runOpWith(t, n, ins, isConst, p, &CompileOptions{})
							closeSlices(t, "Conv", got[0].F32(), exp, 2e-4)
						}
						if k, err := LookupNode(n).CompileWith(n, CompileOptions{}); err != nil {
							t.Fatal(err)
						} else if ck, ok := k.(*convKernel); !ok || (ck.sub != nil) != cc.sub {
							t.Fatalf("compiled %T, subsample schedule %v, want %v", k, ok && ck.sub != nil, cc.sub)
						}
					}
				})
			}
		}
	})
}
