package ops

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/tensor"
)

// MaxPool, AveragePool (1-D and 2-D; kernel_shape, strides, pads, dilations, ceil_mode, auto_pad,
// count_include_pad), GlobalAveragePool and GlobalMaxPool. MaxPool and GlobalMaxPool also take u8 and
// i8 tensors (quantized TFLite models max-pool uint8 activations; max commutes with the affine
// dequantization, so the quantized values are pooled as they are). Work is split over N*C planes.

func init() {
	Register("MaxPool", &Def{Infer: inferPool, Compile: compilePool})
	Register("AveragePool", &Def{Infer: inferPool, Compile: compilePool})
	Register("GlobalAveragePool", &Def{Infer: inferGlobalPool, Compile: compileGlobalPool})
	Register("GlobalMaxPool", &Def{Infer: inferGlobalPool, Compile: compileGlobalPool})
}

func poolWindow(n *graph.Node, xs tensor.Shape) (convWindow, error) {
	ks := n.Ints("kernel_shape", nil)
	if ks == nil {
		return convWindow{}, fmt.Errorf("ops: node %q (%s): kernel_shape is required", n.Name, n.Op)
	}
	if len(xs) < 3 {
		return convWindow{}, fmt.Errorf("ops: node %q (%s): input %s has no spatial dims", n.Name, n.Op, xs)
	}
	k := make([]int, len(ks))
	for i, v := range ks {
		k[i] = int(v)
	}
	return resolveWindow(n, xs[2:], k, n.Int("ceil_mode", 0) != 0)
}

func inferPool(n *graph.Node) error {
	x := n.Input(0)
	if x == nil || len(n.Outputs) < 1 || n.Outputs[0] == nil {
		return fmt.Errorf("ops: node %q (%s): needs X and one output", n.Name, n.Op)
	}
	n.Outputs[0].DType = x.DType
	if len(n.Outputs) > 1 && n.Outputs[1] != nil {
		n.Outputs[1].DType = tensor.I64
	}
	if x.Shape == nil {
		n.Outputs[0].Shape = nil
		return nil
	}
	win, err := poolWindow(n, x.Shape)
	if err != nil {
		return err
	}
	out := tensor.Shape{x.Shape[0], x.Shape[1]}
	for _, o := range win.out {
		out = append(out, o)
	}
	n.Outputs[0].Shape = out
	if len(n.Outputs) > 1 && n.Outputs[1] != nil {
		n.Outputs[1].Shape = out.Clone()
	}
	return nil
}

func compilePool(n *graph.Node) (Kernel, error) {
	if err := inferPool(n); err != nil {
		return nil, err
	}
	x := n.Input(0)
	if !x.Shape.Known() {
		return nil, fmt.Errorf("ops: node %q (%s): shape %s not concrete", n.Name, n.Op, x.Shape)
	}
	if len(x.Shape) > 4 {
		return nil, fmt.Errorf("ops: node %q (%s): %d-D pooling is not supported (1-D and 2-D are)", n.Name, n.Op, len(x.Shape)-2)
	}
	if len(n.Outputs) > 1 && n.Outputs[1] != nil {
		return nil, fmt.Errorf("ops: node %q (%s): the Indices output is not supported", n.Name, n.Op)
	}
	if n.Int("storage_order", 0) != 0 {
		return nil, fmt.Errorf("ops: node %q (%s): storage_order=1 is not supported", n.Name, n.Op)
	}
	win, err := poolWindow(n, x.Shape)
	if err != nil {
		return nil, err
	}
	geom := win.geom(1, x.Shape[2:])
	planes := x.Shape[0] * x.Shape[1]
	if n.Op == "MaxPool" {
		switch x.DType {
		case tensor.F32:
			return &maxPoolKernel[float32]{geom: geom, planes: planes, lowest: float32(math.Inf(-1)),
				plan: f32.NewMaxPoolPlan(&geom)}, nil
		case tensor.U8:
			return &maxPoolKernel[uint8]{geom: geom, planes: planes, lowest: 0}, nil
		case tensor.I8:
			return &maxPoolKernel[int8]{geom: geom, planes: planes, lowest: math.MinInt8}, nil
		}
		return nil, fmt.Errorf("ops: node %q (MaxPool): dtype %s is not supported (f32, u8, i8 are)", n.Name, x.DType)
	}
	if x.DType != tensor.F32 {
		return nil, fmt.Errorf("ops: node %q (AveragePool): dtype %s is not supported (f32 is)", n.Name, x.DType)
	}
	k := &avgPoolKernel{geom: geom, planes: planes}
	k.ones = make([]float32, geom.KH*geom.KW)
	f32.Fill(k.ones, 1)
	if gm := &geom; gm.KH == 2 && gm.KW == 2 && gm.SH == 2 && gm.SW == 2 && gm.DH == 1 && gm.DW == 1 &&
		gm.PT == 0 && gm.PL == 0 && gm.H%2 == 0 && gm.W%2 == 0 && gm.OH == gm.H/2 && gm.OW == gm.W/2 && gm.W <= avgPool2x2MaxW {
		k.pool2x2 = true
	} else {
		k.plan = f32.NewDepthwisePlan(&geom)
	}
	// The divisor is separable: (valid rows of the window) × (valid columns of the window).
	incl := n.Int("count_include_pad", 0) != 0
	axis := func(out, size, stride, dil, kern, padB, padE int) []float32 {
		inv := make([]float32, out)
		for o := range inv {
			cnt := 0
			for t := 0; t < kern; t++ {
				i := o*stride - padB + t*dil
				if (i >= 0 && i < size) || (incl && i < size+padE) {
					cnt++
				}
			}
			inv[o] = 1 / float32(max(cnt, 1))
		}
		return inv
	}
	g := &geom
	if len(win.out) == 1 {
		k.invRow = []float32{1}
		k.invCol = axis(g.OW, g.W, g.SW, g.DW, g.KW, win.padB[0], win.padE[0])
	} else {
		k.invRow = axis(g.OH, g.H, g.SH, g.DH, g.KH, win.padB[0], win.padE[0])
		k.invCol = axis(g.OW, g.W, g.SW, g.DW, g.KW, win.padB[1], win.padE[1])
	}
	return k, nil
}

