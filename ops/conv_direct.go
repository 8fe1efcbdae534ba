package ops

import (
	"fmt"
	"os"
	"unsafe"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/tensor"
)

// The direct schedule (f32.ConvDirect): 3×3 convolutions (stride 1 or 2) whose output channels come in
// blocks of 16 run with the channels on the vector lanes instead of a GEMM
// over packed im2col tiles. Per image, each thread takes a contiguous run of (group, 64-channel block,
// band of rows) units, padding the input rows of a band into its own scratch as it goes.

// convDirectMode overrides the rule for measurements: WANWU_CONV_DIRECT=off keeps every convolution
// on the GEMM path, =on sends every one the kernels cover to the direct path.
var convDirectMode = os.Getenv("WANWU_CONV_DIRECT")

// directState is the direct schedule's compiled part.
type directState struct {
	g       f32.ConvGeom // the geometry the kernels see: a pointwise conv's plane as one row
	w       []float32    // packed per group (f32.PackConvDirect), ConvDirectPackedLen floats each
	w16     []uint16     // or in half precision (f32.PackConvDirect16; fp16 models), w then nil
	glen    int
	slotLen int  // floats of one slot's scratch (f32.ConvDirectScratchLen)
	wino    bool // Winograd F(2×2, 3×3) on the lanes (f32.WinoDirect; w packed by f32.PackWinoDirect)
	blocks  int  // 64-channel blocks per group
	bands   int
	rows    int // output rows per band
	// bandMajor orders the units band by band (a thread takes rows of every block: it reads all the
	// weights but only its rows of the input, which it padded itself) rather than block by block (a
	// thread reads only its blocks' weights but the whole input): whichever is the smaller to share.
	bandMajor bool

	// Run state.
	slots []float32
	image int
	units int
	parts int
}

// Pointwise (1×1, stride 1, unpadded) convolutions run direct on planes of at most
// convDirect1x1MaxPixels, or convDirect1x1MaxPixels1T on one thread; larger ones stay on the GEMM,
// whose pixel lanes are full there. BenchmarkConvDirectVsGEMM (direct / GEMM time, 1 / 2 threads):
// 2048→512@7×7 0.81 / 0.79, 512→2048@7×7 0.81 / 0.85 (the GEMM's 49 pixels fill 49 of 64 lanes),
// 1024→256@14×14 0.97 / 0.83, 256→1024 0.95 / 0.96, 1024→512 0.96 / 0.88, 512→128@28×28 1.05 /
// 1.06. In ResNet-50 (per-node minima, 3 alternating profiles) the 7×7 layers gain 0.09 ms each on
// one thread and 0.05 on two, the 14×14 ones 0.02-0.05 on one but lose 0.04 on two: the direct
// schedule splits output channels between the threads, each reading every pixel, where the GEMM's
// pixel split leaves each thread the pixels the layer before wrote on its core.
const (
	convDirect1x1MaxPixels   = 7 * 7
	convDirect1x1MaxPixels1T = 14 * 14
)

// useConvDirect reports whether k (constant f32 W) runs the direct schedule on threads threads:
// wherever the kernels cover it, pointwise convolutions on small planes only (above). BenchmarkConvDirectVsGEMM (min of 40 runs alternating in one process, direct /
// GEMM time, 1 / 2 threads): ResNet-50's 3×3 layers 64@56×56 0.94 / 0.86-0.90, 128@28×28 0.98 /
// 0.94-1.05, 256@14×14 0.91 / 0.85, 512@7×7 0.80 / 0.91, stride 2 to 28×28 0.93 / 0.94, to 14×14
// 0.89 / 0.87, to 7×7 0.81 / 0.94; MobileNetV2's stem (3 channels, stride 2, 224×224) 0.88 / 0.73;
// ResNeSt's deep stem 1.04 / 0.89, 64@112×112 0.97 / 0.86, its radix-2 grouped 3×3 at 56×56 0.94 / 0.94.
func useConvDirect(k *convKernel, threads int) bool {
	if convDirectMode == "off" || k.depthwise {
		return false
	}
	if g := &k.geom; g.KH == 1 && g.KW == 1 {
		limit := convDirect1x1MaxPixels
		if threads == 1 {
			limit = convDirect1x1MaxPixels1T
		}
		if !k.pointwise || (convDirectMode != "on" && g.OH*g.OW > limit) {
			return false
		}
	}
	if clamp, _, _ := k.act.ClampBounds(); !clamp && k.act.Kind != ActNone {
		return false // the kernel's epilogue only clamps
	}
	return f32.ConvDirectSupported(&k.geom, k.mg)
}

