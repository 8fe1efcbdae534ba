package ops

import (
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/tensor"
)

// convKernel at run time: the depthwise, Winograd and GEMM paths compileConvPacked (conv.go) chose.

// PackedBytes is the size of W packed at Compile (runtime.PackedWeights).
func (k *convKernel) PackedBytes() int {
	n := 0
	if k.wino != nil {
		n += 4 * len(k.wino.data)
	}
	if k.dc != nil {
		n += 4*len(k.dc.w) + 2*len(k.dc.w16)
	}
	if k.dwt != nil {
		n += 4 * len(k.dwt.w)
	}
	for _, p := range k.packed {
		n += 4 * len(p.Data)
	}
	if !k.prepacked {
		for _, p := range k.packed16 {
			n += 2 * len(p.Data)
		}
	}
	return n
}

// PackedInputs reports that W is not read after Compile when it was packed there (ops.InputsPacker).
func (k *convKernel) PackedInputs() []int {
	if k.packed != nil || k.dc != nil || k.dwt != nil || (k.wino != nil && k.wino.data != nil) || (k.packed16 != nil && !k.prepacked) {
		return []int{1}
	}
	return nil
}

func (k *convKernel) ScratchBytes() int {
	if k.sub != nil {
		return 4*k.sub.len + k.pathScratchBytes()
	}
	return k.pathScratchBytes()
}

// pathScratchBytes is the scratch of the path compileConvPacked chose (after a compacted input).
func (k *convKernel) pathScratchBytes() int {
	if k.dwt != nil {
		return 4 * k.dwTileScratch()
	}
	if k.depthwise {
		return 0 // f32.DepthwisePadded pads strips in a stack buffer
	}
	if k.wino != nil {
		return 4 * k.wino.scratchLen
	}
	if k.dc != nil {
		return 4 * k.directScratch()
	}
	if k.ksplit {
		return 4 * k.kSplitScratch()
	}
	return 4 * (k.groups*k.packLen + k.sharedLen + k.slots*k.slotLen)
}

func (k *convKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.y = in[0].F32(), out[0].F32()
	if k.packed16 == nil && (k.dc == nil || k.dc.w16 == nil) {
		k.w = in[1].F32()
	}
	k.bias, k.z = nil, nil
	if len(in) > 2 && in[2] != nil {
		k.bias = in[2].F32()
	}
	if len(in) > 3 && in[3] != nil {
		k.z = in[3].F32()
	}
	g := &k.geom
	scratch := bytesAsF32(ctx.Scratch)
	if k.sub != nil {
		k.x = k.sub.run(ctx, k.x, scratch)
		scratch = scratch[k.sub.len:]
	}
	if k.dwt != nil {
		k.runDepthwiseTile(ctx, scratch)
		return nil
	}
	if k.depthwise {
		// One image on several threads: each thread takes a band of output rows of every plane, the same
		// band as the layers before and after (pixel-split GEMM tiles), so its data stays in its core.
		// Small planes stay whole: a band of a few rows costs a kernel call per plane for little work
		// (MobileNetV2's 28×28 and smaller depthwise layers ran 1.4-1.9× slower in bands).
		k.dwRowParts = 0
		if t := ctx.Pool.Threads(); t > 1 && k.batch == 1 && k.dwPlan.Vector() && g.OH*g.OW >= dwBandMinPixels {
			k.dwRowParts = t
			ctx.Pool.ForThreads(t, k)
			return nil
		}
		// Smaller planes: thread s takes the s-th contiguous run of planes, the channels a conv before it
		// split by output channels wrote on that thread.
		k.dwPlaneParts = min(max(ctx.Pool.Threads(), 1), k.batch*k.cout)
		ctx.Pool.ForThreads(k.dwPlaneParts, k)
		return nil
	}
	if k.wino != nil {
		k.runWinograd(ctx, scratch)
		return nil
	}
	if k.dc != nil {
		k.runDirect(ctx, scratch)
		return nil
	}
	if k.ksplit {
		k.runKSplit(ctx, scratch)
		return nil
	}
	if k.packed == nil && k.packed16 == nil {
		K := g.K()
		for gi := range k.pa {
			k.pa[gi] = f32.PackA(scratch[gi*k.packLen:(gi+1)*k.packLen], false, k.mg, K, 1, k.w[gi*k.mg*K:], K)
		}
		scratch = scratch[k.groups*k.packLen:]
	} else {
		k.pa = k.packed
	}
	if k.shared {
		k.runShared(ctx, scratch)
		return nil
	}
	k.work = scratch[:k.slots*k.slotLen]
	k.items = k.batch * k.groups * k.tiles * k.msplit
	k.usedSlots = min(k.slots, k.items, max(ctx.Pool.Threads(), 1))
	// Slot s on thread s: consecutive layers cut alike keep each thread on the pixels it wrote.
	ctx.Pool.ForThreads(k.usedSlots, k)
	return nil
}

