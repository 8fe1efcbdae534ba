package runtime

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/wanwu-ai/wanwu/tensor"
)

// Profile accumulates each step's wall time over runs of one Program (RunProfiled), as ONNX Runtime's
// and TFLite's profilers do. The program runs exactly as Run runs it — the same compiled steps, fused
// convolutions included (unlike Options.AfterStep, which keeps residual Adds apart) — with one clock
// read per step added.
type Profile struct {
	// Runs counts the profiled runs.
	Runs int
	// Wall sums the wall time of the profiled runs, each measured around the whole of RunProfiled:
	// the steps' times plus the input copy and the call itself.
	Wall time.Duration
	// Steps has one row per step (node that runs a kernel), in run order.
	Steps []StepTime

	prog *Program
}

// StepTime is one step's times over a Profile's runs.
type StepTime struct {
	Node, Op string
	Shape    tensor.Shape // output 0
	// MACs is the step's multiply-accumulates per run (StepStat.MACs; 0 for ops that are not
	// matrix products).
	MACs     int64
	Total    time.Duration // summed over the runs
	Min, Max time.Duration
	runs     int
}

func (s *StepTime) add(d time.Duration) {
	if s.runs == 0 || d < s.Min {
		s.Min = d
	}
	s.Max = max(s.Max, d)
	s.Total += d
	s.runs++
}

// Mean is the step's average time per run.
func (s *StepTime) Mean() time.Duration {
	if s.runs == 0 {
		return 0
	}
	return s.Total / time.Duration(s.runs)
}

// GFLOPS is the step's arithmetic rate at its mean time: 2·MACs floating-point operations per run
// (one multiply and one add each), or 0 for a step without MACs.
func (s *StepTime) GFLOPS() float64 { return gflops(s.MACs, s.Mean()) }

func gflops(macs int64, d time.Duration) float64 {
	if macs == 0 || d <= 0 {
		return 0
	}
	return 2 * float64(macs) / d.Seconds() / 1e9
}

// NewProfile returns an empty Profile for p's steps.
func (p *Program) NewProfile() *Profile {
	pr := &Profile{prog: p, Steps: make([]StepTime, len(p.steps))}
	for i, s := range p.steps {
		st := p.stats.Steps[s.stat]
		pr.Steps[i] = StepTime{Node: st.Node, Op: st.Op, Shape: st.Shape, MACs: st.MACs}
	}
	return pr
}

// RunProfiled is Run, adding each step's wall time to prof (made by p.NewProfile). Like Run it
// allocates nothing; the clock read costs about 55 ns per step (KVM clock).
func (p *Program) RunProfiled(ctx context.Context, inputs []*tensor.Tensor, prof *Profile) ([]*tensor.Tensor, error) {
	if prof == nil || prof.prog != p {
		return nil, errors.New("runtime: RunProfiled with a Profile not made by this Program's NewProfile")
	}
	t0 := time.Now()
	out, err := p.run(ctx, inputs, prof)
	if err != nil {
		return nil, err
	}
	prof.Wall += time.Since(t0)
	prof.Runs++
	return out, nil
}

// StepsTotal sums the steps' times over all runs: Wall less the input copies and call overhead.
func (pr *Profile) StepsTotal() time.Duration {
	var t time.Duration
	for i := range pr.Steps {
		t += pr.Steps[i].Total
	}
	return t
}

// OpTime is one op type's share of a Profile.
type OpTime struct {
	Op    string
	Steps int           // steps of this op type in the program
	MACs  int64         // per run, summed over those steps
	Total time.Duration // summed over those steps and the runs
	// Min sums those steps' minima: a load-robust lower figure for one run's share.
	Min time.Duration
}

// ByOp sums the steps per op type, the largest total first (ties by name).
func (pr *Profile) ByOp() []OpTime {
	idx := map[string]int{}
	var out []OpTime
	for i := range pr.Steps {
		s := &pr.Steps[i]
		j, ok := idx[s.Op]
		if !ok {
			j = len(out)
			idx[s.Op] = j
			out = append(out, OpTime{Op: s.Op})
		}
		out[j].Steps++
		out[j].MACs += s.MACs
		out[j].Total += s.Total
		out[j].Min += s.Min
	}
	slices.SortFunc(out, func(a, b OpTime) int {
		return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Op, b.Op))
	})
	return out
}

// Slowest returns the indices of the n steps with the largest total time, slowest first.
func (pr *Profile) Slowest(n int) []int {
	idx := make([]int, len(pr.Steps))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(pr.Steps[b].Total, pr.Steps[a].Total) })
	return idx[:min(n, len(idx))]
}
