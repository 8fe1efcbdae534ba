package ops

import (
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestConvPooled runs Conv nodes carrying graph.AttrMaxPool3x3S2 (ResNet's 7×7 stem, 3×3 layers with
// even and odd planes, a batch of two, more output channels than one kernel call covers, f16
// weights) on one, two and three threads against the reference convolution, its activation and a
// 3×3 stride-2 max pool padded by one; a fused pool the direct schedule would not run (1×1, two
// groups) must fail to compile with the node's name.
func TestConvPooled(t *testing.T) {
	prev := runtime.GOMAXPROCS(2) // the compiled slot count (the CI machine may have one core)
	defer runtime.GOMAXPROCS(prev)
	pools := testPools(t)
	r := rand.New(rand.NewPCG(11, 12))
	for _, cc := range []convCase{
		{n: 1, c: 3, h: 40, w: 38, m: 64, kh: 7, kw: 7, group: 1, stride: [2]int{2, 2}, dil: [2]int{1, 1}, pads: [4]int{3, 3, 3, 3}, bias: true, act: "Relu"},
		{n: 2, c: 8, h: 13, w: 11, m: 32, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true, act: "Clip"},
		{n: 1, c: 6, h: 10, w: 12, m: 288, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}},
	} {
		if !ConvMaxPoolFusable(convNode(cc, tensor.F32)) {
			t.Logf("%s: no direct kernels here", cc)
			continue
		}
		for _, half := range []bool{false, true} {
			x, wIn, b, conv, ws := cc.data(r, half)
			var act Activation
			if cc.act != "" {
				act = Activation{Kind: actKind(cc.act), Min: -0.25, Max: 0.5}
			}
			act.Apply(conv)
			oh, ow := ws[2], ws[3]
			ph, pw := (oh-1)/2+1, (ow-1)/2+1
			want := make([]float32, ws[0]*ws[1]*ph*pw)
			for p := 0; p < ws[0]*ws[1]; p++ {
				for qy := 0; qy < ph; qy++ {
					for qx := 0; qx < pw; qx++ {
						m := float32(math.Inf(-1))
						for iy := max(2*qy-1, 0); iy <= min(2*qy+1, oh-1); iy++ {
							for ix := max(2*qx-1, 0); ix <= min(2*qx+1, ow-1); ix++ {
								m = max(m, conv[(p*oh+iy)*ow+ix])
							}
						}
						want[(p*ph+qy)*pw+qx] = m
					}
				}
			}
			for _, p := range pools {
				n := convNode(cc, wIn.DType)
				if cc.act != "" {
					SetActivation(n, act)
				}
				n.SetInt(graph.AttrMaxPool3x3S2, 1)
				got := runOpWith(t, n, []*tensor.Tensor{x, wIn, b}, []bool{false, true, true}, p, &CompileOptions{Winograd: true})
				if s := got[0].Shape; !s.Equal(tensor.Shape{cc.n, cc.m, ph, pw}) {
					t.Fatalf("%s: output %s, want [%d %d %d %d]", cc, s, cc.n, cc.m, ph, pw)
				}
				closeSlices(t, cc.String(), got[0].F32(), want, 2e-4)
			}
		}
	}
	for _, cc := range []convCase{
		{n: 1, c: 16, h: 8, w: 8, m: 32, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}},
		{n: 1, c: 16, h: 8, w: 8, m: 32, kh: 3, kw: 3, group: 2, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}},
	} {
		n := convNode(cc, tensor.F32)
		n.Inputs[1].Const = randTensor(r, cc.m, cc.c/cc.group, cc.kh, cc.kw)
		n.SetInt(graph.AttrMaxPool3x3S2, 1)
		if _, err := compileConvPacked(n, nil, 0, CompileOptions{}); err == nil || !containsAll(err.Error(), `"conv"`, "max pool") {
			t.Errorf("%s: compile error %v, want one naming the node and the fused max pool", cc, err)
		}
	}
}

// convNode is cc's Conv node with X and W values of its shapes (W's data unset) and its attributes.
func convNode(cc convCase, wt tensor.DType) *graph.Node {
	n := &graph.Node{Name: "conv", Op: "Conv", Outputs: []*graph.Value{{Name: "y"}},
		Inputs: []*graph.Value{{Name: "x", DType: tensor.F32, Shape: tensor.Shape{cc.n, cc.c, cc.h, cc.w}},
			{Name: "w", DType: wt, Shape: tensor.Shape{cc.m, cc.c / cc.group, cc.kh, cc.kw}, Const: tensor.New(wt, tensor.Shape{cc.m, cc.c / cc.group, cc.kh, cc.kw})}}}
	n.SetInts("strides", ints64(cc.stride[0], cc.stride[1]))
	n.SetInts("dilations", ints64(cc.dil[0], cc.dil[1]))
	n.SetInts("pads", ints64(cc.pads[0], cc.pads[1], cc.pads[2], cc.pads[3]))
	n.SetInt("group", int64(cc.group))
	return n
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
