package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Tests of integer_matmul.go, integer_conv.go and dynamic_quantize.go against the ONNX definitions
// written as plain loops (the node tests in conformance/ cover the spec's own examples).

func randInt8s(r *rand.Rand, dt tensor.DType, shape ...int) *tensor.Tensor {
	t := tensor.New(dt, shape)
	for i := range t.Data {
		t.Data[i] = byte(r.IntN(256))
	}
	return t
}

// intAt reads element i of a uint8 or int8 tensor.
func intAt(t *tensor.Tensor, i int) int32 {
	if t.DType == tensor.I8 {
		return int32(int8(t.Data[i]))
	}
	return int32(t.Data[i])
}

func TestMatMulIntegerVsDefinition(t *testing.T) {
	pool := parallel.NewPool(3)
	defer pool.Close()
	cases := []struct {
		as, bs         tensor.Shape
		adt, bdt       tensor.DType
		perRow, perCol bool
	}{
		{tensor.Shape{5, 7}, tensor.Shape{7, 3}, tensor.U8, tensor.I8, false, true},
		{tensor.Shape{2, 13, 24}, tensor.Shape{24, 9}, tensor.U8, tensor.U8, true, false},
		{tensor.Shape{3, 1, 4, 5}, tensor.Shape{2, 5, 6}, tensor.I8, tensor.I8, true, true},
		{tensor.Shape{1, 33}, tensor.Shape{33, 70}, tensor.I8, tensor.U8, false, false},
	}
	for i, c := range cases {
		for _, p := range []*parallel.Pool{nil, pool} {
			t.Run(fmt.Sprintf("%d/threads=%d", i, p.Threads()), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(i), 5))
				a, b := randInt8s(r, c.adt, c.as...), randInt8s(r, c.bdt, c.bs...)
				m, k, nn := c.as[len(c.as)-2], c.as[len(c.as)-1], c.bs[len(c.bs)-1]
				azp, bzp := randInt8s(r, c.adt), randInt8s(r, c.bdt)
				if c.perRow {
					azp = randInt8s(r, c.adt, m)
				}
				if c.perCol {
					bzp = randInt8s(r, c.bdt, nn)
				}
				n := &graph.Node{Name: "mmi", Op: "MatMulInteger"}
				y := runOp(t, n, []*tensor.Tensor{a, b, azp, bzp}, []bool{false, true, false, true}, p)[0]
				out, a2, b2, err := matmulShapes(n, c.as, c.bs)
				if err != nil || !y.Shape.Equal(out) {
					t.Fatalf("shape %s, want %s (%v)", y.Shape, out, err)
				}
				aOff, bOff, cOff := matmulBatches(a2, b2)
				zp := func(z *tensor.Tensor, i int) int32 {
					if z.NumElements() == 1 {
						i = 0
					}
					return intAt(z, i)
				}
				for bi := range cOff {
					for ii := 0; ii < m; ii++ {
						for j := 0; j < nn; j++ {
							var s int32
							for p := 0; p < k; p++ {
								s += (intAt(a, aOff[bi]+ii*k+p) - zp(azp, ii)) * (intAt(b, bOff[bi]+p*nn+j) - zp(bzp, j))
							}
							if got := y.I32()[cOff[bi]+ii*nn+j]; got != s {
								t.Fatalf("batch %d [%d,%d] = %d, want %d", bi, ii, j, got, s)
							}
						}
					}
				}
			})
		}
	}
}

