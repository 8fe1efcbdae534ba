package ops

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/tensor"
)

// ConvTranspose (1-D and 2-D, f32): the gradient of Conv with respect to its input. X is
// [N, C, spatial...], W [C, M/group, k...], B [M]; every input pixel scatters W's window into the
// output at i*stride - pad_begin + k*dilation. Computed as one GEMM per group, col = Wg^T · Xg
// ([M/group*k] × [H*W]), followed by a col2im that adds col into Y (bias first, the fused
// activation last). The output size follows ONNX:
//
//	out = stride*(in-1) + output_padding + dilation*(k-1) + 1 - pad_begin - pad_end
//
// or output_shape, whose total padding is split as ONNX specifies (the odd pixel at the start
// unless auto_pad is SAME_UPPER; extra output at the end); auto_pad SAME_* without output_shape
// asks for out = in*stride.

func init() {
	Register("ConvTranspose", &Def{Infer: inferConvTranspose, Compile: compileConvTranspose, CompileWith: compileConvTransposeWith, MACs: convTransposeMACs})
}

// convTransposeGeom is the resolved geometry of one ConvTranspose (2-D; 1-D has H = KH = 1).
type convTransposeGeom struct {
	n, c, m, group int
	h, w, kh, kw   int
	sh, sw, dh, dw int
	pt, pl         int // leading pads (may be negative when output_shape asks for more than the natural size)
	oh, ow         int
}

func resolveConvTranspose(n *graph.Node) (convTransposeGeom, tensor.Shape, error) {
	var g convTransposeGeom
	x, w := n.Input(0), n.Input(1)
	if x == nil || w == nil || len(n.Outputs) < 1 || n.Outputs[0] == nil {
		return g, nil, errf(n, "needs X, W and one output")
	}
	if x.Shape == nil || w.Shape == nil {
		return g, nil, nil
	}
	nd := len(x.Shape) - 2
	if nd < 1 || len(w.Shape) != len(x.Shape) {
		return g, nil, errf(n, "X %s and W %s ranks do not match", x.Shape, w.Shape)
	}
	if nd > 2 {
		return g, nil, errf(n, "%d-D transposed convolution is not supported (1-D and 2-D are)", nd)
	}
	group := int(n.Int("group", 1))
	if group < 1 || (x.Shape[1] >= 0 && x.Shape[1] != w.Shape[0]) || w.Shape[0]%group != 0 {
		return g, nil, errf(n, "W %s does not fit X %s with group %d (W is [C, M/group, k...])", w.Shape, x.Shape, group)
	}
	ints := func(name string, def int64, size int) ([]int, error) {
		v := n.Ints(name, nil)
		r := make([]int, size)
		for i := range r {
			r[i] = int(def)
			if v != nil {
				if len(v) != size {
					return nil, errf(n, "%s has %d values, want %d", name, len(v), size)
				}
				r[i] = int(v[i])
			}
		}
		return r, nil
	}
	kernel := make([]int, nd)
	for i := range kernel {
		kernel[i] = w.Shape[2+i]
	}
	if ks := n.Ints("kernel_shape", nil); ks != nil {
		if len(ks) != nd {
			return g, nil, errf(n, "kernel_shape %v has %d values, want %d", ks, len(ks), nd)
		}
		for i, k := range ks {
			if int(k) != kernel[i] {
				return g, nil, errf(n, "kernel_shape %v disagrees with W %s", ks, w.Shape)
			}
		}
	}
	strides, err := ints("strides", 1, nd)
	if err != nil {
		return g, nil, err
	}
	dils, err := ints("dilations", 1, nd)
	if err != nil {
		return g, nil, err
	}
	outPad, err := ints("output_padding", 0, nd)
	if err != nil {
		return g, nil, err
	}
	pads, err := ints("pads", 0, 2*nd)
	if err != nil {
		return g, nil, err
	}
	outShape := n.Ints("output_shape", nil)
	if len(outShape) == nd+2 {
		outShape = outShape[2:]
	}
	if outShape != nil && len(outShape) != nd {
		return g, nil, errf(n, "output_shape %v does not have %d spatial values", n.Ints("output_shape", nil), nd)
	}
	autoPad := n.Str("auto_pad", "NOTSET")
	switch autoPad {
	case "NOTSET", "", "SAME_UPPER", "SAME_LOWER", "VALID":
	default:
		return g, nil, errf(n, "unknown auto_pad %q", autoPad)
	}
	out := make([]int, nd)
	padB := make([]int, nd)
	in := x.Shape[2:]
	for i := 0; i < nd; i++ {
		if strides[i] < 1 || dils[i] < 1 || kernel[i] < 1 || outPad[i] < 0 {
			return g, nil, errf(n, "kernel, strides and dilations must be positive, output_padding not negative")
		}
		if in[i] < 0 {
			out[i] = -1
			continue
		}
		natural := strides[i]*(in[i]-1) + outPad[i] + dils[i]*(kernel[i]-1) + 1
		want := -1
		switch {
		case outShape != nil:
			want = int(outShape[i])
		case autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER":
			want = in[i] * strides[i]
		}
		if want < 0 {
			if autoPad == "VALID" {
				pads[i], pads[nd+i] = 0, 0
			}
			if pads[i] < 0 || pads[nd+i] < 0 {
				return g, nil, errf(n, "negative pads %v", pads)
			}
			out[i], padB[i] = natural-pads[i]-pads[nd+i], pads[i]
		} else {
			// ONNX's formula floors (Python //): a negative total (output_shape past the natural
			// size) then lands at the end, like output_padding.
			total := natural - want
			half := total >> 1
			if autoPad == "SAME_UPPER" {
				padB[i] = half
			} else {
				padB[i] = total - half
			}
			out[i] = want
		}
		if out[i] < 1 {
			return g, nil, errf(n, "output size %d along spatial axis %d", out[i], i)
		}
	}
	g = convTransposeGeom{n: x.Shape[0], c: w.Shape[0], m: w.Shape[1] * group, group: group,
		h: 1, kh: 1, sh: 1, dh: 1, oh: 1}
	if nd == 2 {
		g.h, g.kh, g.sh, g.dh, g.pt, g.oh = in[0], kernel[0], strides[0], dils[0], padB[0], out[0]
	}
	g.w, g.kw, g.sw, g.dw, g.pl, g.ow = in[nd-1], kernel[nd-1], strides[nd-1], dils[nd-1], padB[nd-1], out[nd-1]
	ys := tensor.Shape{x.Shape[0], g.m}
	for _, o := range out {
		ys = append(ys, o)
	}
	return g, ys, nil
}

