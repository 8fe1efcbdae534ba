package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Unit tests for the light-weight ops beyond the ONNX node suite: broadcasting against a naive
// index-by-index reference, in-place aliasing, zero allocation per Run, dynamic-dim inference and
// shape subgraph folding.

func cv(t *tensor.Tensor) *graph.Value {
	return &graph.Value{DType: t.DType, Shape: t.Shape.Clone(), Const: t}
}

func mkNode(op string, attrs map[string]graph.Attr, ins ...*tensor.Tensor) *graph.Node {
	n := &graph.Node{Name: "t_" + op, Op: op, Attrs: attrs, Outputs: []*graph.Value{{Name: "y"}}}
	for _, t := range ins {
		if t == nil {
			n.Inputs = append(n.Inputs, nil)
		} else {
			n.Inputs = append(n.Inputs, cv(t))
		}
	}
	return n
}

func randF32(r *rand.Rand, s tensor.Shape) *tensor.Tensor {
	t := tensor.New(tensor.F32, s)
	for i := range t.F32() {
		t.F32()[i] = float32(r.NormFloat64())
	}
	return t
}

// naiveBroadcast computes out[idx] = f(in_0[idx mod dims_0], in_1[...]) independently of bcast.
func naiveBroadcast(out tensor.Shape, ins []tensor.Shape, f func(idx []int)) {
	idx := make([]int, len(out))
	for i := 0; i < out.NumElements(); i++ {
		rem := i
		for d := len(out) - 1; d >= 0; d-- {
			idx[d] = rem % out[d]
			rem /= out[d]
		}
		f(idx)
	}
}

func flatIndex(s tensor.Shape, outIdx []int) int {
	off := len(outIdx) - len(s)
	p := 0
	for d, n := range s {
		p = p*n + outIdx[off+d]%n
	}
	return p
}

var bcastCases = []struct{ a, b tensor.Shape }{
	{tensor.Shape{2, 3, 4, 5}, tensor.Shape{2, 3, 4, 5}},
	{tensor.Shape{2, 3, 4, 5}, tensor.Shape{}},
	{tensor.Shape{}, tensor.Shape{2, 3, 4, 5}},
	{tensor.Shape{2, 7, 5, 3}, tensor.Shape{7, 1, 1}},
	{tensor.Shape{2, 7, 5, 3}, tensor.Shape{1, 7, 1, 1}},
	{tensor.Shape{1, 7, 1, 1}, tensor.Shape{2, 7, 5, 3}},
	{tensor.Shape{3, 1, 5}, tensor.Shape{1, 4, 1}},
	{tensor.Shape{13, 1}, tensor.Shape{24}},
	{tensor.Shape{2, 3, 4, 5}, tensor.Shape{5}},
	{tensor.Shape{2, 1, 4, 1}, tensor.Shape{3, 1, 5}},
	{tensor.Shape{1, 1}, tensor.Shape{1}},
	{tensor.Shape{3, 0, 2}, tensor.Shape{1, 2}},
}

func TestBinaryBroadcastF32(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ops := map[string]func(a, b float32) float32{
		"Add": func(a, b float32) float32 { return a + b },
		"Sub": func(a, b float32) float32 { return a - b },
		"Mul": func(a, b float32) float32 { return a * b },
		"Div": func(a, b float32) float32 { return a / b },
		"Max": func(a, b float32) float32 { return max(a, b) },
		"Min": func(a, b float32) float32 { return min(a, b) },
		"Pow": func(a, b float32) float32 { return float32(math.Pow(float64(a), float64(b))) },
	}
	for op, f := range ops {
		for _, c := range bcastCases {
			for _, relu := range []bool{false, true} {
				a, b := randF32(r, c.a), randF32(r, c.b)
				if op == "Pow" {
					for i, v := range a.F32() {
						a.F32()[i] = float32(math.Abs(float64(v))) + 0.1
					}
				}
				n := mkNode(op, nil, a, b)
				if relu && op != "Pow" && op != "Max" && op != "Min" {
					SetActivation(n, Activation{Kind: ActRelu})
				}
				out, err := Eval(n)
				if err != nil {
					t.Fatalf("%s %v %v: %v", op, c.a, c.b, err)
				}
				got := out[0].F32()
				naiveBroadcast(out[0].Shape, []tensor.Shape{c.a, c.b}, func(idx []int) {
					want := f(a.F32()[flatIndex(c.a, idx)], b.F32()[flatIndex(c.b, idx)])
					if n.Has(graph.AttrActivation) {
						want = max(want, 0)
					}
					o := flatIndex(out[0].Shape, idx)
					if !closeTo(float64(got[o]), float64(want), 1e-6) {
						t.Fatalf("%s %v %v relu=%v at %v: got %v want %v", op, c.a, c.b, relu, idx, got[o], want)
					}
				})
			}
		}
	}
}