func TestConvIntegerVsDefinition(t *testing.T) {
	pool := parallel.NewPool(2)
	defer pool.Close()
	cases := []struct {
		c, m, h, w, kh, kw, group int
		stride, dil               [2]int
		pads                      [4]int
		xdt, wdt                  tensor.DType
		perChannel, oneD          bool
	}{
		{c: 3, m: 5, h: 6, w: 7, kh: 3, kw: 3, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, xdt: tensor.U8, wdt: tensor.I8, perChannel: true},
		{c: 4, m: 6, h: 7, w: 5, kh: 3, kw: 2, group: 2, stride: [2]int{2, 1}, dil: [2]int{1, 2}, pads: [4]int{0, 2, 1, 0}, xdt: tensor.I8, wdt: tensor.U8},
		{c: 13, m: 24, h: 5, w: 5, kh: 1, kw: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, xdt: tensor.U8, wdt: tensor.U8},
		{c: 3, m: 2, h: 1, w: 9, kh: 1, kw: 3, stride: [2]int{1, 2}, dil: [2]int{1, 1}, pads: [4]int{0, 1, 0, 1}, xdt: tensor.U8, wdt: tensor.I8, oneD: true},
	}
	for i, c := range cases {
		for _, p := range []*parallel.Pool{nil, pool} {
			t.Run(fmt.Sprintf("%d/threads=%d", i, p.Threads()), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(i), 6))
				g := max(c.group, 1)
				x := randInt8s(r, c.xdt, 2, c.c, c.h, c.w)
				w := randInt8s(r, c.wdt, c.m, c.c/g, c.kh, c.kw)
				xzp, wzp := randInt8s(r, c.xdt), randInt8s(r, c.wdt)
				if c.perChannel {
					wzp = randInt8s(r, c.wdt, c.m)
				}
				attrs := map[string]graph.Attr{"group": {Kind: graph.AttrInt, Int: int64(g)},
					"strides":   {Kind: graph.AttrInts, Ints: ints64(c.stride[:]...)},
					"dilations": {Kind: graph.AttrInts, Ints: ints64(c.dil[:]...)},
					"pads":      {Kind: graph.AttrInts, Ints: ints64(c.pads[:]...)}}
				ins := []*tensor.Tensor{x, w, xzp, wzp}
				if c.oneD {
					x1, w1 := x.Clone(), w.Clone()
					x1.Shape, w1.Shape = tensor.Shape{2, c.c, c.w}, tensor.Shape{c.m, c.c / g, c.kw}
					attrs["strides"] = graph.Attr{Kind: graph.AttrInts, Ints: ints64(c.stride[1])}
					attrs["dilations"] = graph.Attr{Kind: graph.AttrInts, Ints: ints64(c.dil[1])}
					attrs["pads"] = graph.Attr{Kind: graph.AttrInts, Ints: ints64(c.pads[1], c.pads[3])}
					ins = []*tensor.Tensor{x1, w1, xzp, wzp}
				}
				y := runOp(t, &graph.Node{Name: "ci", Op: "ConvInteger", Attrs: attrs}, ins, []bool{false, true, false, true}, p)[0]
				oh := (c.h+c.pads[0]+c.pads[2]-c.dil[0]*(c.kh-1)-1)/c.stride[0] + 1
				ow := (c.w+c.pads[1]+c.pads[3]-c.dil[1]*(c.kw-1)-1)/c.stride[1] + 1
				if y.NumElements() != 2*c.m*oh*ow {
					t.Fatalf("shape %s, want [2 %d %d %d]", y.Shape, c.m, oh, ow)
				}
				xz := intAt(xzp, 0)
				cg, mg := c.c/g, c.m/g
				for b := 0; b < 2; b++ {
					for oc := 0; oc < c.m; oc++ {
						wz := intAt(wzp, min(oc, wzp.NumElements()-1))
						for oy := 0; oy < oh; oy++ {
							for ox := 0; ox < ow; ox++ {
								var s int32
								for ic := 0; ic < cg; ic++ {
									for ky := 0; ky < c.kh; ky++ {
										for kx := 0; kx < c.kw; kx++ {
											iy, ix := oy*c.stride[0]-c.pads[0]+ky*c.dil[0], ox*c.stride[1]-c.pads[1]+kx*c.dil[1]
											if iy < 0 || iy >= c.h || ix < 0 || ix >= c.w {
												continue // padding holds x_zero_point: contributes 0
											}
											xv := intAt(x, ((b*c.c+oc/mg*cg+ic)*c.h+iy)*c.w+ix) - xz
											s += xv * (intAt(w, ((oc*cg+ic)*c.kh+ky)*c.kw+kx) - wz)
										}
									}
								}
								if got := y.I32()[((b*c.m+oc)*oh+oy)*ow+ox]; got != s {
									t.Fatalf("y[%d,%d,%d,%d] = %d, want %d", b, oc, oy, ox, got, s)
								}
							}
						}
					}
				}
			})
		}
	}
}

func TestDynamicQuantizeLinearVsDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, x := range []*tensor.Tensor{
		randF32(r, tensor.Shape{3, 50}),
		tensor.FromF32(tensor.Shape{4}, []float32{1, 2, 3, 4}),               // all positive: min widened to 0
		tensor.FromF32(tensor.Shape{4}, []float32{-4, -3, -2, -1}),           // all negative: max widened to 0
		tensor.FromF32(tensor.Shape{5}, []float32{-2.55, 0, 0.5, 1.5, 2.55}), // halves on the grid
		tensor.FromF32(tensor.Shape{3}, []float32{0, 0, 0}),
	} {
		n := mkNode("DynamicQuantizeLinear", nil, x)
		n.Outputs = []*graph.Value{{Name: "y"}, {Name: "s"}, {Name: "z"}}
		out, err := Eval(n)
		if err != nil {
			t.Fatal(err)
		}
		v := x.F32()
		lo, hi := float32(0), float32(0)
		for _, f := range v {
			lo, hi = min(lo, f), max(hi, f)
		}
		scale := (hi - lo) / 255
		if out[1].F32()[0] != scale {
			t.Errorf("%v: scale %g, want %g", v, out[1].F32()[0], scale)
		}
		zp := 0.0
		if scale != 0 {
			zp = math.Min(math.Max(math.RoundToEven(float64(-lo/scale)), 0), 255)
		}
		if float64(out[2].Data[0]) != zp {
			t.Errorf("%v: zero point %d, want %g", v, out[2].Data[0], zp)
		}
		for i, f := range v {
			q := zp
			if scale != 0 {
				q += math.RoundToEven(float64(f / scale))
			}
			if want := math.Min(math.Max(q, 0), 255); float64(out[0].Data[i]) != want {
				t.Errorf("%v: y[%d] = %d, want %g", v, i, out[0].Data[i], want)
			}
		}
	}
}
