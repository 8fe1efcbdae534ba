package ops

import (
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
)

// The split-K schedule of a GEMM convolution whose depth is much larger than its output (ResNet-50's
// 14×14 and 7×7 reducing layers, MobileNetV2's projections) on several threads. Thread s takes the
// s-th run of the depth (whole KC blocks of the packed W, or half of one block's output channels where
// an even share ends inside a block: kUnits) for every output element, and so reads only its share of
// W and of the input, and a 3×3 layer packs (im2col) only its own depth rows, where the row split packs
// every column on every thread. The partial sums then meet: thread s adds the others' partials into
// its run of output channels and finishes them (residual, activation), so the output is split by
// channels for the next layer, whose input channels the same thread then mostly holds.

// convKSplitMaxBytes bounds the partial sums a K-split layer keeps in scratch (one output-sized buffer
// per thread but the first, which sums straight into Y).
const convKSplitMaxBytes = 1 << 20

// convKSplitMaxPixels: larger planes split well by pixels (conv_split.go), and their partial sums
// cost more to exchange than the split saves (ResNet-50's 28×28 layers, 2 threads: 512→128 1×1 0.74
// against 0.98 ms, 128 3×3 2.50 against 2.97 ms for the four; its 14×14 ones gain, 3×3 4.84 → 4.22).
const convKSplitMaxPixels = 256

// planKSplit reports whether k (W constant and packed, f32 or halves) should split its depth over the
// threads; it sets k.kParts to their count (one per slot).
func (k *convKernel) planKSplit() bool {
	g := &k.geom
	ohw, K := g.OH*g.OW, g.K()
	parts := k.slots
	if parts <= 1 || (k.packed == nil && k.packed16 == nil) || k.batch*k.groups != 1 || ohw > convKSplitMaxPixels {
		return false
	}
	// Deep and narrow (K at least twice the outputs), and a KC block of depth for every part.
	if K < 2*k.mg || K < parts*f32.KC {
		return false
	}
	if 4*(parts-1)*k.mg*ohw > convKSplitMaxBytes {
		return false
	}
	k.kParts = parts
	return true
}

// initKSplit sizes the scratch of the split-K schedule: the partial sums, then per slot one packed
// KC block of every column (im2col layers; a 1×1 stride-1 layer reads its input in place) with its
// packing table.
func (k *convKernel) initKSplit() {
	g := &k.geom
	ohw := g.OH * g.OW
	k.ksplit = true
	k.kCuts = k.planKCuts()
	k.kPartLen = k.mg * ohw
	k.slotLen = 0
	if !k.direct {
		k.slotLen = f32.PackedBLen(min(g.K(), f32.KC), k.panels*f32.NR)
	}
	k.slotLen += k.wideLen // halves: the block of W widened before it multiplies
	k.tileCols = k.panels * f32.NR
	if !k.pointwise {
		k.im2col = make([]f32.Im2col, k.kParts)
		for s := range k.im2col {
			k.im2col[s].Init(g, 0, ohw)
		}
	}
}

// kSplitScratch is the split-K schedule's scratch in floats: a partial sum per part but the first, and
// a packing block (and a widening buffer, for halves) per part.
func (k *convKernel) kSplitScratch() int { return (k.kParts-1)*k.kPartLen + k.kParts*k.slotLen }

// kUnits is part s's share of the depth: units [u0, u1) of 2·(KC blocks), unit 2b the top rows of
// block b (output channels [0, kHalf)) and 2b+1 its bottom rows. The blocks are those of the packed
// W that every program of the model shares; cutting at half-blocks keeps the parts even where the
// blocks are odd in number (ResNet-50's 14×14 3×3: 9 blocks, 4½ each), at the price of packing the
// cut block's input on both threads. Each cut is the unit boundary nearest to an even share of the
// multiply-adds (a short last block weighs less).
func (k *convKernel) kUnits(s int) (u0, u1 int) { return k.kCuts[s], k.kCuts[s+1] }

// planKCuts is kUnits' table: the unit boundaries of the k.kParts parts.
func (k *convKernel) planKCuts() []int {
	K := k.geom.K()
	nb := (K + f32.KC - 1) / f32.KC
	half := k.kHalf()
	work := func(u int) int { // multiply-adds of unit u, per output pixel
		kcl := min(f32.KC, K-u/2*f32.KC)
		if u%2 == 0 {
			return kcl * half
		}
		return kcl * (k.mg - half)
	}
	total := K * k.mg
	cuts := []int{0}
	acc, u := 0, 0
	for s := 1; s < k.kParts; s++ {
		goal := s * total / k.kParts
		for u < 2*nb && acc+work(u)/2 <= goal {
			acc += work(u)
			u++
		}
		cuts = append(cuts, u)
	}
	return append(cuts, 2*nb)
}

// kHalf is the first output channel of a block's bottom unit (a multiple of MR).
func (k *convKernel) kHalf() int { return (k.mg + f32.MR - 1) / f32.MR / 2 * f32.MR }

