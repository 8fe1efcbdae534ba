package wanwu

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/testutil"
	"github.com/wanwu-ai/wanwu/runtime"
)

// PredictBatches must count what the compiled batch programs hold together: the arena of the largest,
// each weight and packed copy once (the batch programs share them), plus what the model holds outside
// its programs.
func TestPredictBatchesMatchesPrograms(t *testing.T) {
	path := filepath.Join(testutil.RepoRoot(t), "testdata", "models", "resnet50_tiny", "model.onnx")
	for _, prec := range []string{"fp32", "fp16", "int8"} {
		t.Run(prec, func(t *testing.T) {
			m, err := Load(context.Background(), path, WithPrecision(prec), WithInputSize(64), WithClasses([]int{1, 3, 7}))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			one, err := m.PredictBatches(nil)
			if err != nil {
				t.Fatal(err)
			}
			if c := m.Config().Breakdown; one.Weights != c.Weights || one.Packed != c.Packed || one.Arena != c.Arena || one.Decode != 0 {
				t.Errorf("PredictBatches(nil) %s; Load predicted %s", one, c)
			}
			for _, n := range []int{4, 3, 2} {
				if err := m.PrepareBatch(n); err != nil {
					t.Fatal(err)
				}
			}
			stats := []runtime.Stats{m.prog.Stats()}
			for _, n := range []int{2, 3, 4} {
				stats = append(stats, m.batches[n].prog.Stats())
			}
			u := runtime.Union(stats...)
			b, err := m.PredictBatches([]int{1, 2, 3, 4})
			if err != nil {
				t.Fatal(err)
			}
			held := m.held(b, m.ropts.Precision).Weights - b.Weights // what held adds once more
			if b.Arena != u.ArenaBytes || b.Packed != u.PackedBytes || b.Weights != u.ConstBytes+held {
				t.Errorf("predicted %s; the compiled programs hold arena %d, packed %d, constants %d (+%d held)",
					b, u.ArenaBytes, u.PackedBytes, u.ConstBytes, held)
			}
			if int64(m.shared.ArenaBytes()) != b.Arena {
				t.Errorf("shared arena %d bytes, predicted %d", m.shared.ArenaBytes(), b.Arena)
			}
			if b.Weights+b.Packed > one.Weights+one.Packed+one.Weights/20+4096 {
				t.Errorf("4 programs predicted with weights %d + packed %d, one with %d + %d: not shared",
					b.Weights, b.Packed, one.Weights, one.Packed)
			}
			if b.Runtime <= one.Runtime {
				t.Errorf("runtime part %d with 4 programs, %d with one: programs beyond the first cost nothing", b.Runtime, one.Runtime)
			}
		})
	}
}

