package ops

import (
	"fmt"
	"os"

	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/tensor"
)

// The tiled depthwise schedule (f32.DepthwiseTile): depthwise convolutions on small planes run 16
// channels at a time on the vector lanes. Each thread takes a contiguous run of 16-channel groups (the
// channels a pointwise conv before it split by output channels wrote on that thread), or on planes of
// dwBandMinPixels and more a band of rows of every channel, as the plane kernels do.

// dwTileMode overrides the rule for measurements: WANWU_DW_TILE=off keeps every depthwise layer on
// the plane kernels, =on sends every one the tiled kernel covers to it.
var dwTileMode = os.Getenv("WANWU_DW_TILE")

// dwTileState is the tiled schedule's compiled part.
type dwTileState struct {
	plan    *f32.DepthwiseTile
	w       []float32 // PackDepthwiseTile
	slotLen int
	slots   int
	// Run state.
	scratch []float32
	image   int
	parts   int
	rows    bool // parts are bands of rows, not runs of channels
}

// useDepthwiseTile reports whether depthwise k (constant W) runs the tiled schedule: one input channel
// per output channel, whole 16-channel groups, no residual, an activation the kernel's clamp covers,
// and one thread's scratch within an eighth of the step's input and output, so that it does not raise
// the arena's peak noticeably (a 16×16 layer of a 64×64 model would grow its arena by a third).
// BenchmarkDepthwiseTile (min of 300 runs alternating in one process, tiled / plane kernels, 1 / 2
// threads; MobileNetV2's layers): 32@112×112 0.91 / 0.97, 96@112×112 stride 2 0.79 / 0.90,
// 144@56×56 0.78 / 0.76, stride 2 0.60 / 0.77, 192@28×28 0.53 / 0.48, 576@14×14 0.47 / 0.50, stride 2
// 0.31 / 0.39, 960@7×7 0.18 / 0.24.
func useDepthwiseTile(k *convKernel) bool {
	if dwTileMode == "off" || k.mg != 1 || k.cout%16 != 0 || k.residual {
		return false
	}
	if clamp, _, _ := k.act.ClampBounds(); !clamp && k.act.Kind != ActNone {
		return false
	}
	g := &k.geom
	plan := f32.NewDepthwiseTile(g)
	if plan == nil {
		return false
	}
	io := k.cin*g.H*g.W + k.cout*g.OH*g.OW
	return dwTileMode == "on" || 8*plan.ScratchLen() <= io
}

// initDepthwiseTile packs W for the tiled schedule.
func (k *convKernel) initDepthwiseTile(w *tensor.Tensor, o CompileOptions) {
	g := &k.geom
	kk := g.KH * g.KW
	d := &dwTileState{plan: f32.NewDepthwiseTile(g), slots: o.slots()}
	d.slotLen = d.plan.ScratchLen()
	d.w = bytesAsF32(packedWeights(o, w, fmt.Sprintf("f32.PackDepthwiseTile %dx%d", k.cout, kk), 4*k.cout*kk,
		func(dst []byte) { f32.PackDepthwiseTile(bytesAsF32(dst), w.F32(), k.cout, kk) }))
	k.dwt = d
}

func (k *convKernel) dwTileScratch() int { return k.dwt.slots * k.dwt.slotLen }

// runDepthwiseTile is Run under the tiled schedule.
func (k *convKernel) runDepthwiseTile(ctx *Ctx, scratch []float32) {
	d := k.dwt
	d.scratch = scratch[:d.slots*d.slotLen]
	threads := max(ctx.Pool.Threads(), 1)
	d.rows = threads > 1 && k.geom.OH*k.geom.OW >= dwBandMinPixels
	d.parts = min(threads, d.slots, k.cout/16)
	if d.rows {
		d.parts = min(threads, k.geom.OH)
	}
	for d.image = 0; d.image < k.batch; d.image++ {
		ctx.Pool.ForThreads(d.parts, k)
	}
}

// doDepthwiseTile runs the 16-channel groups of parts [lo, hi).
func (k *convKernel) doDepthwiseTile(lo, hi int) {
	d := k.dwt
	g := &k.geom
	hw, ohw := g.H*g.W, g.OH*g.OW
	x := k.x[d.image*k.cin*hw : (d.image+1)*k.cin*hw]
	y := k.y[d.image*k.cout*ohw : (d.image+1)*k.cout*ohw]
	clamp, lo32, hi32 := k.act.ClampBounds()
	groups := k.cout / 16
	for s := lo; s < hi; s++ {
		scratch := d.scratch[s*d.slotLen : (s+1)*d.slotLen]
		if d.rows {
			d.plan.Run(y, x, d.w, k.bias, 0, k.cout, s*g.OH/d.parts, (s+1)*g.OH/d.parts, clamp, lo32, hi32, scratch)
			continue
		}
		c0, c1 := 16*(s*groups/d.parts), 16*((s+1)*groups/d.parts)
		d.plan.Run(y, x, d.w, k.bias, c0, c1, 0, g.OH, clamp, lo32, hi32, scratch)
	}
}
