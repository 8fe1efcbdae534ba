package ops

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// The trigonometric/hyperbolic unary ops, Sign, Celu, Shrink (unary.go) and ReduceProd, ReduceL1,
// ReduceL2, ReduceSumSquare, ReduceLogSum, ReduceLogSumExp (reduce.go) against their formulas in
// float64, on an awkward shape (the ONNX node suite in conformance/ covers them too).

func TestTrigAndFriendsVsFormula(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	x := tensor.New(tensor.F32, tensor.Shape{3, 7, 13})
	for i := range x.F32() {
		x.F32()[i] = float32(1.9*r.Float64() - 0.95) // inside Asin's, Acos's and Atanh's domain
	}
	x.F32()[0], x.F32()[1], x.F32()[2] = 0, 0.5, -0.5 // Sign of 0; Shrink's lambd edges
	f := map[string]func(v float64) float64{
		"Sin": math.Sin, "Cos": math.Cos, "Tan": math.Tan, "Asin": math.Asin, "Acos": math.Acos,
		"Atan": math.Atan, "Sinh": math.Sinh, "Cosh": math.Cosh, "Asinh": math.Asinh, "Atanh": math.Atanh,
		"Acosh": func(v float64) float64 { return math.Acosh(1 + math.Abs(v)) }, // fed 1+|x| below
		"Sign": func(v float64) float64 {
			if v == 0 {
				return 0
			}
			return math.Copysign(1, v)
		},
		"Celu": func(v float64) float64 { return math.Max(0, v) + math.Min(0, 0.5*(math.Exp(v/0.5)-1)) },
		"Shrink": func(v float64) float64 {
			if v < -0.5 {
				return v + 0.25
			}
			if v > 0.5 {
				return v - 0.25
			}
			return 0
		},
	}
	attrs := map[string]map[string]graph.Attr{
		"Celu":   {"alpha": {Kind: graph.AttrFloat, Float: 0.5}},
		"Shrink": {"bias": {Kind: graph.AttrFloat, Float: 0.25}, "lambd": {Kind: graph.AttrFloat, Float: 0.5}},
	}
	for op, ref := range f {
		in := x
		if op == "Acosh" {
			in = tensor.New(tensor.F32, x.Shape)
			for i, v := range x.F32() {
				in.F32()[i] = 1 + float32(math.Abs(float64(v)))
			}
		}
		out, err := Eval(mkNode(op, attrs[op], in))
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		for i, v := range out[0].F32() {
			arg := float64(x.F32()[i])
			want := ref(arg)
			if op == "Acosh" {
				want = math.Acosh(float64(in.F32()[i]))
			}
			if !(math.Abs(float64(v)-want) <= 1e-5*(1+math.Abs(want))) { // a NaN on either side fails too
				t.Fatalf("%s(%g) = %g, want %g", op, arg, v, want)
			}
		}
	}
}

func TestReduceFormsVsFormula(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	x := tensor.New(tensor.F32, tensor.Shape{3, 5, 7})
	for i := range x.F32() {
		x.F32()[i] = float32(0.5 + r.Float64()) // positive (ReduceLogSum), near 1 (ReduceProd stays finite)
	}
	forms := map[string]struct{ pre, post func(float64) float64 }{
		"ReduceL1":        {math.Abs, func(v float64) float64 { return v }},
		"ReduceL2":        {func(v float64) float64 { return v * v }, math.Sqrt},
		"ReduceSumSquare": {func(v float64) float64 { return v * v }, func(v float64) float64 { return v }},
		"ReduceLogSum":    {func(v float64) float64 { return v }, math.Log},
		"ReduceLogSumExp": {math.Exp, math.Log},
	}
	for _, axes := range [][]int64{{1}, {0, 2}, {2}} {
		for _, keep := range []int64{0, 1} {
			a := map[string]graph.Attr{"axes": {Kind: graph.AttrInts, Ints: axes}, "keepdims": {Kind: graph.AttrInt, Int: keep}}
			reduced := map[int]bool{}
			for _, ax := range axes {
				reduced[int(ax)] = true
			}
			// want[op][flat index over the kept dims]
			want := map[string]map[int]float64{}
			xs := x.Shape
			for i := 0; i < xs[0]; i++ {
				for j := 0; j < xs[1]; j++ {
					for k := 0; k < xs[2]; k++ {
						idx, o := []int{i, j, k}, 0
						for d := 0; d < 3; d++ {
							if !reduced[d] {
								o = o*xs[d] + idx[d]
							}
						}
						v := float64(x.F32()[(i*xs[1]+j)*xs[2]+k])
						for op, fm := range forms {
							if want[op] == nil {
								want[op] = map[int]float64{}
							}
							want[op][o] += fm.pre(v)
						}
						if want["ReduceProd"] == nil {
							want["ReduceProd"] = map[int]float64{}
						}
						if _, ok := want["ReduceProd"][o]; !ok {
							want["ReduceProd"][o] = 1
						}
						want["ReduceProd"][o] *= v
					}
				}
			}
			for op, w := range want {
				out, err := Eval(mkNode(op, a, x))
				if err != nil {
					t.Fatalf("%s: %v", op, err)
				}
				if len(out[0].F32()) != len(w) {
					t.Fatalf("%s axes %v: %d outputs, want %d", op, axes, len(out[0].F32()), len(w))
				}
				for o, v := range out[0].F32() {
					e := w[o]
					if fm, ok := forms[op]; ok {
						e = fm.post(e)
					}
					if !(math.Abs(float64(v)-e) <= 1e-5*(1+math.Abs(e))) {
						t.Fatalf("%s axes %v keepdims %d [%d] = %g, want %g", op, axes, keep, o, v, e)
					}
				}
			}
		}
	}
}

