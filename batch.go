package wanwu

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/memory"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// batchProgram is a program compiled for one batch size. Every program of a model is compiled with the
// model's runtime.Shared: they read one copy of the (converted, packed) weights, run in one arena as
// large as the largest program's and on one worker pool.
type batchProgram struct {
	prog *runtime.Program
}

// BatchDynamic reports whether the model's batch dimension is dynamic, so ClassifyBatch can run several
// photos in one program run. Models with a fixed batch of 1 (all TFLite files) still accept batches;
// ClassifyBatch then runs the photos one after another on the batch-1 program.
func (m *Model) BatchDynamic() bool {
	return len(m.g.Inputs) == 1 && len(m.g.Inputs[0].Shape) == 4 && m.g.Inputs[0].Shape[0] < 0
}

// SizeDynamic reports whether the model's spatial input size is dynamic (so WithInputSize may change it).
func (m *Model) SizeDynamic() bool {
	s := m.g.Inputs[0].Shape
	if len(s) != 4 {
		return false
	}
	return s[1] < 0 || s[2] < 0 || s[3] < 0
}

// batchShape is the input shape for a batch of n.
func (m *Model) batchShape(n int) tensor.Shape {
	s := m.ropts.InputShapes[m.g.Inputs[0].Name].Clone()
	s[0] = n
	return s
}