// winoDirectMode overrides useWinoDirect for measurements: WANWU_CONV_WINO=off keeps the 3×3 stride-1
// layers on the direct convolution.
var winoDirectMode = os.Getenv("WANWU_CONV_WINO")

// winoDirectMinPixels is the smallest output plane useWinoDirect takes. BenchmarkWinoDirect against
// BenchmarkConvDirect (one thread): ResNet-50's 64@56×56 0.52, 128@28×28 0.48, 256@14×14 0.48,
// 512@7×7 0.65. The 7×7 layers gain less in the model (1.21 -> 1.08-1.10 ms one thread, 0.61 ->
// 0.56-0.59 two: their weights, 16/9 of 9 MiB a layer, come from memory once per inference), 0.25 ms
// of ResNet-50's 36 for 15 MiB more weights: left on the direct convolution.
const winoDirectMinPixels = 14 * 14

// useWinoDirect reports whether a direct-schedule convolution (constant W, f32 or f16) runs Winograd F(2×2,
// 3×3) with the channels on the lanes: when the options allow Winograd, 3×3 stride-1 layers on planes
// of winoDirectMinPixels or more, where the kernels cover them, and not fused with a pool.
func useWinoDirect(k *convKernel, o CompileOptions) bool {
	g := &k.geom
	return o.Winograd && winoDirectMode != "off" && !k.pointwise && !k.pool && g.OH*g.OW >= winoDirectMinPixels && f32.WinoDirectSupported(g, k.mg)
}

// directLayout is the layout name of W packed for the direct schedule (ops.WeightCache), in halves
// when half is set.
func (k *convKernel) directLayout(half bool) string {
	h := ""
	if half {
		h = "16"
	}
	return fmt.Sprintf("f32.PackConvDirect%s g%d %dx%d k%dx%d", h, k.groups, k.mg, k.geom.C, k.geom.KH, k.geom.KW)
}

// gemmLayout is the layout name of W packed for the GEMM path, in halves when half is set.
func (k *convKernel) gemmLayout(half bool) string {
	h := ""
	if half {
		h = "16"
	}
	return fmt.Sprintf("f32.PackA%s g%d %dx%d mr%d", h, k.groups, k.mg, k.geom.K(), f32.MR)
}

// packingAvailability is implemented by a WeightCache that may hold weights only packed (a compiled
// model file): whether w can be had in layout.
type packingAvailability interface {
	Available(w *tensor.Tensor, layout string) bool
}

// chooseDirect is useConvDirect on the program's threads, except where W (w: its constant, or its
// GEMM packing when prepacked) exists only packed: whether a pointwise convolution runs direct depends
// on the thread count (convDirect1x1MaxPixels1T), and a file converted on another count holds the
// other packing, so the schedule whose packing the file holds is taken.
func (k *convKernel) chooseDirect(o CompileOptions, w *tensor.Tensor, half, prepacked bool) bool {
	direct := useConvDirect(k, o.slots())
	av, ok := o.Weights.(packingAvailability)
	if !ok || !k.pointwise || w == nil {
		return direct
	}
	dl := k.directLayout(half)
	if direct {
		// The GEMM needs no packing of a prepacked W (it runs on it as it is).
		return av.Available(w, dl) || (!prepacked && !av.Available(w, k.gemmLayout(half)))
	}
	return useConvDirect(k, 1) && av.Available(w, dl) && (prepacked || !av.Available(w, k.gemmLayout(half)))
}

