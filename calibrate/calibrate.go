// Package calibrate measures the activation ranges of a float model on sample inputs and turns them
// into the static int8 quantization of every activation (passes.Calibration), which
// passes.StoreCalibration keeps in the graph for int8 compilation (and for a converted model file).
package calibrate

import (
	"context"
	"fmt"
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/graph/passes"
	"github.com/wanwu-ai/wanwu/lower"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Methods of choosing a tensor's range from what calibration saw.
const (
	// MinMax takes the smallest and largest value seen: nothing is ever clipped, and one outlier
	// coarsens the step of every other value.
	MinMax = "minmax"
	// Percentile clips each side at a quantile of the values seen (Options.Percentile).
	Percentile = "percentile"
	// MSE scales the min/max range down to the factor that minimizes the expected squared error of
	// quantizing the observed histogram (rounding noise inside the range, clipping error outside).
	MSE = "mse"
)

// DefaultMethod is what Options.Method "" means (see docs/precision.md for the comparison).
const DefaultMethod = MSE

// Options configure Collect.
type Options struct {
	// Threads for running the float model (0: GOMAXPROCS).
	Threads int
	// Method is MinMax, Percentile or MSE ("" = DefaultMethod).
	Method string
	// Percentile for Method Percentile, in (50, 100] (0 = 99.99).
	Percentile float64
	// Precision of the program that is observed: "" runs the float graph (fp32); "int8" runs it with
	// int8 weights and dynamically quantized activations, whose ranges are within about 1 % of fp32's,
	// for about a quarter of fp32's weight memory (a model that does not fit at fp32).
	Precision string
}

// bins is the histogram resolution per tensor.
const bins = 2048

// stat is what calibration gathers about one activation.
type stat struct {
	lo, hi float32
	hist   []float64 // bins over [lo, hi] (pass 2)
	n      float64
}

// Collect runs g in fp32 on each of inputs (one tensor per run, all of one shape, for g's single
// input) and returns the quantization of every f32 activation it computed, named as in the optimized
// graph (the names lower.QuantizeStatic looks up). g is not modified.
func Collect(ctx context.Context, g *graph.Graph, inputs []*tensor.Tensor, opts Options) (passes.Calibration, error) {
	if len(inputs) == 0 {
		return nil, fmt.Errorf("calibrate: no calibration inputs")
	}
	shape := inputs[0].Shape
	return CollectFrom(ctx, g, shape, len(inputs), func(i int) (*tensor.Tensor, error) {
		if in := inputs[i]; in == nil || !in.Shape.Equal(shape) || in.DType != g.Inputs[0].DType {
			return nil, fmt.Errorf("calibrate: input %d is not %s%s like the first", i, g.Inputs[0].DType, shape)
		}
		return inputs[i], nil
	}, opts)
}

// CollectFrom is Collect over n inputs of the given shape that input(i) makes on demand (decoding a
// photo, say), so only one is held at a time; it is called twice per input except for MinMax (a
// histogram pass follows the range pass). The tensor it returns is read before the next call, so it
// may be reused.
func CollectFrom(ctx context.Context, g *graph.Graph, shape tensor.Shape, n int, input func(i int) (*tensor.Tensor, error), opts Options) (passes.Calibration, error) {
	if len(g.Inputs) != 1 {
		return nil, fmt.Errorf("calibrate: the model has %d inputs; calibration feeds one", len(g.Inputs))
	}
	if n <= 0 {
		return nil, fmt.Errorf("calibrate: no calibration inputs")
	}
	method := opts.Method
	if method == "" {
		method = DefaultMethod
	}
	pct := opts.Percentile
	if pct == 0 {
		pct = 99.99
	}
	switch method {
	case MinMax, MSE:
	case Percentile:
		if !(pct > 50 && pct <= 100) {
			return nil, fmt.Errorf("calibrate: percentile %g outside (50, 100]", pct)
		}
	default:
		return nil, fmt.Errorf("calibrate: unknown method %q (want %s, %s or %s)", method, MinMax, Percentile, MSE)
	}
	stats := map[string]*stat{}
	pass := 1
	observe := func(n *graph.Node, outs []*tensor.Tensor) {
		for i, t := range outs {
			v := n.Outputs[i]
			if t == nil || v == nil || t.DType != tensor.F32 {
				continue
			}
			x := t.F32()
			if len(x) == 0 {
				continue
			}
			s := stats[v.Name]
			if pass == 1 {
				lo, hi := lower.MinMax(x)
				if s == nil {
					stats[v.Name] = &stat{lo: lo, hi: hi}
				} else {
					s.lo, s.hi = min(s.lo, lo), max(s.hi, hi)
				}
				continue
			}
			s.add(x)
		}
	}
	if opts.Precision != "" && opts.Precision != lower.PrecisionInt8 && opts.Precision != lower.PrecisionFP32 {
		return nil, fmt.Errorf("calibrate: precision %q (want fp32 or int8)", opts.Precision)
	}
	prec := opts.Precision
	if prec == lower.PrecisionInt8 {
		// Dynamic int8 only: a calibration already stored must not turn the observed program static.
		g = g.Clone()
		delete(g.Meta, passes.CalibrationKey)
	}
	p, err := runtime.Compile(g, runtime.Options{Threads: opts.Threads, AfterStep: observe, Precision: prec,
		InputShapes: map[string]tensor.Shape{g.Inputs[0].Name: shape}})
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	defer p.Close()
	runs := 1
	if method != MinMax {
		runs = 2
	}
	for pass = 1; pass <= runs; pass++ {
		if pass == 2 {
			for _, s := range stats {
				s.lo, s.hi = min(s.lo, 0), max(s.hi, 0)
				s.hist = make([]float64, bins)
			}
		}
		for i := range n {
			in, err := input(i)
			if err != nil {
				return nil, err
			}
			if in == nil || !in.Shape.Equal(shape) || in.DType != g.Inputs[0].DType {
				return nil, fmt.Errorf("calibrate: input %d is not %s%s", i, g.Inputs[0].DType, shape)
			}
			if in.DType == tensor.F32 { // the graph input is an activation too (the first layer's)
				observe(&graph.Node{Outputs: g.Inputs}, []*tensor.Tensor{in})
			}
			if _, err := p.Run(ctx, []*tensor.Tensor{in}); err != nil {
				return nil, fmt.Errorf("calibrate: %w", err)
			}
		}
	}
	c := make(passes.Calibration, len(stats))
	for name, s := range stats {
		lo, hi := s.lo, s.hi
		switch method {
		case Percentile:
			lo, hi = s.percentile(pct)
		case MSE:
			lo, hi = s.mse()
		}
		if math.IsNaN(float64(lo)) || math.IsNaN(float64(hi)) || math.IsInf(float64(hi-lo), 0) {
			continue // a tensor that is not finite cannot be quantized; it stays float
		}
		scale, zp := lower.QuantParams(lo, hi)
		c[name] = passes.ActivationQuant{Scale: scale, ZP: zp}
	}
	return c, nil
}

// add counts x into the histogram over [lo, hi].
func (s *stat) add(x []float32) {
	w := float64(s.hi - s.lo)
	if !(w > 0) {
		s.n += float64(len(x))
		return
	}
	f := float64(bins) / w
	lo := float64(s.lo)
	for _, v := range x {
		b := int((float64(v) - lo) * f)
		b = max(0, min(bins-1, b))
		s.hist[b]++
	}
	s.n += float64(len(x))
}

// center is the middle of histogram bin b.
func (s *stat) center(b int) float64 {
	return float64(s.lo) + (float64(b)+0.5)*float64(s.hi-s.lo)/bins
}

// percentile clips each side at quantile p of all values (0 stays inside the range).
func (s *stat) percentile(p float64) (float32, float32) {
	if s.n == 0 || !(s.hi > s.lo) {
		return s.lo, s.hi
	}
	tail := s.n * (100 - p) / 100
	lo, hi := s.lo, s.hi
	var acc float64
	for b := bins - 1; b >= 0; b-- {
		acc += s.hist[b]
		if acc > tail {
			hi = float32(float64(s.lo) + float64(b+1)*float64(s.hi-s.lo)/bins)
			break
		}
	}
	acc = 0
	for b := 0; b < bins; b++ {
		acc += s.hist[b]
		if acc > tail {
			lo = float32(float64(s.lo) + float64(b)*float64(s.hi-s.lo)/bins)
			break
		}
	}
	return min(lo, 0), max(hi, 0)
}

// mse returns the range α·[lo, hi] (α from 1 down to 0.05) whose u8 quantization of the histogram has
// the least expected squared error: Δ²/12 for every value inside (Δ the step), the squared distance to
// the nearer bound for values clipped.
func (s *stat) mse() (float32, float32) {
	if s.n == 0 || !(s.hi > s.lo) {
		return s.lo, s.hi
	}
	bestA, bestE := 1.0, math.Inf(1)
	for i := 0; i < 96; i++ {
		a := 1 - float64(i)*0.01
		lo, hi := a*float64(s.lo), a*float64(s.hi)
		step := (hi - lo) / 255
		var e float64
		for b, c := range s.hist {
			if c == 0 {
				continue
			}
			v := s.center(b)
			switch {
			case v > hi:
				e += c * (v - hi) * (v - hi)
			case v < lo:
				e += c * (lo - v) * (lo - v)
			default:
				e += c * step * step / 12
			}
		}
		if e < bestE {
			bestA, bestE = a, e
		}
	}
	return float32(bestA * float64(s.lo)), float32(bestA * float64(s.hi))
}