// BatchStats plans (without allocating) the program for a batch of n photos. For a model with a fixed
// batch it returns the batch-1 program's stats. Its weights are shared with the model's other programs:
// PredictBatches gives what a set of them costs together.
func (m *Model) BatchStats(n int) (runtime.Stats, error) {
	if n < 1 {
		panic(fmt.Sprintf("wanwu: BatchStats(%d)", n))
	}
	if n == 1 || !m.BatchDynamic() {
		return m.Stats(), nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.estimateLocked(n)
}

// estimateLocked is runtime.Estimate of the program for a batch of n, cached.
func (m *Model) estimateLocked(n int) (runtime.Stats, error) {
	if st, ok := m.estimates[n]; ok {
		return st, nil
	}
	st, err := runtime.Estimate(m.g, m.batchOptions(n))
	if err != nil {
		return st, fmt.Errorf("%s: batch of %d: %w", m.Path, n, err)
	}
	if m.estimates == nil {
		m.estimates = map[int]runtime.Stats{}
	}
	m.estimates[n] = st
	return st, nil
}

// PredictBatches predicts the model's memory with a program compiled for each batch size in sizes
// (the batch-1 program always counts; a model with a fixed batch has no other): each weight and packed
// copy once, one arena as large as the largest program's, the process base, the worker pool and each
// further program's own state (memory.Predict of runtime.Union). Nothing is compiled. Decode is 0: the
// photos are not part of it. `wanwu serve` reserves this for its lifetime.
func (m *Model) PredictBatches(sizes []int) (memory.Breakdown, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.predictBatchesLocked(sizes, 0)
}

func (m *Model) predictBatchesLocked(sizes []int, decode int64) (memory.Breakdown, error) {
	want := []int{1}
	for _, n := range sizes {
		if n < 1 {
			return memory.Breakdown{}, fmt.Errorf("wanwu: batch size %d", n)
		}
		if m.BatchDynamic() && !slices.Contains(want, n) {
			want = append(want, n)
		}
	}
	stats := make([]runtime.Stats, 0, len(want))
	for _, n := range want {
		st, err := m.estimateLocked(n)
		if err != nil {
			return memory.Breakdown{}, err
		}
		stats = append(stats, st)
	}
	return m.held(memory.Predict(runtime.Union(stats...), decode), m.ropts.Precision), nil
}

// batchOptions are the options the model's program was compiled with (threads, precision, the Shared),
// for a batch of n.
func (m *Model) batchOptions(n int) runtime.Options {
	opts := m.ropts
	opts.InputShapes = map[string]tensor.Shape{}
	for k, v := range m.ropts.InputShapes {
		opts.InputShapes[k] = v
	}
	opts.InputShapes[m.g.Inputs[0].Name] = m.batchShape(n)
	return opts
}

// PrepareBatch compiles (and caches) the program for a batch of n now, so the first batch of that size
// does not pay for compilation and the shared arena is grown up front. It does not check the budget:
// the caller has reserved the memory (PredictBatches). Preparing the largest size first grows the arena
// once.
func (m *Model) PrepareBatch(n int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.readyLocked(); err != nil {
		return err
	}
	_, err := m.batchProgramLocked(n)
	return err
}

// batchProgramLocked returns the cached program for n (compiling it on first use).
func (m *Model) batchProgramLocked(n int) (*batchProgram, error) {
	if n == 1 || !m.BatchDynamic() {
		return &batchProgram{prog: m.prog}, nil
	}
	if bp := m.batches[n]; bp != nil {
		return bp, nil
	}
	prog, err := runtime.Compile(m.g, m.batchOptions(n))
	if err != nil {
		return nil, fmt.Errorf("%s: batch of %d: %w", m.Path, n, err)
	}
	if m.batches == nil {
		m.batches = map[int]*batchProgram{}
	}
	bp := &batchProgram{prog: prog}
	m.batches[n] = bp
	return bp, nil
}

// closeBatchesLocked closes the cached batch programs (Close and Release do).
func (m *Model) closeBatchesLocked() {
	for n, bp := range m.batches {
		bp.prog.Close()
		delete(m.batches, n)
	}
}

// ClassifyBatch classifies several photos in one program run (when the batch dimension is dynamic; one
// run per photo otherwise) and returns one Result per photo, in order. Every Result's Elapsed is the
// time of the run that classified the photo. The program for each batch size is compiled on first use
// and cached. Under a budget (WithBudget, WithDetectedBudget) a program for a new batch size is only
// compiled when the model with it, plus the photos given, still fits the budget (PredictBatches);
// otherwise the photos run in the largest chunks that fit, down to one at a time on the batch-1
// program, which costs nothing more.
func (m *Model) ClassifyBatch(ctx context.Context, imgs []*imageio.RGB, topK int) ([]Result, error) {
	if len(imgs) == 0 {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.readyLocked(); err != nil { // compiles the batch-1 program again after a Release
		return nil, err
	}
	// The caller holds every photo until the call returns: each chunk is planned with all of them.
	var photos int64
	for _, img := range imgs {
		photos += int64(len(img.Pix))
	}
	results := make([]Result, len(imgs))
	for done := 0; done < len(imgs); {
		start := time.Now()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := m.chunkLocked(len(imgs)-done, photos)
		if err != nil {
			return nil, err
		}
		bp, err := m.batchProgramLocked(n)
		if err != nil {
			return nil, err
		}
		preds, err := m.runOneLocked(ctx, bp.prog, imgs[done:done+n], topK)
		if err != nil {
			return nil, err
		}
		el := time.Since(start)
		for i := range preds {
			results[done+i] = Result{Predictions: preds[i], Elapsed: el}
		}
		done += n
	}
	return results, nil
}

// chunkLocked is how many of the n photos left the next run takes: all of them when a program for
// that many is compiled or fits the budget with the programs already compiled and the photos held
// (photos bytes); else the largest count that does (predicted totals grow with the batch, so a
// binary search finds it); 1 for a fixed-batch model.
func (m *Model) chunkLocked(n int, photos int64) (int, error) {
	if n == 1 || !m.BatchDynamic() {
		return 1, nil
	}
	if m.batches[n] != nil {
		return n, nil
	}
	if m.budget.Bytes <= 0 {
		return n, nil
	}
	compiled := make([]int, 0, len(m.batches)+1)
	for k := range m.batches {
		compiled = append(compiled, k)
	}
	fits := func(k int) (bool, memory.Breakdown, error) {
		b, err := m.predictBatchesLocked(append(compiled, k), photos)
		return err == nil && b.Total() <= m.budget.Bytes, b, err
	}
	ok, b, err := fits(n)
	if err != nil {
		return 0, err
	}
	best := 1
	if ok {
		best = n
	} else {
		lo, hi := 1, n // fits(lo) (the batch-1 program exists), !fits(hi)
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			if ok, _, err := fits(mid); err != nil {
				return 0, err
			} else if ok {
				lo = mid
			} else {
				hi = mid
			}
		}
		best = lo
		// A compiled program between the search's answer and n costs nothing new.
		for _, k := range compiled {
			if k > best && k <= n {
				best = k
			}
		}
		if m.logf != nil {
			m.logf("%s: a batch of %d would need %s, over the budget of %s (%s): running batches of %d",
				m.Name, n, memory.FormatSize(b.Total()), memory.FormatSize(m.budget.Bytes), m.budget.Source, best)
		}
	}
	if best > 1 && m.batches[best] == nil && m.memLimit {
		if _, b, err := fits(best); err == nil {
			m.raiseMemoryLimit(memory.HeapLimit(b))
		}
	}
	return best, nil
}

// runOneLocked preprocesses imgs straight into prog's input slot in the arena (one batch item each),
// runs prog once and returns each item's top-K.
func (m *Model) runOneLocked(ctx context.Context, prog *runtime.Program, imgs []*imageio.RGB, topK int) ([][]Prediction, error) {
	input := prog.Input(0)
	for i, img := range imgs {
		if err := m.pre.Into(img, input, i); err != nil {
			return nil, err
		}
	}
	outs, err := prog.Run(ctx, []*tensor.Tensor{input})
	if err != nil {
		return nil, err
	}
	out := outs[0]
	per := out.NumElements() / len(imgs)
	all := make([][]Prediction, len(imgs))
	for i := range imgs {
		item := &tensor.Tensor{DType: out.DType, Shape: tensor.Shape{1, per},
			Data: out.Data[i*per*out.DType.Size() : (i+1)*per*out.DType.Size()]}
		all[i] = m.predictions(m.scores(item), topK)
	}
	return all, nil
}

// raiseMemoryLimit raises the Go memory limit that WithMemoryLimit set (from the batch-1 prediction)
// to limit when a batch program joins the model; a limit set by anyone else is left alone.
func (m *Model) raiseMemoryLimit(limit int64) {
	if m.memLimitSet == 0 || debug.SetMemoryLimit(-1) != m.memLimitSet || limit <= m.memLimitSet {
		return
	}
	debug.SetMemoryLimit(limit)
	m.memLimitSet = limit
}