// initDirect packs W for the direct schedule.
func (k *convKernel) initDirect(w *tensor.Tensor, o CompileOptions) {
	d := k.planDirect(o, useWinoDirect(k, o))
	g := &d.g
	if d.wino {
		d.w = bytesAsF32(packedWeights(o, w, fmt.Sprintf("f32.PackWinoDirect g%d %dx%d", k.groups, k.mg, g.C),
			4*k.groups*d.glen, func(dst []byte) {
				p, wd := bytesAsF32(dst), w.F32()
				for gi := 0; gi < k.groups; gi++ {
					f32.PackWinoDirect(p[gi*d.glen:(gi+1)*d.glen], wd[gi*k.mg*g.K():], k.mg, g.C)
				}
			}))
		return
	}
	d.w = bytesAsF32(packedWeights(o, w, k.directLayout(false),
		4*k.groups*d.glen, func(dst []byte) {
			p, wd := bytesAsF32(dst), w.F32()
			for gi := 0; gi < k.groups; gi++ {
				f32.PackConvDirect(p[gi*d.glen:(gi+1)*d.glen], wd[gi*k.mg*g.K():], k.mg, g)
			}
		}))
}

// planDirect sets k.dc up for the direct schedule (Winograd's when wino is set), all but the packed
// weights.
func (k *convKernel) planDirect(o CompileOptions, wino bool) *directState {
	d := &directState{g: k.geom, wino: wino}
	g := &d.g
	if k.pointwise {
		// Rows do not matter to a 1×1 window: one row of all the pixels cuts into fuller pixel runs
		// (7×7 = 8 runs of 6 and one of 1 as 49 = 9 runs of 5-6, not 7 rows of 4+3).
		g.H, g.W, g.OH, g.OW = 1, g.H*g.W, 1, g.OH*g.OW
	}
	d.glen = f32.ConvDirectPackedLen(k.mg, g)
	k.slots = o.slots()
	d.bands, d.rows = f32.ConvDirectBands(g, k.mg, k.slots)
	d.slotLen = f32.ConvDirectScratchLen(g, k.mg, k.slots)
	if k.pool {
		d.slotLen = f32.ConvDirectPoolScratchLen(g)
	}
	if wino {
		d.glen = f32.WinoDirectPackedLen(k.mg, g.C)
		d.bands, d.rows = f32.WinoDirectBands(g, k.mg, k.slots)
		d.slotLen = f32.WinoDirectScratchLen(g, k.mg, k.slots)
	}
	d.blocks = (k.mg + f32.ConvDirectBlock - 1) / f32.ConvDirectBlock
	hp, wp := f32.ConvDirectPadded(g)
	d.bandMajor = k.cin*hp*wp > d.glen*k.groups
	k.dc = d
	return d
}

func (k *convKernel) directScratch() int { return k.slots * k.dc.slotLen }

// initDirect16 packs half-precision W for the direct schedule: from W's halves in ONNX order, or from
// pre, W already packed for the GEMM (PackedA16 with row tile preMR, one block per group; F16Conv),
// through row-major halves.
func (k *convKernel) initDirect16(pre *tensor.Tensor, preMR int, w *graph.Value, o CompileOptions) {
	src := w.Const
	if pre != nil {
		src = pre
	}
	d := k.planDirect(o, useWinoDirect(k, o))
	g := &d.g
	K := g.K()
	layout := k.directLayout(true)
	if d.wino {
		layout = fmt.Sprintf("f32.PackWinoDirect16 g%d %dx%d", k.groups, k.mg, g.C)
	}
	b := packedWeights(o, src, layout,
		2*k.groups*d.glen, func(dst []byte) {
			p := unsafe.Slice((*uint16)(unsafe.Pointer(&dst[0])), len(dst)/2)
			halves := src.F16()
			plain := halves
			if pre != nil {
				plain = make([]uint16, k.mg*K)
			}
			plen := f32.RoundUp(k.mg, max(preMR, 1)) * K
			for gi := 0; gi < k.groups; gi++ {
				wg := halves[gi*k.mg*K:]
				if pre != nil {
					f32.UnpackA16(plain, &f32.PackedA16{M: k.mg, K: K, MR: preMR, Data: halves[gi*plen : (gi+1)*plen]})
					wg = plain
				}
				if d.wino {
					f32.PackWinoDirect16(p[gi*d.glen:(gi+1)*d.glen], wg, k.mg, g.C)
					continue
				}
				f32.PackConvDirect16(p[gi*d.glen:(gi+1)*d.glen], wg, k.mg, g)
			}
		})
	d.w16 = unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), len(b)/2)
}