// runKSplit is Run's GEMM part under the split-K schedule (one image, one group). Part s runs on
// thread s (with fewer threads than parts, the pool hands parts out as they free up).
func (k *convKernel) runKSplit(ctx *Ctx, scratch []float32) {
	k.kPartBuf = scratch[:(k.kParts-1)*k.kPartLen]
	k.work = scratch[(k.kParts-1)*k.kPartLen:]
	k.kPhase = 0
	ctx.Pool.ForThreads(k.kParts, k)
	k.kPhase = 1
	ctx.Pool.ForThreads(k.kParts, k)
}

// doKSplit runs thread s's partial product (phase 0) or finishes its run of output channels (phase 1).
func (k *convKernel) doKSplit(lo, hi int) {
	for s := lo; s < hi; s++ {
		if k.kPhase == 0 {
			k.kSplitPartial(s)
		} else {
			k.kSplitFinish(s)
		}
	}
}

// kSplitPartial computes thread s's partial sum over its units into Y (s = 0, with the bias) or into
// its partial buffer: its whole blocks first (the first overwrites every row), then a cut block's rows.
func (k *convKernel) kSplitPartial(s int) {
	u0, u1 := k.kUnits(s)
	c := k.y
	var bias []float32
	if s == 0 {
		bias = k.bias
	} else {
		c = k.kPartBuf[(s-1)*k.kPartLen : s*k.kPartLen]
	}
	work := k.work[s*k.slotLen : (s+1)*k.slotLen]
	first := true
	for u := (u0 + 1) / 2 * 2; u+1 < u1; u += 2 { // whole blocks
		ep := f32.Epilogue{Acc: !first}
		if first {
			ep.Bias = bias
		}
		k.kSplitBlock(s, u/2, 0, k.mg, c, work, ep)
		first = false
	}
	if first {
		clear(c) // (no whole block: part 0 always has block 0, so there is no bias to add here)
	}
	half := k.kHalf()
	if u0%2 == 1 { // the bottom rows of the block cut before this part
		k.kSplitBlock(s, u0/2, half, k.mg, c, work, f32.Epilogue{Acc: true})
	}
	if u1%2 == 1 && u1-1 >= u0 { // the top rows of the block cut after it
		k.kSplitBlock(s, u1/2, 0, half, c, work, f32.Epilogue{Acc: true})
	}
}

// kSplitBlock multiplies output channels [m0, m1) of KC block b of W by the input rows it covers,
// into c (an output-shaped buffer) with ep.
func (k *convKernel) kSplitBlock(s, b, m0, m1 int, c, work []float32, ep f32.Epilogue) {
	if m0 >= m1 {
		return
	}
	g := &k.geom
	ohw, hw := g.OH*g.OW, g.H*g.W
	pc := b * f32.KC
	kcl := min(f32.KC, g.K()-pc)
	c = c[m0*ohw:]
	if k.packed16 != nil {
		pa, wide := &k.packed16[0], work[len(work)-k.wideLen:]
		work = work[:len(work)-k.wideLen]
		switch {
		case k.direct:
			f32.MulDirect16(pa, m0, m1, pc, kcl, k.x[pc*hw:], hw, ohw, c, ohw, ep, wide)
		case k.pointwise:
			f32.PackB(work, false, kcl, ohw, k.x[pc*hw:], hw)
			f32.MulPacked16(pa, m0, m1, pc, kcl, work, ohw, c, ohw, ep, wide)
		default:
			k.im2col[s].Pack(work, k.x, pc, kcl)
			f32.MulPacked16(pa, m0, m1, pc, kcl, work, ohw, c, ohw, ep, wide)
		}
		return
	}
	pa := &k.packed[0]
	switch {
	case k.direct:
		f32.MulDirect(pa, m0, m1, pc, kcl, k.x[pc*hw:], hw, ohw, c, ohw, ep)
	case k.pointwise:
		f32.PackB(work, false, kcl, ohw, k.x[pc*hw:], hw)
		f32.MulPacked(pa, m0, m1, pc, kcl, work, ohw, c, ohw, ep)
	default:
		k.im2col[s].Pack(work, k.x, pc, kcl)
		f32.MulPacked(pa, m0, m1, pc, kcl, work, ohw, c, ohw, ep)
	}
}

// kSplitFinish adds the other threads' partials into thread s's run of output channels of Y, then the
// residual and the activation.
func (k *convKernel) kSplitFinish(s int) {
	ohw := k.geom.OH * k.geom.OW
	r0, r1 := s*k.mg/k.kParts*ohw, (s+1)*k.mg/k.kParts*ohw
	y := k.y[r0:r1]
	for p := 1; p < k.kParts; p++ {
		f32.Add(y, y, k.kPartBuf[(p-1)*k.kPartLen+r0:(p-1)*k.kPartLen+r1])
	}
	if k.z != nil {
		f32.Add(y, y, k.z[r0:r1])
	}
	if clamp, lo, hi := k.act.ClampBounds(); clamp {
		for i, v := range y {
			y[i] = min(max(v, lo), hi)
		}
	} else if k.act.Kind != ActNone {
		k.act.Apply(y)
	}
}
