package ops

import (
	"os"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
)

// Winograd F(4×4, 3×3) for Conv (f32.WinoPackWeights / WinoInput / WinoOutput): stride-1, undilated
// 3×3 convolutions with constant f32 W. W is transformed and packed once at Compile (36 packed
// matrices per group, replacing W: 4× its bytes). Run walks the output tiles of all images in blocks;
// each block is three parallel phases over the pool — input transform (items: channels), 36·groups
// GEMMs on the packed micro-kernel (items: (group, point)), output transform with bias and the
// fused clamp (items: output channels) — through a workspace of one block's V and M, sized at
// Compile so it stays bounded whatever the image size.

// winogradMode overrides the size rule of useWinograd: 0 = measured rule, 1 = every eligible
// convolution (tests), -1 = never (benchmarks comparing against im2col). WANWU_WINOGRAD=force|off
// sets it for whole-model measurements.
var winogradMode = map[string]int{"force": 1, "off": -1}[os.Getenv("WANWU_WINOGRAD")]

// winoBlockBytes bounds one block's workspace (V + M): it stays in L2/L3 between the phases.
const winoBlockBytes = 1 << 21

type winoState struct {
	data       []float32 // the packed U matrices
	u          []f32.PackedA
	tiles      []f32.WinoTile // every output tile of the batch, in order
	nt, ntp    int            // tiles per block (ntp: padded to NR)
	kcMax      int            // channel block of one V (≤ KC)
	mgp        int            // output rows per group in M (padded to MR)
	ldv, ldm   int            // floats per point in V and in M
	scratchLen int

	// Run state.
	v, m    []float32
	blk     []f32.WinoTile
	blkp    int // len(blk) padded to NR: the columns the GEMMs compute
	phase   int
	pc, kcl int
}

const (
	winoPhaseIn = iota
	winoPhaseGemm
	winoPhaseOut
)

// useWinograd says whether k (a grouped or plain, non-depthwise Conv with constant f32 W) takes the
// Winograd path.
func useWinograd(k *convKernel, n *graph.Node) bool {
	g := &k.geom
	if winogradMode < 0 || k.depthwise || g.KH != 3 || g.KW != 3 || g.SH != 1 || g.SW != 1 || g.DH != 1 || g.DW != 1 || g.OH < 2 {
		return false
	}
	if clamp, _, _ := k.act.clampBounds(); !clamp && k.act.Kind != ActNone {
		return false // other activations would need a pass over scattered tile rows
	}
	if winogradMode > 0 {
		return true
	}
	return winogradPays(g.C, k.mg, g.OH, g.OW)
}

// winogradPays is the measured rule (BenchmarkConvWinograd, 1 thread, min CPU time, im2col and
// Winograd alternating): with the transforms in scalar Go they cost about what the 36-point GEMMs
// save, so Winograd won only at 128 channels on 28×28 (3.0 -> 2.5 ms); it lost at 64@56×56
// (3.2 -> 3.7 ms), 32@112×112, 512@7×7 (4 tiles padded to a 32-wide panel), tied at 256@14×14 and on
// ResNeSt's grouped 128@56×56, and F(4×4)'s error (~1e-5 of the layer's scale, see winoTol) exceeds
// the Conv tolerance the im2col path meets. So the default is off until the transforms are vector
// kernels; WANWU_WINOGRAD=force measures it.
func winogradPays(cin, mg, oh, ow int) bool {
	return false
}