// Hardmax: 1 at the first largest element along the axis, 0 elsewhere (ties go to the first).
func TestHardmaxFirstMax(t *testing.T) {
	x := tensor.FromF32(tensor.Shape{2, 3, 2}, []float32{1, 5, 3, 5, 3, -1, 0, 0, 0, 0, -2, 7})
	for _, c := range []struct {
		axis int64
		want []float32
	}{
		{1, []float32{0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1}},
		{2, []float32{0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 0, 1}},
		{0, []float32{1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1}},
	} {
		out, err := Eval(mkNode("Hardmax", map[string]graph.Attr{"axis": {Kind: graph.AttrInt, Int: c.axis}}, x))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range out[0].F32() {
			if v != c.want[i] {
				t.Fatalf("axis %d: %v, want %v", c.axis, out[0].F32(), c.want)
			}
		}
	}
}

// IsNaN and IsInf with each detect_* setting, on every kind of float.
func TestIsNaNIsInf(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	x := tensor.FromF32(tensor.Shape{6}, []float32{1, -inf, inf, nan, 0, -3.5})
	for _, c := range []struct {
		op       string
		pos, neg int64
		want     []byte
	}{
		{"IsNaN", 1, 1, []byte{0, 0, 0, 1, 0, 0}},
		{"IsInf", 1, 1, []byte{0, 1, 1, 0, 0, 0}},
		{"IsInf", 1, 0, []byte{0, 0, 1, 0, 0, 0}},
		{"IsInf", 0, 1, []byte{0, 1, 0, 0, 0, 0}},
	} {
		out, err := Eval(mkNode(c.op, map[string]graph.Attr{"detect_positive": {Kind: graph.AttrInt, Int: c.pos},
			"detect_negative": {Kind: graph.AttrInt, Int: c.neg}}, x))
		if err != nil {
			t.Fatal(err)
		}
		if out[0].DType != tensor.Bool || string(out[0].Data) != string(c.want) {
			t.Errorf("%s pos=%d neg=%d: %s %v, want %v", c.op, c.pos, c.neg, out[0].DType, out[0].Data, c.want)
		}
	}
}

// Mean of three broadcast operands against the per-element average.
func TestMeanBroadcast(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	a, b, c := randF32(r, tensor.Shape{2, 3, 4}), randF32(r, tensor.Shape{3, 1}), randF32(r, tensor.Shape{4})
	out, err := Eval(mkNode("Mean", nil, a, b, c))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 4; k++ {
				want := (float64(a.F32()[(i*3+j)*4+k]) + float64(b.F32()[j]) + float64(c.F32()[k])) / 3
				if got := float64(out[0].F32()[(i*3+j)*4+k]); !(math.Abs(got-want) <= 1e-6*(1+math.Abs(want))) {
					t.Fatalf("[%d,%d,%d] = %g, want %g", i, j, k, got, want)
				}
			}
		}
	}
}

