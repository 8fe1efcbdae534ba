package runtime

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// convWindowMACs counts a Conv node's multiply-accumulates from its shapes, independently of the
// runtime's own count: every output element takes Cin/group × kh × kw products.
func convWindowMACs(t *testing.T, n *graph.Node) int64 {
	t.Helper()
	x, y := n.Input(0).Shape, n.Outputs[0].Shape
	var kh, kw int64
	if ws := n.Ints(graph.AttrWeightShape, nil); len(ws) == 4 { // F16Conv: W is packed, its shape an attribute
		kh, kw = ws[2], ws[3]
	} else {
		w := n.Input(1).Shape
		kh, kw = int64(w[2]), int64(w[3])
	}
	return int64(y.NumElements()) * int64(x[1]) / n.Int("group", 1) * kh * kw
}

func TestRunProfiled(t *testing.T) {
	g := loadTiny(t, "resnet50_tiny")
	shape := tensor.Shape{1, 3, 64, 64}
	in := []*tensor.Tensor{randInput(rand.New(rand.NewPCG(5, 6)), shape)}
	shapes := map[string]tensor.Shape{g.Inputs[0].Name: shape}
	observed, err := Compile(g, Options{Threads: 1, InputShapes: shapes, AfterStep: func(*graph.Node, []*tensor.Tensor) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer observed.Close()
	for _, prec := range []string{"fp32", "fp16"} {
		t.Run(prec, func(t *testing.T) {
			p, err := Compile(g, Options{Threads: 2, InputShapes: shapes, Precision: prec})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			want, err := p.Run(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			want0 := want[0].Clone()

			const runs = 5
			prof := p.NewProfile()
			for range runs {
				got, err := p.RunProfiled(context.Background(), in, prof)
				if err != nil {
					t.Fatal(err)
				}
				checkClose(t, "profiled output", got[0], want0)
			}
			if prof.Runs != runs {
				t.Fatalf("Runs = %d, want %d", prof.Runs, runs)
			}

			// Every step of the program, in order, and only those; the program profiled is the fused
			// one (fewer steps than the observed program, whose residual Adds stay apart).
			st := p.Stats()
			if len(prof.Steps) != st.NumSteps {
				t.Fatalf("%d profiled steps, the program runs %d", len(prof.Steps), st.NumSteps)
			}
			if st.NumSteps >= observed.Stats().NumSteps {
				t.Errorf("profiled program has %d steps, the unfused one %d: fusions are off", st.NumSteps, observed.Stats().NumSteps)
			}
			nodes := map[string]*graph.Node{}
			for _, n := range p.Graph().Nodes {
				nodes[n.Name] = n
			}
			j := 0
			for _, row := range st.Steps {
				if row.Alias {
					continue
				}
				s := &prof.Steps[j]
				j++
				if s.Node != row.Node || s.Op != row.Op {
					t.Fatalf("step %d is %s (%s), the program's is %s (%s)", j-1, s.Node, s.Op, row.Node, row.Op)
				}
				if s.Min <= 0 || s.Min > s.Mean() || s.Mean() > s.Max || s.Total < time.Duration(runs)*s.Min {
					t.Errorf("%s: min %v mean %v max %v total %v: inconsistent", s.Node, s.Min, s.Mean(), s.Max, s.Total)
				}
				switch s.Op {
				case "Conv", graph.OpF16Conv:
					if m := convWindowMACs(t, nodes[s.Node]); s.MACs != m {
						t.Errorf("%s: MACs %d, its shapes give %d", s.Node, s.MACs, m)
					}
					want := 2 * float64(s.MACs) / s.Mean().Seconds() / 1e9
					if got := s.GFLOPS(); math.Abs(got-want) > 1e-9*want || got <= 0 {
						t.Errorf("%s: GFLOPS %g, want 2·MACs/mean = %g", s.Node, got, want)
					}
				default:
					if s.MACs == 0 && s.GFLOPS() != 0 {
						t.Errorf("%s: GFLOPS %g without MACs", s.Node, s.GFLOPS())
					}
				}
			}
			wantOp := map[string]string{"fp32": "Conv", "fp16": graph.OpF16Conv}[prec]
			if !slices.ContainsFunc(prof.Steps, func(s StepTime) bool { return s.Op == wantOp && s.MACs > 0 }) {
				t.Fatalf("no %s step with MACs in the %s program", wantOp, prec)
			}

			// The steps tile each run: their sum is the wall time less only the input copy and the
			// call around the steps. Never more than the wall; at least 90 % of it in one of a few
			// single runs (a run the host preempted outside the steps, or a GC pause, may leave more
			// out: the machine is shared).
			sum := prof.StepsTotal()
			if sum > prof.Wall {
				t.Errorf("steps sum to %v, more than the %v wall", sum, prof.Wall)
			}
			tiled := false
			var one *Profile
			for attempt := 0; attempt < 10 && !tiled; attempt++ {
				one = p.NewProfile()
				if _, err := p.RunProfiled(context.Background(), in, one); err != nil {
					t.Fatal(err)
				}
				s := one.StepsTotal()
				tiled = s <= one.Wall && float64(s) >= 0.9*float64(one.Wall)
			}
			if !tiled {
				t.Errorf("in ten single runs the steps never summed to 90 %% of the wall (last: %v of %v)", one.StepsTotal(), one.Wall)
			}
			var byOp, byOpMin, mins time.Duration
			var macs int64
			for _, o := range prof.ByOp() {
				byOp += o.Total
				byOpMin += o.Min
				macs += o.MACs
			}
			for _, s := range prof.Steps {
				mins += s.Min
			}
			if byOp != sum || byOpMin != mins || macs != st.MACs {
				t.Errorf("ByOp sums to %v (minima %v) and %d MACs, want %v (%v) and %d", byOp, byOpMin, macs, sum, mins, st.MACs)
			}
			slow := prof.Slowest(3)
			for i := 1; i < len(slow); i++ {
				if prof.Steps[slow[i]].Total > prof.Steps[slow[i-1]].Total {
					t.Errorf("Slowest not in order: %v", slow)
				}
			}
			if _, err := observed.RunProfiled(context.Background(), in, prof); err == nil {
				t.Error("RunProfiled accepted another program's Profile")
			}
		})
	}
}

// TestRunProfiledAllocsNothing: profiling keeps Run's promise of no allocation.
func TestRunProfiledAllocsNothing(t *testing.T) {
	b := chainGraph()
	p, err := Compile(b.g, Options{Threads: 1, InputShapes: map[string]tensor.Shape{"x": {4, 6}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	in := []*tensor.Tensor{randInput(rand.New(rand.NewPCG(1, 1)), tensor.Shape{4, 6})}
	prof := p.NewProfile()
	if a := testing.AllocsPerRun(10, func() {
		if _, err := p.RunProfiled(context.Background(), in, prof); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Fatalf("RunProfiled allocates %v times per call", a)
	}
}