func TestIntegerArithmetic(t *testing.T) {
	a := tensor.FromI64(tensor.Shape{2, 3}, []int64{7, -7, 9, -9, 5, 0})
	b := tensor.FromI64(tensor.Shape{3}, []int64{2, 2, 0})
	cases := []struct {
		op   string
		want []int64
	}{
		{"Div", []int64{3, -3, 0, -4, 2, 0}}, // truncation toward zero; x/0 -> 0
		{"Add", []int64{9, -5, 9, -7, 7, 0}},
		{"Sub", []int64{5, -9, 9, -11, 3, 0}},
		{"Mul", []int64{14, -14, 0, -18, 10, 0}},
	}
	for _, c := range cases {
		out, err := Eval(mkNode(c.op, nil, a, b))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range out[0].I64() {
			if v != c.want[i] {
				t.Errorf("%s: got %v, want %v", c.op, out[0].I64(), c.want)
				break
			}
		}
	}
	// i32 goes through the same generic path.
	a32 := &tensor.Tensor{DType: tensor.I32, Shape: tensor.Shape{2}, Data: []byte{7, 0, 0, 0, 0xf9, 0xff, 0xff, 0xff}}
	b32 := &tensor.Tensor{DType: tensor.I32, Shape: tensor.Shape{}, Data: []byte{2, 0, 0, 0}}
	out, err := Eval(mkNode("Div", nil, a32, b32))
	if err != nil || out[0].I32()[0] != 3 || out[0].I32()[1] != -3 {
		t.Errorf("i32 Div: %v %v", out, err)
	}
}

func TestCompareAndWhere(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	a, b := randF32(r, tensor.Shape{3, 1, 5}), randF32(r, tensor.Shape{4, 1})
	copy(a.F32()[:2], b.F32()[:2]) // some equal pairs
	for _, op := range []string{"Equal", "Greater", "Less"} {
		out, err := Eval(mkNode(op, nil, a, b))
		if err != nil {
			t.Fatal(err)
		}
		if out[0].DType != tensor.Bool || !out[0].Shape.Equal(tensor.Shape{3, 4, 5}) {
			t.Fatalf("%s: %s%v", op, out[0].DType, out[0].Shape)
		}
		naiveBroadcast(out[0].Shape, nil, func(idx []int) {
			x, y := a.F32()[flatIndex(a.Shape, idx)], b.F32()[flatIndex(b.Shape, idx)]
			want := map[string]bool{"Equal": x == y, "Greater": x > y, "Less": x < y}[op]
			if (out[0].Bool()[flatIndex(out[0].Shape, idx)] == 1) != want {
				t.Fatalf("%s at %v wrong", op, idx)
			}
		})
	}
	cond, err := Eval(mkNode("Greater", nil, a, b))
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.FromI64(tensor.Shape{5}, []int64{1, 2, 3, 4, 5})
	y := tensor.FromI64(tensor.Shape{}, []int64{-1})
	out, err := Eval(mkNode("Where", nil, cond[0], x, y))
	if err != nil {
		t.Fatal(err)
	}
	naiveBroadcast(out[0].Shape, nil, func(idx []int) {
		want := int64(-1)
		if cond[0].Bool()[flatIndex(cond[0].Shape, idx)] == 1 {
			want = int64(idx[2] + 1)
		}
		if got := out[0].I64()[flatIndex(out[0].Shape, idx)]; got != want {
			t.Fatalf("Where at %v: %d want %d", idx, got, want)
		}
	})
}

