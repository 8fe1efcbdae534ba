package wanwu

import (
	"context"
	"fmt"
	"time"

	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// batchProgram is a program compiled for one batch size, with its input tensor.
type batchProgram struct {
	prog  *runtime.Program
	input *tensor.Tensor
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
	s := m.input.Shape.Clone()
	s[0] = n
	return s
}

// BatchStats plans (without allocating) the program for a batch of n photos: the server uses it to
// reserve the memory of every batch size it will run before it runs any. For a model with a fixed
// batch it returns the batch-1 program's stats.
func (m *Model) BatchStats(n int) (runtime.Stats, error) {
	if n < 1 {
		panic(fmt.Sprintf("wanwu: BatchStats(%d)", n))
	}
	if n == 1 || !m.BatchDynamic() {
		return m.Stats(), nil
	}
	return runtime.Estimate(m.g, m.batchOptions(n))
}

// batchOptions are the options the model's program was compiled with (threads, precision), for a batch
// of n.
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
// does not pay for compilation and its arena is allocated up front.
func (m *Model) PrepareBatch(n int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	_, err := m.batchProgramLocked(n)
	return err
}

// batchProgramLocked returns the cached program for n (compiling it on first use); n must be > 1 and the
// batch dynamic.
func (m *Model) batchProgramLocked(n int) (*batchProgram, error) {
	if n == 1 || !m.BatchDynamic() {
		return &batchProgram{prog: m.prog, input: m.input}, nil
	}
	if bp := m.batches[n]; bp != nil {
		return bp, nil
	}
	in := m.g.Inputs[0]
	shape := m.batchShape(n)
	prog, err := runtime.Compile(m.g, m.batchOptions(n))
	if err != nil {
		return nil, fmt.Errorf("%s: batch of %d: %w", m.Path, n, err)
	}
	if m.batches == nil {
		m.batches = map[int]*batchProgram{}
	}
	bp := &batchProgram{prog: prog, input: tensor.New(in.DType, shape)}
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
// whole batch's time. The program for each batch size is compiled on first use and cached.
func (m *Model) ClassifyBatch(ctx context.Context, imgs []*imageio.RGB, topK int) ([]Result, error) {
	if len(imgs) == 0 {
		return nil, nil
	}
	start := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.readyLocked(); err != nil { // compiles the batch-1 program again after a Release
		return nil, err
	}
	results := make([]Result, len(imgs))
	if !m.BatchDynamic() || len(imgs) == 1 {
		for i, img := range imgs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			preds, err := m.runOneLocked(ctx, m.prog, m.input, []*imageio.RGB{img}, topK)
			if err != nil {
				return nil, err
			}
			results[i].Predictions = preds[0]
		}
	} else {
		bp, err := m.batchProgramLocked(len(imgs))
		if err != nil {
			return nil, err
		}
		preds, err := m.runOneLocked(ctx, bp.prog, bp.input, imgs, topK)
		if err != nil {
			return nil, err
		}
		for i := range results {
			results[i].Predictions = preds[i]
		}
	}
	el := time.Since(start)
	for i := range results {
		results[i].Elapsed = el
	}
	return results, nil
}

// runOneLocked preprocesses imgs into input (one batch item each), runs prog once and returns each
// item's top-K.
func (m *Model) runOneLocked(ctx context.Context, prog *runtime.Program, input *tensor.Tensor, imgs []*imageio.RGB, topK int) ([][]Prediction, error) {
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
