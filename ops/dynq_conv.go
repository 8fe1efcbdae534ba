package ops

// DynQConv is a Conv computed in int8 with dynamic activation quantization (graph/passes
// QuantizeWeights creates it from an f32 Conv):
//
//	inputs:  X f32 (NCHW), W i8 const in q8.PackA layout (one block per group), S f32[M] weight
//	         scales, B f32[M] bias (optional)
//	attrs:   Conv's (strides, pads, dilations, group, auto_pad, fused activation) plus
//	         weight_shape = [M, C/group, kh, kw]
//
// Each Run measures min/max of X, quantizes it to u8 (asymmetric, per tensor), multiplies with the
// int8 weights in int32, and writes y = sx·S[m]·(acc - zp·Σw) + B[m] through the fused activation,
// in f32: the rest of the graph never sees integers.

import (
	"fmt"
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/tensor"
)

func init() {
	RegisterIn(graph.ExtDomain, graph.OpDynQConv, &Def{Infer: inferDynQConv, MACs: loweredConvMACs,
		Compile:     func(n *graph.Node) (Kernel, error) { return compileDynQConv(n, CompileOptions{}) },
		CompileWith: compileDynQConv})
}

// dynqPanelBytes bounds one slot's packed activation panel so it stays in L2.
const dynqPanelBytes = 96 << 10

func dynqWeightShape(n *graph.Node) (tensor.Shape, error) {
	ws := n.Ints(graph.AttrWeightShape, nil)
	if len(ws) < 3 {
		return nil, fmt.Errorf("ops: node %q (DynQConv): weight_shape %v, want [M, C/group, k...]", n.Name, ws)
	}
	s := make(tensor.Shape, len(ws))
	for i, v := range ws {
		s[i] = int(v)
	}
	return s, nil
}

func inferDynQConv(n *graph.Node) error {
	x := n.Input(0)
	if x == nil || n.Input(1) == nil || n.Input(2) == nil || len(n.Outputs) < 1 || n.Outputs[0] == nil {
		return fmt.Errorf("ops: node %q (DynQConv): needs X, W, S and one output", n.Name)
	}
	ws, err := dynqWeightShape(n)
	if err != nil {
		return err
	}
	n.Outputs[0].DType = tensor.F32
	if x.Shape == nil {
		n.Outputs[0].Shape = nil
		return nil
	}
	if len(x.Shape) != len(ws) {
		return fmt.Errorf("ops: node %q (DynQConv): X %s and weight_shape %s ranks differ", n.Name, x.Shape, ws)
	}
	win, err := resolveWindow(n, x.Shape[2:], []int(ws[2:]), false)
	if err != nil {
		return err
	}
	out := tensor.Shape{x.Shape[0], ws[0]}
	out = append(out, win.out...)
	n.Outputs[0].Shape = out
	return nil
}

type dynqConvKernel struct {
	geom           f32.ConvGeom // one group
	batch, cin     int
	cout, groups   int
	mg, k, k4      int
	act            Activation
	clamp          bool
	lo, hi         float32
	direct         bool // 1×1, stride 1, no pad, C%4 == 0: B rows are the quantized input planes
	w              []int8
	wscale         []float32
	rowSum         []int32
	glen           int // packed weight bytes per group
	tileCols, tcp  int // output pixels per tile (tcp rounded up to NR)
	tiles, msplit  int
	slots, slotLen int
	xqLen          int
	mm             [][2]float32 // per-chunk min/max partials

	// Run state, read by Do.
	phase   int
	x, bias []float32
	y       []float32
	xq      []uint8
	work    []byte
	s, off  []float32
	inv     float32
	zp      uint8
	chunks  int
	items   int
	used    int
}

