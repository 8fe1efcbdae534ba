package lower_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/graph/passes"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// convCase is one f32 layer y = act(Conv(x) [+ r]) for the static int8 tests.
type convCase struct {
	n, c, h, w     int
	m, kh, kw      int
	sh, sw, dh, dw int
	pads           [4]int
	act            string // "", "Relu", "Clip"
	residual, bias bool
}

func (cc convCase) String() string {
	return fmt.Sprintf("n%d_c%d_%dx%d_m%d_k%dx%d_s%d%d_d%d%d_p%v_%s_res%v", cc.n, cc.c, cc.h, cc.w, cc.m, cc.kh, cc.kw, cc.sh, cc.sw, cc.dh, cc.dw, cc.pads, cc.act, cc.residual)
}

func (cc convCase) out() (int, int) {
	oh := (cc.h+cc.pads[0]+cc.pads[2]-(cc.kh-1)*cc.dh-1)/cc.sh + 1
	ow := (cc.w+cc.pads[1]+cc.pads[3]-(cc.kw-1)*cc.dw-1)/cc.sw + 1
	return oh, ow
}

func randF32(r *rand.Rand, n int, lo, hi float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = lo + (hi-lo)*r.Float32()
	}
	return s
}

// build makes the f32 graph of cc: inputs x (and r), output y.
func (cc convCase) build(r *rand.Rand) (*graph.Graph, [][]float32) {
	oh, ow := cc.out()
	x := &graph.Value{Name: "x", DType: tensor.F32, Shape: tensor.Shape{cc.n, cc.c, cc.h, cc.w}}
	g := &graph.Graph{Inputs: []*graph.Value{x}}
	wt := tensor.FromF32(tensor.Shape{cc.m, cc.c, cc.kh, cc.kw}, randF32(r, cc.m*cc.c*cc.kh*cc.kw, -1, 1))
	for o := 0; o < cc.m; o += 5 { // channels of very different ranges, one all zero
		for i := range wt.F32()[o*cc.c*cc.kh*cc.kw : (o+1)*cc.c*cc.kh*cc.kw] {
			wt.F32()[o*cc.c*cc.kh*cc.kw+i] *= float32(o%3) * 0.3
		}
	}
	w := &graph.Value{Name: "w", DType: tensor.F32, Shape: wt.Shape.Clone(), Const: wt}
	ins := []*graph.Value{x, w}
	if cc.bias {
		b := tensor.FromF32(tensor.Shape{cc.m}, randF32(r, cc.m, -0.5, 0.5))
		ins = append(ins, &graph.Value{Name: "b", DType: tensor.F32, Shape: tensor.Shape{cc.m}, Const: b})
	}
	y := &graph.Value{Name: "y", DType: tensor.F32}
	conv := &graph.Node{Name: "conv", Op: "Conv", Inputs: ins, Outputs: []*graph.Value{y}}
	conv.SetInts("strides", []int64{int64(cc.sh), int64(cc.sw)})
	conv.SetInts("dilations", []int64{int64(cc.dh), int64(cc.dw)})
	conv.SetInts("pads", []int64{int64(cc.pads[0]), int64(cc.pads[1]), int64(cc.pads[2]), int64(cc.pads[3])})
	conv.SetInts("kernel_shape", []int64{int64(cc.kh), int64(cc.kw)})
	g.Nodes = append(g.Nodes, conv)
	last, lastNode := y, conv
	if cc.residual {
		rv := &graph.Value{Name: "r", DType: tensor.F32, Shape: tensor.Shape{cc.n, cc.m, oh, ow}}
		g.Inputs = append(g.Inputs, rv)
		s := &graph.Value{Name: "s", DType: tensor.F32}
		add := &graph.Node{Name: "add", Op: "Add", Inputs: []*graph.Value{y, rv}, Outputs: []*graph.Value{s}}
		g.Nodes = append(g.Nodes, add)
		last, lastNode = s, add
	}
	if cc.act != "" {
		a := &graph.Value{Name: "a", DType: tensor.F32}
		act := &graph.Node{Name: "act", Op: cc.act, Inputs: []*graph.Value{last}, Outputs: []*graph.Value{a}}
		if cc.act == "Clip" {
			act.Inputs = append(act.Inputs, &graph.Value{Name: "lo", DType: tensor.F32, Shape: tensor.Shape{}, Const: tensor.FromF32(tensor.Shape{}, []float32{0})},
				&graph.Value{Name: "hi", DType: tensor.F32, Shape: tensor.Shape{}, Const: tensor.FromF32(tensor.Shape{}, []float32{1.5})})
		}
		g.Nodes = append(g.Nodes, act)
		last = a
	}
	_ = lastNode
	g.Outputs = []*graph.Value{last}
	data := [][]float32{randF32(r, cc.n*cc.c*cc.h*cc.w, -1.3, 2.1)}
	if cc.residual {
		data = append(data, randF32(r, cc.n*cc.m*oh*ow, -3, 2))
	}
	return g, data
}