func newWinoState(k *convKernel, w []float32) *winoState {
	g := &k.geom
	s := &winoState{}
	s.data = make([]float32, f32.WinoPackedLen(k.cout, k.cin, k.groups))
	s.u = f32.WinoPackWeights(s.data, w, k.cout, k.cin, k.groups)
	th, tw := (g.OH+3)/4, (g.OW+3)/4
	for b := 0; b < k.batch; b++ {
		for ty := 0; ty < th; ty++ {
			for tx := 0; tx < tw; tx++ {
				s.tiles = append(s.tiles, f32.WinoTile{Img: int32(b), OY: int32(4 * ty), OX: int32(4 * tx)})
			}
		}
	}
	s.kcMax = min(g.C, f32.KC)
	s.mgp = f32.RoundUp(k.mg, f32.MR)
	perTile := f32.WinoPoints * (k.groups*s.kcMax + k.groups*s.mgp) * 4
	// Blocks of whole NR-wide panels (only the last block pads), balanced in panels.
	maxPanels := max(1, winoBlockBytes/perTile/f32.NR)
	panels := (len(s.tiles) + f32.NR - 1) / f32.NR
	blocks := (panels + maxPanels - 1) / maxPanels
	s.ntp = (panels + blocks - 1) / blocks * f32.NR
	s.nt = min(s.ntp, len(s.tiles))
	s.ldv = s.kcMax * s.ntp
	s.ldm = k.groups * s.mgp * s.ntp
	s.scratchLen = f32.WinoPoints * (k.groups*s.ldv + s.ldm)
	return s
}

func (k *convKernel) runWinograd(ctx *Ctx, scratch []float32) {
	s := k.wino
	g := &k.geom
	s.v = scratch[:f32.WinoPoints*k.groups*s.ldv]
	s.m = scratch[len(s.v) : len(s.v)+f32.WinoPoints*s.ldm]
	for t0 := 0; t0 < len(s.tiles); t0 += s.nt {
		s.blk = s.tiles[t0:min(t0+s.nt, len(s.tiles))]
		s.blkp = f32.RoundUp(len(s.blk), f32.NR)
		for s.pc = 0; s.pc < g.C; s.pc += f32.KC {
			s.kcl = min(f32.KC, g.C-s.pc)
			s.phase = winoPhaseIn
			ctx.Pool.For(k.groups*s.kcl, 1, k)
			s.phase = winoPhaseGemm
			ctx.Pool.For(k.groups*f32.WinoPoints, 1, k)
		}
		s.phase = winoPhaseOut
		ctx.Pool.For(k.cout, 1, k)
	}
}

func (k *convKernel) doWinograd(lo, hi int) {
	s := k.wino
	g := &k.geom
	switch s.phase {
	case winoPhaseIn:
		for i := lo; i < hi; {
			gi, c := i/s.kcl, i%s.kcl
			c1 := min(s.kcl, c+hi-i) // channels of this group in [lo, hi)
			f32.WinoInput(s.v[gi*f32.WinoPoints*s.ldv:], s.ldv, k.x, g, k.cin, gi*g.C, s.blk, s.pc, s.kcl, s.pc+c, s.pc+c1)
			i += c1 - c
		}
	case winoPhaseGemm:
		ep := f32.Epilogue{Acc: s.pc > 0}
		for i := lo; i < hi; i++ {
			gi, xi := i/f32.WinoPoints, i%f32.WinoPoints
			// All MR-padded rows and NR-padded columns: full tiles only (the pads are zero in U and V
			// and never read back).
			f32.MulPacked(&s.u[i], 0, s.mgp, s.pc, s.kcl, s.v[i*s.ldv:(i+1)*s.ldv], s.blkp,
				s.m[xi*s.ldm+gi*s.mgp*s.blkp:], s.blkp, ep)
		}
	case winoPhaseOut:
		clamp, clo, chi := k.act.clampBounds()
		for co := lo; co < hi; {
			gi := co / k.mg
			co1 := min(hi, (gi+1)*k.mg)
			// Row co of M is gi*mgp + co%mg: shift the view so WinoOutput's co*blkp lands there.
			m := s.m[gi*(s.mgp-k.mg)*s.blkp:]
			f32.WinoOutput(k.y, m, s.ldm, s.blkp, g, k.cout, s.blk, co, co1, k.bias, clamp, clo, chi)
			co = co1
		}
	}
}