// compileDynQConv compiles n; the weight's row sums come from o.Weights (nil: computed here), so programs
// sharing a store, and a compiled model file, compute them once.
func compileDynQConv(n *graph.Node, o CompileOptions) (Kernel, error) {
	if err := inferDynQConv(n); err != nil {
		return nil, err
	}
	x, w, sc := n.Input(0), n.Input(1), n.Input(2)
	ws, _ := dynqWeightShape(n)
	if x.DType != tensor.F32 || !x.Shape.Known() {
		return nil, fmt.Errorf("ops: node %q (DynQConv): X must be f32 with a known shape, got %s%s", n.Name, x.DType, x.Shape)
	}
	if len(x.Shape) != 4 {
		return nil, fmt.Errorf("ops: node %q (DynQConv): only 2-D convolution is supported", n.Name)
	}
	k := &dynqConvKernel{batch: x.Shape[0], cin: x.Shape[1], cout: ws[0], groups: int(n.Int("group", 1))}
	if k.groups < 1 || k.cin%k.groups != 0 || k.cout%k.groups != 0 || ws[1]*k.groups != k.cin {
		return nil, fmt.Errorf("ops: node %q (DynQConv): X %s, weight_shape %s and group %d do not match", n.Name, x.Shape, ws, k.groups)
	}
	k.mg = k.cout / k.groups
	win, err := resolveWindow(n, x.Shape[2:], []int(ws[2:]), false)
	if err != nil {
		return nil, err
	}
	k.geom = win.geom(k.cin/k.groups, x.Shape[2:])
	g := &k.geom
	k.k = g.K()
	k.k4 = q8.K4(k.k)
	k.glen = q8.PackedALen(k.mg, k.k)
	if !w.IsConst() || w.DType != tensor.I8 || len(w.Const.Data) != k.groups*k.glen {
		return nil, fmt.Errorf("ops: node %q (DynQConv): W must be a constant i8 packing of %d bytes", n.Name, k.groups*k.glen)
	}
	if !sc.IsConst() || sc.DType != tensor.F32 || sc.Const.NumElements() != k.cout {
		return nil, fmt.Errorf("ops: node %q (DynQConv): S must be constant f32[%d]", n.Name, k.cout)
	}
	if b := n.Input(3); b != nil && (b.DType != tensor.F32 || b.Shape.NumElements() != k.cout) {
		return nil, fmt.Errorf("ops: node %q (DynQConv): bias %s%s, want f32[%d]", n.Name, b.DType, b.Shape, k.cout)
	}
	if k.act, err = ActivationOf(n); err != nil {
		return nil, err
	}
	k.clamp, k.lo, k.hi = k.act.ClampBounds()
	if !k.clamp {
		k.lo, k.hi = float32(math.Inf(-1)), float32(math.Inf(1))
	}
	k.w = w.Const.I8()
	k.wscale = sc.Const.F32()
	k.rowSum = bytesAsI32(packedWeights(o, w.Const, fmt.Sprintf("q8.RowSumsA g%d %dx%d", k.groups, k.mg, k.k4), 4*k.cout, func(dst []byte) {
		sums := bytesAsI32(dst)
		for gi := 0; gi < k.groups; gi++ {
			q8.RowSumsA(sums[gi*k.mg:], k.w[gi*k.glen:], k.mg, k.k4)
		}
	}))
	k.s, k.off = make([]float32, k.cout), make([]float32, k.cout)
	k.direct = g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PT == 0 && g.PL == 0 &&
		g.OH == g.H && g.OW == g.W && g.C%4 == 0
	ohw := g.OH * g.OW
	k.tileCols = min(q8.RoundUp(ohw, q8.NR), max(q8.NR, dynqPanelBytes/(k.k4*4)/q8.NR*q8.NR), 1024)
	k.tcp = q8.RoundUp(k.tileCols, q8.NR)
	k.tiles = (ohw + k.tileCols - 1) / k.tileCols
	k.slots = o.slots()
	k.msplit = 1
	if per := k.batch * k.groups * k.tiles; per < k.slots {
		k.msplit = min((k.slots+per-1)/per, (k.mg+q8.MR-1)/q8.MR)
	}
	panel := k.k4 * 4 * k.tcp
	k.slotLen = q8.RoundUp(q8.MR*q8.NR*4+panel, 64)
	if !k.direct {
		k.slotLen += q8.RoundUp(panel, 64)
	}
	// The direct path reads up to NR bytes past a plane's last pixel.
	k.xqLen = q8.RoundUp(x.Shape.NumElements()+q8.NR, 64)
	k.mm = make([][2]float32, 4*k.slots)
	return k, nil
}

