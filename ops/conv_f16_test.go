package ops

import (
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/ops/ref"
	"github.com/wanwu-ai/wanwu/tensor"
)

// toF16 rounds t's values to half precision: the f16 tensor, and the f32 tensor of the rounded values
// that the reference computes with (so the comparison isolates the kernels, not the rounding).
func toF16(t *tensor.Tensor) (h, rounded *tensor.Tensor) {
	h = tensor.New(tensor.F16, t.Shape)
	rounded = tensor.New(tensor.F32, t.Shape)
	tensor.F32sToF16s(h.F16(), t.F32())
	tensor.F16sToF32s(rounded.F32(), h.F16())
	return h, rounded
}

// TestConvF16WeightsMatchReference: Conv with a constant f16 W (Precision "fp16") on every
// non-depthwise case of the f32 suite, across the ISA ladder, serial and parallel.
func TestConvF16WeightsMatchReference(t *testing.T) {
	forEachF32Impl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(31, 32))
		pool := parallel.NewPool(2)
		defer pool.Close()
		for i, cc := range convCases() {
			if cc.group > 1 && cc.c/cc.group == 1 {
				continue // depthwise stays f32
			}
			x := randTensor(r, cc.n, cc.c, cc.h, cc.w)
			w16, w := toF16(randTensor(r, cc.m, cc.c/cc.group, cc.kh, cc.kw))
			var b *tensor.Tensor
			var bias []float32
			if cc.bias {
				b = randTensor(r, cc.m)
				bias = b.F32()
			}
			want, ws := ref.Conv(x.F32(), [4]int{cc.n, cc.c, cc.h, cc.w}, w.F32(), [4]int{cc.m, cc.c / cc.group, cc.kh, cc.kw}, bias,
				ref.Conv2D{Group: cc.group, Strides: cc.stride, Dilations: cc.dil, Pads: cc.pads})
			if ws[2] <= 0 || ws[3] <= 0 {
				continue
			}
			n := &graph.Node{Name: "conv", Op: "Conv"}
			n.SetInts("strides", ints64(cc.stride[0], cc.stride[1]))
			n.SetInts("dilations", ints64(cc.dil[0], cc.dil[1]))
			n.SetInts("pads", ints64(cc.pads[0], cc.pads[1], cc.pads[2], cc.pads[3]))
			n.SetInt("group", int64(cc.group))
			var act Activation
			if cc.act != "" {
				act = Activation{Kind: actKind(cc.act), Min: -0.25, Max: 0.5, Alpha: 0.1}
				SetActivation(n, act)
			}
			act.Apply(want)
			p := pool
			if i%2 == 0 {
				p = nil
			}
			t.Run(cc.String(), func(t *testing.T) {
				got := runOp(t, n, []*tensor.Tensor{x, w16, b}, []bool{false, true, true}, p)
				closeSlices(t, "Conv f16", got[0].F32(), want, 1e-4)
			})
		}
	})
}

func TestConvF16WeightsRejects(t *testing.T) {
	x := &graph.Value{Name: "x", DType: tensor.F32, Shape: tensor.Shape{1, 4, 5, 5}}
	w16 := tensor.New(tensor.F16, tensor.Shape{4, 1, 3, 3})
	for name, w := range map[string]*graph.Value{
		"runtime f16 W":   {Name: "w", DType: tensor.F16, Shape: tensor.Shape{4, 4, 3, 3}},
		"depthwise f16 W": {Name: "w", DType: tensor.F16, Shape: tensor.Shape{4, 1, 3, 3}, Const: w16},
	} {
		n := &graph.Node{Name: "conv", Op: "Conv", Inputs: []*graph.Value{x, w}, Outputs: []*graph.Value{{Name: "y"}}}
		if name == "depthwise f16 W" {
			n.SetInt("group", 4)
		}
		if _, err := Lookup("Conv").Compile(n); err == nil {
			t.Errorf("%s: Compile accepted it", name)
		}
	}
}

