package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/tensor"
)

// ConvInteger (ONNX opset 10, 1-D and 2-D): Conv of (x - x_zero_point) with (w - w_zero_point) in
// int32. x and w are uint8 or int8 (independently); x_zero_point is a scalar, w_zero_point a scalar
// or one value per output channel. Padding holds x_zero_point, so it contributes 0 (as in ONNX
// Runtime, whose dynamic quantization writes this op). Attributes as Conv's.
//
// Computed as im2col of x on the uint8 carrier (int8 shifted by 128) times W - w_zp as int16 with
// q8.Gemm, then the activation zero point removed per output channel as x_zp × rowsum(W - w_zp).

func init() {
	Register("ConvInteger", &Def{Infer: inferConvInteger, Compile: compileConvInteger})
}

func inferConvInteger(n *graph.Node) error {
	if err := needInputs(n, 2); err != nil {
		return err
	}
	x, w := n.Inputs[0], n.Inputs[1]
	if !isInt8Type(x.DType) || !isInt8Type(w.DType) {
		return errf(n, "x and w must be uint8 or int8, are %s and %s", x.DType, w.DType)
	}
	if x.Shape == nil || w.Shape == nil {
		setOut(n, 0, tensor.I32, nil)
		return nil
	}
	if len(x.Shape) < 3 || len(w.Shape) != len(x.Shape) {
		return errf(n, "x %s and w %s ranks do not match", x.Shape, w.Shape)
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
	out = append(out, win.out...)
	setOut(n, 0, tensor.I32, out)
	return nil
}

type convIntegerKernel struct {
	geom             f32.ConvGeom // one group; C = input channels per group
	batch, groups    int
	m, mg, kdim, ohw int
	xSigned          bool
	xzp, wzp         zeroPoints
	slots            int

	// Run state, read by Do.
	in      []*tensor.Tensor
	x       []byte
	col     []uint8 // groups × kdim × ohw for the current item
	w16     []int16 // m × kdim: W - w_zp
	sums    []int32 // m: rowsums of w16
	y       []int32
	xz      int32
	item    int
	phase   int
	tasks   int
	perGrp  int
	rowsPer int
}

func compileConvInteger(n *graph.Node) (Kernel, error) {
	if err := inferConvInteger(n); err != nil {
		return nil, err
	}
	x, w := n.Inputs[0], n.Inputs[1]
	if !x.Shape.Known() || !w.Shape.Known() {
		return nil, errf(n, "shapes %s, %s not concrete", x.Shape, w.Shape)
	}
	nd := len(x.Shape) - 2
	if nd > 2 {
		return nil, errf(n, "%d-D convolution is not supported (1-D and 2-D are)", nd)
	}
	ks, err := convKernelShape(n, w.Shape)
	if err != nil {
		return nil, err
	}
	win, err := resolveWindow(n, x.Shape[2:], ks, false)
	if err != nil {
		return nil, err
	}
	groups := int(n.Int("group", 1))
	c, m := x.Shape[1], w.Shape[0]
	if groups < 1 || c%groups != 0 || m%groups != 0 || w.Shape[1] != c/groups {
		return nil, errf(n, "w %s does not fit x %s with group %d", w.Shape, x.Shape, groups)
	}
	k := &convIntegerKernel{geom: win.geom(c/groups, x.Shape[2:]), batch: x.Shape[0], groups: groups, m: m, mg: m / groups,
		xSigned: x.DType == tensor.I8}
	k.kdim = k.geom.K()
	k.ohw = k.geom.OH * k.geom.OW
	if k.xzp, err = zeroPointsOf(n, 2, x.DType, 1, "x's"); err != nil {
		return nil, err
	}
	if k.wzp, err = zeroPointsOf(n, 3, w.DType, m, "w's"); err != nil {
		return nil, err
	}
	k.rowsPer = max(1, min(k.mg, 16))
	k.perGrp = (k.mg + k.rowsPer - 1) / k.rowsPer
	return k, nil
}

func (k *convIntegerKernel) ScratchBytes() int {
	return align4(k.groups*k.kdim*k.ohw) + align4(2*k.m*k.kdim) + 4*k.m
}

func (k *convIntegerKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	s := ctx.Scratch
	colLen := align4(k.groups * k.kdim * k.ohw)
	k.col = s[:k.groups*k.kdim*k.ohw]
	k.w16 = bytesAsI16(s[colLen : colLen+2*k.m*k.kdim])
	k.sums = bytesAsI32(s[colLen+align4(2*k.m*k.kdim):])[:k.m]
	k.in, k.x, k.y = in, in[0].Data, out[0].I32()
	k.xz = k.xzp.at(in, 0)
	wSigned := in[1].DType == tensor.I8
	wd := in[1].Data
	for i := 0; i < k.m; i++ {
		z := k.wzp.at(in, i)
		var sum int32
		for p := 0; p < k.kdim; p++ {
			v := int32(wd[i*k.kdim+p])
			if wSigned {
				v = int32(int8(wd[i*k.kdim+p])) + 128
			}
			k.w16[i*k.kdim+p] = int16(v - z)
			sum += v - z
		}
		k.sums[i] = sum
	}
	for k.item = 0; k.item < k.batch; k.item++ {
		k.phase = 0
		ctx.Pool.For(k.groups*k.geom.C, 1, k)
		k.phase = 1
		ctx.Pool.For(k.groups*k.perGrp, 1, k)
	}
	return nil
}

// Do runs im2col for input channels [lo, hi) (phase 0) or the GEMMs of row blocks [lo, hi)
// (phase 1).
func (k *convIntegerKernel) Do(lo, hi int) {
	if k.phase == 0 {
		for ch := lo; ch < hi; ch++ {
			k.im2col(ch)
		}
		return
	}
	for t := lo; t < hi; t++ {
		gi, r0 := t/k.perGrp, (t%k.perGrp)*k.rowsPer
		rows := min(k.rowsPer, k.mg-r0)
		oc := gi*k.mg + r0
		c := k.y[(k.item*k.m+oc)*k.ohw:]
		q8.Gemm(rows, k.ohw, k.kdim, k.w16[oc*k.kdim:], k.kdim, k.col[gi*k.kdim*k.ohw:], k.ohw, c, k.ohw)
		for i := 0; i < rows; i++ {
			corr := k.xz * k.sums[oc+i]
			row := c[i*k.ohw : (i+1)*k.ohw]
			for j := range row {
				row[j] -= corr
			}
		}
	}
}

// im2col writes the kh×kw rows of input channel ch (counted over all groups) of the current item:
// row (c*KH+ky)*KW+kx of its group, column oy*OW+ox, holding x[c][iy][ix] or the zero point.
func (k *convIntegerKernel) im2col(ch int) {
	g := &k.geom
	gi, c := ch/g.C, ch%g.C
	plane := g.H * g.W
	src := k.x[(k.item*k.groups*g.C+ch)*plane:][:plane]
	pad := uint8(k.xz)
	for ky := 0; ky < g.KH; ky++ {
		for kx := 0; kx < g.KW; kx++ {
			row := k.col[(gi*k.kdim+(c*g.KH+ky)*g.KW+kx)*k.ohw:][:k.ohw]
			xlo, xhi := f32.ValidRange(kx*g.DW-g.PL, g.SW, g.W, g.OW)
			for oy := 0; oy < g.OH; oy++ {
				out := row[oy*g.OW : (oy+1)*g.OW]
				iy := oy*g.SH - g.PT + ky*g.DH
				if iy < 0 || iy >= g.H {
					for j := range out {
						out[j] = pad
					}
					continue
				}
				for ox := 0; ox < g.OW; ox++ {
					if ox < xlo || ox >= xhi {
						out[ox] = pad
						continue
					}
					v := src[iy*g.W+ox*g.SW-g.PL+kx*g.DW]
					if k.xSigned {
						v ^= 0x80
					}
					out[ox] = v
				}
			}
		}
	}
}