type maxPoolKernel[T float32 | uint8 | int8] struct {
	geom   f32.ConvGeom
	planes int
	lowest T
	plan   *f32.DepthwisePlan // f32: the AVX-512 plane kernels' tables (nil for u8/i8)
	x, y   []T
	// rowParts > 0: Do(s) pools band s of rowParts bands of output rows of every plane.
	rowParts int
}

func (k *maxPoolKernel[T]) ScratchBytes() int { return 0 }

func (k *maxPoolKernel[T]) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.y = poolElems[T](in[0]), poolElems[T](out[0])
	// Large planes on several threads: each takes a band of rows of every plane, the rows the layer
	// before (a convolution split by pixels) wrote on its core; a plane split reads half its input
	// from the other core (ResNet-50's 64@112×112 pool after the stem ran at twice ONNX Runtime's time).
	k.rowParts = 0
	if t := ctx.Pool.Threads(); t > 1 && k.plan != nil && k.plan.Vector() && k.geom.OH*k.geom.OW >= dwBandMinPixels {
		k.rowParts = min(t, k.geom.OH)
		ctx.Pool.ForThreads(k.rowParts, k)
		return nil
	}
	ctx.Pool.For(k.planes, 1, k)
	return nil
}

// poolElems views a tensor's data as T (the dtype was checked in Compile); unsafe rather than a
// type switch through interfaces, which would allocate on every Run.
func poolElems[T float32 | uint8 | int8](t *tensor.Tensor) []T {
	n := t.NumElements()
	var z T
	if n == 0 || len(t.Data) < n*int(unsafe.Sizeof(z)) {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&t.Data[0])), n)
}

func (k *maxPoolKernel[T]) Do(lo, hi int) {
	g := &k.geom
	hw, ohw := g.H*g.W, g.OH*g.OW
	if k.rowParts > 0 {
		// T is float32 whenever plan is set.
		x, y := *(*[]float32)(unsafe.Pointer(&k.x)), *(*[]float32)(unsafe.Pointer(&k.y))
		for s := lo; s < hi; s++ {
			oy0, oy1 := s*g.OH/k.rowParts, (s+1)*g.OH/k.rowParts
			for p := 0; p < k.planes; p++ {
				k.plan.MaxRows(y[p*ohw+oy0*g.OW:p*ohw+oy1*g.OW], x[p*hw:(p+1)*hw], oy0, oy1)
			}
		}
		return
	}
	for p := lo; p < hi; p++ {
		out, in := k.y[p*ohw:(p+1)*ohw], k.x[p*hw:(p+1)*hw]
		if k.plan != nil {
			// T is float32 whenever plan is set.
			if k.plan.MaxPlane(*(*[]float32)(unsafe.Pointer(&out)), *(*[]float32)(unsafe.Pointer(&in))) {
				continue
			}
		}
		maxPlane(out, in, g, k.lowest)
	}
}

// maxPlane max-pools one H×W plane into OH×OW, skipping taps in the padding.
func maxPlane[T float32 | uint8 | int8](out, in []T, g *f32.ConvGeom, lowest T) {
	for oy := 0; oy < g.OH; oy++ {
		orow := out[oy*g.OW : (oy+1)*g.OW]
		for i := range orow {
			orow[i] = lowest
		}
		for ky := 0; ky < g.KH; ky++ {
			iy := oy*g.SH - g.PT + ky*g.DH
			if iy < 0 || iy >= g.H {
				continue
			}
			irow := in[iy*g.W : (iy+1)*g.W]
			for kx := 0; kx < g.KW; kx++ {
				off := kx*g.DW - g.PL
				lo, hi := f32.ValidRange(off, g.SW, g.W, g.OW)
				if lo >= hi {
					continue // no output column sees this tap inside the input
				}
				if g.SW == 1 {
					o := orow[lo:hi]
					src := irow[lo+off : hi+off]
					src = src[:len(o)]
					for x, v := range src {
						o[x] = max(o[x], v)
					}
					continue
				}
				for ox := lo; ox < hi; ox++ {
					orow[ox] = max(orow[ox], irow[ox*g.SW+off])
				}
			}
		}
	}
}

