package wanwu

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/memory"
)

// `wanwu plan` (PlanConfigs) must choose exactly what `classify` (Load under the same budget) chooses
// and predict the same peak for it, over budgets around every candidate's prediction, for ONNX models
// with a dynamic size (fp32/fp16/int8), a model pruned to a class subset and a quantized TFLite file;
// where nothing fits, both refuse.
func TestPlanChoosesWhatLoadChooses(t *testing.T) {
	root := testutil.RepoRoot(t)
	tflite := testutil.Shared(t, "models", "mobilenet_v1_0.25_128_quant.tflite")
	cases := []struct {
		name  string
		model string
		opts  []Option
	}{
		{"resnet50_tiny", filepath.Join(root, "testdata", "models", "resnet50_tiny", "model.onnx"), nil},
		{"mobilenet_v2_tiny/threads1", filepath.Join(root, "testdata", "models", "mobilenet_v2_tiny", "model.onnx"), []Option{WithThreads(1)}},
		{"resnest_tiny_bn/classes", filepath.Join(root, "testdata", "models", "resnest_tiny_bn", "model.onnx"), []Option{WithClasses([]int{0, 2, 5})}},
		{"resnet50_tiny/size96", filepath.Join(root, "testdata", "models", "resnet50_tiny", "model.onnx"), []Option{WithInputSize(96)}},
		{"mobilenet_v1_quant", tflite, nil},
		{"mobilenet_v1_quant/classes", tflite, []Option{WithClasses([]int{1, 5, 900})}},
	}
	ctx := context.Background()
	for _, tc := range cases {
		// Two threads unless the case sets them: per-thread scratch moves the candidates' peaks, and the
		// budgets below must reach several choices on a machine of any size.
		tc.opts = append([]Option{WithThreads(2)}, tc.opts...)
		t.Run(tc.name, func(t *testing.T) {
			all, err := PlanConfigs(ctx, tc.model, 1<<50, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			var budgets []int64
			for _, c := range all.Candidates {
				budgets = append(budgets, c.PredictedPeakBytes, c.PredictedPeakBytes-1, c.PredictedPeakBytes+1<<20)
			}
			budgets = append(budgets, 1<<20, 1<<40)
			slices.Sort(budgets)
			budgets = slices.Compact(budgets)
			sawNone, sawChoices := false, map[string]bool{}
			for _, budget := range budgets {
				p, err := PlanConfigs(ctx, tc.model, budget, tc.opts...)
				if err != nil {
					t.Fatal(err)
				}
				m, err := Load(ctx, tc.model, append([]Option{WithBudget(budget, "test")}, tc.opts...)...)
				if p.Chosen == nil {
					sawNone = true
					var nf *memory.NoFitError
					if !errors.As(err, &nf) {
						t.Errorf("budget %d: plan fits nothing, Load: %v", budget, err)
					} else if nf.Smallest.PredictedPeakBytes != p.Smallest().PredictedPeakBytes {
						t.Errorf("budget %d: Load says the smallest needs %d, plan %d", budget, nf.Smallest.PredictedPeakBytes, p.Smallest().PredictedPeakBytes)
					}
					if m != nil {
						m.Close()
					}
					continue
				}
				if err != nil {
					t.Errorf("budget %d: plan chose %s, Load failed: %v", budget, p.Chosen, err)
					continue
				}
				got, want := m.Config(), *p.Chosen
				if got.Precision != want.Precision || got.Size != want.Size || got.Batch != want.Batch ||
					got.Threads != want.Threads || got.Labels != want.Labels || got.PredictedPeakBytes != want.PredictedPeakBytes {
					t.Errorf("budget %d: Load chose %s predicting %d, plan %s predicting %d", budget, got, got.PredictedPeakBytes, want, want.PredictedPeakBytes)
				}
				if h, _ := m.InputSize(); h != want.Size || m.Precision() != want.Precision {
					t.Errorf("budget %d: Load runs %s at %d, plan chose %s", budget, m.Precision(), h, want)
				}
				sawChoices[want.String()] = true
				m.Close()
			}
			if !sawNone || len(sawChoices) < min(len(all.Candidates), 2) {
				t.Errorf("budgets reached %d choices (of %d candidates), none-fit %v: the test does not exercise the choice",
					len(sawChoices), len(all.Candidates), sawNone)
			}
		})
	}
}

// The candidate list: a dynamic model's own default size first and the PlanSizes below it, every
// precision, best first, fp32 and fp16 with Winograd ("+w") before the same without; an asked size
// or precision narrows it, WithoutWinograd leaves the Winograd ones out.
func TestCandidates(t *testing.T) {
	root := testutil.RepoRoot(t)
	model := filepath.Join(root, "testdata", "models", "resnet50_tiny", "model.onnx")
	for _, tc := range []struct {
		name string
		opts []Option
		base int // the default size (a sidecar could set it; here WithPreprocess does)
		want []string
	}{
		{"default", nil, 224, []string{"fp32/224+w", "fp32/224", "fp32/192+w", "fp32/192", "fp32/160+w", "fp32/160", "fp32/128+w", "fp32/128",
			"fp16/224+w", "fp16/224", "fp16/192+w", "fp16/192", "fp16/160+w", "fp16/160", "fp16/128+w", "fp16/128",
			"int8/224", "int8/192", "int8/160", "int8/128"}},
		{"size", []Option{WithInputSize(96)}, 224, []string{"fp32/96+w", "fp32/96", "fp16/96+w", "fp16/96", "int8/96"}},
		{"precision", []Option{WithPrecision("fp16"), WithoutWinograd()}, 224, []string{"fp16/224", "fp16/192", "fp16/160", "fp16/128"}},
		{"base 160", []Option{WithPrecision("int8")}, 160, []string{"int8/160", "int8/128"}},
		{"base 256", []Option{WithPrecision("fp32")}, 256, []string{"fp32/256+w", "fp32/256", "fp32/224+w", "fp32/224", "fp32/192+w", "fp32/192",
			"fp32/160+w", "fp32/160", "fp32/128+w", "fp32/128"}},
		{"no Winograd", []Option{WithPrecision("fp32"), WithoutWinograd()}, 224, []string{"fp32/224", "fp32/192", "fp32/160", "fp32/128"}},
	} {
		cfg := newConfig(tc.opts)
		m, ii, err := open(context.Background(), model, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ii.baseSize = tc.base
		cs, err := m.candidates(cfg, ii)
		m.g.Close()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range cs {
			w := ""
			if c.Winograd {
				w = "+w"
			}
			got = append(got, c.Precision+"/"+itoa(c.Size)+w)
			if c.Batch != 1 || c.Threads < 1 {
				t.Errorf("%s: candidate %+v", tc.name, c)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: candidates %v, want %v", tc.name, got, tc.want)
		}
	}
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

// Under a budget that holds fp32 at full size only without Winograd's weights, Load and PlanConfigs
// choose that (as accurate, slower) before a smaller size or precision, and the program compiled
// holds the packed weights predicted for it.
func TestBudgetDropsWinogradFirst(t *testing.T) {
	model := filepath.Join(testutil.RepoRoot(t), "testdata", "models", "resnet50_tiny", "model.onnx")
	ctx := context.Background()
	opts := []Option{WithThreads(2)}
	all, err := PlanConfigs(ctx, model, 1<<50, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Candidates) < 2 {
		t.Fatalf("%d candidates", len(all.Candidates))
	}
	wino, lean := all.Candidates[0], all.Candidates[1]
	if !wino.Winograd || lean.Winograd || wino.Precision != "fp32" || lean.Precision != "fp32" || wino.Size != lean.Size {
		t.Fatalf("the first two candidates are %s and %s; want fp32 at one size with and without Winograd", wino, lean)
	}
	if wino.PredictedPeakBytes <= lean.PredictedPeakBytes || wino.Breakdown.Packed <= lean.Breakdown.Packed {
		t.Fatalf("Winograd predicts %d bytes (packed %d), without %d (packed %d): want more", wino.PredictedPeakBytes,
			wino.Breakdown.Packed, lean.PredictedPeakBytes, lean.Breakdown.Packed)
	}
	budget := lean.PredictedPeakBytes
	p, err := PlanConfigs(ctx, model, budget, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if p.Chosen == nil || p.Chosen.Winograd || p.Chosen.Size != lean.Size || p.Chosen.Precision != "fp32" {
		t.Fatalf("budget %d: plan chose %v, want %s", budget, p.Chosen, lean)
	}
	m, err := Load(ctx, model, append([]Option{WithBudget(budget, "test")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if c := m.Config(); c.Winograd || c.Size != lean.Size || c.Breakdown.Packed != lean.Breakdown.Packed {
		t.Errorf("Load under %d bytes runs %s with packed %d; want %s with packed %d", budget, c, c.Breakdown.Packed, lean, lean.Breakdown.Packed)
	}
}