// TestGemmMatMulF16Weights: Gemm (transB heads through the dot kernel, packed batches) and MatMul
// with a constant f16 B against the naive product of the rounded weights.
func TestGemmMatMulF16Weights(t *testing.T) {
	forEachF32Impl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(33, 34))
		pool := parallel.NewPool(2)
		defer pool.Close()
		for _, tc := range []struct {
			op      string
			m, k, n int
			transB  bool
		}{{"Gemm", 1, 1280, 1001, true}, {"Gemm", 2, 67, 13, true}, {"Gemm", 8, 300, 70, true}, {"Gemm", 3, 33, 17, false},
			{"MatMul", 1, 129, 31, false}, {"MatMul", 5, 64, 100, false}} {
			a := randTensor(r, tc.m, tc.k)
			bs := []int{tc.k, tc.n}
			if tc.transB {
				bs = []int{tc.n, tc.k}
			}
			b16, b := toF16(randTensor(r, bs...))
			c := randTensor(r, tc.n)
			want := make([]float32, tc.m*tc.n)
			for i := 0; i < tc.m; i++ {
				for j := 0; j < tc.n; j++ {
					var s float64
					for p := 0; p < tc.k; p++ {
						bv := b.F32()[p*tc.n+j]
						if tc.transB {
							bv = b.F32()[j*tc.k+p]
						}
						s += float64(a.F32()[i*tc.k+p]) * float64(bv)
					}
					if tc.op == "Gemm" {
						s += float64(c.F32()[j])
					}
					want[i*tc.n+j] = float32(s)
				}
			}
			n := &graph.Node{Name: "mm", Op: tc.op}
			ins := []*tensor.Tensor{a, b16}
			if tc.op == "Gemm" {
				if tc.transB {
					n.SetInt("transB", 1)
				}
				ins = append(ins, c)
			}
			got := runOp(t, n, ins, []bool{false, true, true}, pool)
			closeSlices(t, tc.op+" f16", got[0].F32(), want, 1e-4)
		}
	})
}

// TestF16ConvPrepacked: F16Conv runs on W packed by PackConvWeightsF16, under the micro-kernel it was
// packed for and (repacked at Compile) under every other rung and for the direct schedule, against
// the reference on the rounded weights.
func TestF16ConvPrepacked(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 36))
	cases := []convCase{
		{n: 1, c: 13, h: 9, w: 7, m: 24, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true, act: "Relu"},
		{n: 2, c: 6, h: 9, w: 10, m: 9, kh: 2, kw: 3, group: 3, stride: [2]int{2, 1}, dil: [2]int{1, 1}, pads: [4]int{2, 0, 1, 3}},
		{n: 1, c: 300, h: 7, w: 7, m: 70, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, bias: true},
		// The direct schedule repacks these from the GEMM's packing (AVX-512 rungs).
		{n: 1, c: 20, h: 14, w: 13, m: 32, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true, act: "Relu"},
		{n: 2, c: 40, h: 9, w: 9, m: 96, kh: 3, kw: 3, group: 2, stride: [2]int{2, 2}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}},
		{n: 1, c: 100, h: 7, w: 7, m: 48, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, bias: true},
	}
	forEachF32Impl(t, func(t *testing.T) {
		for _, cc := range cases {
			x := randTensor(r, cc.n, cc.c, cc.h, cc.w)
			w := randTensor(r, cc.m, cc.c/cc.group, cc.kh, cc.kw)
			_, wr := toF16(w)
			var b *tensor.Tensor
			var bias []float32
			if cc.bias {
				b = randTensor(r, cc.m)
				bias = b.F32()
			}
			want, _ := ref.Conv(x.F32(), [4]int{cc.n, cc.c, cc.h, cc.w}, wr.F32(), [4]int{cc.m, cc.c / cc.group, cc.kh, cc.kw}, bias,
				ref.Conv2D{Group: cc.group, Strides: cc.stride, Dilations: cc.dil, Pads: cc.pads})
			if cc.act != "" {
				Activation{Kind: actKind(cc.act)}.Apply(want)
			}
			k := cc.c / cc.group * cc.kh * cc.kw
			for _, pack := range f32.Impls() {
				if !pack.Available {
					continue
				}
				restore := f32.Use(pack)
				packed, mr, ok := PackConvWeightsF16(w.F32(), cc.m, k, cc.group, nil)
				restore()
				if !ok {
					t.Fatal("PackConvWeightsF16 refused finite weights")
				}
				n := &graph.Node{Name: "conv", Op: graph.OpF16Conv, Domain: graph.ExtDomain}
				n.SetInts("strides", ints64(cc.stride[0], cc.stride[1]))
				n.SetInts("pads", ints64(cc.pads[0], cc.pads[1], cc.pads[2], cc.pads[3]))
				n.SetInt("group", int64(cc.group))
				n.SetInts(graph.AttrWeightShape, ints64(cc.m, cc.c/cc.group, cc.kh, cc.kw))
				n.SetInt(graph.AttrPackedMR, int64(mr))
				if cc.act != "" {
					SetActivation(n, Activation{Kind: actKind(cc.act)})
				}
				wt := &tensor.Tensor{DType: tensor.F16, Shape: tensor.Shape{len(packed)}, Data: u16AsBytes(packed)}
				got := runOp(t, n, []*tensor.Tensor{x, wt, b}, []bool{false, true, true}, nil)
				closeSlices(t, cc.String()+" packed under "+pack.Name, got[0].F32(), want, 1e-4)
			}
		}
	})
}

func u16AsBytes(h []uint16) []byte {
	b := make([]byte, 2*len(h))
	for i, v := range h {
		b[2*i], b[2*i+1] = byte(v), byte(v>>8)
	}
	return b
}