// PackedBytes: the packed int8 weights are the node's constant input, counted there.
func (k *dynqConvKernel) ScratchBytes() int { return k.slots*k.slotLen + k.xqLen }

// dynqQuantizeInput runs the shared first half of a DynQ op: parallel min/max of x, the u8 parameters,
// and (when xq is not nil) the quantized copy of x. Phases 1 and 2 of the caller's Do do the chunks.
func dynqChunks(n int) int { return max(1, min(64, n/8192)) }

func (k *dynqConvKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.y = in[0].F32(), out[0].F32()
	k.bias = nil
	if len(in) > 3 && in[3] != nil {
		k.bias = in[3].F32()
	}
	k.xq = ctx.Scratch[:k.xqLen]
	k.work = ctx.Scratch[k.xqLen:]
	k.chunks = min(dynqChunks(len(k.x)), len(k.mm))
	k.phase = 1
	ctx.Pool.For(k.chunks, 1, k)
	lo, hi := k.mm[0][0], k.mm[0][1]
	for _, m := range k.mm[1:k.chunks] {
		lo, hi = min(lo, m[0]), max(hi, m[1])
	}
	scale, zp := q8.Params(lo, hi)
	k.inv, k.zp = 1/scale, zp
	k.phase = 2
	ctx.Pool.For(k.chunks, 1, k)
	for oc := range k.s {
		s := float64(scale) * float64(k.wscale[oc])
		off := -s * float64(zp) * float64(k.rowSum[oc])
		if k.bias != nil {
			off += float64(k.bias[oc])
		}
		k.s[oc], k.off[oc] = float32(s), float32(off)
	}
	k.items = k.batch * k.groups * k.tiles * k.msplit
	k.used = min(k.slots, k.items, max(ctx.Pool.Threads(), 1))
	k.phase = 3
	ctx.Pool.For(k.used, 1, k)
	return nil
}

func (k *dynqConvKernel) Do(lo, hi int) {
	switch k.phase {
	case 1:
		for c := lo; c < hi; c++ {
			a, b := c*len(k.x)/k.chunks, (c+1)*len(k.x)/k.chunks
			k.mm[c][0], k.mm[c][1] = q8.MinMax(k.x[a:b])
		}
	case 2:
		for c := lo; c < hi; c++ {
			a, b := c*len(k.x)/k.chunks, (c+1)*len(k.x)/k.chunks
			q8.Quantize(k.xq[a:b], k.x[a:b], k.inv, k.zp)
		}
	case 3:
		for s := lo; s < hi; s++ {
			work := k.work[s*k.slotLen : (s+1)*k.slotLen]
			for it := s * k.items / k.used; it < (s+1)*k.items/k.used; it++ {
				k.doItem(it, work)
			}
		}
	}
}

