package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Tests for activation.go, binary_arith.go, binary_logic.go, range.go, gather_elements.go and scatter_nd.go
// against independent naive definitions (the ONNX node suite in conformance/ covers them too).

func TestMoreActivationsVsFormula(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	x := randF32(r, tensor.Shape{2, 3, 50})
	for i := range x.F32() {
		x.F32()[i] *= 4 // reach the saturated regions
	}
	x.F32()[0], x.F32()[1] = 40, -40 // softplus overflow guard
	f := map[string]func(v float64) float64{
		"Elu": func(v float64) float64 { return map[bool]float64{true: math.Exp(v) - 1, false: v}[v < 0] },
		"Selu": func(v float64) float64 {
			return 1.0507009873554805 * map[bool]float64{true: 1.6732632423543772 * (math.Exp(v) - 1), false: v}[v <= 0]
		},
		"Softplus": func(v float64) float64 { return math.Max(v, 0) + math.Log(1+math.Exp(-math.Abs(v))) },
		"Softsign": func(v float64) float64 { return v / (1 + math.Abs(v)) },
		"Mish":     func(v float64) float64 { return v * math.Tanh(math.Max(v, 0)+math.Log(1+math.Exp(-math.Abs(v)))) },
		"Gelu":     func(v float64) float64 { return v * 0.5 * math.Erfc(-v/math.Sqrt2) },
	}
	for op, ref := range f {
		out, err := Eval(mkNode(op, nil, x))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range out[0].F32() {
			want := ref(float64(x.F32()[i]))
			if math.Abs(float64(v)-want) > 1e-5*(1+math.Abs(want)) {
				t.Fatalf("%s(%g) = %g, want %g", op, x.F32()[i], v, want)
			}
		}
	}
	// The tanh approximation stays within 1e-3 of the exact Gelu but is not it.
	out, err := Eval(mkNode("Gelu", map[string]graph.Attr{"approximate": {Kind: graph.AttrString, Str: "tanh"}}, x))
	if err != nil {
		t.Fatal(err)
	}
	var maxd float64
	for i, v := range out[0].F32() {
		maxd = math.Max(maxd, math.Abs(float64(v)-f["Gelu"](float64(x.F32()[i]))))
	}
	if maxd == 0 || maxd > 1e-3 {
		t.Errorf("Gelu tanh vs exact: max diff %g, want (0, 1e-3]", maxd)
	}
}

func TestModVsFlooredDivision(t *testing.T) {
	a := tensor.FromI64(tensor.Shape{2, 4}, []int64{7, -7, 7, -7, 0, 5, -5, 12})
	b := tensor.FromI64(tensor.Shape{4}, []int64{3, 3, -3, -3})
	for _, fmod := range []int64{0, 1} {
		out, err := Eval(mkNode("Mod", map[string]graph.Attr{"fmod": {Kind: graph.AttrInt, Int: fmod}}, a, b))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range out[0].I64() {
			x, y := float64(a.I64()[i]), float64(b.I64()[i%4])
			want := x - y*math.Floor(x/y) // sign of the divisor
			if fmod == 1 {
				want = x - y*math.Trunc(x/y) // sign of the dividend
			}
			if float64(v) != want {
				t.Errorf("fmod=%d: %g mod %g = %d, want %g", fmod, x, y, v, want)
			}
		}
	}
}

func TestPReluPerChannel(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	x, slope := randF32(r, tensor.Shape{2, 3, 4, 5}), randF32(r, tensor.Shape{3, 1, 1})
	out, err := Eval(mkNode("PRelu", nil, x, slope))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out[0].F32() {
		xv, c := x.F32()[i], (i/20)%3
		want := xv
		if xv < 0 {
			want = xv * slope.F32()[c]
		}
		if v != want {
			t.Fatalf("PRelu[%d] = %g, want %g", i, v, want)
		}
	}
	if _, err := Eval(mkNode("PRelu", nil, slope, x)); err == nil {
		t.Error("a slope larger than x must be refused")
	}
}

