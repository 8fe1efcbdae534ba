package runtime

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/graph/passes"
	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/plan"
	"github.com/wanwu-ai/wanwu/tensor"
)

type gb struct {
	g    *graph.Graph
	vals map[string]*graph.Value
}

func newGB() *gb { return &gb{g: &graph.Graph{Name: "test"}, vals: map[string]*graph.Value{}} }

func (b *gb) v(name string) *graph.Value {
	if v, ok := b.vals[name]; ok {
		return v
	}
	v := &graph.Value{Name: name}
	b.vals[name] = v
	return v
}

func (b *gb) input(name string, shape tensor.Shape) {
	v := b.v(name)
	v.DType, v.Shape = tensor.F32, shape
	b.g.Inputs = append(b.g.Inputs, v)
}

func (b *gb) node(op, out string, ins ...string) *graph.Node {
	n := &graph.Node{Name: out + "_node", Op: op, Outputs: []*graph.Value{b.v(out)}, Attrs: map[string]graph.Attr{}}
	for _, in := range ins {
		n.Inputs = append(n.Inputs, b.v(in))
	}
	b.g.Nodes = append(b.g.Nodes, n)
	return n
}

func (b *gb) output(names ...string) {
	for _, n := range names {
		b.g.Outputs = append(b.g.Outputs, b.v(n))
	}
}

func randInput(r *rand.Rand, shape tensor.Shape) *tensor.Tensor {
	t := tensor.New(tensor.F32, shape)
	for i := range t.F32() {
		t.F32()[i] = r.Float32()*2 - 1
	}
	return t
}

// inferred returns an optimized copy of g, so evalNaive sees concrete shapes.
func inferred(t *testing.T, g *graph.Graph, shapes map[string]tensor.Shape) *graph.Graph {
	t.Helper()
	c := g.Clone()
	if err := passes.Optimize(c, ops.Semantics{}, shapes); err != nil {
		t.Fatal(err)
	}
	return c
}

func checkClose(t *testing.T, what string, got, want *tensor.Tensor) {
	t.Helper()
	if !got.Shape.Equal(want.Shape) {
		t.Fatalf("%s: shape %s, want %s", what, got.Shape, want.Shape)
	}
	for i, w := range want.F32() {
		if g := got.F32()[i]; g != w {
			t.Fatalf("%s[%d] = %g, want %g", what, i, g, w)
		}
	}
}

// chain: x -> relu a -> add(a, x) b -> reshape c -> double d -> add(d, d) e ; outputs e and a
func chainGraph() *gb {
	b := newGB()
	b.input("x", tensor.Shape{-1, 6})
	b.node("rtRelu", "a", "x")
	b.node("rtAdd", "b", "a", "x")
	b.node("rtReshape", "c", "b").SetInts("shape", []int64{0, 2, 3})
	b.node("rtDouble", "d", "c")
	b.node("rtAdd", "e", "d", "d")
	b.output("e", "b")
	return b
}