// runKernel infers, compiles and runs n on pool into fresh outputs (or into alias for output 0).
func runKernel(t testing.TB, n *graph.Node, pool *parallel.Pool, alias *tensor.Tensor) (Kernel, []*tensor.Tensor, []*tensor.Tensor) {
	t.Helper()
	d := LookupNode(n)
	if err := d.Infer(n); err != nil {
		t.Fatalf("%s Infer: %v", n.Op, err)
	}
	k, err := d.Compile(n)
	if err != nil {
		t.Fatalf("%s Compile: %v", n.Op, err)
	}
	in := make([]*tensor.Tensor, len(n.Inputs))
	for i, v := range n.Inputs {
		if v != nil {
			in[i] = v.Const
		}
	}
	out := make([]*tensor.Tensor, len(n.Outputs))
	for i, v := range n.Outputs {
		out[i] = tensor.New(v.DType, v.Shape)
	}
	if alias != nil {
		out[0] = &tensor.Tensor{DType: n.Outputs[0].DType, Shape: n.Outputs[0].Shape.Clone(), Data: alias.Data}
	}
	ctx := &Ctx{Scratch: make([]byte, k.ScratchBytes()), Pool: pool}
	if err := k.Run(ctx, in, out); err != nil {
		t.Fatalf("%s Run: %v", n.Op, err)
	}
	return k, in, out
}

func TestInPlaceAndParallel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	pool := parallel.NewPool(3)
	defer pool.Close()
	big := tensor.Shape{2, 16, 45, 47} // > chunkElems per row group, odd sizes
	cases := []struct {
		op    string
		attrs map[string]graph.Attr
		ins   []*tensor.Tensor
	}{
		{"Add", nil, []*tensor.Tensor{randF32(r, big), randF32(r, big)}},
		{"Add", map[string]graph.Attr{graph.AttrActivation: {Kind: graph.AttrString, Str: "Relu"}}, []*tensor.Tensor{randF32(r, big), randF32(r, tensor.Shape{16, 1, 1})}},
		{"Mul", nil, []*tensor.Tensor{randF32(r, big), randF32(r, tensor.Shape{1, 16, 1, 1})}},
		{"Sub", nil, []*tensor.Tensor{randF32(r, big), randF32(r, tensor.Shape{})}},
		{"Div", nil, []*tensor.Tensor{randF32(r, tensor.Shape{67000}), randF32(r, tensor.Shape{67000})}},
		{"Max", nil, []*tensor.Tensor{randF32(r, big), randF32(r, tensor.Shape{47}), randF32(r, tensor.Shape{45, 1})}},
		{"Relu", nil, []*tensor.Tensor{randF32(r, big)}},
		{"Sigmoid", nil, []*tensor.Tensor{randF32(r, big)}},
		{"HardSwish", nil, []*tensor.Tensor{randF32(r, big)}},
		{"Clip", nil, []*tensor.Tensor{randF32(r, big), tensor.FromF32(tensor.Shape{}, []float32{0}), tensor.FromF32(tensor.Shape{}, []float32{0.5})}},
		{"Softmax", map[string]graph.Attr{"axis": {Kind: graph.AttrInt, Int: 1}}, []*tensor.Tensor{randF32(r, big)}},
	}
	for _, c := range cases {
		ref, err := Eval(mkNode(c.op, c.attrs, c.ins...)) // serial, separate output
		if err != nil {
			t.Fatal(err)
		}
		x := c.ins[0].Clone()
		ins := append([]*tensor.Tensor{x}, c.ins[1:]...)
		_, _, out := runKernel(t, mkNode(c.op, c.attrs, ins...), pool, x) // parallel, out == in[0]
		if err := compareTensors(out[0], ref[0], 1e-6); err != nil {
			t.Errorf("%s in place on 3 threads: %v", c.op, err)
		}
	}
}

func TestRunDoesNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	pool := parallel.NewPool(2)
	defer pool.Close()
	x4 := randF32(r, tensor.Shape{1, 8, 9, 10})
	i64 := func(v ...int64) *tensor.Tensor { return tensor.FromI64(tensor.Shape{len(v)}, v) }
	ai := func(v ...int64) graph.Attr { return graph.Attr{Kind: graph.AttrInts, Ints: v} }
	cond, _ := Eval(mkNode("Greater", nil, x4, tensor.FromF32(tensor.Shape{}, []float32{0})))
	cases := []struct {
		op    string
		attrs map[string]graph.Attr
		ins   []*tensor.Tensor
	}{
		{"Add", nil, []*tensor.Tensor{x4, randF32(r, tensor.Shape{8, 1, 1})}},
		{"Mul", nil, []*tensor.Tensor{x4, randF32(r, tensor.Shape{3, 1, 1, 10})}},
		{"Min", nil, []*tensor.Tensor{x4, x4, x4}},
		{"Equal", nil, []*tensor.Tensor{x4, x4}},
		{"Where", nil, []*tensor.Tensor{cond[0], x4, randF32(r, tensor.Shape{})}},
		{"Relu", nil, []*tensor.Tensor{x4}},
		{"Clip", nil, []*tensor.Tensor{x4, tensor.FromF32(tensor.Shape{}, []float32{0}), nil}},
		{"Softmax", nil, []*tensor.Tensor{x4}},
		{"ReduceMean", map[string]graph.Attr{"axes": ai(2, 3)}, []*tensor.Tensor{x4}},
		{"ArgMax", map[string]graph.Attr{"axis": {Kind: graph.AttrInt, Int: 1}}, []*tensor.Tensor{x4}},
		{"Transpose", map[string]graph.Attr{"perm": ai(0, 2, 3, 1)}, []*tensor.Tensor{x4}},
		{"Transpose", map[string]graph.Attr{"perm": ai(4, 0, 2, 3, 1)}, []*tensor.Tensor{randF32(r, tensor.Shape{2, 3, 1, 2, 5})}},
		{"Concat", map[string]graph.Attr{"axis": {Kind: graph.AttrInt, Int: 1}}, []*tensor.Tensor{x4, x4}},
		{"Slice", nil, []*tensor.Tensor{x4, i64(1, -1), i64(8, 0), i64(1, 3), i64(2, -2)}},
		{"Gather", map[string]graph.Attr{"axis": {Kind: graph.AttrInt, Int: 1}}, []*tensor.Tensor{x4, i64(0, -1, 3)}},
		{"Expand", nil, []*tensor.Tensor{randF32(r, tensor.Shape{8, 1, 1}), i64(2, 8, 3, 4)}},
		{"Tile", nil, []*tensor.Tensor{x4, i64(1, 2, 1, 3)}},
		{"Pad", map[string]graph.Attr{"mode": {Kind: graph.AttrString, Str: "reflect"}}, []*tensor.Tensor{x4, i64(0, 0, 2, 1, 0, 0, 1, 3)}},
		{"Resize", map[string]graph.Attr{"mode": {Kind: graph.AttrString, Str: "linear"}}, []*tensor.Tensor{x4, nil, tensor.FromF32(tensor.Shape{4}, []float32{1, 1, 2, 1.5})}},
		{"Cast", map[string]graph.Attr{"to": {Kind: graph.AttrInt, Int: 10}}, []*tensor.Tensor{x4}},
		{"Shape", nil, []*tensor.Tensor{x4}},
		{"Reshape", nil, []*tensor.Tensor{x4, i64(0, -1)}},
		{"ConstantOfShape", nil, []*tensor.Tensor{i64(2, 3)}},
		{"ReduceL2", map[string]graph.Attr{"axes": ai(1)}, []*tensor.Tensor{x4}},
		{"ReduceProd", map[string]graph.Attr{"axes": ai(3)}, []*tensor.Tensor{x4}},
		{"Sin", nil, []*tensor.Tensor{x4}},
		{"Hardmax", nil, []*tensor.Tensor{x4}},
		{"IsInf", nil, []*tensor.Tensor{x4}},
		{"Mean", nil, []*tensor.Tensor{x4, x4, randF32(r, tensor.Shape{10})}},
		{"Trilu", nil, []*tensor.Tensor{x4, i64(1)}},
		{"EyeLike", nil, []*tensor.Tensor{randF32(r, tensor.Shape{3, 5})}},
		{"TopK", nil, []*tensor.Tensor{x4, i64(3)}},
		{"ScatterElements", map[string]graph.Attr{"reduction": {Kind: graph.AttrString, Str: "add"}},
			[]*tensor.Tensor{randF32(r, tensor.Shape{3, 4}), tensor.FromI64(tensor.Shape{1, 2}, []int64{2, 0}), randF32(r, tensor.Shape{1, 2})}},
		{"GatherND", nil, []*tensor.Tensor{x4, tensor.FromI64(tensor.Shape{2, 2}, []int64{0, 2, 0, -1})}},
		{"OneHot", nil, []*tensor.Tensor{i64(1, 0, 3), i64(4), tensor.FromF32(tensor.Shape{2}, []float32{0, 1})}},
		{"GridSample", map[string]graph.Attr{"mode": {Kind: graph.AttrString, Str: "bicubic"}, "padding_mode": {Kind: graph.AttrString, Str: "reflection"}},
			[]*tensor.Tensor{x4, randF32(r, tensor.Shape{1, 3, 5, 2})}},
		{"LRN", map[string]graph.Attr{"size": {Kind: graph.AttrInt, Int: 3}}, []*tensor.Tensor{x4}},
		{"LSTM", map[string]graph.Attr{"hidden_size": {Kind: graph.AttrInt, Int: 4}, "direction": {Kind: graph.AttrString, Str: "bidirectional"}},
			[]*tensor.Tensor{randF32(r, tensor.Shape{5, 2, 3}), randF32(r, tensor.Shape{2, 16, 3}), randF32(r, tensor.Shape{2, 16, 4})}},
		{"GRU", map[string]graph.Attr{"hidden_size": {Kind: graph.AttrInt, Int: 4}},
			[]*tensor.Tensor{randF32(r, tensor.Shape{5, 2, 3}), randF32(r, tensor.Shape{1, 12, 3}), randF32(r, tensor.Shape{1, 12, 4})}},
	}
	for _, c := range cases {
		n := mkNode(c.op, c.attrs, c.ins...)
		switch c.op {
		case "Split", "TopK", "LSTM", "GRU":
			n.Outputs = append(n.Outputs, &graph.Value{Name: "y2"})
		}
		k, in, out := runKernel(t, n, pool, nil)
		ctx := &Ctx{Scratch: make([]byte, k.ScratchBytes()), Pool: pool}
		if a := testing.AllocsPerRun(20, func() { _ = k.Run(ctx, in, out) }); a != 0 {
			t.Errorf("%s: %v allocations per Run", c.op, a)
		}
	}
}