// Trilu (both triangles, k from -3 to 3, a batch of two 3×4 matrices) and EyeLike (k from -2 to 2)
// against their definitions.
func TestTriluEyeLike(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	x := randF32(r, tensor.Shape{2, 3, 4})
	for _, upper := range []int64{0, 1} {
		for k := int64(-3); k <= 3; k++ {
			out, err := Eval(mkNode("Trilu", map[string]graph.Attr{"upper": {Kind: graph.AttrInt, Int: upper}},
				x, tensor.FromI64(tensor.Shape{}, []int64{k})))
			if err != nil {
				t.Fatal(err)
			}
			for p, v := range out[0].F32() {
				i, j := (p/4)%3, p%4
				keep := upper == 1 && int64(j-i) >= k || upper == 0 && int64(j-i) <= k
				if want := map[bool]float32{true: x.F32()[p], false: 0}[keep]; v != want {
					t.Fatalf("upper=%d k=%d [%d]: %g, want %g", upper, k, p, v, want)
				}
			}
		}
	}
	for k := int64(-2); k <= 2; k++ {
		out, err := Eval(mkNode("EyeLike", map[string]graph.Attr{"k": {Kind: graph.AttrInt, Int: k}}, tensor.New(tensor.I64, tensor.Shape{3, 4})))
		if err != nil {
			t.Fatal(err)
		}
		for p, v := range out[0].I64() {
			if want := map[bool]int64{true: 1, false: 0}[int64(p%4-p/4) == k]; v != want {
				t.Fatalf("EyeLike k=%d [%d]: %d, want %d", k, p, v, want)
			}
		}
	}
}

// TopK against a stable sort of each lane (ties: lower index first), largest and smallest, over a
// middle axis, with k as an input and as TopK-1's attribute.
func TestTopKVsStableSort(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	x := tensor.New(tensor.F32, tensor.Shape{2, 6, 3})
	for i := range x.F32() {
		x.F32()[i] = float32(r.IntN(4)) // many ties
	}
	for _, largest := range []int64{1, 0} {
		for _, k := range []int64{1, 4, 6} {
			for _, attrForm := range []bool{false, true} {
				attrs := map[string]graph.Attr{"axis": {Kind: graph.AttrInt, Int: 1}, "largest": {Kind: graph.AttrInt, Int: largest}}
				ins := []*tensor.Tensor{x, tensor.FromI64(tensor.Shape{1}, []int64{k})}
				if attrForm {
					attrs["k"] = graph.Attr{Kind: graph.AttrInt, Int: k}
					ins = ins[:1]
				}
				n := mkNode("TopK", attrs, ins...)
				n.Outputs = append(n.Outputs, &graph.Value{Name: "indices"})
				out, err := Eval(n)
				if err != nil {
					t.Fatal(err)
				}
				for b := 0; b < 2; b++ {
					for c := 0; c < 3; c++ {
						order := []int{0, 1, 2, 3, 4, 5}
						at := func(a int) float32 { return x.F32()[(b*6+a)*3+c] }
						slices.SortStableFunc(order, func(p, q int) int {
							d := at(p) - at(q)
							if largest == 1 {
								d = -d
							}
							return int(d)
						})
						for rk := 0; rk < int(k); rk++ {
							p := (b*int(k)+rk)*3 + c
							if got := out[1].I64()[p]; got != int64(order[rk]) || out[0].F32()[p] != at(order[rk]) {
								t.Fatalf("largest=%d k=%d attr=%v lane (%d,%d) rank %d: index %d value %g, want %d %g",
									largest, k, attrForm, b, c, rk, got, out[0].F32()[p], order[rk], at(order[rk]))
							}
						}
					}
				}
			}
		}
	}
}

// ScatterElements on axis 1 with negative and repeated indices, plain and with each reduction,
// against the definition applied in indices' row-major order.
func TestScatterElementsVsNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	data, upd := randF32(r, tensor.Shape{3, 5}), randF32(r, tensor.Shape{2, 4})
	idx := tensor.FromI64(tensor.Shape{2, 4}, []int64{0, -1, 4, 0, 2, 2, -5, 3}) // -5 is 0: repeats
	for _, red := range []string{"none", "add", "mul", "max", "min"} {
		out, err := Eval(mkNode("ScatterElements", map[string]graph.Attr{"axis": {Kind: graph.AttrInt, Int: 1},
			"reduction": {Kind: graph.AttrString, Str: red}}, data, idx, upd))
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(data.F32())
		for i := 0; i < 2; i++ {
			for j := 0; j < 4; j++ {
				c := idx.I64()[i*4+j]
				if c < 0 {
					c += 5
				}
				p, u := i*5+int(c), upd.F32()[i*4+j]
				switch red {
				case "none":
					want[p] = u
				case "add":
					want[p] += u
				case "mul":
					want[p] *= u
				case "max":
					want[p] = max(want[p], u)
				case "min":
					want[p] = min(want[p], u)
				}
			}
		}
		if !slices.Equal(out[0].F32(), want) {
			t.Errorf("reduction %s: %v, want %v", red, out[0].F32(), want)
		}
	}
}

