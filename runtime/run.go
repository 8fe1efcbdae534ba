package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wanwu-ai/wanwu/tensor"
)

// Run computes the graph outputs for inputs (in graph-input order). Each input must have exactly the
// dtype and shape the program was compiled for; it is copied into its arena slot. Steps run in order,
// and ctx is checked between steps, so cancellation stops a run at the next step boundary.
//
// The returned slice and tensors belong to the Program: they view the arena and stay valid until the
// next Run or Close. Run allocates nothing. A Program is not safe for concurrent Run calls.
func (p *Program) Run(ctx context.Context, inputs []*tensor.Tensor) ([]*tensor.Tensor, error) {
	return p.run(ctx, inputs, nil)
}

// run is Run, timing each step into prof when it is not nil.
func (p *Program) run(ctx context.Context, inputs []*tensor.Tensor, prof *Profile) ([]*tensor.Tensor, error) {
	if p.closed {
		return nil, errors.New("runtime: Run on a closed Program")
	}
	if len(inputs) != len(p.inputs) {
		return nil, fmt.Errorf("runtime: %d inputs given, the model takes %d %q", len(inputs), len(p.inputs), p.inNames)
	}
	for i, t := range inputs {
		slot := p.inputs[i]
		if t == nil {
			return nil, fmt.Errorf("runtime: input %q is nil", p.inNames[i])
		}
		if t.DType != slot.DType || !t.Shape.Equal(slot.Shape) {
			return nil, fmt.Errorf("runtime: input %q is %s%s, the program was compiled for %s%s", p.inNames[i], t.DType, t.Shape, slot.DType, slot.Shape)
		}
		if len(t.Data) < len(slot.Data) {
			return nil, fmt.Errorf("runtime: input %q holds %d bytes, its shape needs %d", p.inNames[i], len(t.Data), len(slot.Data))
		}
		copy(slot.Data, t.Data)
	}
	// One clock read per step: each step's time runs from the end of the one before it (the first
	// from the end of the input copy), so the steps' times tile the run with nothing left between.
	var last time.Time
	if prof != nil {
		last = time.Now()
	}
	for i := range p.steps {
		if ctx != nil {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		s := &p.steps[i]
		if err := s.kernel.Run(&s.ctx, s.in, s.out); err != nil {
			return nil, fmt.Errorf("runtime: node %q (%s): %w", s.node.Name, s.node.Op, err)
		}
		if prof != nil {
			now := time.Now()
			prof.Steps[i].add(now.Sub(last))
			last = now
		}
		if p.afterStep != nil {
			p.afterStep(s.node, s.out)
		}
	}
	return p.outputs, nil
}
