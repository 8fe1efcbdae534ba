package ops

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestConvSharedSchedule: convolutions that take the shared-B schedule (few output pixels, compiled
// for two or more threads) against the reference, on every micro-kernel, with f32 and f16 weights,
// serial and on 2 and 3 threads, plain and with the fused residual. The case list (kept shallower than
// twice the outputs, where conv_ksplit.go splits the depth instead) covers a partial KC block, a row
// count that is not a multiple of MR, one and several column panels, and the
// stride-2 1×1 (im2col) and activation-after-the-kernel (HardSwish) variants.
func TestConvSharedSchedule(t *testing.T) {
	prev := runtime.GOMAXPROCS(2) // the compiled slot count (the CI machine may have one core)
	defer runtime.GOMAXPROCS(prev)
	defer func(m string) { convDirectMode = m }(convDirectMode)
	convDirectMode = "off" // the 3×3 cases would take the direct schedule (conv_direct.go)
	defer func(m string) { convSubsampleMode = m }(convSubsampleMode)
	convSubsampleMode = "off" // the strided 1×1 case would run stride-1 on its compacted input
	cases := []convCase{
		{n: 1, c: 32, h: 14, w: 14, m: 40, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true, act: "Relu"},
		{n: 1, c: 40, h: 7, w: 7, m: 64, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true},
		{n: 1, c: 96, h: 13, w: 13, m: 24, kh: 1, kw: 1, group: 1, stride: [2]int{2, 2}, dil: [2]int{1, 1}, act: "HardSwish"},
		{n: 1, c: 3, h: 9, w: 9, m: 5, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true, act: "Clip"},
	}
	forEachF32Impl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
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
					act = Activation{Kind: actKind(cc.act), Min: -0.25, Max: 0.5, Alpha: 0.1}
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
						if cc.act != "" {
							SetActivation(n, act)
						}
						ins, isConst, exp := []*tensor.Tensor{x, wIn, b}, []bool{false, true, true}, want
						if withZ {
							ins, isConst, exp = append(ins, z), append(isConst, false), wantZ
						}
						for _, p := range pools {
							got := runOpWith(t, n, ins, isConst, p, &CompileOptions{}) // no Winograd, as the runtime's default
							closeSlices(t, "Conv", got[0].F32(), exp, 2e-4)
						}
						if k, err := LookupNode(n).CompileWith(n, CompileOptions{}); err != nil {
							t.Fatal(err)
						} else if ck, ok := k.(*convKernel); !ok || !ck.shared {
							t.Fatalf("compiled %T without the shared schedule", k)
						}
					}
				})
			}
		}
	})
}
