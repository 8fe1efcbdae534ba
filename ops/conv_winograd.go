package ops

import (
	"fmt"
	"os"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Winograd for Conv (f32.WinoPackWeights / WinoInput / WinoOutput): stride-1, undilated 3×3
// convolutions, F(2×2, 3×3) by default (F(4×4, 3×3) only when forced: see winogradPays). W is
// transformed and packed once at Compile ((m+2)² packed matrices per group, replacing W: 16/9 of its
// bytes for F(2×2)); a W computed at run time is transformed into scratch each Run. Run walks the
// output tiles of all images in blocks. A block is input transform (items: channels), (m+2)²·groups
// GEMMs on the packed micro-kernel (items: (group, point)) and output transform with bias and the
// fused clamp (items: output channels), through one block's V, M and padded input rows; with at least
// as many blocks as threads each thread runs whole blocks in its own workspace, otherwise all threads
// share each block phase by phase. Workspaces are sized at Compile (≤ winoBlockBytes of V + M each),
// so they stay bounded whatever the image size.

// Winograd's transformed weights take 16/9 the memory of the 3×3 weights they replace (ResNet-50: packed
// weights 91 -> 116 MiB), so a Conv uses it only when CompileOptions.Winograd allows it: the runtime
// allows it when Options.Winograd asks for speed over memory.
//
// winogradMode overrides useWinograd's rule: 0 = the measured rule, -1 = never (im2col), 2 or 4 =
// F(2×2) or F(4×4) for every eligible convolution (tests, benchmarks). WANWU_WINOGRAD=off|f2|f4 sets
// it for whole-model measurements.
var winogradMode = map[string]int{"off": -1, "f2": 2, "f4": 4}[os.Getenv("WANWU_WINOGRAD")]

// winoBlockBytes bounds the V + M workspaces of all threads together (each thread's block stays in
// its L2 between the phases; 1 MiB measured as fast as 2 MiB).
const winoBlockBytes = 1 << 20

type winoState struct {
	tm, np     int       // output tile edge (2 or 4) and points per tile, (tm+2)²
	data       []float32 // the packed U matrices (nil when W is not constant: packed into scratch per Run)
	uLen       int       // floats of U
	u          []f32.PackedA
	tiles      []f32.WinoTile // every output tile of the batch, in order
	nt, ntp    int            // tiles per block (ntp: padded to NR)
	kcMax      int            // channel block of one V (≤ KC)
	mgp        int            // output rows per group in M (padded to MR)
	ldv, ldm   int            // floats per point in V and in M
	scratchLen int

	// Zero-padded input rows: a block's tiles read their 6×6 patches from a per-slot copy of the
	// input rows they cover (so the transforms need no bounds tests): wp floats per row, block b covers
	// padded rows [r0[b], r0[b]+rows[b]) of images img0[b]..img1[b]; offs[t] is tile t's patch origin in it.
	wp               int
	r0, rows, i0, i1 []int
	offs             []int32
	padLen, slots    int

	wsLen int // floats of one slot's workspace: V, M and the padded rows

	// Run state.
	ws     []float32 // slots × wsLen
	blocks int
	shared winoBlock // the block all threads work on (phase mode)
	used   int       // slots in use
	phase  int
}

// winoBlock is one tile block in flight: its tiles, the K block being transformed, and the workspace
// it runs in.
type winoBlock struct {
	v, m, pad []float32
	blk       []f32.WinoTile
	blkp      int // len(blk) padded to NR: the columns the GEMMs compute
	bi, t0    int // block index, its first tile
	pc, kcl   int
}

const (
	winoPhaseIn = iota
	winoPhaseGemm
	winoPhaseOut
	winoPhaseSlots // each slot runs whole blocks in its own workspace
)

// useWinograd returns the Winograd output tile edge k (a grouped or plain, non-depthwise Conv with
// constant f32 W) runs with, or 0 for im2col.
func useWinograd(k *convKernel) int {
	g := &k.geom
	if winogradMode < 0 || k.depthwise || g.KH != 3 || g.KW != 3 || g.SH != 1 || g.SW != 1 || g.DH != 1 || g.DW != 1 || g.OH < 2 {
		return 0
	}
	if clamp, _, _ := k.act.ClampBounds(); !clamp && k.act.Kind != ActNone {
		return 0 // other activations would need a pass over scattered tile rows
	}
	if winogradMode > 0 {
		return winogradMode
	}
	if winogradPays(g.C, k.mg, k.batch*((g.OH+1)/2)*((g.OW+1)/2)) {
		return 2
	}
	return 0
}

// winogradPays is the measured rule (BenchmarkConvWinograd: 1 thread, min CPU time of 15, im2col /
// F(2×2) / F(4×4) alternating in one process, AVX-512 transforms; ms):
//
//	layer (ResNet-50 / ResNeSt)   im2col  F(2×2)  F(4×4)
//	64@56×56                       3.25    2.07    1.55
//	128@28×28                      2.98    1.94    1.37
//	256@14×14                      3.03    1.97    2.56   (F4: 16 tiles in a 32-wide panel)
//	512@7×7                        3.63    3.74    9.54   (16 / 4 tiles: padding waste)
//	128->256@56×56, group 2        11.3    7.20    5.36
//	32@112×112                     4.40    3.06    2.06
//
// F(2×2) is the variant used: F(4×4) is faster on large planes but its rounding error (~1e-5 of a
// layer's scale, winoTol) exceeds the per-element Conv tolerance the im2col path meets, which F(2×2)
// keeps. Fewer than 32 tiles (7×7 at batch 1: 16) lose to the panel padding. Without the vector
// transforms (AVX2 and Go rungs) the scalar transforms cost about what the GEMMs save, so those stay
// on im2col.
func winogradPays(cin, mg, tiles int) bool {
	return f32.WinoVector() && cin >= 16 && mg >= 16 && tiles >= 32
}

// newWinoState prepares the Winograd path; w is the constant weight (its U matrices come from
// o.Weights, nil: packed here), or nil when W is computed at run time and packed into scratch.
func newWinoState(k *convKernel, w *tensor.Tensor, o CompileOptions, tm int) *winoState {
	g := &k.geom
	s := &winoState{tm: tm, np: f32.WinoPointsOf(tm)}
	s.u = make([]f32.PackedA, k.groups*s.np)
	s.uLen = f32.WinoPackedLen(tm, k.cout, k.cin, k.groups)
	if w != nil {
		layout := fmt.Sprintf("f32.WinoU F(%d) g%d %d<-%d mr%d", tm, k.groups, k.cout, k.cin, f32.MR)
		s.data = bytesAsF32(packedWeights(o, w, layout, 4*s.uLen, func(dst []byte) {
			f32.WinoPackWeights(make([]f32.PackedA, k.groups*s.np), bytesAsF32(dst), w.F32(), tm, k.cout, k.cin, k.groups)
		}))
		// The headers WinoPackWeights describes its output with, made from the (possibly shared) data.
		mg, cg := k.cout/k.groups, k.cin/k.groups
		plen := f32.PackedALen(mg, cg)
		for i := range s.u {
			s.u[i] = f32.PackedA{M: mg, K: cg, MR: f32.MR, Data: s.data[i*plen : (i+1)*plen]}
		}
	}
	th, tw := (g.OH+tm-1)/tm, (g.OW+tm-1)/tm
	for b := 0; b < k.batch; b++ {
		for ty := 0; ty < th; ty++ {
			for tx := 0; tx < tw; tx++ {
				s.tiles = append(s.tiles, f32.WinoTile{Img: int32(b), OY: int32(tm * ty), OX: int32(tm * tx)})
			}
		}
	}
	s.kcMax = min(g.C, f32.KC)
	s.mgp = f32.RoundUp(k.mg, f32.MR)
	perTile := s.np * (k.groups*s.kcMax + k.groups*s.mgp) * 4
	// Blocks of whole NR-wide panels (only the last block pads), balanced in panels.
	// Each thread gets its own workspace, so the blocks shrink with the thread count and the total
	// stays about winoBlockBytes.
	s.slots = o.slots()
	maxPanels := max(1, winoBlockBytes/s.slots/perTile/f32.NR)
	panels := (len(s.tiles) + f32.NR - 1) / f32.NR
	blocks := (panels + maxPanels - 1) / maxPanels
	s.ntp = (panels + blocks - 1) / blocks * f32.NR
	s.nt = min(s.ntp, len(s.tiles))
	s.ldv = s.kcMax * s.ntp
	s.ldm = k.groups * s.mgp * s.ntp
	s.wp = tm*tw + 2
	s.offs = make([]int32, len(s.tiles))
	for t0 := 0; t0 < len(s.tiles); t0 += s.nt {
		blk := s.tiles[t0:min(t0+s.nt, len(s.tiles))]
		first, last := blk[0], blk[len(blk)-1]
		r0, rows := 0, tm*th+2
		if first.Img == last.Img {
			r0, rows = int(first.OY), int(last.OY-first.OY)+tm+2
		}
		s.r0, s.rows = append(s.r0, r0), append(s.rows, rows)
		s.i0, s.i1 = append(s.i0, int(first.Img)), append(s.i1, int(last.Img))
		for j, tl := range blk {
			s.offs[t0+j] = int32((int(tl.Img-first.Img)*rows+int(tl.OY)-r0)*s.wp + int(tl.OX))
		}
		s.padLen = max(s.padLen, int(last.Img-first.Img+1)*rows*s.wp)
	}
	s.blocks = (len(s.tiles) + s.nt - 1) / s.nt
	s.wsLen = s.np*(k.groups*s.ldv+s.ldm) + s.padLen
	s.scratchLen = s.slots * s.wsLen
	if w == nil {
		s.scratchLen += s.uLen
	}
	return s
}

// slotBlock is slot's workspace as a winoBlock.
func (s *winoState) slotBlock(slot, groups int) winoBlock {
	ws := s.ws[slot*s.wsLen : (slot+1)*s.wsLen]
	nv, nm := s.np*groups*s.ldv, s.np*s.ldm
	return winoBlock{v: ws[:nv], m: ws[nv : nv+nm], pad: ws[nv+nm:]}
}

func (s *winoState) setBlock(b *winoBlock, bi int) {
	b.bi, b.t0 = bi, bi*s.nt
	b.blk = s.tiles[b.t0:min(b.t0+s.nt, len(s.tiles))]
	b.blkp = f32.RoundUp(len(b.blk), f32.NR)
}

func (k *convKernel) runWinograd(ctx *Ctx, scratch []float32) {
	s := k.wino
	g := &k.geom
	s.ws = scratch[:s.slots*s.wsLen]
	if s.data == nil {
		// W computed at run time: transform it into scratch (serially; such graphs are rare).
		ud := scratch[len(s.ws):][:s.uLen]
		f32.WinoPackWeights(s.u, ud, k.w, s.tm, k.cout, k.cin, k.groups)
	}
	threads := min(s.slots, max(ctx.Pool.Threads(), 1))
	if threads > 1 && s.blocks >= threads {
		// Enough blocks for every thread: each runs whole blocks in its own workspace, with no
		// barrier between the phases.
		s.used = threads
		s.phase = winoPhaseSlots
		ctx.Pool.For(s.used, 1, k)
		return
	}
	// Few blocks (small planes) or one thread: all threads share each block, phase by phase.
	b := &s.shared
	*b = s.slotBlock(0, k.groups)
	for bi := 0; bi < s.blocks; bi++ {
		s.setBlock(b, bi)
		for b.pc = 0; b.pc < g.C; b.pc += f32.KC {
			b.kcl = min(f32.KC, g.C-b.pc)
			s.phase = winoPhaseIn
			// Items are slots (each pads input rows in its own workspace), each a run of (group,
			// channel) pairs.
			s.used = min(threads, k.groups*b.kcl)
			ctx.Pool.For(s.used, 1, k)
			s.phase = winoPhaseGemm
			ctx.Pool.For(k.groups*s.np, 1, k)
		}
		s.phase = winoPhaseOut
		ctx.Pool.For(k.cout, 1, k)
	}
}

func (k *convKernel) doWinograd(lo, hi int) {
	s := k.wino
	b := &s.shared
	switch s.phase {
	case winoPhaseIn:
		n := k.groups * b.kcl
		for slot := lo; slot < hi; slot++ {
			k.winoIn(b, s.slotBlock(slot, k.groups).pad, slot*n/s.used, (slot+1)*n/s.used)
		}
	case winoPhaseGemm:
		k.winoGemm(b, lo, hi)
	case winoPhaseOut:
		k.winoOut(b, lo, hi)
	case winoPhaseSlots:
		g := &k.geom
		for slot := lo; slot < hi; slot++ {
			sb := s.slotBlock(slot, k.groups)
			for bi := slot * s.blocks / s.used; bi < (slot+1)*s.blocks/s.used; bi++ {
				s.setBlock(&sb, bi)
				for sb.pc = 0; sb.pc < g.C; sb.pc += f32.KC {
					sb.kcl = min(f32.KC, g.C-sb.pc)
					k.winoIn(&sb, sb.pad, 0, k.groups*sb.kcl)
					k.winoGemm(&sb, 0, k.groups*s.np)
				}
				k.winoOut(&sb, 0, k.cout)
			}
		}
	}
}

// winoIn transforms the (group, channel) pairs [i0, i1) of block b's K block, padding input rows in pad.
func (k *convKernel) winoIn(b *winoBlock, pad []float32, i0, i1 int) {
	s := k.wino
	g := &k.geom
	hw := g.H * g.W
	rows := s.rows[b.bi]
	offs := s.offs[b.t0 : b.t0+len(b.blk)]
	for i := i0; i < i1; i++ {
		gi, c := i/b.kcl, b.pc+i%b.kcl
		for img := s.i0[b.bi]; img <= s.i1[b.bi]; img++ {
			ch := img*k.cin + gi*g.C + c
			f32.WinoPad(pad[(img-s.i0[b.bi])*rows*s.wp:], k.x[ch*hw:(ch+1)*hw], g, s.r0[b.bi], rows, s.wp)
		}
		f32.WinoInput(b.v[gi*s.np*s.ldv:], s.ldv, pad, s.wp, offs, s.tm, b.kcl, c-b.pc)
	}
}

// winoGemm runs the (group, point) products [i0, i1) of block b's K block.
func (k *convKernel) winoGemm(b *winoBlock, i0, i1 int) {
	s := k.wino
	ep := f32.Epilogue{Acc: b.pc > 0}
	for i := i0; i < i1; i++ {
		gi, xi := i/s.np, i%s.np
		// All MR-padded rows and NR-padded columns: full tiles only (the pads are zero in U and V
		// and never read back).
		f32.MulPacked(&s.u[i], 0, s.mgp, b.pc, b.kcl, b.v[i*s.ldv:(i+1)*s.ldv], b.blkp,
			b.m[xi*s.ldm+gi*s.mgp*b.blkp:], b.blkp, ep)
	}
}

// winoOut writes output channels [co0, co1) of block b.
func (k *convKernel) winoOut(b *winoBlock, co0, co1 int) {
	s := k.wino
	clamp, clo, chi := k.act.ClampBounds()
	for co := co0; co < co1; {
		gi := co / k.mg
		ce := min(co1, (gi+1)*k.mg)
		// Row co of M is gi*mgp + co%mg: shift the view so WinoOutput's co*blkp lands there.
		m := b.m[gi*(s.mgp-k.mg)*b.blkp:]
		f32.WinoOutput(k.y, m, s.ldm, b.blkp, &k.geom, s.tm, k.cout, b.blk, co, ce, k.bias, clamp, clo, chi)
		co = ce
	}
}

// ConvPackedBytes is the size of the packed weight copy the Conv kernel makes at Compile for node n
// with a constant f32 W: the Winograd U matrices where a Winograd path is taken, else one PackA panel set
// per group; 0 for depthwise convolutions (W read as is) and nodes that do not compile. It decides
// from shapes and attributes only (W is neither read nor packed), so a memory estimate can use it.
func ConvPackedBytes(n *graph.Node) int {
	w := n.Input(1)
	if w == nil || w.DType != tensor.F32 {
		return 0
	}
	lite := *n
	lite.Inputs = append([]*graph.Value(nil), n.Inputs...)
	wv := *w
	wv.Const = nil
	lite.Inputs[1] = &wv
	lite.Outputs = []*graph.Value{{Name: "y"}}
	k, err := compileConv(&lite)
	if err != nil {
		return 0
	}
	ck := k.(*convKernel)
	switch {
	case ck.depthwise:
		if useDepthwiseTile(ck) {
			return 4 * ck.cout * ck.geom.KH * ck.geom.KW
		}
		return 0
	case useConvDirect(ck, ck.slots) && useWinoDirect(ck, CompileOptions{Winograd: true}): // with a constant W
		return 4 * ck.groups * f32.WinoDirectPackedLen(ck.mg, ck.geom.C)
	case ck.wino != nil:
		return 4 * ck.wino.uLen
	}
	return 4 * ck.groups * ck.packLen
}
