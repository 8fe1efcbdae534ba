package ops

import "github.com/wanwu-ai/wanwu/internal/kernels/f32"

// The shared-B schedule of a GEMM convolution with few output pixels (7×7 planes: 2 column panels)
// that is not deep enough for the split-K one (conv_ksplit.go; ResNet-50's 7×7 downsample, 1024→2048
// stride 2). The per-slot schedule (conv_split.go) then has two poor choices: split the rows, so every
// thread packs (im2col) the same columns, or split the few panels, so every thread streams all of W.
// Instead the threads first pack the whole im2col matrix once, together, into one buffer, then each
// multiplies its share of the rows by all of it: no packing twice, and each thread reads only its rows
// of W.

// convSharedMaxBytes bounds the shared im2col buffer (ResNet-50's 14×14 3×3 layers need 1.97 MiB): it
// is scratch, part of the predicted peak, and past L2-sized blocks the per-slot schedule splits well.
const convSharedMaxBytes = 2 << 20

// convSharedColParts is how many column ranges each KC block of the shared buffer is packed in, so
// that two threads have work even for a layer of a single KC block.
const convSharedColParts = 2

// planShared reports whether k (compiled with split sp) should pack B once for all threads.
func (k *convKernel) planShared(sp convSplit) bool {
	if k.slots <= 1 || k.direct || k.batch*k.groups != 1 || k.packLen != 0 {
		return false
	}
	if sp.msplit > 1 || sp.tiles >= 2*k.slots {
		// Split rows: each thread packs all of B but reads only its rows of W, and measured faster than
		// sharing (ResNet-50's 14×14 3×3 layers: 0.87 against 1.0 ms on 2 threads), whose packed
		// halves cross between the cores' caches. Many tiles: balanced, and nothing packed twice.
		return false
	}
	return 4*k.geom.K()*k.panels*f32.NR <= convSharedMaxBytes
}

// initShared prepares the shared schedule: one im2col table per column part, read-only at Run.
func (k *convKernel) initShared() {
	k.shared = true
	k.sharedLen = k.geom.K() * k.panels * f32.NR
	k.slotLen = k.wideLen // the slots keep only their widening buffers (f16 weights)
	k.shParts = min(convSharedColParts, k.panels)
	if k.pointwise {
		return
	}
	ohw := k.geom.OH * k.geom.OW
	k.shTabs = make([]f32.Im2col, k.shParts)
	for cp := range k.shTabs {
		j0, ncl := k.sharedCols(cp, ohw)
		k.shTabs[cp].Init(&k.geom, j0, ncl)
	}
}

// sharedCols is column part cp's first column and width.
func (k *convKernel) sharedCols(cp, ohw int) (j0, ncl int) {
	j0 = cp * k.panels / k.shParts * f32.NR
	return j0, min((cp+1)*k.panels/k.shParts*f32.NR, ohw) - j0
}

// sharedBlock is the packed KC block that starts at row pc: panel-major, kcl rows of NR floats each.
func (k *convKernel) sharedBlock(pc int) []float32 {
	ncp := k.panels * f32.NR
	return k.shBuf[pc*ncp : pc*ncp+min(f32.KC, k.geom.K()-pc)*ncp]
}

// runShared is Run's GEMM part under the shared schedule (one image, one group).
func (k *convKernel) runShared(ctx *Ctx, scratch []float32) {
	k.pa = k.packed
	k.shBuf = scratch[:k.sharedLen]
	k.work = scratch[k.sharedLen:]
	blocks := (k.geom.K() + f32.KC - 1) / f32.KC
	k.shPhase = 0
	ctx.Pool.For(blocks*k.shParts, 1, k)
	k.shPhase = 1
	k.shRowParts = min(k.slots, max(ctx.Pool.Threads(), 1), (k.mg+f32.MR-1)/f32.MR)
	ctx.Pool.ForThreads(k.shRowParts, k)
}

// doShared packs items [lo, hi) (phase 0: KC block × column part) or multiplies
// by the whole packed matrix (phase 1: row parts [lo, hi)).
func (k *convKernel) doShared(lo, hi int) {
	g := &k.geom
	ohw, hw := g.OH*g.OW, g.H*g.W
	if k.shPhase == 0 {
		for it := lo; it < hi; it++ {
			cp, pc := it%k.shParts, it/k.shParts*f32.KC
			kcl := min(f32.KC, g.K()-pc)
			j0, ncl := k.sharedCols(cp, ohw)
			dst := k.sharedBlock(pc)[j0*kcl:]
			if k.pointwise {
				f32.PackB(dst, false, kcl, ncl, k.x[pc*hw+j0:], hw)
			} else {
				k.shTabs[cp].Pack(dst, k.x, pc, kcl)
			}
		}
		return
	}
	// Phase 1: row parts; part s is a contiguous run of MR-row panels, and runs on one thread at a time,
	// so it may use slot s's widening buffer (f16 weights).
	rp := (k.mg + f32.MR - 1) / f32.MR
	for s := lo; s < hi; s++ {
		m0, m1 := s*rp/k.shRowParts*f32.MR, min((s+1)*rp/k.shRowParts*f32.MR, k.mg)
		if m0 >= m1 {
			continue
		}
		var wide []float32
		if k.packed16 != nil {
			wide = k.work[s*k.wideLen : (s+1)*k.wideLen]
		}
		c := k.y[m0*ohw:]
		for pc := 0; pc < g.K(); pc += f32.KC {
			kcl := min(f32.KC, g.K()-pc)
			k.mulTile(0, 0, pc, kcl, m0, m1, 0, ohw, k.sharedBlock(pc), c, wide)
		}
		k.applyActivation(c, m1-m0, ohw)
	}
}