func runGraph(t *testing.T, g *graph.Graph, data [][]float32, opts runtime.Options) []float32 {
	t.Helper()
	opts.InputShapes = map[string]tensor.Shape{}
	var ins []*tensor.Tensor
	for i, v := range g.Inputs {
		opts.InputShapes[v.Name] = v.Shape
		ins = append(ins, tensor.FromF32(v.Shape, data[i]))
	}
	p, err := runtime.Compile(g, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out, err := p.Run(context.Background(), ins)
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), out[0].F32()...)
}

func ops(t *testing.T, g *graph.Graph, opts runtime.Options) string {
	t.Helper()
	opts.InputShapes = map[string]tensor.Shape{}
	for _, v := range g.Inputs {
		opts.InputShapes[v.Name] = v.Shape
	}
	p, err := runtime.Compile(g, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var s []string
	for _, n := range p.Graph().Nodes {
		s = append(s, n.Op)
	}
	return strings.Join(s, " ")
}

func rangeQ(x []float32) passes.ActivationQuant {
	lo, hi := q8.MinMax(x)
	s, z := q8.Params(lo, hi)
	return passes.ActivationQuant{Scale: s, ZP: z}
}

// staticRef computes cc's statically quantized result from the definitions (docs/precision.md), on
// NCHW indices with plain loops: quantized input and weights, integer accumulation with the input's
// zero point subtracted (padding contributes nothing), bias in accumulator units, float32 rescale,
// residual, clamp, round half to even; returned dequantized, as the program's Q8Dequantize writes it.
func staticRef(cc convCase, g *graph.Graph, data [][]float32, qx, qy, qr passes.ActivationQuant) []float32 {
	oh, ow := cc.out()
	xq := make([]uint8, len(data[0]))
	q8.Quantize(xq, data[0], 1/qx.Scale, qx.ZP)
	conv := g.Nodes[0]
	w := conv.Inputs[1].Const.F32()
	var b []float32
	if cc.bias {
		b = conv.Inputs[2].Const.F32()
	}
	var rq []uint8
	if cc.residual {
		rq = make([]uint8, len(data[1]))
		q8.Quantize(rq, data[1], 1/qr.Scale, qr.ZP)
	}
	lo, hi := 0.0, 255.0
	switch cc.act {
	case "Relu":
		lo = float64(qy.ZP)
	case "Clip":
		lo = float64(qy.ZP)
		hi = min(255, math.RoundToEven(1.5/float64(qy.Scale))+float64(qy.ZP))
	}
	kk := cc.c * cc.kh * cc.kw
	y := make([]float32, cc.n*cc.m*oh*ow)
	for m := 0; m < cc.m; m++ {
		wm := w[m*kk : (m+1)*kk]
		var amax float32
		for _, v := range wm {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		sw := amax / 127
		if amax == 0 {
			sw = 1
		}
		unit := float64(qx.Scale) * float64(sw)
		mult := float32(unit / float64(qy.Scale))
		var bq int32
		if b != nil {
			bq = int32(math.RoundToEven(float64(b[m]) / unit))
		}
		for n := 0; n < cc.n; n++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					acc := bq
					for c := 0; c < cc.c; c++ {
						for ky := 0; ky < cc.kh; ky++ {
							for kx := 0; kx < cc.kw; kx++ {
								iy, ix := oy*cc.sh-cc.pads[0]+ky*cc.dh, ox*cc.sw-cc.pads[1]+kx*cc.dw
								if iy < 0 || iy >= cc.h || ix < 0 || ix >= cc.w {
									continue
								}
								xv := int32(xq[((n*cc.c+c)*cc.h+iy)*cc.w+ix]) - int32(qx.ZP)
								wv := int32(math.RoundToEven(float64(wm[(c*cc.kh+ky)*cc.kw+kx] / sw)))
								acc += xv * wv
							}
						}
					}
					i := ((n*cc.m+m)*oh+oy)*ow + ox
					v := float32(float32(acc) * mult)
					if rq != nil {
						rs := float32(float64(qr.Scale) / float64(qy.Scale))
						v += float32(float32(int32(rq[i])-int32(qr.ZP)) * rs)
					}
					q := math.RoundToEven(float64(min(max(v, float32(lo)-float32(qy.ZP)), float32(hi)-float32(qy.ZP)))) + float64(qy.ZP)
					y[i] = qy.Scale * (float32(q) - float32(qy.ZP))
				}
			}
		}
	}
	return y
}