// Do runs output planes (depthwise) or slots (GEMM path); each slot owns one workspace and a
// contiguous run of (image, group, tile, row-part) items.
func (k *convKernel) Do(lo, hi int) {
	if k.wino != nil {
		k.doWinograd(lo, hi)
		return
	}
	if k.dc != nil {
		k.doDirect(lo, hi)
		return
	}
	if k.dwt != nil {
		k.doDepthwiseTile(lo, hi)
		return
	}
	if k.depthwise {
		k.doDepthwise(lo, hi)
		return
	}
	if k.shared {
		k.doShared(lo, hi)
		return
	}
	if k.ksplit {
		k.doKSplit(lo, hi)
		return
	}
	for s := lo; s < hi; s++ {
		work := k.work[s*k.slotLen : (s+1)*k.slotLen]
		var tab *f32.Im2col
		if k.im2col != nil {
			tab = &k.im2col[s]
		}
		for it := s * k.items / k.usedSlots; it < (s+1)*k.items/k.usedSlots; it++ {
			k.doItem(it, work, tab)
		}
	}
}

func (k *convKernel) doDepthwise(lo, hi int) {
	if k.dwRowParts > 0 {
		for s := lo; s < hi; s++ {
			k.depthwiseBand(s)
		}
		return
	}
	planes := k.batch * k.cout
	lo, hi = lo*planes/k.dwPlaneParts, hi*planes/k.dwPlaneParts
	if k.dwPlan.Vector() {
		k.depthwisePlanes(lo, hi, nil) // no strip buffer to zero
		return
	}
	var pad [f32.DepthwiseStripLen]float32 // zeroed once per run of planes, not per plane
	k.depthwisePlanes(lo, hi, pad[:])
}

// dwBandMinPixels is the smallest output plane depthwise layers split in row bands (56×56).
const dwBandMinPixels = 56 * 56

// depthwiseBand computes band s of k.dwRowParts bands of output rows of every plane (one image).
func (k *convKernel) depthwiseBand(s int) {
	g := &k.geom
	hw, ohw, kk := g.H*g.W, g.OH*g.OW, g.KH*g.KW
	oy0, oy1 := s*g.OH/k.dwRowParts, (s+1)*g.OH/k.dwRowParts
	r0, r1 := oy0*g.OW, oy1*g.OW
	clamp, lo, hi := k.act.ClampBounds()
	if k.z != nil {
		clamp = false // the residual goes before the activation
	}
	for oc := 0; oc < k.cout; oc++ {
		ic := oc / k.mg
		var bias float32
		if k.bias != nil {
			bias = k.bias[oc]
		}
		dst := k.y[oc*ohw+r0 : oc*ohw+r1]
		k.dwPlan.Rows(dst, k.x[ic*hw:(ic+1)*hw], k.w[oc*kk:(oc+1)*kk], bias, clamp, lo, hi, oy0, oy1)
		if k.z != nil {
			for i, v := range k.z[oc*ohw+r0 : oc*ohw+r1] {
				dst[i] += v
			}
		}
		if !clamp {
			k.act.Apply(dst)
		}
	}
}

// depthwisePlanes computes output planes [lo, hi) (image-major); pad is the strip buffer of the rungs
// without plane kernels.
func (k *convKernel) depthwisePlanes(lo, hi int, pad []float32) {
	g := &k.geom
	hw, ohw, kk := g.H*g.W, g.OH*g.OW, g.KH*g.KW
	for p := lo; p < hi; p++ {
		b, oc := p/k.cout, p%k.cout
		ic := oc / k.mg
		var bias float32
		if k.bias != nil {
			bias = k.bias[oc]
		}
		dst := k.y[p*ohw : (p+1)*ohw]
		clamp, lo, hi := k.act.ClampBounds()
		if k.z != nil {
			clamp = false // the residual goes before the activation
		}
		k.dwPlan.Plane(dst, k.x[(b*k.cin+ic)*hw:(b*k.cin+ic+1)*hw], k.w[oc*kk:(oc+1)*kk], bias, clamp, lo, hi, pad)
		if k.z != nil {
			for i, v := range k.z[p*ohw : (p+1)*ohw] {
				dst[i] += v
			}
		}
		if !clamp {
			k.act.Apply(dst)
		}
	}
}