func TestInferDynamicDims(t *testing.T) {
	dyn := func(op string, attrs map[string]graph.Attr, ins ...*graph.Value) tensor.Shape {
		n := &graph.Node{Name: op, Op: op, Attrs: attrs, Inputs: ins, Outputs: []*graph.Value{{Name: "y"}}}
		if err := Lookup(op).Infer(n); err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		return n.Outputs[0].Shape
	}
	x := &graph.Value{Name: "x", DType: tensor.F32, Shape: tensor.Shape{-1, 3, 8, 8}}
	shapeIn := &graph.Value{Name: "s", DType: tensor.I64, Shape: tensor.Shape{2}} // computed at run time
	c := func(s tensor.Shape, v ...int64) *graph.Value { return cv(tensor.FromI64(s, v)) }
	cases := []struct {
		got, want tensor.Shape
	}{
		{dyn("Add", nil, x, cv(tensor.New(tensor.F32, tensor.Shape{3, 1, 1}))), tensor.Shape{-1, 3, 8, 8}},
		{dyn("Add", nil, &graph.Value{DType: tensor.F32, Shape: tensor.Shape{-1, 1}}, &graph.Value{DType: tensor.F32, Shape: tensor.Shape{1, 5}}), tensor.Shape{-1, 5}},
		{dyn("Reshape", nil, x, shapeIn), tensor.Shape{-1, -1}},
		{dyn("Reshape", nil, x, c(tensor.Shape{2}, 0, -1)), tensor.Shape{-1, 192}},
		{dyn("Reshape", nil, x, c(tensor.Shape{2}, -1, 192)), tensor.Shape{-1, 192}},
		{dyn("Flatten", nil, x), tensor.Shape{-1, 192}},
		{dyn("Shape", nil, x), tensor.Shape{4}},
		{dyn("Transpose", nil, x), tensor.Shape{8, 8, 3, -1}},
		{dyn("Concat", map[string]graph.Attr{"axis": {Kind: graph.AttrInt, Int: 0}}, x, x), tensor.Shape{-1, 3, 8, 8}},
		{dyn("Slice", nil, x, c(tensor.Shape{1}, 1), c(tensor.Shape{1}, 3), c(tensor.Shape{1}, 2)), tensor.Shape{-1, 3, 2, 8}},
		{dyn("Gather", nil, x, c(tensor.Shape{}, 0)), tensor.Shape{3, 8, 8}},
		{dyn("ReduceMean", map[string]graph.Attr{"axes": {Kind: graph.AttrInts, Ints: []int64{2, 3}}}, x), tensor.Shape{-1, 3, 1, 1}},
		{dyn("Unsqueeze", nil, x, c(tensor.Shape{1}, -1)), tensor.Shape{-1, 3, 8, 8, 1}},
		{dyn("Resize", nil, x, nil, cv(tensor.FromF32(tensor.Shape{4}, []float32{1, 1, 2, 2}))), tensor.Shape{-1, 3, 16, 16}},
		{dyn("Pad", nil, x, c(tensor.Shape{8}, 0, 0, 1, 1, 0, 0, 1, 1)), tensor.Shape{-1, 3, 10, 10}},
	}
	for i, cs := range cases {
		if !cs.got.Equal(cs.want) {
			t.Errorf("case %d: got %v, want %v", i, cs.got, cs.want)
		}
	}
	if got := dyn("Reshape", nil, x, &graph.Value{DType: tensor.I64}); got != nil {
		t.Errorf("Reshape with nothing known: %v, want nil", got)
	}
	// Shape of a dynamic input must not be folded; of a known one it must.
	n := &graph.Node{Op: "Shape", Inputs: []*graph.Value{x}, Outputs: []*graph.Value{{}}}
	_ = Lookup("Shape").Infer(n)
	if n.Outputs[0].Const != nil {
		t.Error("Shape of a dynamic input was folded")
	}
	n.Inputs[0] = &graph.Value{DType: tensor.F32, Shape: tensor.Shape{2, 3, 8, 8}}
	n.SetInt("start", 1)
	_ = Lookup("Shape").Infer(n)
	if c := n.Outputs[0].Const; c == nil || len(c.I64()) != 3 || c.I64()[0] != 3 || c.I64()[2] != 8 {
		t.Errorf("Shape(start=1) of [2,3,8,8] folded to %v", c)
	}
}