// GatherND with whole-element tuples, slice-picking tuples, a negative index and batch_dims 1,
// against indexing written out.
func TestGatherNDVsIndexing(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	data := randF32(r, tensor.Shape{2, 3, 4})
	at := func(i, j, k int) float32 { return data.F32()[(i*3+j)*4+k] }
	cases := []struct {
		name    string
		batch   int64
		idx     *tensor.Tensor
		want    []float32
		wantDim tensor.Shape
	}{
		{"full tuples", 0, tensor.FromI64(tensor.Shape{2, 3}, []int64{1, 2, 3, 0, -1, 0}), []float32{at(1, 2, 3), at(0, 2, 0)}, tensor.Shape{2}},
		{"slices", 0, tensor.FromI64(tensor.Shape{1, 2, 1}, []int64{1, 0}),
			append(append([]float32{}, data.F32()[12:24]...), data.F32()[0:12]...), tensor.Shape{1, 2, 3, 4}},
		{"batch_dims 1", 1, tensor.FromI64(tensor.Shape{2, 1, 2}, []int64{2, 1, 0, 3}), []float32{at(0, 2, 1), at(1, 0, 3)}, tensor.Shape{2, 1}},
	}
	for _, c := range cases {
		out, err := Eval(mkNode("GatherND", map[string]graph.Attr{"batch_dims": {Kind: graph.AttrInt, Int: c.batch}}, data, c.idx))
		if err != nil {
			t.Fatal(err)
		}
		if !out[0].Shape.Equal(c.wantDim) || !slices.Equal(out[0].F32(), c.want) {
			t.Errorf("%s: %s %v, want %s %v", c.name, out[0].Shape, out[0].F32(), c.wantDim, c.want)
		}
	}
}

// OneHot with float indices (truncated), negative and out-of-range ones, on axis 0 and the last.
func TestOneHotVsDefinition(t *testing.T) {
	idx := tensor.FromF32(tensor.Shape{2, 2}, []float32{1.7, -1, 5, 0})
	vals := tensor.FromI64(tensor.Shape{2}, []int64{-3, 9})
	depth := tensor.FromI64(tensor.Shape{}, []int64{4})
	for _, axis := range []int64{-1, 0} {
		out, err := Eval(mkNode("OneHot", map[string]graph.Attr{"axis": {Kind: graph.AttrInt, Int: axis}}, idx, depth, vals))
		if err != nil {
			t.Fatal(err)
		}
		hot := []int{1, 3, -1, 0} // 1.7 -> 1, -1 -> 3, 5 -> none, 0 -> 0
		for p, v := range out[0].I64() {
			var e, d int // element of idx, depth position
			if axis == -1 {
				e, d = p/4, p%4
			} else {
				d, e = p/4, p%4
			}
			if want := map[bool]int64{true: 9, false: -3}[hot[e] == d]; v != want {
				t.Fatalf("axis %d [%d]: %d, want %d", axis, p, v, want)
			}
		}
	}
}

// CastLike takes the target dtype from its second input, converting as Cast does.
func TestCastLike(t *testing.T) {
	x := tensor.FromF32(tensor.Shape{3}, []float32{1.7, -2.5, 0})
	out, err := Eval(mkNode("CastLike", nil, x, tensor.FromI64(tensor.Shape{1}, []int64{0})))
	if err != nil {
		t.Fatal(err)
	}
	if out[0].DType != tensor.I64 || !slices.Equal(out[0].I64(), []int64{1, -2, 0}) {
		t.Errorf("CastLike to int64: %s %v, want int64 [1 -2 0]", out[0].DType, out[0].I64())
	}
}

