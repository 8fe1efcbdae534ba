package ops

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/ops/ref"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestConvKSplitSchedule: deep, narrow convolutions that take the split-K schedule against the
// reference, on every micro-kernel, compiled for 2 and 3 parts and run serially and on 2 and 3
// threads (fewer threads than parts included), plain and with the fused residual. The cases cover a
// 1×1 read in place, a 1×1 stride-2 and a 3×3 through im2col, parts that end inside a KC block, output
// channels that are not a multiple of MR, and activations in and after the kernel; W in f32 and in
// halves (fp16 models: each block widened as it runs).
func TestConvKSplitSchedule(t *testing.T) {
	cases := []convCase{
		{n: 1, c: 800, h: 14, w: 14, m: 45, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, bias: true, act: "Clip"},
		{n: 1, c: 90, h: 7, w: 9, m: 37, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true, act: "Relu"},
		{n: 1, c: 790, h: 13, w: 11, m: 24, kh: 1, kw: 1, group: 1, stride: [2]int{2, 2}, dil: [2]int{1, 1}, act: "HardSwish"},
		// Odd block counts (3 KC blocks): two parts cut the middle block by output channels.
		{n: 1, c: 700, h: 9, w: 9, m: 43, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, bias: true, act: "Relu"},
		{n: 1, c: 64, h: 10, w: 10, m: 40, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true, act: "Clip"},
	}
	forEachF32Impl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		pools := []*parallel.Pool{nil, parallel.NewPool(2), parallel.NewPool(3)}
		defer func() {
			for _, p := range pools[1:] {
				p.Close()
			}
		}()
		for ci := range 2 * len(cases) {
			cc, half := cases[ci/2], ci%2 == 1
			x := randTensor(r, cc.n, cc.c, cc.h, cc.w)
			w := randTensor(r, cc.m, cc.c, cc.kh, cc.kw)
			wIn := w
			if half {
				wIn, w = toF16(w) // the reference multiplies by the rounded values
			}
			var b *tensor.Tensor
			var bias []float32
			if cc.bias {
				b = randTensor(r, cc.m)
				bias = b.F32()
			}
			want, ws := ref.Conv(x.F32(), [4]int{cc.n, cc.c, cc.h, cc.w}, w.F32(), [4]int{cc.m, cc.c, cc.kh, cc.kw}, bias,
				ref.Conv2D{Group: 1, Strides: cc.stride, Dilations: cc.dil, Pads: cc.pads})
			z := randTensor(r, ws[0], ws[1], ws[2], ws[3])
			wantZ := append([]float32(nil), want...)
			for j := range wantZ {
				wantZ[j] += z.F32()[j]
			}
			act := Activation{Kind: actKind(cc.act), Min: -0.25, Max: 0.5, Alpha: 0.1}
			act.Apply(want)
			act.Apply(wantZ)
			for _, parts := range []int{2, 3} {
				t.Run(fmt.Sprintf("%s_half%v_parts%d", cc, half, parts), func(t *testing.T) {
					prev := runtime.GOMAXPROCS(parts) // the compiled part count
					defer runtime.GOMAXPROCS(prev)
					for _, withZ := range []bool{false, true} {
						n := &graph.Node{Name: "conv", Op: "Conv"}
						n.SetInts("strides", ints64(cc.stride[0], cc.stride[1]))
						n.SetInts("pads", ints64(cc.pads[0], cc.pads[1], cc.pads[2], cc.pads[3]))
						SetActivation(n, act)
						ins, isConst, exp := []*tensor.Tensor{x, wIn, b}, []bool{false, true, true}, want
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
						// (A part needs a KC block of depth: the 3-block cases split in two only.)
						want := cc.c*cc.kh*cc.kw >= parts*f32.KC
						if ck, ok := k.(*convKernel); !ok || ck.ksplit != want || want && ck.kParts != parts {
							t.Fatalf("compiled %T: split-K schedule of %d parts %v, want %v", k, parts, ok && ck.ksplit, want)
						}
					}
				})
			}
		}
	})
}
