package ops

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Conv: ONNX Conv (1-D and 2-D spatial), with an optional fourth input Z of Y's shape that is added
// before the activation (Y = act(conv(X, W) + B + Z): a residual Add folded in by
// passes.FuseConvAdd), in four strategies chosen at Compile:
//   - depthwise (each group reads one input channel): one AVX-512 kernel call per output plane that
//     reads the input in place under lane masks (f32.DepthwisePlan), elsewhere row kernels over
//     zero-padded strips of input rows (f32.DepthwisePadded);
//   - stride-1 3×3 convolutions large enough to pay: Winograd F(2×2, 3×3) (conv_winograd.go);
//   - otherwise GEMM per group, W packed once (in Compile when W is constant, else into scratch at Run)
//     times an im2col matrix that is never materialised whole: each output tile of at most
//     convTileCols pixels is packed straight from the input, KC rows at a time, into a per-thread slot
//     of scratch, so the workspace is bounded whatever the image size;
//   - 1×1 stride-1 unpadded convolutions skip im2col and pack the NCHW input directly.
// Bias and the fused activation are applied per tile while it is still in cache.

func init() {
	Register("Conv", &Def{Infer: inferConv, Compile: compileConv, MACs: convMACs,
		CompileWith: func(n *graph.Node, o CompileOptions) (Kernel, error) { return compileConvPacked(n, nil, 0, o) }})
	RegisterIn(graph.ExtDomain, graph.OpF16Conv, &Def{Infer: inferF16Conv, Compile: compileF16Conv, MACs: loweredConvMACs})
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
	n.Outputs[0].Shape = out
	if z := n.Input(3); z != nil && z.Shape != nil && (z.DType != tensor.F32 || !z.Shape.Equal(out)) {
		return fmt.Errorf("ops: node %q (Conv): residual input Z is %s%s, want f32%s (Y's shape)", n.Name, z.DType, z.Shape, out)
	}
	return nil
}