func (k *dynqConvKernel) doItem(it int, work []byte) {
	g := &k.geom
	mp := it % k.msplit
	it /= k.msplit
	t := it % k.tiles
	it /= k.tiles
	gi := it % k.groups
	b := it / k.groups

	blocks := (k.mg + q8.MR - 1) / q8.MR
	bl0, bl1 := mp*blocks/k.msplit, (mp+1)*blocks/k.msplit
	if bl0 >= bl1 {
		return
	}
	ohw, hw := g.OH*g.OW, g.H*g.W
	j0 := t * k.tileCols
	nc := min(k.tileCols, ohw-j0)
	ctile := bytesAsI32(work[:q8.MR*q8.NR*4])
	panel := work[q8.MR*q8.NR*4 : q8.MR*q8.NR*4+k.k4*4*k.tcp]
	xg := k.xq[(b*k.cin+gi*g.C)*hw:]
	if k.direct {
		q8.PackB(panel, xg[j0:], hw, k.k4, nc)
	} else {
		cols := work[q8.RoundUp(q8.MR*q8.NR*4+k.k4*4*k.tcp, 64):]
		im2colU8(cols, k.tcp, xg, g, k.zp, j0, nc, k.k4*4)
		q8.PackB(panel, cols, k.tcp, k.k4, nc)
	}
	wg := k.w[gi*k.glen:]
	y := k.y[(b*k.cout+gi*k.mg)*ohw+j0:]
	for bl := bl0; bl < bl1; bl++ {
		m0 := bl * q8.MR
		m := min(q8.MR, k.mg-m0)
		a := wg[m0*k.k4*4:]
		for jb := 0; jb < nc; jb += q8.NR {
			q8.Tile(ctile, a, panel[jb*k.k4*4:], k.k4)
			oc := gi*k.mg + m0
			n := min(q8.NR, nc-jb)
			q8.Dequant(y[m0*ohw+jb:], ohw, ctile, q8.NR, m, n, k.s[oc:], k.off[oc:], k.lo, k.hi)
			if !k.clamp && k.act.Kind != ActNone {
				for r := 0; r < m; r++ {
					k.act.Apply(y[(m0+r)*ohw+jb : (m0+r)*ohw+jb+n])
				}
			}
		}
	}
}

// im2colU8 writes rows [0, rows) of the im2col matrix of the quantized planes x (one group) for
// output pixels [j0, j0+nc) into dst (row stride ld): row p = (c*KH+ky)*KW+kx; padding reads as zp
// (the quantized 0); rows past C*KH*KW are zero (their weights are zero).
func im2colU8(dst []uint8, ld int, x []uint8, g *f32.ConvGeom, zp uint8, j0, nc, rows int) {
	K := g.K()
	hw := g.H * g.W
	for p := 0; p < rows; p++ {
		d := dst[p*ld : p*ld+nc]
		if p >= K {
			clear(d)
			continue
		}
		c, kk := p/(g.KH*g.KW), p%(g.KH*g.KW)
		ky, kx := kk/g.KW, kk%g.KW
		plane := x[c*hw : (c+1)*hw]
		xlo, xhi := f32.ValidRange(kx*g.DW-g.PL, g.SW, g.W, g.OW)
		for j := j0; j < j0+nc; {
			oy, ox := j/g.OW, j%g.OW
			end := min(j0+nc, j-ox+g.OW) // end of this output row within the tile
			seg := d[j-j0 : end-j0]
			iy := oy*g.SH - g.PT + ky*g.DH
			if iy < 0 || iy >= g.H {
				for i := range seg {
					seg[i] = zp
				}
				j = end
				continue
			}
			irow := plane[iy*g.W : (iy+1)*g.W]
			a, e := ox, ox+len(seg) // output columns [a, e)
			for o := a; o < min(e, xlo); o++ {
				seg[o-a] = zp
			}
			v0, v1 := max(a, xlo), min(e, xhi)
			if v0 < v1 {
				ix0 := v0*g.SW - g.PL + kx*g.DW
				if g.SW == 1 {
					copy(seg[v0-a:v1-a], irow[ix0:ix0+v1-v0])
				} else {
					s := seg[v0-a : v1-a]
					for i := range s {
						s[i] = irow[ix0+i*g.SW]
					}
				}
			}
			for o := max(v1, a); o < e; o++ {
				seg[o-a] = zp
			}
			j = end
		}
	}
}