func inferConvTranspose(n *graph.Node) error {
	_, ys, err := resolveConvTranspose(n)
	if err != nil {
		return err
	}
	n.Outputs[0].DType = tensor.F32
	n.Outputs[0].Shape = ys
	return nil
}

type convTransposeKernel struct {
	g        convTransposeGeom
	mg, cg   int // output and input channels per group
	kk, hw   int // kernel taps, input pixels
	act      Activation
	colLen   int // floats of col for one batch item (all groups)
	slots    int
	workLen  int // f32.Gemm workspace floats per slot
	colChunk int // input pixels per GEMM task

	// Run state, read by Do.
	x, w, bias, y, col, work []float32
	phase, item, tasks, used int
}

func compileConvTranspose(n *graph.Node) (Kernel, error) {
	return compileConvTransposeWith(n, CompileOptions{})
}

func compileConvTransposeWith(n *graph.Node, o CompileOptions) (Kernel, error) {
	g, ys, err := resolveConvTranspose(n)
	if err != nil {
		return nil, err
	}
	x, w := n.Input(0), n.Input(1)
	if x.DType != tensor.F32 || w.DType != tensor.F32 || ys == nil || !x.Shape.Known() || !ys.Known() {
		return nil, errf(n, "X %s%s and W %s must be f32 with concrete shapes", x.DType, x.Shape, w.DType)
	}
	if b := n.Input(2); b != nil && (b.DType != tensor.F32 || b.Shape.NumElements() != g.m) {
		return nil, errf(n, "B must be f32[%d]", g.m)
	}
	act, err := ActivationOf(n)
	if err != nil {
		return nil, err
	}
	k := &convTransposeKernel{g: g, mg: g.m / g.group, cg: g.c / g.group, kk: g.kh * g.kw, hw: g.h * g.w, act: act}
	k.colLen = g.m * k.kk * k.hw
	k.slots = o.slots()
	k.colChunk = min(f32.RoundUp(k.hw, f32.NR), f32.RoundUp(max((k.hw+k.slots-1)/k.slots, 64), f32.NR))
	k.workLen = f32.GemmWorkLen(k.mg*k.kk, k.colChunk, k.cg)
	return k, nil
}