// Under a budget ClassifyBatch compiles a program for a larger batch only when it fits with the photos;
// otherwise it runs the largest chunk that fits, with the same answers.
func TestClassifyBatchWithinBudget(t *testing.T) {
	path := filepath.Join(testutil.RepoRoot(t), "testdata", "models", "resnet50_tiny", "model.onnx")
	imgs := decodeShared(t, "parrot.jpg", "cat.bmp", "hot_dog.jpg", "bird.bmp", "owl.jpg")
	var photos int64
	for _, img := range imgs {
		photos += int64(len(img.Pix))
	}
	ctx := context.Background()
	// The photos are decoded already: Load's prediction need not reserve another (WithPhotoPixels).
	opts := []Option{WithPrecision("fp32"), WithInputSize(96), WithPhotoPixels(1)}
	probe, err := Load(ctx, path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	// What ClassifyBatch weighs against the budget (chunkLocked): the batch-1 program and one for n,
	// with the photos held (their bytes count in the heap slack too).
	need := map[int]int64{}
	for _, n := range []int{1, 2, 3, 5} {
		probe.mu.Lock()
		b, err := probe.predictBatchesLocked([]int{n}, photos)
		probe.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		need[n] = b.Total()
	}
	want := make([][]Prediction, len(imgs))
	for i, img := range imgs {
		r, err := probe.Classify(ctx, img, 3)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = r.Predictions
	}
	probe.Close()
	if !(need[1] < need[2] && need[2] < need[3] && need[3] < need[5]) {
		t.Fatalf("predictions do not grow with the batch: %v", need)
	}
	for _, tc := range []struct {
		budget   int64
		compiled []int // batch programs compiled afterwards
	}{
		{need[5] + 1<<20, []int{5}},         // the whole batch fits
		{(need[2] + need[3]) / 2, []int{2}}, // runs 2+2+1: the batch-2 program fits, the batch-3 one does not
		{need[2] - 1, nil},                  // only the batch-1 program: one by one
	} {
		m, err := Load(ctx, path, append([]Option{WithBudget(tc.budget, "test")}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.ClassifyBatch(ctx, imgs, 3)
		if err != nil {
			t.Fatal(err)
		}
		for i := range imgs {
			for j, p := range want[i] {
				if g := got[i].Predictions[j]; g.Index != p.Index || g.Score-p.Score > 1e-5 || p.Score-g.Score > 1e-5 {
					t.Errorf("budget %d photo %d rank %d: %+v, alone %+v", tc.budget, i, j, g, p)
				}
			}
		}
		var compiled []int
		for n := range m.batches {
			compiled = append(compiled, n)
		}
		if len(compiled) != len(tc.compiled) || (len(compiled) == 1 && compiled[0] != tc.compiled[0]) {
			t.Errorf("budget %d (batch 1 needs %d, 2 %d, 3 %d, 5 %d): batch programs %v compiled, want %v",
				tc.budget, need[1], need[2], need[3], need[5], compiled, tc.compiled)
		}
		b, err := m.PredictBatches(append(compiled, 1))
		if err != nil {
			t.Fatal(err)
		}
		if b.Total()+photos > tc.budget {
			t.Errorf("budget %d: the compiled programs and photos need %d", tc.budget, b.Total()+photos)
		}
		m.Close()
	}
}

// Thread counts past runtime.MaxThreads are refused by Load and PlanConfigs alike.
func TestWithThreadsCapped(t *testing.T) {
	path := filepath.Join(testutil.RepoRoot(t), "testdata", "models", "mobilenet_v2_tiny", "model.onnx")
	for _, n := range []int{-1, runtime.MaxThreads() + 1, 1_000_000} {
		if m, err := Load(context.Background(), path, WithThreads(n)); err == nil || !strings.Contains(err.Error(), "threads") {
			t.Errorf("Load WithThreads(%d): %v", n, err)
			if m != nil {
				m.Close()
			}
		}
		if _, err := PlanConfigs(context.Background(), path, 1<<30, WithThreads(n)); err == nil {
			t.Errorf("PlanConfigs WithThreads(%d) succeeded", n)
		}
	}
	m, err := Load(context.Background(), path, WithThreads(runtime.MaxThreads()), WithInputSize(64))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if c := m.Config(); c.Threads != runtime.MaxThreads() || m.Stats().Threads != runtime.MaxThreads() {
		t.Errorf("config %s, program threads %d; want %d", c, m.Stats().Threads, runtime.MaxThreads())
	}
}

// A model whose input size overflows (2^31×2^31 and beyond) gets an error naming the input and its
// shape from Load and PlanConfigs, not a wrong figure; a size asked for that overflows likewise.
func TestHugeInputRefused(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		dims []any
		opts []Option
		want string
	}{
		{[]any{int64(1), int64(3), int64(1 << 31), int64(1 << 31)}, nil, `input "x": shape [1,3,2147483648,2147483648] of f32 is too large: it needs more than 256 TiB`},
		{[]any{"N", int64(3), int64(1 << 31), int64(1 << 31)}, nil, `input "x": shape [?,3,2147483648,2147483648] of f32`},
		{[]any{int64(1), int64(3), int64(1 << 62), int64(4)}, nil, `input "x": shape [1,3,4611686018427387904,4]: dimension 2 is 4611686018427387904`},
		{[]any{"N", int64(3), "H", "W"}, []Option{WithInputSize(1 << 31)}, `input "x": shape [1,3,2147483648,2147483648] of f32`},
	} {
		path := testutil.ImageModel(t, tc.dims...)
		for _, budget := range []int64{0, 1 << 30} {
			opts := tc.opts
			if budget > 0 {
				opts = append(opts, WithBudget(budget, "test"))
			}
			m, err := Load(ctx, path, opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v budget %d: Load: %v; want %q", tc.dims, budget, err, tc.want)
			}
			if m != nil {
				m.Close()
			}
		}
		if _, err := PlanConfigs(ctx, path, 1<<30, tc.opts...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: PlanConfigs: %v; want %q", tc.dims, err, tc.want)
		}
	}
	// A large but representable input is planned with its true size and refused by the budget.
	path := testutil.ImageModel(t, int64(1), int64(3), int64(1<<20), int64(1<<20))
	p, err := PlanConfigs(ctx, path, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if p.Chosen != nil || p.Smallest().PredictedPeakBytes < 12<<40 {
		t.Errorf("a 2^20×2^20 input: chosen %v, smallest needs %d; want nothing under 1 GiB and at least 12 TiB",
			p.Chosen, p.Smallest().PredictedPeakBytes)
	}
}
