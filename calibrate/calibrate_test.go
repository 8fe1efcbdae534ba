package calibrate

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/graph/passes"
	"github.com/wanwu-ai/wanwu/tensor"
)

// reluGraph is y = Relu(x) for x f32[1, n].
func reluGraph(n int) *graph.Graph {
	x := &graph.Value{Name: "x", DType: tensor.F32, Shape: tensor.Shape{1, n}}
	y := &graph.Value{Name: "y", DType: tensor.F32}
	return &graph.Graph{Inputs: []*graph.Value{x}, Outputs: []*graph.Value{y},
		Nodes: []*graph.Node{{Name: "relu", Op: "Relu", Inputs: []*graph.Value{x}, Outputs: []*graph.Value{y}}}}
}

func input(v []float32) *tensor.Tensor { return tensor.FromF32(tensor.Shape{1, len(v)}, v) }

// TestCollectMinMax: the input and the activation get exactly q8.Params of what was seen over all
// inputs (x spans [-2, 3], y = Relu(x) spans [0, 3] with zero point 0).
func TestCollectMinMax(t *testing.T) {
	g := reluGraph(4)
	c, err := Collect(context.Background(), g, []*tensor.Tensor{input([]float32{-1, 0.5, 2, 0}), input([]float32{-2, 3, 1, 1})},
		Options{Method: MinMax})
	if err != nil {
		t.Fatal(err)
	}
	if want := (passes.ActivationQuant{Scale: 3.0 / 255, ZP: 0}); c["y"] != want {
		t.Errorf("y: %+v, want %+v", c["y"], want)
	}
	if want := (passes.ActivationQuant{Scale: 5.0 / 255, ZP: 102}); c["x"] != want { // -(-2)/(5/255) = 102
		t.Errorf("x: %+v, want %+v", c["x"], want)
	}
}

// TestCollectMethods: one outlier among 20000 values. Min/max keeps it (the step grows 50×) and the
// 99.9th percentile clips it. On heavy-tailed (exponential) data, the MSE choice must quantize the
// data itself with no more squared error than min/max or the percentile do (its histogram estimate
// of that error is what it minimizes), and less than min/max.
func TestCollectMethods(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 20000
	bulk := make([]float32, n)
	for i := range bulk {
		bulk[i] = r.Float32() // [0, 1)
	}
	outlier := append([]float32(nil), bulk...)
	outlier[n/2] = 50
	g := reluGraph(n)
	quant := func(method string, data []float32, pct float64) passes.ActivationQuant {
		c, err := Collect(context.Background(), g, []*tensor.Tensor{input(data)}, Options{Method: method, Percentile: pct})
		if err != nil {
			t.Fatal(err)
		}
		return c["y"]
	}
	if h := float64(quant(MinMax, outlier, 0).Scale) * 255; math.Abs(h-50) > 1e-4 {
		t.Errorf("minmax: range top %.4f, want 50", h)
	}
	if h := float64(quant(Percentile, outlier, 99.9).Scale) * 255; h < 0.95 || h > 1.05 {
		t.Errorf("percentile 99.9: range top %.4f, want ~1", h)
	}
	tail := make([]float32, n)
	for i := range tail {
		tail[i] = float32(-math.Log(1-r.Float64()) * 0.1)
	}
	sqErr := func(q passes.ActivationQuant) float64 {
		var e float64
		for _, v := range tail {
			k := math.Min(math.Max(math.RoundToEven(float64(v/q.Scale))+float64(q.ZP), 0), 255)
			d := float64(q.Scale)*(k-float64(q.ZP)) - float64(v)
			e += d * d
		}
		return e
	}
	eMin, ePct, eMSE := sqErr(quant(MinMax, tail, 0)), sqErr(quant(Percentile, tail, 99.99)), sqErr(quant(MSE, tail, 0))
	t.Logf("squared error on exponential data: minmax %.4g, percentile 99.99 %.4g, mse %.4g", eMin, ePct, eMSE)
	if eMSE > 1.02*min(eMin, ePct) || eMSE >= eMin {
		t.Errorf("mse choice error %.4g, minmax %.4g, percentile %.4g", eMSE, eMin, ePct)
	}
}

func TestCollectErrors(t *testing.T) {
	g := reluGraph(2)
	ctx := context.Background()
	for _, c := range []struct {
		ins  []*tensor.Tensor
		opts Options
		want string
	}{
		{nil, Options{}, "no calibration inputs"},
		{[]*tensor.Tensor{input([]float32{1, 2}), input([]float32{1, 2, 3})}, Options{}, "input 1"},
		{[]*tensor.Tensor{input([]float32{1, 2})}, Options{Method: "kl"}, "unknown method"},
		{[]*tensor.Tensor{input([]float32{1, 2})}, Options{Method: Percentile, Percentile: 30}, "percentile 30"},
	} {
		if _, err := Collect(ctx, g, c.ins, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error containing %q", err, c.want)
		}
	}
}