// TestShapeSubgraphFold evaluates the Shape->Gather->Unsqueeze->Concat->Reshape chain that PyTorch
// exports for x.view(x.size(0), -1) with a dynamic batch, node by node through Eval.
func TestShapeSubgraphFold(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	x := randF32(r, tensor.Shape{2, 3, 4, 5})
	step := func(op string, attrs map[string]graph.Attr, ins ...*tensor.Tensor) *tensor.Tensor {
		out, err := Eval(mkNode(op, attrs, ins...))
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		return out[0]
	}
	shp := step("Shape", nil, x)
	b := step("Gather", map[string]graph.Attr{"axis": {Kind: graph.AttrInt, Int: 0}}, shp, tensor.FromI64(tensor.Shape{}, []int64{0}))
	u := step("Unsqueeze", nil, b, tensor.FromI64(tensor.Shape{1}, []int64{0}))
	cat := step("Concat", map[string]graph.Attr{"axis": {Kind: graph.AttrInt, Int: 0}}, u, tensor.FromI64(tensor.Shape{1}, []int64{-1}))
	cast := step("Cast", map[string]graph.Attr{"to": {Kind: graph.AttrInt, Int: 6}}, cat) // through i32 and back
	cat = step("Cast", map[string]graph.Attr{"to": {Kind: graph.AttrInt, Int: 7}}, cast)
	y := step("Reshape", nil, x, cat)
	if !y.Shape.Equal(tensor.Shape{2, 60}) {
		t.Fatalf("reshape target %v folded to shape %v, want [2,60]", cat.I64(), y.Shape)
	}
	for i, v := range x.F32() {
		if y.F32()[i] != v {
			t.Fatal("Reshape changed the data")
		}
	}
	// Size, ConstantOfShape and Equal/Where on i64, as in exports with dynamic padding.
	if s := step("Size", nil, x); s.I64()[0] != 120 {
		t.Errorf("Size = %v", s.I64())
	}
	ones := step("ConstantOfShape", map[string]graph.Attr{"value": {Kind: graph.AttrTensor, Tensor: tensor.FromI64(tensor.Shape{1}, []int64{1})}}, tensor.FromI64(tensor.Shape{1}, []int64{2}))
	eq := step("Equal", nil, cat, tensor.FromI64(tensor.Shape{}, []int64{-1}))
	w := step("Where", nil, eq, ones, cat)
	if got := w.I64(); got[0] != 2 || got[1] != 1 {
		t.Errorf("Where(Equal(shape,-1), 1, shape) = %v, want [2 1]", got)
	}
}

