package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/tensor"
)

// refLayerNorm is the textbook definition in float64, element by element (ONNX's reference:
// mean and variance over dims [axis, rank), scale and bias broadcast from the trailing dims).
func refLayerNorm(x, scale, bias *tensor.Tensor, axis int, eps float64) (y, mean, inv []float64) {
	cols := 1
	for _, d := range x.Shape[axis:] {
		cols *= d
	}
	rows := x.NumElements() / cols
	xs := x.F32()
	at := func(t *tensor.Tensor, i int) float64 {
		if t == nil {
			return 0
		}
		return float64(t.F32()[i%t.NumElements()])
	}
	y = make([]float64, len(xs))
	for r := 0; r < rows; r++ {
		m := 0.0
		for c := 0; c < cols; c++ {
			m += float64(xs[r*cols+c])
		}
		m /= float64(cols)
		v := 0.0
		for c := 0; c < cols; c++ {
			d := float64(xs[r*cols+c]) - m
			v += d * d
		}
		is := 1 / math.Sqrt(v/float64(cols)+eps)
		for c := 0; c < cols; c++ {
			y[r*cols+c] = (float64(xs[r*cols+c])-m)*is*at(scale, c) + at(bias, c)
		}
		mean, inv = append(mean, m), append(inv, is)
	}
	return y, mean, inv
}

func TestLayerNormalizationVsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name       string
		x          tensor.Shape
		axis       int64
		scale, b   tensor.Shape // b nil: no bias input
		eps        float32
		wantErr    bool
		checkStats bool
	}{
		{"vit_tokens", tensor.Shape{2, 5, 24}, -1, tensor.Shape{24}, tensor.Shape{24}, 1e-6, false, true},
		{"convnext_nhwc", tensor.Shape{1, 3, 7, 13}, 3, tensor.Shape{13}, tensor.Shape{13}, 1e-6, false, false},
		{"two_dims", tensor.Shape{3, 4, 5}, 1, tensor.Shape{4, 5}, tensor.Shape{4, 5}, 1e-5, false, true},
		{"axis0_no_bias", tensor.Shape{2, 3}, 0, tensor.Shape{2, 3}, nil, 1e-5, false, true},
		{"scalar_scale", tensor.Shape{4, 7}, -1, tensor.Shape{1}, tensor.Shape{7}, 1e-5, false, false},
		{"leading_ones", tensor.Shape{4, 7}, -1, tensor.Shape{1, 7}, tensor.Shape{1, 1, 7}, 1e-5, false, false},
		{"wide_row", tensor.Shape{2, 4099}, -1, tensor.Shape{4099}, tensor.Shape{4099}, 1e-5, false, false},
		{"bad_scale", tensor.Shape{4, 7}, -1, tensor.Shape{6}, nil, 1e-5, true, false},
		{"bad_axis", tensor.Shape{4, 7}, 2, tensor.Shape{7}, nil, 1e-5, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, s := randF32(r, c.x), randF32(r, c.scale)
			// A large common offset makes E[x²]-E[x]² cancel badly; the kernel must not care.
			for i := range x.F32() {
				x.F32()[i] += 100
			}
			var b *tensor.Tensor
			ins := []*tensor.Tensor{x, s}
			if c.b != nil {
				b = randF32(r, c.b)
				ins = append(ins, b)
			}
			attrs := map[string]graph.Attr{"axis": {Kind: graph.AttrInt, Int: c.axis},
				"epsilon": {Kind: graph.AttrFloat, Float: c.eps}}
			n := mkNode("LayerNormalization", attrs, ins...)
			n.Outputs = append(n.Outputs, &graph.Value{Name: "mean"}, &graph.Value{Name: "invstd"})
			out, err := Eval(n)
			if c.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ax := int(c.axis)
			if ax < 0 {
				ax += len(c.x)
			}
			y, mean, inv := refLayerNorm(x, s, b, ax, float64(c.eps))
			if !out[0].Shape.Equal(c.x) {
				t.Fatalf("shape %s, want %s", out[0].Shape, c.x)
			}
			for i, v := range out[0].F32() {
				if math.Abs(float64(v)-y[i]) > 1e-4*(1+math.Abs(y[i])) {
					t.Fatalf("y[%d] = %g, want %g", i, v, y[i])
				}
			}
			if len(out[1].Shape) != len(c.x) || out[1].NumElements() != len(mean) {
				t.Fatalf("mean shape %s for %d rows", out[1].Shape, len(mean))
			}
			for i := range mean {
				if d := math.Abs(float64(out[1].F32()[i]) - mean[i]); d > 1e-4 {
					t.Fatalf("mean[%d] = %g, want %g", i, out[1].F32()[i], mean[i])
				}
				if d := math.Abs(float64(out[2].F32()[i]) - inv[i]); d > 1e-4*inv[i] {
					t.Fatalf("invstd[%d] = %g, want %g", i, out[2].F32()[i], inv[i])
				}
			}
		})
	}
}

func TestLayerNormalizationParallelNoAlloc(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x, s, b := randF32(r, tensor.Shape{640, 96}), randF32(r, tensor.Shape{96}), randF32(r, tensor.Shape{96})
	n := mkNode("LayerNormalization", nil, x, s, b)
	want, err := Eval(n)
	if err != nil {
		t.Fatal(err)
	}
	k, err := compileLayerNorm(n)
	if err != nil {
		t.Fatal(err)
	}
	pool := parallel.NewPool(2)
	defer pool.Close()
	got := tensor.New(tensor.F32, x.Shape)
	ctx := &Ctx{Pool: pool}
	in, out := []*tensor.Tensor{x, s, b}, []*tensor.Tensor{got}
	allocs := testing.AllocsPerRun(5, func() { _ = k.Run(ctx, in, out) })
	if allocs != 0 {
		t.Errorf("Run allocates %v times", allocs)
	}
	for i, v := range got.F32() {
		if v != want[0].F32()[i] {
			t.Fatalf("parallel y[%d] = %g, serial %g", i, v, want[0].F32()[i])
		}
	}
}