func TestRange(t *testing.T) {
	cases := []struct {
		s, l, d float32
		want    []float32
	}{{0, 5, 2, []float32{0, 2, 4}}, {10, 4, -3, []float32{10, 7}}, {1, 1, 1, nil}, {0, 1, 0.25, []float32{0, 0.25, 0.5, 0.75}}}
	for _, c := range cases {
		sc := func(v float32) *tensor.Tensor { return tensor.FromF32(tensor.Shape{}, []float32{v}) }
		out, err := Eval(mkNode("Range", nil, sc(c.s), sc(c.l), sc(c.d)))
		if err != nil {
			t.Fatal(err)
		}
		if got := out[0].F32(); len(got) != len(c.want) {
			t.Errorf("Range(%g,%g,%g) = %v, want %v", c.s, c.l, c.d, got, c.want)
		} else {
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("Range(%g,%g,%g) = %v, want %v", c.s, c.l, c.d, got, c.want)
				}
			}
		}
	}
}

func TestGatherElementsVsNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	data := randF32(r, tensor.Shape{3, 4, 5})
	for axis := -3; axis < 3; axis++ {
		ax := (axis + 3) % 3
		is := tensor.Shape{2, 3, 4}
		idx := tensor.New(tensor.I64, is)
		for i := range idx.I64() {
			idx.I64()[i] = int64(r.IntN(2*data.Shape[ax])) - int64(data.Shape[ax]) // negatives too
		}
		out, err := Eval(mkNode("GatherElements", map[string]graph.Attr{"axis": {Kind: graph.AttrInt, Int: int64(axis)}}, data, idx))
		if err != nil {
			t.Fatal(err)
		}
		for a := 0; a < is[0]; a++ {
			for b := 0; b < is[1]; b++ {
				for c := 0; c < is[2]; c++ {
					p := [3]int{a, b, c}
					j := idx.I64()[(a*is[1]+b)*is[2]+c]
					if j < 0 {
						j += int64(data.Shape[ax])
					}
					p[ax] = int(j)
					want := data.F32()[(p[0]*4+p[1])*5+p[2]]
					if got := out[0].F32()[(a*is[1]+b)*is[2]+c]; got != want {
						t.Fatalf("axis %d at %v: %g, want %g", axis, [3]int{a, b, c}, got, want)
					}
				}
			}
		}
	}
	bad := tensor.FromI64(tensor.Shape{1, 1, 1}, []int64{9})
	if _, err := Eval(mkNode("GatherElements", nil, data, bad)); err == nil {
		t.Error("out-of-range index must fail")
	}
}

func TestScatterNDVsNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	data := randF32(r, tensor.Shape{4, 3, 2})
	idx := tensor.FromI64(tensor.Shape{2, 2}, []int64{1, 2, -1, 0}) // rows (1,2) and (3,0)
	upd := randF32(r, tensor.Shape{2, 2})
	for _, red := range []string{"none", "add", "max"} {
		out, err := Eval(mkNode("ScatterND", map[string]graph.Attr{"reduction": {Kind: graph.AttrString, Str: red}}, data, idx, upd))
		if err != nil {
			t.Fatal(err)
		}
		want := append([]float32(nil), data.F32()...)
		for k, at := range [][2]int{{1, 2}, {3, 0}} {
			for e := 0; e < 2; e++ {
				p, u := (at[0]*3+at[1])*2+e, upd.F32()[k*2+e]
				switch red {
				case "none":
					want[p] = u
				case "add":
					want[p] += u
				case "max":
					want[p] = max(want[p], u)
				}
			}
		}
		for i, v := range out[0].F32() {
			if v != want[i] {
				t.Fatalf("%s: out[%d] = %g, want %g", red, i, v, want[i])
			}
		}
	}
}