type convKernel struct {
	geom      f32.ConvGeom // per group: geom.C = input channels per group
	batch     int
	cin, cout int
	groups    int
	mg        int // output channels per group
	act       Activation
	depthwise bool
	dwPlan    *f32.DepthwisePlan // depthwise: the plane kernels' tables
	pointwise bool
	direct    bool            // pointwise on a micro-kernel that reads B in place: no packing
	packed    []f32.PackedA   // per group; nil when W is not constant
	packed16  []f32.PackedA16 // per group, when W is a constant f16 tensor (Precision "fp16")
	wideLen   int             // floats per slot for widening f16 blocks (f32.Widen16Len)
	prepacked bool            // packed16 views W as given (F16Conv): not a copy
	packLen   int             // floats of packed W per group (when packed at Run)
	tileCols  int             // widest tile; tile t spans panels [t*panels/tiles, (t+1)*panels/tiles)
	panels    int             // NR-wide column panels of the output
	tiles     int
	msplit    int
	slots     int
	slotLen   int          // floats of scratch per slot
	im2col    []f32.Im2col // per slot: the packing table of its current tile

	wino *winoState // Winograd F(4×4, 3×3) path (conv_winograd.go); nil for the others

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

// compileConvPacked compiles a Conv; pre, when not nil, is W already packed in halves (PackedA16
// layout for row tile preMR, one block per group) and is used in place. A constant W the kernel
// repacks comes from o.Weights (nil: packed here).
func compileConvPacked(n *graph.Node, pre []uint16, preMR int, o CompileOptions) (Kernel, error) {
	if err := inferConv(n); err != nil {
		return nil, err
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
	g := &k.geom
	k.depthwise = g.C == 1 && k.groups > 1
	if k.depthwise {
		if w.DType == tensor.F16 {
			return nil, fmt.Errorf("ops: node %q (Conv): f16 weights of a depthwise convolution are not supported", n.Name)
		}
		k.dwPlan = f32.NewDepthwisePlan(g)
		return k, nil
	}
	k.pointwise = g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PT == 0 && g.PL == 0 &&
		g.OH == g.H && g.OW == g.W
	K := g.K()
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
		b := packedWeights(o, w.Const, fmt.Sprintf("f32.PackA16 g%d %dx%d mr%d", k.groups, k.mg, K, f32.MR), 2*k.groups*glen,
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
	} else if tm := useWinograd(k); tm > 0 && !k.residual && o.Winograd {
		var wc32 *tensor.Tensor
		if w.IsConst() {
			wc32 = w.Const
		}
		k.wino = newWinoState(k, wc32, o, tm)
		return k, nil
	} else if w.IsConst() {
		glen := f32.PackedALen(k.mg, K)
		data := bytesAsF32(packedWeights(o, w.Const, fmt.Sprintf("f32.PackA g%d %dx%d mr%d", k.groups, k.mg, K, f32.MR), 4*k.groups*glen,
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
	// Slots are per-thread workspaces; the thread count is not known until Run, so size for this
	// process's GOMAXPROCS (the runtime's pools never exceed it).
	k.slots = runtime.GOMAXPROCS(0)
	k.direct = k.pointwise && f32.Direct()
	maxCols := convTileCols
	if k.direct {
		maxCols = 2 * convTileCols // no packed block to bound; B stays in L2
	}
	sp := planConvSplit(k.batch*k.groups, k.mg, ohw, K, k.slots, maxCols, k.direct)
	k.tiles, k.msplit = sp.tiles, sp.msplit
	k.panels = (ohw + f32.NR - 1) / f32.NR
	k.tileCols = (k.panels + k.tiles - 1) / k.tiles * f32.NR
	if !k.direct {
		k.slotLen = f32.PackedBLen(min(K, f32.KC), k.tileCols)
	}
	k.slotLen += k.wideLen
	if !k.pointwise {
		// Size every slot's table for the widest tile now, so Run never allocates.
		k.im2col = make([]f32.Im2col, k.slots)
		for s := range k.im2col {
			k.im2col[s].Init(g, 0, min(k.tileCols, ohw))
		}
	}
	return k, nil
}

// PackedBytes is the size of W packed at Compile (runtime.PackedWeights).
func (k *convKernel) PackedBytes() int {
	n := 0
	if k.wino != nil {
		n += 4 * len(k.wino.data)
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
	if k.packed != nil || (k.wino != nil && k.wino.data != nil) || (k.packed16 != nil && !k.prepacked) {
		return []int{1}
	}
	return nil
}

func (k *convKernel) ScratchBytes() int {
	if k.depthwise {
		return 0 // f32.DepthwisePadded pads strips in a stack buffer
	}
	if k.wino != nil {
		return 4 * k.wino.scratchLen
	}
	return 4 * (k.groups*k.packLen + k.slots*k.slotLen)
}

func (k *convKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.y = in[0].F32(), out[0].F32()
	if k.packed16 == nil {
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
	if k.depthwise {
		ctx.Pool.For(k.batch*k.cout, 1, k)
		return nil
	}
	if k.wino != nil {
		k.runWinograd(ctx, scratch)
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
	k.work = scratch[:k.slots*k.slotLen]
	k.items = k.batch * k.groups * k.tiles * k.msplit
	k.usedSlots = min(k.slots, k.items, max(ctx.Pool.Threads(), 1))
	ctx.Pool.For(k.usedSlots, 1, k)
	return nil
}

// Do runs output planes (depthwise) or slots (GEMM path); each slot owns one workspace and a
// contiguous run of (image, group, tile, row-part) items.
func (k *convKernel) Do(lo, hi int) {
	if k.wino != nil {
		k.doWinograd(lo, hi)
		return
	}
	if k.depthwise {
		k.doDepthwise(lo, hi)
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
	if k.dwPlan.Vector() {
		k.depthwisePlanes(lo, hi, nil) // no strip buffer to zero
		return
	}
	var pad [f32.DepthwiseStripLen]float32 // zeroed once per run of planes, not per plane
	k.depthwisePlanes(lo, hi, pad[:])
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
	oc0 := gi*k.mg + m0
	c := k.y[(b*k.cout+oc0)*ohw+j0:]
	var bias []float32
	if k.bias != nil {
		bias = k.bias[gi*k.mg : (gi+1)*k.mg]
	}
	clamp, lo, hi := k.act.ClampBounds()
	xg := k.x[(b*k.cin+gi*g.C)*hw : (b*k.cin+(gi+1)*g.C)*hw]
	K := g.K()
	var wide []float32
	if k.packed16 != nil {
		wide = work[len(work)-k.wideLen:]
		work = work[:len(work)-k.wideLen]
	}
	direct := k.direct
	if !k.pointwise {
		tab.Init(g, j0, ncl)
	}
	for pc := 0; pc < K; pc += f32.KC {
		kcl := min(f32.KC, K-pc)
		if direct {
			// 1×1 stride 1: B is the input itself (rows of hw pixels); the micro-kernel reads it in
			// place, so there is no copy at all.
		} else if k.pointwise {
			f32.PackB(work, false, kcl, ncl, xg[pc*hw+j0:], hw)
		} else {
			tab.Pack(work, xg, pc, kcl)
		}
		// Bias joins on the first k block (which overwrites C), the clamp on the last: both happen in
		// the micro-kernel's registers, so C is written once per block and never re-read for them.
		ep := f32.Epilogue{Acc: pc > 0}
		if pc == 0 {
			ep.Bias = bias
		}
		if pc+kcl == K {
			if k.z != nil {
				ep.Add = k.z[(b*k.cout+oc0)*ohw+j0:]
			}
			if clamp {
				ep.Clamp, ep.Lo, ep.Hi = true, lo, hi
			}
		}
		if direct && k.packed16 != nil {
			f32.MulDirect16(&k.packed16[gi], m0, m1, pc, kcl, xg[pc*hw+j0:], hw, ncl, c, ohw, ep, wide)
		} else if direct {
			f32.MulDirect(&k.pa[gi], m0, m1, pc, kcl, xg[pc*hw+j0:], hw, ncl, c, ohw, ep)
		} else if k.packed16 != nil {
			f32.MulPacked16(&k.packed16[gi], m0, m1, pc, kcl, work, ncl, c, ohw, ep, wide)
		} else {
			f32.MulPacked(&k.pa[gi], m0, m1, pc, kcl, work, ncl, c, ohw, ep)
		}
	}
	if !clamp && k.act.Kind != ActNone {
		for r := 0; r < m1-m0; r++ {
			k.act.Apply(c[r*ohw : r*ohw+ncl])
		}
	}
}

// F16Conv is a Conv whose W is a constant already packed in half precision by
// lower.ConvertFP16Releasing (PackConvWeightsF16): input 1 is f16[n] in the PackedA16 layout for
// the row tile in attribute packed_mr, one block per group; weight_shape is W's ONNX shape. Every
// other attribute and input is Conv's. The kernel runs straight on that memory (no second copy).

// f16ConvAsConv returns a Conv node equivalent to n for shape inference and compilation, and the
// packed halves.
func f16ConvAsConv(n *graph.Node) (*graph.Node, []uint16, int, error) {
	ws, w := n.Ints(graph.AttrWeightShape, nil), n.Input(1)
	mr := int(n.Int(graph.AttrPackedMR, 0))
	if len(ws) < 3 || w == nil || w.DType != tensor.F16 || !w.IsConst() || mr < 1 {
		return nil, nil, 0, fmt.Errorf("ops: node %q (F16Conv): needs a constant f16 W, weight_shape and packed_mr", n.Name)
	}
	c := *n
	c.Op, c.Domain = "Conv", ""
	c.Inputs = append([]*graph.Value(nil), n.Inputs...)
	shape := make(tensor.Shape, len(ws))
	for i, d := range ws {
		shape[i] = int(d)
	}
	c.Inputs[1] = &graph.Value{Name: w.Name, DType: tensor.F16, Shape: shape}
	return &c, w.Const.F16(), mr, nil
}

func inferF16Conv(n *graph.Node) error {
	c, _, _, err := f16ConvAsConv(n)
	if err != nil {
		return err
	}
	return inferConv(c)
}

func compileF16Conv(n *graph.Node) (Kernel, error) {
	c, pre, mr, err := f16ConvAsConv(n)
	if err != nil {
		return nil, err
	}
	ws := c.Inputs[1].Shape
	groups := int(n.Int("group", 1))
	if groups < 1 || ws[0]%groups != 0 || (groups > 1 && ws[1] == 1) {
		return nil, fmt.Errorf("ops: node %q (F16Conv): weight_shape %s and group %d are not a packed (non-depthwise) convolution", n.Name, ws, groups)
	}
	kk := tensor.Shape(ws[1:]).NumElements()
	if want := groups * f32.RoundUp(ws[0]/groups, mr) * kk; len(pre) != want {
		return nil, fmt.Errorf("ops: node %q (F16Conv): W has %d halves, want %d", n.Name, len(pre), want)
	}
	return compileConvPacked(c, pre, mr, CompileOptions{Winograd: true})
}

// PackConvWeightsF16 rounds a Conv weight w (cout rows of k = Cin/group·kh·kw values; group blocks of
// cout/group rows) to half precision straight into the PackedA16 layout of the current micro-kernel,
// one block per group, concatenated, for F16Conv; mr is that layout's row tile. release, when not nil,
// is called on each ~4 MiB of w once it has been read. ok is false (and packed nil) when a weight
// overflows the half range.
func PackConvWeightsF16(w []float32, cout, k, group int, release func([]byte)) (packed []uint16, mr int, ok bool) {
	mg := cout / group
	glen := f32.PackedALen(mg, k)
	packed = make([]uint16, group*glen)
	ok = true
	done := 0
	for oc := 0; oc < cout; oc++ {
		if !f32.PackRowA16(packed[oc/mg*glen:(oc/mg+1)*glen], mg, k, oc%mg, w[oc*k:(oc+1)*k]) {
			ok = false
		}
		if release != nil && ((oc+1)*k*4-done >= releaseChunk || oc == cout-1) {
			release(f32Bytes(w[done/4 : (oc+1)*k]))
			done = (oc + 1) * k * 4
		}
	}
	if !ok {
		return nil, 0, false
	}
	return packed, f32.MR, true
}

func convMACs(n *graph.Node) int64 { return weightMACs(n, n.Input(1)) }

// loweredConvMACs counts an F16Conv or DynQConv, whose weight input lost its shape to packing: the
// f32 shape is in AttrWeightShape.
func loweredConvMACs(n *graph.Node) int64 {
	outN, ws := outElems(n), n.Ints(graph.AttrWeightShape, nil)
	if outN < 0 || len(ws) < 2 {
		return 0
	}
	k := int64(1)
	for _, d := range ws[1:] {
		k *= d
	}
	return outN * k
}