func (k *convKernel) doItem(it int, work []float32, tab *f32.Im2col) {
	g := &k.geom
	mp := it % k.msplit
	it /= k.msplit
	t := it % k.tiles
	it /= k.tiles
	gi := it % k.groups
	b := it / k.groups

	// Rows [m0, m1) of this group, split on MR boundaries.
	panels := (k.mg + f32.MR - 1) / f32.MR
	m0 := mp * panels / k.msplit * f32.MR
	m1 := min((mp+1)*panels/k.msplit*f32.MR, k.mg)
	if m0 >= m1 {
		return
	}
	ohw, hw := g.OH*g.OW, g.H*g.W
	j0 := t * k.panels / k.tiles * f32.NR
	ncl := min((t+1)*k.panels/k.tiles*f32.NR, ohw) - j0
	c := k.y[(b*k.cout+gi*k.mg+m0)*ohw+j0:]
	xg := k.x[(b*k.cin+gi*g.C)*hw : (b*k.cin+(gi+1)*g.C)*hw]
	K := g.K()
	var wide []float32
	if k.packed16 != nil {
		wide = work[len(work)-k.wideLen:]
		work = work[:len(work)-k.wideLen]
	}
	if !k.pointwise {
		tab.Init(g, j0, ncl)
	}
	for pc := 0; pc < K; pc += f32.KC {
		kcl := min(f32.KC, K-pc)
		var bk []float32
		switch {
		case k.direct:
			// 1×1 stride 1: B is the input itself (rows of hw pixels); the micro-kernel reads it in
			// place, so there is no copy at all.
			bk = xg[pc*hw+j0:]
		case k.pointwise:
			f32.PackB(work, false, kcl, ncl, xg[pc*hw+j0:], hw)
			bk = work
		default:
			tab.Pack(work, xg, pc, kcl)
			bk = work
		}
		k.mulTile(b, gi, pc, kcl, m0, m1, j0, ncl, bk, c, wide)
	}
	k.applyActivation(c, m1-m0, ncl)
}

// mulTile multiplies rows [m0, m1) of group gi's packed W, depth [pc, pc+kcl), by bk (the packed KC
// block of columns [j0, j0+ncl), or the input rows themselves when k.direct) into c (image b's
// output from row m0, column j0), with bias, residual and clamp fused as the block's place in K allows.
func (k *convKernel) mulTile(b, gi, pc, kcl, m0, m1, j0, ncl int, bk, c, wide []float32) {
	g := &k.geom
	ohw, hw := g.OH*g.OW, g.H*g.W
	// Bias joins on the first k block (which overwrites C), the clamp on the last: both happen in
	// the micro-kernel's registers, so C is written once per block and never re-read for them.
	ep := f32.Epilogue{Acc: pc > 0}
	if pc == 0 && k.bias != nil {
		ep.Bias = k.bias[gi*k.mg : (gi+1)*k.mg]
	}
	if pc+kcl == g.K() {
		if k.z != nil {
			ep.Add = k.z[(b*k.cout+gi*k.mg+m0)*ohw+j0:]
		}
		if clamp, lo, hi := k.act.ClampBounds(); clamp {
			ep.Clamp, ep.Lo, ep.Hi = true, lo, hi
		}
	}
	switch {
	case k.direct && k.packed16 != nil:
		f32.MulDirect16(&k.packed16[gi], m0, m1, pc, kcl, bk, hw, ncl, c, ohw, ep, wide)
	case k.direct:
		f32.MulDirect(&k.pa[gi], m0, m1, pc, kcl, bk, hw, ncl, c, ohw, ep)
	case k.packed16 != nil:
		f32.MulPacked16(&k.packed16[gi], m0, m1, pc, kcl, bk, ncl, c, ohw, ep, wide)
	default:
		f32.MulPacked(&k.pa[gi], m0, m1, pc, kcl, bk, ncl, c, ohw, ep)
	}
}

// applyActivation applies an activation the micro-kernel cannot fuse (anything but a clamp) to rows
// rows of ncl columns of c (row stride the output plane).
func (k *convKernel) applyActivation(c []float32, rows, ncl int) {
	if clamp, _, _ := k.act.ClampBounds(); clamp || k.act.Kind == ActNone {
		return
	}
	ohw := k.geom.OH * k.geom.OW
	for r := 0; r < rows; r++ {
		k.act.Apply(c[r*ohw : r*ohw+ncl])
	}
}