func TestRunChain(t *testing.T) {
	b := chainGraph()
	shapes := map[string]tensor.Shape{"x": {3, 6}}
	p, err := Compile(b.g, Options{Threads: 2, InputShapes: shapes})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r := rand.New(rand.NewPCG(1, 1))
	for iter := 0; iter < 3; iter++ { // repeated runs reuse the arena
		x := randInput(r, tensor.Shape{3, 6})
		got, err := p.Run(context.Background(), []*tensor.Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		want := evalNaive(inferred(t, b.g, shapes), []*tensor.Tensor{x})
		checkClose(t, "e", got[0], want[0])
		checkClose(t, "b", got[1], want[1])
	}
	st := p.Stats()
	// a dies at b's node but is not a graph input -> b is written in place over a; b is an output so
	// d (rtDouble) is not in-place, e = d+d is (d dies there, and both inputs are d itself).
	wantFlags := []string{"rtRelu", "rtAdd (in-place)", "rtReshape (view)", "rtDouble", "rtAdd (in-place)"}
	for i, st := range st.Steps {
		op := st.Op
		if st.Alias {
			op += " (view)"
		}
		if st.InPlace {
			op += " (in-place)"
		}
		if op != wantFlags[i] {
			t.Errorf("step %d: %s, want %s", i, op, wantFlags[i])
		}
	}
	if st.NumSteps != 4 {
		t.Errorf("NumSteps = %d, want 4 (the reshape runs nothing)", st.NumSteps)
	}
	if st.ScratchBytes != 3*6*4 {
		t.Errorf("ScratchBytes = %d, want %d", st.ScratchBytes, 3*6*4)
	}
	// Buffers: x, a(+b in place, +c view), d(+e), scratch.
	if len(st.Buffers) != 4 {
		t.Errorf("%d buffers, want 4:\n%v", len(st.Buffers), st.Buffers)
	}
	bufs := make([]plan.Buffer, len(st.Buffers))
	pl := plan.Plan{ArenaSize: st.ArenaBytes}
	for i, bs := range st.Buffers {
		bufs[i] = plan.Buffer{Size: bs.Size, First: bs.First, Last: bs.Last}
		pl.Offsets = append(pl.Offsets, bs.Offset)
	}
	if err := plan.Verify(bufs, pl); err != nil {
		t.Fatal(err)
	}
	if st.ArenaBytes > st.LinearArenaBytes {
		t.Errorf("arena %d > linear %d", st.ArenaBytes, st.LinearArenaBytes)
	}
	est, err := Estimate(b.g, Options{Threads: 2, InputShapes: shapes}) // the threads Compile had: scratch is per thread
	if err != nil {
		t.Fatal(err)
	}
	if est.ArenaBytes != st.ArenaBytes || Union(est) != Union(st) || est.NumSteps != st.NumSteps {
		t.Errorf("Estimate %+v differs from Compile %+v", est, st)
	}
	// The caller's graph is untouched (Compile works on a clone).
	if got := b.vals["x"].Shape.String(); got != "[?,6]" {
		t.Errorf("source graph input shape changed to %s", got)
	}
}

// TestRandomGraphs builds random DAGs of the test ops and checks the planned, aliased, in-place run
// against value-by-value evaluation: any two live values sharing bytes would corrupt a result.
func TestRandomGraphs(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for iter := 0; iter < 150; iter++ {
		b := newGB()
		b.input("x0", tensor.Shape{-1, 4})
		b.input("x1", tensor.Shape{-1, 4})
		names := []string{"x0", "x1"}
		n := 2 + r.IntN(25)
		for i := 0; i < n; i++ {
			out := fmt.Sprintf("v%d", i)
			pick := func() string {
				// Prefer recent values so chains form, but reach back sometimes.
				j := len(names) - 1 - r.IntN(min(len(names), 1+r.IntN(6)))
				return names[j]
			}
			switch r.IntN(5) {
			case 0:
				b.node("rtRelu", out, pick())
			case 1, 2:
				b.node("rtAdd", out, pick(), pick())
			case 3:
				b.node("rtDouble", out, pick())
			case 4:
				// flatten and back: both views
				b.node("rtReshape", out, pick()).SetInts("shape", []int64{-1})
				names = append(names, out)
				out2 := fmt.Sprintf("w%d", i)
				b.node("rtReshape", out2, out).SetInts("shape", []int64{-1, 4})
				out = out2
			}
			names = append(names, out)
		}
		// Outputs: the last value and a couple of random ones (maybe a graph input, maybe twice).
		b.output(names[len(names)-1], names[r.IntN(len(names))], names[r.IntN(len(names))])
		shapes := map[string]tensor.Shape{"x0": {3, 4}, "x1": {3, 4}}
		p, err := Compile(b.g, Options{Threads: 1, InputShapes: shapes})
		if err != nil {
			t.Fatalf("iter %d: %v\n%s", iter, err, b.g.Dump())
		}
		x := []*tensor.Tensor{randInput(r, tensor.Shape{3, 4}), randInput(r, tensor.Shape{3, 4})}
		got, err := p.Run(context.Background(), x)
		if err != nil {
			t.Fatal(err)
		}
		want := evalNaive(inferred(t, b.g, shapes), x)
		for i := range want {
			if !got[i].Shape.Equal(want[i].Shape) {
				t.Fatalf("iter %d output %d shape %s want %s", iter, i, got[i].Shape, want[i].Shape)
			}
			for j, w := range want[i].F32() {
				if got[i].F32()[j] != w {
					t.Fatalf("iter %d output %d (%s) [%d] = %g, want %g\n%s\n%s", iter, i, b.g.Outputs[i].Name, j, got[i].F32()[j], w, p.Graph().Dump(), p.Stats())
				}
			}
		}
		// Inputs were copied, not written over.
		p.Close()
	}
}

func TestRunAllocsNothing(t *testing.T) {
	b := chainGraph()
	p, err := Compile(b.g, Options{Threads: 2, InputShapes: map[string]tensor.Shape{"x": {4, 6}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	in := []*tensor.Tensor{randInput(rand.New(rand.NewPCG(2, 2)), tensor.Shape{4, 6})}
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := p.Run(ctx, in); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Run allocates %v times per call", allocs)
	}
}

func BenchmarkRunChain(b *testing.B) {
	g := chainGraph()
	p, err := Compile(g.g, Options{Threads: 1, InputShapes: map[string]tensor.Shape{"x": {64, 6}}})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	in := []*tensor.Tensor{tensor.New(tensor.F32, tensor.Shape{64, 6})}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Run(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCancelStopsRun(t *testing.T) {
	b := newGB()
	b.input("x", tensor.Shape{2})
	prev := "x"
	for i := 0; i < 10; i++ {
		out := fmt.Sprintf("h%d", i)
		b.node("rtHook", out, prev)
		prev = out
	}
	b.output(prev)
	p, err := Compile(b.g, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	runs := 0
	hook = func() {
		runs++
		if runs == 3 {
			cancel()
		}
	}
	defer func() { hook = nil }()
	_, err = p.Run(ctx, []*tensor.Tensor{tensor.New(tensor.F32, tensor.Shape{2})})
	if err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if runs != 3 {
		t.Fatalf("%d steps ran, want 3 (cancelled during the third)", runs)
	}
	// A fresh context runs to completion on the same program.
	runs = -100
	if _, err := p.Run(context.Background(), []*tensor.Tensor{tensor.New(tensor.F32, tensor.Shape{2})}); err != nil {
		t.Fatal(err)
	}
}

func TestRunErrors(t *testing.T) {
	b := chainGraph()
	p, err := Compile(b.g, Options{InputShapes: map[string]tensor.Shape{"x": {2, 6}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tests := []struct {
		name string
		in   []*tensor.Tensor
		want string
	}{
		{"shape", []*tensor.Tensor{tensor.New(tensor.F32, tensor.Shape{3, 6})}, `input "x" is f32[3,6], the program was compiled for f32[2,6]`},
		{"dtype", []*tensor.Tensor{tensor.New(tensor.I32, tensor.Shape{2, 6})}, `input "x" is i32[2,6]`},
		{"count", nil, `0 inputs given, the model takes 1 ["x"]`},
		{"nil", []*tensor.Tensor{nil}, `input "x" is nil`},
		{"short data", []*tensor.Tensor{{DType: tensor.F32, Shape: tensor.Shape{2, 6}, Data: make([]byte, 8)}}, `holds 8 bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Run(context.Background(), tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}

	// Kernel errors name the node and op.
	f := newGB()
	f.input("x", tensor.Shape{2})
	f.node("rtRelu", "a", "x")
	f.node("rtFail", "y", "a")
	f.output("y")
	pf, err := Compile(f.g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	_, err = pf.Run(context.Background(), []*tensor.Tensor{tensor.New(tensor.F32, tensor.Shape{2})})
	if err == nil || !strings.Contains(err.Error(), `node "y_node" (rtFail): deliberate failure`) {
		t.Fatalf("err = %v", err)
	}

	// Compile errors: dynamic input without a shape, unknown op.
	if _, err := Compile(chainGraph().g, Options{}); err == nil || !strings.Contains(err.Error(), `input "x" has dynamic shape [?,6]`) {
		t.Fatalf("err = %v", err)
	}
	u := chainGraph()
	u.g.Nodes[0].Op = "NoSuchOp"
	if _, err := Compile(u.g, Options{InputShapes: map[string]tensor.Shape{"x": {1, 6}}}); err == nil || !strings.Contains(err.Error(), "unsupported op NoSuchOp") {
		t.Fatalf("err = %v", err)
	}
}

// TestDynamicBatch compiles one graph for batch 1 and batch 4: each row of the batch-4 run must equal
// the batch-1 run on that row alone.
func TestDynamicBatch(t *testing.T) {
	b := chainGraph()
	p1, err := Compile(b.g, Options{InputShapes: map[string]tensor.Shape{"x": {1, 6}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p1.Close()
	p4, err := Compile(b.g, Options{InputShapes: map[string]tensor.Shape{"x": {4, 6}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p4.Close()
	x4 := randInput(rand.New(rand.NewPCG(4, 4)), tensor.Shape{4, 6})
	out4, err := p4.Run(context.Background(), []*tensor.Tensor{x4})
	if err != nil {
		t.Fatal(err)
	}
	if got := out4[0].Shape.String(); got != "[4,2,3]" {
		t.Fatalf("batch-4 output shape %s", got)
	}
	if p4.Stats().ArenaBytes <= p1.Stats().ArenaBytes {
		t.Errorf("batch 4 arena %d not larger than batch 1 arena %d", p4.Stats().ArenaBytes, p1.Stats().ArenaBytes)
	}
	for row := 0; row < 4; row++ {
		x1 := tensor.FromF32(tensor.Shape{1, 6}, x4.F32()[row*6:(row+1)*6])
		out1, err := p1.Run(context.Background(), []*tensor.Tensor{x1})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range out1[0].F32() {
			if w := out4[0].F32()[row*6+i]; v != w {
				t.Fatalf("row %d elem %d: batch-1 %g, batch-4 %g", row, i, v, w)
			}
		}
	}
}
