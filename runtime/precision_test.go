package runtime_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tensorio"
)

// Accuracy bounds of Precision "int8" against fp32 on the PyTorch fixtures (measured, with margin:
// see docs/precision.md for the figures).
const (
	int8MaxProbDiff = 0.05
)

// compareInt8 runs g at fp32 and int8 on in and returns top-1 agreements (rows), rows, max |Δp|.
func compareInt8(t testing.TB, g *graph.Graph, in *tensor.Tensor, threads int, tie func(row int, margin float64)) (agree, rows int, maxDP float64, ops map[string]int) {
	shapes := map[string]tensor.Shape{g.Inputs[0].Name: in.Shape}
	var outs [2][]float32
	ops = map[string]int{}
	for i, prec := range []string{"fp32", "int8"} {
		p, err := runtime.Compile(g, runtime.Options{Threads: threads, InputShapes: shapes, Precision: prec})
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.Run(context.Background(), []*tensor.Tensor{in})
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = append([]float32(nil), out[0].F32()...)
		if prec == "int8" {
			for _, s := range p.Stats().Steps {
				ops[s.Op]++
			}
		}
		p.Close()
	}
	classes := g.Outputs[0].Shape[len(g.Outputs[0].Shape)-1]
	if classes < 0 {
		classes = len(outs[0]) / in.Shape[0]
	}
	pf, pq := testutil.SoftmaxRows(outs[0], classes), testutil.SoftmaxRows(outs[1], classes)
	rows = len(pf) / classes
	for i := range pf {
		maxDP = max(maxDP, math.Abs(pf[i]-pq[i]))
	}
	for r := 0; r < rows; r++ {
		rf, rq := pf[r*classes:(r+1)*classes], pq[r*classes:(r+1)*classes]
		if bf, bq := testutil.Argmax(rf), testutil.Argmax(rq); bf == bq {
			agree++
		} else if tie != nil {
			// A swap is only excusable between classes fp32 itself cannot separate by more than the
			// probability error int8 is allowed.
			tie(r, rf[bf]-rf[bq])
		}
	}
	return agree, rows, maxDP, ops
}

// TestInt8MatchesFP32 runs every PyTorch fixture at int8 and fp32: no softmax probability may move by
// more than int8MaxProbDiff, and the top-1 class must agree on every row of both data sets unless fp32
// itself ranks the two classes within 0.01 of each other (the fixtures are random-weight models whose
// 1000 probabilities are nearly flat, so such near-ties occur).
func TestInt8MatchesFP32(t *testing.T) {
	for _, m := range tinyModels {
		t.Run(m.name, func(t *testing.T) {
			dir := filepath.Join(testutil.RepoRoot(t), "testdata", "models", m.name)
			g, err := onnx.Load(filepath.Join(dir, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			for _, set := range []string{"test_data_set_0", "test_data_set_1"} {
				in, _, err := tensorio.ReadFile(filepath.Join(dir, set, "input_0.pb"))
				if err != nil {
					t.Fatal(err)
				}
				ties := 0
				agree, rows, dp, ops := compareInt8(t, g, in, 2, func(r int, margin float64) {
					t.Logf("%s row %d: top-1 swapped; fp32's own margin between the two classes is %.5f", set, r, margin)
					if margin > 2*int8MaxProbDiff/10 {
						t.Errorf("%s row %d: top-1 differs from fp32 although fp32 separates them by %.4f", set, r, margin)
					}
					ties++
				})
				t.Logf("%s %s: top-1 agrees %d/%d, max |Δp| %.4f; int8 ops %v", set, in.Shape, agree, rows, dp, ops)
				if ops[graph.OpDynQConv] == 0 {
					t.Errorf("no DynQConv in the int8 program")
				}
				if agree+ties != rows {
					t.Errorf("%s: top-1 differs from fp32 on %d of %d rows", set, rows-agree, rows)
				}
				if dp > int8MaxProbDiff {
					t.Errorf("%s: max probability difference %.4f > %g", set, dp, int8MaxProbDiff)
				}
			}
		})
	}
}

// TestInt8FullModels reports int8 vs fp32 on the full-size exported models (make models); skipped
// where absent or under -short. Those are seeded random-weight networks on noise inputs, whose
// softmax is nearly flat, so top-1 must agree except between classes fp32 ranks within 0.01.
func TestInt8FullModels(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size models under -short")
	}
	for _, name := range []string{"mobilenet_v2", "resnet50", "resnest101_54k"} {
		t.Run(name, func(t *testing.T) {
			dir := testutil.ExportedModel(t, name)
			if name == "resnest101_54k" && os.Getenv("WANWU_BIG") == "" {
				t.Skip("set WANWU_BIG=1 for the 600 MB model")
			}
			g, err := onnx.Load(filepath.Join(dir, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
			for _, set := range sets {
				in, _, err := tensorio.ReadFile(filepath.Join(set, "input_0.pb"))
				if err != nil {
					t.Fatal(err)
				}
				ties := 0
				agree, rows, dp, _ := compareInt8(t, g, in, 2, func(r int, margin float64) {
					t.Logf("%s row %d: top-1 swapped; fp32's own margin between the two classes is %.6f", filepath.Base(set), r, margin)
					if margin > 2*int8MaxProbDiff/10 {
						t.Errorf("row %d: top-1 differs from fp32 although fp32 separates them by %.4f", r, margin)
					}
					ties++
				})
				t.Logf("%s %s: top-1 agrees %d/%d, max |Δp| %.4f", filepath.Base(set), in.Shape, agree, rows, dp)
				if agree+ties != rows {
					t.Errorf("%s: top-1 differs from fp32 on %d of %d rows", set, rows-agree, rows)
				}
			}
		})
	}
}