// runDirect is Run under the direct schedule.
func (k *convKernel) runDirect(ctx *Ctx, scratch []float32) {
	d := k.dc
	d.slots = scratch[:k.slots*d.slotLen]
	d.units = k.groups * d.blocks * d.bands
	if k.pool {
		d.units, _ = f32.ConvDirectPoolDims(&d.g) // pooled rows
	}
	d.parts = min(max(ctx.Pool.Threads(), 1), k.slots, d.units)
	for d.image = 0; d.image < k.batch; d.image++ {
		ctx.Pool.ForThreads(d.parts, k)
	}
}

// unit is unit u's group, band of rows and 64-channel block.
func (d *directState) unit(u int) (gi, band, blk int) {
	gi, r := u/(d.bands*d.blocks), u%(d.bands*d.blocks)
	if d.bandMajor {
		return gi, r / d.blocks, r % d.blocks
	}
	return gi, r % d.bands, r / d.bands
}

// doDirect convolves the units of parts [lo, hi).
func (k *convKernel) doDirect(lo, hi int) {
	if k.pool {
		k.doDirectPool(lo, hi)
		return
	}
	d := k.dc
	g := &d.g
	hw := g.H * g.W
	x := k.x[d.image*k.cin*hw : (d.image+1)*k.cin*hw]
	clamp, lo32, hi32 := k.act.ClampBounds()
	ohw := g.OH * g.OW
	for s := lo; s < hi; s++ {
		scratch := d.slots[s*d.slotLen : (s+1)*d.slotLen]
		end := (s + 1) * d.units / d.parts
		for u := s * d.units / d.parts; u < end; {
			gi, band, blk := d.unit(u)
			// Consecutive units of one band and group (band-major order, or one band) run as one call
			// of up to ConvDirectMaxChannels channels: its blocks share each pass's padded input.
			n := 1
			for u+n < end && n*f32.ConvDirectBlock < f32.ConvDirectMaxChannels {
				g2, b2, k2 := d.unit(u + n)
				if g2 != gi || b2 != band || k2 != blk+n {
					break
				}
				n++
			}
			u += n
			o0 := blk * f32.ConvDirectBlock
			var bias []float32
			if k.bias != nil {
				bias = k.bias[gi*k.mg : (gi+1)*k.mg]
			}
			y := k.y[(d.image*k.cout+gi*k.mg)*ohw : (d.image*k.cout+(gi+1)*k.mg)*ohw]
			var z []float32
			if k.z != nil {
				z = k.z[(d.image*k.cout+gi*k.mg)*ohw : (d.image*k.cout+(gi+1)*k.mg)*ohw]
			}
			nb, y0, y1 := min(n*f32.ConvDirectBlock, k.mg-o0), band*d.rows, min(g.OH, (band+1)*d.rows)
			if d.wino && d.w16 != nil {
				f32.WinoDirect16(g, x[gi*g.C*hw:(gi+1)*g.C*hw], d.w16[gi*d.glen:(gi+1)*d.glen], y, z, bias, o0, nb, y0, y1, clamp, lo32, hi32, scratch)
				continue
			}
			if d.wino {
				f32.WinoDirect(g, x[gi*g.C*hw:(gi+1)*g.C*hw], d.w[gi*d.glen:(gi+1)*d.glen], y, z, bias, o0, nb, y0, y1, clamp, lo32, hi32, scratch)
				continue
			}
			if d.w16 != nil {
				f32.ConvDirect16(g, x[gi*g.C*hw:(gi+1)*g.C*hw], d.w16[gi*d.glen:(gi+1)*d.glen], y, z, bias, o0, nb, y0, y1, clamp, lo32, hi32, scratch)
				continue
			}
			f32.ConvDirect(g, x[gi*g.C*hw:(gi+1)*g.C*hw], d.w[gi*d.glen:(gi+1)*d.glen], y, z, bias, o0, nb, y0, y1, clamp, lo32, hi32, scratch)
		}
	}
}