type avgPoolKernel struct {
	geom           f32.ConvGeom
	planes         int
	ones           []float32
	invRow, invCol []float32
	x, y           []float32
	// Vector paths (the scalar Depthwise sum otherwise): 2×2 stride-2 unpadded windows on even planes
	// (ResNeSt's average-pool shortcuts) by SumPool2x2, 3×3 and 5×5 by the depthwise plane kernels
	// (its stride-2 3×3 "avd" pools).
	pool2x2 bool
	plan    *f32.DepthwisePlan
}

// avgPool2x2MaxW bounds the plane width of the 2×2 path (its row buffer lives on the stack).
const avgPool2x2MaxW = 1024

func (k *avgPoolKernel) ScratchBytes() int { return 0 }

func (k *avgPoolKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.y = in[0].F32(), out[0].F32()
	ctx.Pool.For(k.planes, 1, k)
	return nil
}

func (k *avgPoolKernel) Do(lo, hi int) {
	g := &k.geom
	hw, ohw := g.H*g.W, g.OH*g.OW
	for p := lo; p < hi; p++ {
		dst := k.y[p*ohw : (p+1)*ohw]
		src := k.x[p*hw : (p+1)*hw]
		switch {
		case k.pool2x2:
			var buf [avgPool2x2MaxW * 3 / 2]float32
			f32.SumPool2x2(dst, src, g.H, g.W, buf[:])
		case k.plan != nil && k.plan.Vector():
			k.plan.Plane(dst, src, k.ones, 0, false, 0, 0, nil)
		default:
			// A depthwise convolution with an all-ones kernel sums each window's in-bounds taps.
			f32.Depthwise(dst, src, k.ones, 0, g)
		}
		for oy := 0; oy < g.OH; oy++ {
			r := k.invRow[oy]
			row := dst[oy*g.OW : (oy+1)*g.OW]
			for ox, c := range k.invCol[:len(row)] {
				row[ox] *= r * c
			}
		}
	}
}

func inferGlobalPool(n *graph.Node) error {
	x := n.Input(0)
	if x == nil || len(n.Outputs) < 1 || n.Outputs[0] == nil {
		return fmt.Errorf("ops: node %q (%s): needs X and one output", n.Name, n.Op)
	}
	n.Outputs[0].DType = x.DType
	if x.Shape == nil {
		n.Outputs[0].Shape = nil
		return nil
	}
	if len(x.Shape) < 3 {
		return fmt.Errorf("ops: node %q (%s): input %s has no spatial dims", n.Name, n.Op, x.Shape)
	}
	out := x.Shape.Clone()
	for i := 2; i < len(out); i++ {
		out[i] = 1
	}
	n.Outputs[0].Shape = out
	return nil
}

func compileGlobalPool(n *graph.Node) (Kernel, error) {
	if err := inferGlobalPool(n); err != nil {
		return nil, err
	}
	x := n.Input(0)
	if !x.Shape.Known() {
		return nil, fmt.Errorf("ops: node %q (%s): shape %s not concrete", n.Name, n.Op, x.Shape)
	}
	planes := x.Shape[0] * x.Shape[1]
	size := x.Shape.NumElements() / max(planes, 1)
	if n.Op == "GlobalAveragePool" {
		if x.DType != tensor.F32 {
			return nil, fmt.Errorf("ops: node %q (%s): dtype %s is not supported (f32 is)", n.Name, n.Op, x.DType)
		}
		return &globalPoolKernel[float32]{planes: planes, size: size, avg: true}, nil
	}
	switch x.DType {
	case tensor.F32:
		return &globalPoolKernel[float32]{planes: planes, size: size, lowest: float32(math.Inf(-1))}, nil
	case tensor.U8:
		return &globalPoolKernel[uint8]{planes: planes, size: size}, nil
	case tensor.I8:
		return &globalPoolKernel[int8]{planes: planes, size: size, lowest: math.MinInt8}, nil
	}
	return nil, fmt.Errorf("ops: node %q (%s): dtype %s is not supported (f32, u8, i8 are)", n.Name, n.Op, x.DType)
}

type globalPoolKernel[T float32 | uint8 | int8] struct {
	planes, size int
	avg          bool
	lowest       T
	x, y         []T
}

func (k *globalPoolKernel[T]) ScratchBytes() int { return 0 }

func (k *globalPoolKernel[T]) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.y = poolElems[T](in[0]), poolElems[T](out[0])
	ctx.Pool.For(k.planes, 1, k)
	return nil
}

func (k *globalPoolKernel[T]) Do(lo, hi int) {
	for p := lo; p < hi; p++ {
		src := k.x[p*k.size : (p+1)*k.size]
		if k.avg {
			// Only instantiated with float32 when avg is set.
			var s float32
			for _, v := range src {
				s += float32(v)
			}
			k.y[p] = T(s / float32(k.size))
			continue
		}
		m := k.lowest
		for _, v := range src {
			m = max(m, v)
		}
		k.y[p] = m
	}
}