func (k *convTransposeKernel) ScratchBytes() int { return 4 * (k.colLen + k.slots*k.workLen) }

func (k *convTransposeKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.w, k.y = in[0].F32(), in[1].F32(), out[0].F32()
	k.bias = nil
	if len(in) > 2 && in[2] != nil {
		k.bias = in[2].F32()
	}
	s := bytesAsF32(ctx.Scratch)
	k.col, k.work = s[:k.colLen], s[k.colLen:]
	k.tasks = k.g.group * ((k.hw + k.colChunk - 1) / k.colChunk)
	k.used = min(k.slots, k.tasks, max(ctx.Pool.Threads(), 1))
	for k.item = 0; k.item < k.g.n; k.item++ {
		k.phase = 0
		ctx.Pool.For(k.used, 1, k)
		k.phase = 1
		ctx.Pool.For(k.g.m, 1, k)
	}
	return nil
}

// Do runs, in phase 0, the GEMM tasks (one group × column chunk each) of slots [lo, hi), each slot
// with its own workspace; in phase 1 col2im for output channels [lo, hi).
func (k *convTransposeKernel) Do(lo, hi int) {
	if k.phase == 1 {
		for oc := lo; oc < hi; oc++ {
			k.col2im(oc)
		}
		return
	}
	chunks := (k.hw + k.colChunk - 1) / k.colChunk
	rows := k.mg * k.kk
	for s := lo; s < hi; s++ {
		work := k.work[s*k.workLen : (s+1)*k.workLen]
		for t := s * k.tasks / k.used; t < (s+1)*k.tasks/k.used; t++ {
			gi, j0 := t/chunks, (t%chunks)*k.colChunk
			cols := min(k.colChunk, k.hw-j0)
			xg := k.x[(k.item*k.g.c+gi*k.cg)*k.hw+j0:]
			wg := k.w[gi*k.cg*rows:]
			f32.Gemm(true, false, rows, cols, k.cg, 1, wg, rows, xg, k.hw, 0, k.col[gi*rows*k.hw+j0:], k.hw, work)
		}
	}
}

// col2im writes output channel oc of the current item: bias, plus every tap of every input pixel
// that lands inside the output, then the activation.
func (k *convTransposeKernel) col2im(oc int) {
	g := &k.g
	plane := g.oh * g.ow
	y := k.y[(k.item*g.m+oc)*plane : (k.item*g.m+oc+1)*plane]
	var b float32
	if k.bias != nil {
		b = k.bias[oc]
	}
	f32.Fill(y, b)
	gi, m := oc/k.mg, oc%k.mg
	base := (gi*k.mg*k.kk + m*k.kk) * k.hw
	for ky := 0; ky < g.kh; ky++ {
		for kx := 0; kx < g.kw; kx++ {
			col := k.col[base+(ky*g.kw+kx)*k.hw:]
			// Input columns ix whose output ox = ix*sw - pl + kx*dw lies in [0, ow).
			ixLo, ixHi := f32.ValidRange(kx*g.dw-g.pl, g.sw, g.ow, g.w)
			for iy := 0; iy < g.h; iy++ {
				oy := iy*g.sh - g.pt + ky*g.dh
				if oy < 0 || oy >= g.oh {
					continue
				}
				row := col[iy*g.w:]
				yr := y[oy*g.ow:]
				for ix := ixLo; ix < ixHi; ix++ {
					yr[ix*g.sw-g.pl+kx*g.dw] += row[ix]
				}
			}
		}
	}
	if k.act.Kind != ActNone {
		k.act.Apply(y)
	}
}

// String describes the geometry (for debugging dumps).
func (g convTransposeGeom) String() string {
	return fmt.Sprintf("convT %dx%d s%dx%d d%dx%d p%d,%d -> %dx%d", g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pt, g.pl, g.oh, g.ow)
}

// convTransposeMACs: every input element meets Cout/group × kernel weights.
func convTransposeMACs(n *graph.Node) int64 {
	x, w := n.Input(0), n.Input(1)
	if outElems(n) < 0 || w == nil || !w.Shape.Known() || x == nil || !x.Shape.Known() {
		return 0
	}
	return int64(x.Shape.NumElements()) * int64(tensor.Shape(w.Shape[1:]).NumElements())
}