var staticCases = []convCase{
	{n: 1, c: 16, h: 7, w: 9, m: 45, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, act: "Relu", bias: true},                            // direct 1×1, 63 pixels: a partial last tile
	{n: 2, c: 8, h: 6, w: 6, m: 70, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, residual: true, act: "Relu"},                         // direct with residual, batch 2
	{n: 1, c: 5, h: 9, w: 11, m: 7, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},                // channels padded 5 -> 8, outputs 7 -> 8
	{n: 2, c: 33, h: 10, w: 9, m: 32, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, act: "Clip", bias: true}, // stride 2
	{n: 1, c: 3, h: 23, w: 21, m: 64, kh: 7, kw: 7, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{3, 3, 3, 3}, act: "Relu", bias: true}, // a ResNet stem
	{n: 1, c: 12, h: 8, w: 8, m: 33, kh: 3, kw: 3, sh: 1, sw: 1, dh: 2, dw: 2, pads: [4]int{2, 0, 1, 2}, residual: true},           // dilation, uneven pads, residual
	{n: 1, c: 16, h: 9, w: 9, m: 100, kh: 1, kw: 1, sh: 2, sw: 2, dh: 1, dw: 1, bias: true, residual: true, act: "Relu"},           // 1×1 stride 2 (im2col), residual
	{n: 1, c: 4, h: 5, w: 6, m: 1, kh: 2, kw: 3, sh: 1, sw: 3, dh: 1, dw: 1, pads: [4]int{0, 2, 1, 0}},                             // one output channel
}

// TestQuantizeStaticMatchesDefinition compiles each layer at int8 with a stored calibration and
// requires every output of the program (Q8Quantize -> Q8Conv -> Q8Dequantize) to equal staticRef
// exactly, under each kernel implementation and at 1 and 2 threads; it also checks the layer became
// static and stays within a few output steps of the f32 layer.
func TestQuantizeStaticMatchesDefinition(t *testing.T) {
	for _, im := range q8.Impls() {
		if !im.Available {
			continue
		}
		t.Run(im.Name, func(t *testing.T) {
			defer q8.Use(im)()
			r := rand.New(rand.NewPCG(11, 12))
			for _, cc := range staticCases {
				t.Run(cc.String(), func(t *testing.T) {
					g, data := cc.build(r)
					f := runGraph(t, g, data, runtime.Options{Threads: 1})
					// The pre-activation sum's range sets y's quantization, as a calibration would see it.
					pre := runGraph(t, cc.noAct(r, g), data, runtime.Options{Threads: 1})
					qx, qy, qpre := rangeQ(data[0]), rangeQ(pre), rangeQ(pre)
					if cc.act != "" {
						qy = rangeQ(f)
					}
					var qr passes.ActivationQuant
					cal := passes.Calibration{"x": qx, g.Outputs[0].Name: qy}
					if cc.residual {
						qr = rangeQ(data[1])
						cal["r"] = qr
					}
					passes.StoreCalibration(g, cal)
					want := staticRef(cc, g, data, qx, qy, qr)
					// The layer, its activation and a residual Add all become one Q8Conv.
					if got := ops(t, g, runtime.Options{Precision: "int8"}); got != "Q8Quantize Q8Conv Q8Dequantize" &&
						got != "Q8Quantize Q8Quantize Q8Conv Q8Dequantize" {
						t.Fatalf("ops %q, want Q8Quantize (x, r) -> Q8Conv -> Q8Dequantize", got)
					}
					for _, threads := range []int{1, 2} {
						got := runGraph(t, g, data, runtime.Options{Threads: threads, Precision: "int8"})
						for i := range want {
							if got[i] != want[i] {
								t.Fatalf("threads %d: y[%d] = %g, want %g", threads, i, got[i], want[i])
							}
						}
						var worst float64
						for i := range f {
							worst = max(worst, math.Abs(float64(got[i]-f[i]))/float64(qpre.Scale))
						}
						// Input and weight rounding move outputs by a few steps of the layer's range at most.
						if worst > 4 {
							t.Errorf("threads %d: %.1f steps (of the pre-activation range) from the f32 layer", threads, worst)
						}
					}
				})
			}
		})
	}
}

// noAct is g without its activation node (same weights), for the pre-activation range.
func (cc convCase) noAct(r *rand.Rand, g *graph.Graph) *graph.Graph {
	if cc.act == "" {
		return g
	}
	c := g.Clone()
	c.Nodes = c.Nodes[:len(c.Nodes)-1]
	c.Outputs = []*graph.Value{c.Nodes[len(c.Nodes)-1].Outputs[0]}
	return c
}
