package ops

import (
	"os"

	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
)

// The subsample schedule: a 1×1 convolution of stride s reads one input pixel in s×s, so its input is
// compacted first (f32.SubsampleRows into scratch) and the layer then runs as a stride-1 pointwise
// one: the GEMM reads B in place and small planes go direct, where the strided layer packed im2col
// panels through permutes (ResNet's downsampling shortcuts; BenchmarkConvResNet, one thread, GEMM
// with a strided im2col: 256→512 from 56×56 89 % of the FMA peak, 512→1024 from 28×28 85 %, 1024→2048
// from 14×14 73 %, against 94-99 % for the stride-1 layers of the same widths).

// convSubsampleMode overrides the rule for measurements: WANWU_CONV_SUBSAMPLE=off keeps strided 1×1
// convolutions on the im2col GEMM.
var convSubsampleMode = os.Getenv("WANWU_CONV_SUBSAMPLE")

// subsampleState is the compacted input's plan and run state.
type subsampleState struct {
	h, w, sh, sw int // the input plane and the strides
	planes       int // images × input channels
	oh, ow       int
	len          int // floats of scratch the compacted input takes (rounded to a cache line)
	// Run state.
	x, buf []float32
	parts  int
}

// planSubsample rewrites k's geometry to the stride-1 pointwise convolution over the compacted input
// when k is a 1×1 convolution of stride above 1 whose every read lies inside the input (no padding).
func planSubsample(k *convKernel) {
	g := &k.geom
	if convSubsampleMode == "off" || g.KH != 1 || g.KW != 1 || (g.SH == 1 && g.SW == 1) || g.PT != 0 || g.PL != 0 ||
		(g.OH-1)*g.SH >= g.H || (g.OW-1)*g.SW >= g.W || (g.C == 1 && k.groups > 1) {
		return
	}
	s := &subsampleState{h: g.H, w: g.W, sh: g.SH, sw: g.SW, planes: k.batch * k.cin, oh: g.OH, ow: g.OW}
	s.len = f32.RoundUp(s.planes*g.OH*g.OW, 16)
	g.H, g.W, g.SH, g.SW = g.OH, g.OW, 1, 1
	k.sub = s
}

// run compacts x into the front of scratch on the pool's threads and returns it.
func (s *subsampleState) run(ctx *Ctx, x, scratch []float32) []float32 {
	s.x, s.buf = x, scratch[:s.planes*s.oh*s.ow]
	s.parts = min(max(ctx.Pool.Threads(), 1), s.oh)
	ctx.Pool.ForThreads(s.parts, s)
	return s.buf
}

// Do compacts bands [lo, hi) of output rows, each across every plane: thread t takes the rows the
// pixel-split layers before and after it keep on its core.
func (s *subsampleState) Do(lo, hi int) {
	hw, ohw := s.h*s.w, s.oh*s.ow
	for b := lo; b < hi; b++ {
		y0, y1 := b*s.oh/s.parts, (b+1)*s.oh/s.parts
		if y0 == 0 && y1 == s.oh && s.h == s.oh*s.sh {
			// Every plane's rows at one stride: one call for all of them.
			f32.SubsampleRows(s.buf, s.x, s.planes*s.oh, s.ow, s.sw, s.sh*s.w, s.ow)
			continue
		}
		for p := 0; p < s.planes; p++ {
			f32.SubsampleRows(s.buf[p*ohw+y0*s.ow:], s.x[p*hw+y0*s.sh*s.w:], y1-y0, s.ow, s.sw, s.sh*s.w, s.ow)
		}
	}
}