// GridSample: the identity grid (pixel centres, align_corners=1) gives X back in every mode; a grid
// point past the right edge reads 0 with zeros padding, the edge pixel with border padding, and
// its mirror image with reflection padding.
func TestGridSampleDefinitions(t *testing.T) {
	r := rand.New(rand.NewPCG(81, 82))
	x := randF32(r, tensor.Shape{1, 2, 3, 4})
	grid := tensor.New(tensor.F32, tensor.Shape{1, 3, 4, 2})
	for i := 0; i < 3; i++ {
		for j := 0; j < 4; j++ {
			grid.F32()[(i*4+j)*2], grid.F32()[(i*4+j)*2+1] = float32(j)/3*2-1, float32(i)/2*2-1
		}
	}
	attrs := func(mode, pad string, align int64) map[string]graph.Attr {
		return map[string]graph.Attr{"mode": {Kind: graph.AttrString, Str: mode}, "padding_mode": {Kind: graph.AttrString, Str: pad},
			"align_corners": {Kind: graph.AttrInt, Int: align}}
	}
	for _, mode := range []string{"bilinear", "nearest", "bicubic"} {
		out, err := Eval(mkNode("GridSample", attrs(mode, "zeros", 1), x, grid))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range out[0].F32() {
			if math.Abs(float64(v-x.F32()[i])) > 1e-5 {
				t.Fatalf("%s identity grid [%d]: %g, want %g", mode, i, v, x.F32()[i])
			}
		}
	}
	// (x, y) = (1 + 2/3, 0) with align_corners=1 is column 3 + 1 = 4 of 0..3, row 1.
	past := tensor.FromF32(tensor.Shape{1, 1, 1, 2}, []float32{1 + 2.0/3, 0})
	row := func(c, col int) float32 { return x.F32()[(c*3+1)*4+col] }
	for _, c := range []struct {
		pad  string
		want func(ch int) float32
	}{
		{"zeros", func(int) float32 { return 0 }},
		{"border", func(ch int) float32 { return row(ch, 3) }},
		{"reflection", func(ch int) float32 { return row(ch, 2) }},
	} {
		out, err := Eval(mkNode("GridSample", attrs("bilinear", c.pad, 1), x, past))
		if err != nil {
			t.Fatal(err)
		}
		for ch := 0; ch < 2; ch++ {
			if v := out[0].F32()[ch]; math.Abs(float64(v-c.want(ch))) > 1e-5 {
				t.Errorf("%s padding, channel %d: %g, want %g", c.pad, ch, v, c.want(ch))
			}
		}
	}
}

// LSTM and GRU with sequence_lens, both directions: an entry of length 2 in a batch run over 4
// steps ends in the state of a run over its first 2 steps alone, and its Y past step 2 is zero.
func TestRecurrentSequenceLens(t *testing.T) {
	r := rand.New(rand.NewPCG(91, 92))
	const in, hid = 3, 4
	for _, op := range []string{"LSTM", "GRU", "RNN"} {
		g := rnnGates[op]
		w, rr := randF32(r, tensor.Shape{2, g * hid, in}), randF32(r, tensor.Shape{2, g * hid, hid})
		b := randF32(r, tensor.Shape{2, 2 * g * hid})
		x := randF32(r, tensor.Shape{4, 2, in})
		run := func(x *tensor.Tensor, lens []int32) []*tensor.Tensor {
			attrs := map[string]graph.Attr{"hidden_size": {Kind: graph.AttrInt, Int: hid}, "direction": {Kind: graph.AttrString, Str: "bidirectional"},
				"linear_before_reset": {Kind: graph.AttrInt, Int: 1}}
			ins := []*tensor.Tensor{x, w, rr, b, nil}
			if lens != nil {
				ins[4] = tensor.New(tensor.I32, tensor.Shape{len(lens)})
				copy(ins[4].I32(), lens)
			}
			n := mkNode(op, attrs, ins...)
			n.Outputs = append(n.Outputs, &graph.Value{Name: "y_h"})
			out, err := Eval(n)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		full := run(x, []int32{2, 4})
		// Entry 0's first two steps alone: X[:2, 0:1, :].
		x0 := tensor.New(tensor.F32, tensor.Shape{2, 1, in})
		for s := 0; s < 2; s++ {
			copy(x0.F32()[s*in:(s+1)*in], x.F32()[(s*2)*in:(s*2+1)*in])
		}
		alone := run(x0, nil)
		for d := 0; d < 2; d++ {
			for j := 0; j < hid; j++ {
				got, want := full[1].F32()[(d*2+0)*hid+j], alone[1].F32()[d*hid+j]
				if math.Abs(float64(got-want)) > 1e-6 {
					t.Fatalf("%s direction %d: Y_h %g, alone %g", op, d, got, want)
				}
				for s := 2; s < 4; s++ { // Y [seq, dirs, batch, hidden]
					if v := full[0].F32()[((s*2+d)*2+0)*hid+j]; v != 0 {
						t.Fatalf("%s: Y at step %d past the length is %g", op, s, v)
					}
				}
			}
		}
	}
}
