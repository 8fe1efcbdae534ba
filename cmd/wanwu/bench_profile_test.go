package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

const tinyResNet50 = "../../testdata/models/resnet50_tiny/model.onnx"

// TestBenchProfileJSON: `bench --profile` lists every step of the compiled program once, shares that
// sum to the whole, op totals that sum the nodes, and GFLOP/s from each node's MACs and time.
func TestBenchProfileJSON(t *testing.T) {
	out, stderr, code := benchCLI(t, "--model", tinyResNet50, "--size", "64", "--threads", "1",
		"--iters", "4", "--warmup", "1", "--profile", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	p := r.Profile
	if p == nil {
		t.Fatalf("no profile in %s", out)
	}
	g, _, err := wanwu.ImportGraph(tinyResNet50)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	st, err := runtime.Estimate(g, runtime.Options{Threads: 1, InputShapes: map[string]tensor.Shape{g.Inputs[0].Name: {1, 3, 64, 64}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Runs != 4 || len(p.Nodes) != st.NumSteps {
		t.Fatalf("%d runs, %d nodes; want 4 runs and the program's %d steps", p.Runs, len(p.Nodes), st.NumSteps)
	}
	var want []runtime.StepStat
	for _, s := range st.Steps {
		if !s.Alias {
			want = append(want, s)
		}
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(math.Abs(a), math.Abs(b))+1e-9 }
	var nodeMS, nodePct float64
	opMS := map[string]float64{}
	for i, n := range p.Nodes {
		if n.Node != want[i].Node || n.Op != want[i].Op || n.MACs != want[i].MACs {
			t.Fatalf("node %d: %s %s %d MACs, the program's step is %s %s %d MACs", i, n.Node, n.Op, n.MACs, want[i].Node, want[i].Op, want[i].MACs)
		}
		if !(0 < n.MinMS && n.MinMS <= n.MS && n.MS <= n.MaxMS) {
			t.Errorf("%s: min %v mean %v max %v", n.Node, n.MinMS, n.MS, n.MaxMS)
		}
		if g := 2 * float64(n.MACs) / (n.MS * 1e6); !near(n.GFLOPS, g) {
			t.Errorf("%s: %v GFLOP/s, 2·MACs/time gives %v", n.Node, n.GFLOPS, g)
		}
		nodeMS += n.MS
		nodePct += n.Pct
		opMS[n.Op] += n.MS
	}
	if !near(nodeMS, p.StepsMS) || !near(nodePct, 100) {
		t.Errorf("nodes sum to %v ms (%v %%), steps_ms %v", nodeMS, nodePct, p.StepsMS)
	}
	if !(0 < p.MinMS && p.MinMS <= p.MedianMS) {
		t.Errorf("profiled min %v, median %v", p.MinMS, p.MedianMS)
	}
	if !(90 <= p.StepsPct && p.StepsPct <= 100) {
		t.Errorf("steps are %v %% of the wall time", p.StepsPct)
	}
	for i, o := range p.Ops {
		if !near(o.MS, opMS[o.Op]) {
			t.Errorf("op %s: %v ms, its nodes sum to %v", o.Op, o.MS, opMS[o.Op])
		}
		if i > 0 && o.MS > p.Ops[i-1].MS {
			t.Errorf("ops not sorted by time: %s after %s", o.Op, p.Ops[i-1].Op)
		}
	}
	if p.Ops[0].Op != "Conv" || p.Ops[0].GFLOPS <= 0 {
		t.Errorf("ResNet's time should go to Conv, with a rate: %+v", p.Ops[0])
	}
}

func TestBenchProfileText(t *testing.T) {
	out, stderr, code := benchCLI(t, "--model", tinyResNet50, "--size", "64", "--iters", "2", "--warmup", "0", "--profile", "--top", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	blocks := strings.Split(strings.TrimSpace(out), "\n\n")
	if len(blocks) != 4 || !strings.HasPrefix(blocks[1], "profile: 2 runs") || !strings.HasPrefix(blocks[2], "op type") {
		t.Fatalf("want the bench row, a profile summary, the op table and the node table:\n%s", out)
	}
	if rows := strings.Split(blocks[3], "\n"); len(rows) != 1+3 || !strings.Contains(rows[0], "GFLOP/s") {
		t.Errorf("--top 3: want a header and 3 nodes, got\n%s", blocks[3])
	}
	if _, stderr, code := benchCLI(t, "--model", tinyResNet50, "--profile", "--top", "-1"); code != exitUsage {
		t.Errorf("--top -1: exit %d (%s), want a usage error", code, stderr)
	}
}
