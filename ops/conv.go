package ops

import (
	"fmt"
	"unsafe"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Conv: ONNX Conv (1-D and 2-D spatial), with an optional fourth input Z of Y's shape that is added
// before the activation (Y = act(conv(X, W) + B + Z): a residual Add folded in by
// passes.FuseConvAdd), in five strategies chosen at Compile:
//   - depthwise (each group reads one input channel): one AVX-512 kernel call per output plane that
//     reads the input in place under lane masks (f32.DepthwisePlan), elsewhere row kernels over
//     zero-padded strips of input rows (f32.DepthwisePadded);
//   - 3×3 convolutions (stride 1 or 2) with output channels in blocks of 16 and constant W, on the
//     AVX-512 rung: direct, output channels on the vector lanes (conv_direct.go); when Winograd is
//     allowed, the stride-1 ones on planes of 14×14 and more as Winograd F(2×2, 3×3) on the same
//     lanes (f32.WinoDirect);
//   - other stride-1 3×3 convolutions large enough to pay, when Winograd is allowed: F(2×2, 3×3)
//     with the tiles on the lanes (conv_winograd.go);
//   - otherwise GEMM per group, W packed once (in Compile when W is constant, else into scratch at Run)
//     times an im2col matrix that is never materialised whole: each output tile of at most
//     convTileCols pixels is packed straight from the input, KC rows at a time, into a per-thread slot
//     of scratch, so the workspace is bounded whatever the image size;
//   - 1×1 stride-1 unpadded convolutions skip im2col and pack the NCHW input directly.
// Bias and the fused activation are applied per tile while it is still in cache.

func init() {
	Register("Conv", &Def{Infer: inferConv, Compile: compileConv, MACs: convMACs,
		CompileWith: func(n *graph.Node, o CompileOptions) (Kernel, error) { return compileConvPacked(n, nil, 0, o) }})
}

// convTileCols is the widest output-pixel tile one slot packs; with KC rows it bounds a slot's
// workspace to KC*convTileCols floats (256 KiB).
const convTileCols = 256

// convWindow is a sliding window (Conv, pools) resolved over nd spatial axes.
type convWindow struct {
	kernel, strides, dils, padB, padE, out []int
}

// resolveWindow applies strides/dilations/pads/auto_pad (and ceil_mode for pools) to the spatial
// input sizes in (dims < 0 give out -1).
func resolveWindow(n *graph.Node, in, kernel []int, ceil bool) (convWindow, error) {
	nd := len(in)
	w := convWindow{kernel: kernel, strides: make([]int, nd), dils: make([]int, nd),
		padB: make([]int, nd), padE: make([]int, nd), out: make([]int, nd)}
	if len(kernel) != nd {
		return w, fmt.Errorf("ops: node %q (%s): kernel has %d dims, input has %d spatial dims", n.Name, n.Op, len(kernel), nd)
	}
	get := func(name string, def int, size int) ([]int, error) {
		v := n.Ints(name, nil)
		r := make([]int, size)
		if v == nil {
			for i := range r {
				r[i] = def
			}
			return r, nil
		}
		if len(v) != size {
			return nil, fmt.Errorf("ops: node %q (%s): %s has %d values, want %d", n.Name, n.Op, name, len(v), size)
		}
		for i, x := range v {
			r[i] = int(x)
		}
		return r, nil
	}
	var err error
	if w.strides, err = get("strides", 1, nd); err != nil {
		return w, err
	}
	if w.dils, err = get("dilations", 1, nd); err != nil {
		return w, err
	}
	pads, err := get("pads", 0, 2*nd)
	if err != nil {
		return w, err
	}
	for i := 0; i < nd; i++ {
		if w.strides[i] < 1 || w.dils[i] < 1 || kernel[i] < 1 {
			return w, fmt.Errorf("ops: node %q (%s): kernel, strides and dilations must be positive", n.Name, n.Op)
		}
		if pads[i] < 0 || pads[nd+i] < 0 {
			return w, fmt.Errorf("ops: node %q (%s): negative pads", n.Name, n.Op)
		}
	}
	autoPad := n.Str("auto_pad", "NOTSET")
	for i := 0; i < nd; i++ {
		k, s, d := kernel[i], w.strides[i], w.dils[i]
		ext := d*(k-1) + 1
		switch autoPad {
		case "NOTSET", "":
			w.padB[i], w.padE[i] = pads[i], pads[nd+i]
			if in[i] < 0 {
				w.out[i] = -1
				continue
			}
			span := in[i] + w.padB[i] + w.padE[i] - ext
			if span < 0 {
				return w, fmt.Errorf("ops: node %q (%s): window %d larger than padded input %d", n.Name, n.Op, ext, in[i]+w.padB[i]+w.padE[i])
			}
			w.out[i] = span/s + 1
			if ceil && span%s != 0 {
				w.out[i]++
				// The last window must start inside the input or the leading pad.
				if (w.out[i]-1)*s >= in[i]+w.padB[i] {
					w.out[i]--
				}
			}
		case "SAME_UPPER", "SAME_LOWER":
			if in[i] < 0 {
				w.out[i] = -1
				continue
			}
			w.out[i] = (in[i] + s - 1) / s
			total := max(0, (w.out[i]-1)*s+ext-in[i])
			if autoPad == "SAME_UPPER" {
				w.padB[i] = total / 2
			} else {
				w.padB[i] = total - total/2
			}
			w.padE[i] = total - w.padB[i]
		case "VALID":
			if in[i] < 0 {
				w.out[i] = -1
				continue
			}
			if in[i] < ext {
				return w, fmt.Errorf("ops: node %q (%s): window %d larger than input %d", n.Name, n.Op, ext, in[i])
			}
			w.out[i] = (in[i]-ext)/s + 1
		default:
			return w, fmt.Errorf("ops: node %q (%s): unknown auto_pad %q", n.Name, n.Op, autoPad)
		}
	}
	return w, nil
}

// geom maps a resolved 1-D or 2-D window onto the kernels' 2-D geometry (1-D uses H = 1).
func (w *convWindow) geom(c int, in []int) f32.ConvGeom {
	if len(in) == 1 {
		return f32.ConvGeom{C: c, H: 1, W: in[0], KH: 1, KW: w.kernel[0], SH: 1, SW: w.strides[0],
			PL: w.padB[0], DH: 1, DW: w.dils[0], OH: 1, OW: w.out[0]}
	}
	return f32.ConvGeom{C: c, H: in[0], W: in[1], KH: w.kernel[0], KW: w.kernel[1],
		SH: w.strides[0], SW: w.strides[1], PT: w.padB[0], PL: w.padB[1],
		DH: w.dils[0], DW: w.dils[1], OH: w.out[0], OW: w.out[1]}
}

// convKernelShape is kernel_shape, or W's spatial dims.
func convKernelShape(n *graph.Node, ws tensor.Shape) ([]int, error) {
	if ks := n.Ints("kernel_shape", nil); ks != nil {
		k := make([]int, len(ks))
		for i, v := range ks {
			k[i] = int(v)
			if len(ws) == len(ks)+2 && ws[i+2] >= 0 && ws[i+2] != k[i] {
				return nil, fmt.Errorf("ops: node %q (Conv): kernel_shape %v disagrees with W %s", n.Name, ks, ws)
			}
		}
		return k, nil
	}
	if len(ws) < 3 {
		return nil, fmt.Errorf("ops: node %q (Conv): W has shape %s, want [M, C/group, k...]", n.Name, ws)
	}
	return []int(ws[2:]), nil
}

func inferConv(n *graph.Node) error {
	x, w := n.Input(0), n.Input(1)
	if x == nil || w == nil || len(n.Outputs) < 1 || n.Outputs[0] == nil {
		return fmt.Errorf("ops: node %q (Conv): needs X, W and one output", n.Name)
	}
	n.Outputs[0].DType = tensor.F32
	if x.Shape == nil || w.Shape == nil {
		n.Outputs[0].Shape = nil
		return nil
	}
	if len(x.Shape) < 3 || len(w.Shape) != len(x.Shape) {
		return fmt.Errorf("ops: node %q (Conv): X %s and W %s ranks do not match", n.Name, x.Shape, w.Shape)
	}
	if len(n.Inputs) > 4 {
		return fmt.Errorf("ops: node %q (Conv): %d inputs, want at most X, W, B and a residual Z", n.Name, len(n.Inputs))
	}
	k, err := convKernelShape(n, w.Shape)
	if err != nil {
		return err
	}
	win, err := resolveWindow(n, x.Shape[2:], k, false)
	if err != nil {
		return err
	}
	out := tensor.Shape{x.Shape[0], w.Shape[0]}
	for _, o := range win.out {
		out = append(out, o)
	}
	if pooledConv(n) {
		if len(out) != 4 {
			return fmt.Errorf("ops: node %q (Conv): a fused max pool needs a 2-D convolution", n.Name)
		}
		out[2], out[3] = (out[2]-1)/2+1, (out[3]-1)/2+1
	}
	n.Outputs[0].Shape = out
	if z := n.Input(3); z != nil && z.Shape != nil && (z.DType != tensor.F32 || !z.Shape.Equal(out)) {
		return fmt.Errorf("ops: node %q (Conv): residual input Z is %s%s, want f32%s (Y's shape)", n.Name, z.DType, z.Shape, out)
	}
	return nil
}

type convKernel struct {
	geom         f32.ConvGeom // per group: geom.C = input channels per group
	batch        int
	cin, cout    int
	groups       int
	mg           int // output channels per group
	act          Activation
	depthwise    bool
	dwPlan       *f32.DepthwisePlan // depthwise: the plane kernels' tables
	dwRowParts   int                // Run state: bands of output rows per plane (0: whole planes)
	dwPlaneParts int                // Run state: contiguous runs of whole planes (when dwRowParts is 0)
	pointwise    bool
	direct       bool            // pointwise on a micro-kernel that reads B in place: no packing
	packed       []f32.PackedA   // per group; nil when W is not constant
	packed16     []f32.PackedA16 // per group, when W is a constant f16 tensor (Precision "fp16")
	wideLen      int             // floats per slot for widening f16 blocks (f32.Widen16Len)
	prepacked    bool            // packed16 views W as given (F16Conv): not a copy
	packLen      int             // floats of packed W per group (when packed at Run)
	tileCols     int             // widest tile; tile t spans panels [t*panels/tiles, (t+1)*panels/tiles)
	panels       int             // NR-wide column panels of the output
	tiles        int
	msplit       int
	slots        int
	slotLen      int          // floats of scratch per slot
	im2col       []f32.Im2col // per slot: the packing table of its current tile

	// The shared-B schedule (conv_shared.go): B packed once into shBuf by all threads, then row parts.
	shared     bool
	sharedLen  int          // floats of the shared packed B (K × panels·NR)
	shParts    int          // column parts each KC block is packed in
	shTabs     []f32.Im2col // per column part (im2col layers); read-only at Run
	shRowParts int
	shPhase    int // 0: packing, 1: multiplying
	shBuf      []float32

	// The split-K schedule (conv_ksplit.go): parts of the depth on the threads, partial sums in scratch.
	ksplit   bool
	kParts   int
	kCuts    []int // kUnits' boundaries
	kPartLen int   // floats of one partial sum (mg × output pixels)
	kPartBuf []float32
	kPhase   int // 0: partial products, 1: sum and finish

	wino *winoState      // Winograd F(4×4, 3×3) path (conv_winograd.go); nil for the others
	dc   *directState    // direct schedule (conv_direct.go); nil for the others
	dwt  *dwTileState    // tiled depthwise schedule (conv_dwtile.go); nil for the others
	sub  *subsampleState // a strided 1×1 run on its compacted input (conv_subsample.go); nil otherwise
	pool bool            // the output is the 3×3 stride-2 max pool of the convolution (conv_pool.go)

	residual bool // input 3 (Z) is added before the activation

	// Run state, read by Do.
	x, w, bias, y []float32
	z             []float32 // residual, or nil
	work          []float32
	pa            []f32.PackedA
	items         int
	usedSlots     int
}

func compileConv(n *graph.Node) (Kernel, error) {
	return compileConvPacked(n, nil, 0, CompileOptions{Winograd: true})
}

// compileConvPacked compiles a Conv; preT, when not nil, is W already packed in halves (PackedA16
// layout for row tile preMR, one block per group) and is used in place (or repacked for the direct
// schedule). A constant W the kernel repacks comes from o.Weights (nil: packed here).
func compileConvPacked(n *graph.Node, preT *tensor.Tensor, preMR int, o CompileOptions) (Kernel, error) {
	if err := inferConv(n); err != nil {
		return nil, err
	}
	var pre []uint16
	if preT != nil {
		pre = preT.F16()
	}
	x, w := n.Input(0), n.Input(1)
	// A constant f16 W (lower.ConvertFP16) is kept in halves and widened block by block as it runs.
	if x.DType != tensor.F32 || (w.DType != tensor.F32 && !(w.DType == tensor.F16 && (w.IsConst() || pre != nil))) {
		return nil, fmt.Errorf("ops: node %q (Conv): only f32 (or a constant f16 W) is supported, got X %s W %s", n.Name, x.DType, w.DType)
	}
	if !x.Shape.Known() || !w.Shape.Known() {
		return nil, fmt.Errorf("ops: node %q (Conv): shapes %s, %s not concrete", n.Name, x.Shape, w.Shape)
	}
	nd := len(x.Shape) - 2
	if nd > 2 {
		return nil, fmt.Errorf("ops: node %q (Conv): %d-D convolution is not supported (1-D and 2-D are)", n.Name, nd)
	}
	k := &convKernel{batch: x.Shape[0], cin: x.Shape[1], cout: w.Shape[0], groups: int(n.Int("group", 1))}
	if k.groups < 1 || k.cin%k.groups != 0 || k.cout%k.groups != 0 || w.Shape[1]*k.groups != k.cin {
		return nil, fmt.Errorf("ops: node %q (Conv): X %s, W %s and group %d do not match", n.Name, x.Shape, w.Shape, k.groups)
	}
	if b := n.Input(2); b != nil && (b.Shape.NumElements() != k.cout || b.DType != tensor.F32) {
		return nil, fmt.Errorf("ops: node %q (Conv): bias %s%s, want f32[%d]", n.Name, b.DType, b.Shape, k.cout)
	}
	var err error
	if k.act, err = ActivationOf(n); err != nil {
		return nil, err
	}
	ks, err := convKernelShape(n, w.Shape)
	if err != nil {
		return nil, err
	}
	win, err := resolveWindow(n, x.Shape[2:], ks, false)
	if err != nil {
		return nil, err
	}
	k.mg = k.cout / k.groups
	k.residual = n.Input(3) != nil
	k.geom = win.geom(k.cin/k.groups, x.Shape[2:])
	planSubsample(k)
	g := &k.geom
	if k.pool = pooledConv(n); k.pool {
		if err := checkPooledConv(n, k, w, pre != nil, o); err != nil {
			return nil, err
		}
	}
	k.depthwise = g.C == 1 && k.groups > 1
	if k.depthwise {
		if w.DType == tensor.F16 {
			return nil, fmt.Errorf("ops: node %q (Conv): f16 weights of a depthwise convolution are not supported", n.Name)
		}
		k.dwPlan = f32.NewDepthwisePlan(g)
		if w.IsConst() && useDepthwiseTile(k) {
			k.initDepthwiseTile(w.Const, o)
		}
		return k, nil
	}
	k.pointwise = g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PT == 0 && g.PL == 0 &&
		g.OH == g.H && g.OW == g.W
	K := g.K()
	if pre != nil || (w.DType == tensor.F16 && w.IsConst()) {
		src := w.Const
		if pre != nil {
			src = preT
		}
		if k.chooseDirect(o, src, true, pre != nil) {
			k.initDirect16(preT, preMR, w, o)
			return k, nil
		}
	}
	if pre != nil {
		k.packed16 = make([]f32.PackedA16, k.groups)
		glen := f32.PackedALen(k.mg, K)
		if preMR != f32.MR {
			// Packed for another micro-kernel (tests switch kernels): repack through row-major halves.
			plen := f32.RoundUp(k.mg, preMR) * K
			plain := make([]uint16, k.mg*K)
			buf := make([]uint16, k.groups*glen)
			for gi := range k.packed16 {
				old := f32.PackedA16{M: k.mg, K: K, MR: preMR, Data: pre[gi*plen : (gi+1)*plen]}
				f32.UnpackA16(plain, &old)
				f32.PackA16(buf[gi*glen:(gi+1)*glen], k.mg, K, plain, K)
			}
			pre = buf
		}
		for gi := range k.packed16 {
			k.packed16[gi] = f32.PackedA16{M: k.mg, K: K, MR: f32.MR, Data: pre[gi*glen : (gi+1)*glen]}
		}
		k.wideLen = f32.Widen16Len()
		k.prepacked = true
	} else if w.DType == tensor.F16 {
		glen := f32.PackedALen(k.mg, K)
		b := packedWeights(o, w.Const, k.gemmLayout(true), 2*k.groups*glen,
			func(dst []byte) {
				d, wd := unsafe.Slice((*uint16)(unsafe.Pointer(&dst[0])), len(dst)/2), w.Const.F16()
				for gi := 0; gi < k.groups; gi++ {
					f32.PackA16(d[gi*glen:(gi+1)*glen], k.mg, K, wd[gi*k.mg*K:], K)
				}
			})
		data := unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), len(b)/2)
		k.packed16 = make([]f32.PackedA16, k.groups)
		for gi := range k.packed16 {
			k.packed16[gi] = f32.PackedA16{M: k.mg, K: K, MR: f32.MR, Data: data[gi*glen : (gi+1)*glen]}
		}
		k.wideLen = f32.Widen16Len()
	} else if tm := useWinograd(k); tm > 0 && !k.residual && !k.pool && o.Winograd && !(w.IsConst() && useConvDirect(k, o.slots())) {
		// (The tiles-on-lanes Winograd only where the direct schedule cannot go: there it runs
		// f32.WinoDirect, or the direct convolution on planes too small for Winograd to pay.)
		var wc32 *tensor.Tensor
		if w.IsConst() {
			wc32 = w.Const
		}
		k.wino = newWinoState(k, wc32, o, tm)
		return k, nil
	} else if w.IsConst() && k.chooseDirect(o, w.Const, false, false) {
		k.initDirect(w.Const, o)
		return k, nil
	} else if w.IsConst() {
		glen := f32.PackedALen(k.mg, K)
		data := bytesAsF32(packedWeights(o, w.Const, k.gemmLayout(false), 4*k.groups*glen,
			func(dst []byte) {
				d, wd := bytesAsF32(dst), w.Const.F32()
				for gi := 0; gi < k.groups; gi++ {
					f32.PackA(d[gi*glen:(gi+1)*glen], false, k.mg, K, 1, wd[gi*k.mg*K:], K)
				}
			}))
		k.packed = make([]f32.PackedA, k.groups)
		for gi := range k.packed {
			k.packed[gi] = f32.PackedA{M: k.mg, K: K, MR: f32.MR, Data: data[gi*glen : (gi+1)*glen]}
		}
	} else {
		k.packLen = f32.PackedALen(k.mg, K)
		k.pa = make([]f32.PackedA, k.groups)
	}
	ohw := g.OH * g.OW
	// Slots are per-thread workspaces, one per thread of the program's pool.
	k.slots = o.slots()
	k.direct = k.pointwise && f32.Direct()
	maxCols := convTileCols
	if k.direct {
		maxCols = 2 * convTileCols // no packed block to bound; B stays in L2
	}
	sp := planConvSplit(k.batch*k.groups, k.mg, ohw, K, 4*g.C*g.SH*g.SW, k.slots, maxCols, k.direct)
	k.tiles, k.msplit = sp.tiles, sp.msplit
	k.panels = (ohw + f32.NR - 1) / f32.NR
	k.tileCols = (k.panels + k.tiles - 1) / k.tiles * f32.NR
	if !k.direct {
		k.slotLen = f32.PackedBLen(min(K, f32.KC), k.tileCols)
	}
	k.slotLen += k.wideLen
	if k.planKSplit() {
		k.initKSplit()
		return k, nil
	}
	if k.planShared(sp) {
		k.initShared()
		return k, nil
	}
	if !k.pointwise {
		// Size every slot's table for the widest tile now, so Run never allocates.
		k.im2col = make([]f32.Im2col, k.slots)
		for s := range k.im2col {
			k.im2col[s].Init(g, 0, min(k.tileCols, ohw))
		}
	}
	return k, nil
}

func convMACs(n *graph.Node) int64 {
	if pooledConv(n) {
		return pooledConvMACs(n, n.Input(1))
	}
	return weightMACs(n, n.Input(1))
}