func TestResizeRefusesCropAndResize(t *testing.T) {
	x := tensor.New(tensor.F32, tensor.Shape{1, 1, 4, 4})
	n := mkNode("Resize", map[string]graph.Attr{"coordinate_transformation_mode": {Kind: graph.AttrString, Str: "tf_crop_and_resize"}},
		x, tensor.FromF32(tensor.Shape{8}, []float32{0, 0, 0, 0, 1, 1, 1, 1}), nil, tensor.FromI64(tensor.Shape{4}, []int64{1, 1, 2, 2}))
	if _, err := Eval(n); err == nil {
		t.Fatal("tf_crop_and_resize was accepted")
	}
}

// TestResizeBilinearReference checks linear/half_pixel upsampling against a direct per-pixel formula.
func TestResizeBilinearReference(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	x := randF32(r, tensor.Shape{2, 3, 5, 7})
	n := mkNode("Resize", map[string]graph.Attr{"mode": {Kind: graph.AttrString, Str: "linear"}}, x, nil, nil, tensor.FromI64(tensor.Shape{4}, []int64{2, 3, 9, 4}))
	out, err := Eval(n)
	if err != nil {
		t.Fatal(err)
	}
	src := func(o, in, out int) (int, int, float64) {
		s := (float64(o)+0.5)*float64(in)/float64(out) - 0.5
		s = math.Max(0, math.Min(s, float64(in-1)))
		i0 := int(s)
		return i0, min(i0+1, in-1), s - float64(i0)
	}
	y := out[0].F32()
	for p := 0; p < 6; p++ {
		for oy := 0; oy < 9; oy++ {
			y0, y1, wy := src(oy, 5, 9)
			for ox := 0; ox < 4; ox++ {
				x0, x1, wx := src(ox, 7, 4)
				at := func(yy, xx int) float64 { return float64(x.F32()[p*35+yy*7+xx]) }
				want := (1-wy)*((1-wx)*at(y0, x0)+wx*at(y0, x1)) + wy*((1-wx)*at(y1, x0)+wx*at(y1, x1))
				if got := float64(y[p*36+oy*4+ox]); math.Abs(got-want) > 1e-5 {
					t.Fatalf("plane %d (%d,%d): %v want %v", p, oy, ox, got, want)
				}
			}
		}
	}
}

// BenchmarkAddRelu is ResNet-50's largest residual add (+ fused Relu) at 224x224.
func BenchmarkAddRelu(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	s := tensor.Shape{1, 256, 56, 56}
	n := mkNode("Add", map[string]graph.Attr{graph.AttrActivation: {Kind: graph.AttrString, Str: "Relu"}}, randF32(r, s), randF32(r, s))
	k, in, out := runKernel(b, n, nil, nil)
	ctx := &Ctx{}
	b.SetBytes(int64(3 * s.NumElements() * 4))
	for b.Loop() {
		_ = k.Run(ctx, in, out)
	}
}
