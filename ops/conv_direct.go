package ops

import (
	"fmt"
	"os"
	"runtime"

	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/tensor"
)

// The direct schedule (f32.ConvDirect): 3×3 convolutions (stride 1 or 2) on small output planes whose
// output channels come in blocks of 16 run with the channels on the vector lanes, reading a zero-padded copy of the input,
// instead of a GEMM over packed im2col tiles. Per image, the threads first pad the input planes
// together, then each takes a contiguous run of (group, 64-channel block, band of rows) units, so a
// thread reads only its blocks' weights.

// convDirectMode overrides the rule for measurements: WANWU_CONV_DIRECT=off keeps every convolution
// on the GEMM path, =on sends every one the kernels cover to the direct path.
var convDirectMode = os.Getenv("WANWU_CONV_DIRECT")

// directState is the direct schedule's compiled part.
type directState struct {
	w       []float32 // packed per group (f32.PackConvDirect), ConvDirectPackedLen floats each
	glen    int
	hp, wp  int  // padded plane
	padLen  int  // floats of the padded input (all groups)
	inPlace bool // the kernels read X as it is (f32.ConvDirectInPlace): no padded copy
	tileLen int  // floats of one slot's partial sums
	blocks  int  // 64-channel blocks per group
	bands   int
	rows    int // output rows per band
	// bandMajor orders the units band by band (a thread takes rows of every block: it reads all the
	// weights but only its rows of the input, which it padded itself) rather than block by block (a
	// thread reads only its blocks' weights but the whole input): whichever is the smaller to share.
	bandMajor bool

	// Run state.
	phase int // 0: padding, 1: convolving
	xp    []float32
	tiles []float32
	image int
	units int
	parts int
}

// convDirectMaxPixels is the largest output plane the direct schedule takes. Measured per layer against
// the GEMM path (ResNet-50 shapes, min of 30 alternating runs, 1 / 2 threads): 256@14×14 0.89 / 0.83,
// 512@7×7 0.86 / 0.93, stride 2 to 14×14 0.88 / 0.92 and to 7×7 0.84 / 0.98 of the GEMM's time, where
// the GEMM's pixel lanes go part empty (196 = 6·32 + 4, 49 = 32 + 17); on larger planes the GEMM
// fills its lanes and the two tie at one thread (64@56×56 1.00, 128@28×28 1.00, stride 2 to 28×28
// 0.96) while the direct path loses at two (1.00, 1.07, 1.03): its padded copy of the input is
// larger than the GEMM's tiles.
const convDirectMaxPixels = 256

// useConvDirect reports whether k (constant f32 W, no residual) runs the direct schedule.
func useConvDirect(k *convKernel) bool {
	if convDirectMode == "off" || k.depthwise || k.residual {
		return false
	}
	if clamp, _, _ := k.act.ClampBounds(); !clamp && k.act.Kind != ActNone {
		return false // the kernel's epilogue only clamps
	}
	if convDirectMode != "on" && k.geom.OH*k.geom.OW > convDirectMaxPixels {
		return false
	}
	return f32.ConvDirectSupported(&k.geom, k.mg)
}

// initDirect packs W for the direct schedule.
func (k *convKernel) initDirect(w *tensor.Tensor, o CompileOptions) {
	g := &k.geom
	d := &directState{glen: f32.ConvDirectPackedLen(k.mg, g)}
	d.hp, d.wp = f32.ConvDirectPadded(g)
	d.inPlace = f32.ConvDirectInPlace(g)
	if !d.inPlace {
		d.padLen = k.cin * d.hp * d.wp
	}
	k.slots = runtime.GOMAXPROCS(0)
	d.bands, d.rows = f32.ConvDirectBands(g, k.mg, k.slots)
	d.tileLen = f32.ConvDirectTileLen(g, k.mg, k.slots)
	d.blocks = (k.mg + f32.ConvDirectBlock - 1) / f32.ConvDirectBlock
	d.bandMajor = k.cin*d.hp*d.wp > d.glen*k.groups
	d.w = bytesAsF32(packedWeights(o, w, fmt.Sprintf("f32.PackConvDirect g%d %dx%d k%dx%d", k.groups, k.mg, g.C, g.KH, g.KW),
		4*k.groups*d.glen, func(dst []byte) {
			p, wd := bytesAsF32(dst), w.F32()
			for gi := 0; gi < k.groups; gi++ {
				f32.PackConvDirect(p[gi*d.glen:(gi+1)*d.glen], wd[gi*k.mg*g.K():], k.mg, g)
			}
		}))
	k.dc = d
}

func (k *convKernel) directScratch() int { return k.dc.padLen + k.slots*k.dc.tileLen }

// runDirect is Run under the direct schedule.
func (k *convKernel) runDirect(ctx *Ctx, scratch []float32) {
	d := k.dc
	d.xp = scratch[:d.padLen]
	d.tiles = scratch[d.padLen : d.padLen+k.slots*d.tileLen]
	d.units = k.groups * d.blocks * d.bands
	threads := max(ctx.Pool.Threads(), 1)
	for d.image = 0; d.image < k.batch; d.image++ {
		if !d.inPlace {
			d.phase = 0
			d.parts = min(threads, k.slots, d.hp)
			ctx.Pool.ForThreads(d.parts, k)
		}
		d.phase = 1
		d.parts = min(threads, k.slots, d.units)
		ctx.Pool.ForThreads(d.parts, k)
	}
}

// doDirect pads the input channels of parts [lo, hi) (phase 0) or convolves their units (phase 1).
func (k *convKernel) doDirect(lo, hi int) {
	d := k.dc
	g := &k.geom
	hw := g.H * g.W
	x := k.x[d.image*k.cin*hw : (d.image+1)*k.cin*hw]
	if d.phase == 0 {
		// Bands of padded rows: where the units are bands of one block, a thread pads about the rows
		// it convolves. (f32.PadPlanes reads the geometry's H, W and pads, the same for every group.)
		f32.PadPlanes(d.xp, x, g, 0, k.cin, lo*d.hp/d.parts, hi*d.hp/d.parts)
		return
	}
	clamp, lo32, hi32 := k.act.ClampBounds()
	ohw := g.OH * g.OW
	src, plane := d.xp, d.hp*d.wp
	if d.inPlace {
		src, plane = x, hw
	}
	for s := lo; s < hi; s++ {
		tile := d.tiles[s*d.tileLen : (s+1)*d.tileLen]
		for u := s * d.units / d.parts; u < (s+1)*d.units/d.parts; u++ {
			gi, r := u/(d.bands*d.blocks), u%(d.bands*d.blocks)
			band, blk := r%d.bands, r/d.bands
			if d.bandMajor {
				band, blk = r/d.blocks, r%d.blocks
			}
			o0 := blk * f32.ConvDirectBlock
			var bias []float32
			if k.bias != nil {
				bias = k.bias[gi*k.mg : (gi+1)*k.mg]
			}
			y := k.y[(d.image*k.cout+gi*k.mg)*ohw : (d.image*k.cout+(gi+1)*k.mg)*ohw]
			f32.ConvDirect(g, src[gi*g.C*plane:(gi+1)*g.C*plane], d.w[gi*d.glen:(gi+1)*d.glen], y, bias,
				o0, min(f32.ConvDirectBlock, k.mg-o0), band*d.rows, min(g.OH, (band+1)*d.rows), clamp, lo32, hi32, tile)
		}
	}
}
