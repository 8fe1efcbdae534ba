package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/tensor"
)

// QLinearAveragePool (com.microsoft): inputs X, x_scale, x_zero_point, y_scale, y_zero_point;
// attributes kernel_shape, strides, pads, auto_pad, count_include_pad, ceil_mode (0 only), NCHW 2-D.
// With rounding="tflite" and equal input/output quantization it averages the raw integers like TFLite's
// reference (sum + count/2) / count over the valid window; otherwise it averages in float and requantizes.
//
// QLinearGlobalAveragePool (com.microsoft): inputs X, x_scale, x_zero_point, y_scale, y_zero_point; mean
// over H,W -> [N,C,1,1]. With rounding="tflite" it is TFLite's integer MEAN: sum(x - xz) multiplied by
// QuantizeMultiplier(xs/ys), divided by the count rounding half away from zero, plus yz.

type qlPoolKernel struct {
	n       *graph.Node
	global  bool
	g       qlConvGeom // geometry reused from conv (m = c, kernel = window)
	inclPad bool
	s       [2][1]float32
	z       [2][1]int32
}

func qlPoolGeom(n *graph.Node, xs tensor.Shape, global bool) (qlConvGeom, error) {
	if len(xs) != 4 {
		return qlConvGeom{}, qlErr(n, "only 4-D NCHW input is supported, got %s", xs)
	}
	if global {
		return qlConvGeom{n: xs[0], c: xs[1], h: xs[2], w: xs[3], m: xs[1], kh: xs[2], kw: xs[3], group: xs[1],
			sh: 1, sw: 1, dh: 1, dw: 1, oh: 1, ow: 1}, nil
	}
	if n.Int("ceil_mode", 0) != 0 {
		return qlConvGeom{}, qlErr(n, "ceil_mode=1 not supported")
	}
	if n.Int("channels_last", 0) != 0 {
		return qlConvGeom{}, qlErr(n, "channels_last=1 not supported")
	}
	ks := n.Ints("kernel_shape", nil)
	if len(ks) != 2 {
		return qlConvGeom{}, qlErr(n, "kernel_shape must have 2 entries")
	}
	return qlConvGeometry(n, xs, tensor.Shape{xs[1], 1, int(ks[0]), int(ks[1])})
}

func inferQLinearPool(global bool) func(n *graph.Node) error {
	return func(n *graph.Node) error {
		if len(n.Inputs) < 4 || n.Inputs[0] == nil {
			return qlErr(n, "needs 4 or 5 inputs")
		}
		xs := n.Inputs[0].Shape
		if len(xs) != 4 {
			return qlErr(n, "only 4-D NCHW input is supported, got %s", xs)
		}
		// Group must divide the channel count for the shared conv geometry; pooling is per channel.
		g, err := qlPoolGeomFor(n, xs, global)
		if err != nil {
			return err
		}
		n.Outputs[0].DType = qlZPType(n.Input(4))
		n.Outputs[0].Shape = tensor.Shape{g.n, g.c, g.oh, g.ow}
		return nil
	}
}

func qlPoolGeomFor(n *graph.Node, xs tensor.Shape, global bool) (qlConvGeom, error) {
	if !global && xs[1] > 0 {
		// qlConvGeometry checks channels against group; pooling is "depthwise" with group = C.
		n2 := *n
		n2.Attrs = map[string]graph.Attr{}
		for k, v := range n.Attrs {
			n2.Attrs[k] = v
		}
		n2.SetInt("group", int64(xs[1]))
		return qlPoolGeom(&n2, xs, global)
	}
	if !global {
		return qlConvGeom{}, qlErr(n, "channel count must be known")
	}
	return qlPoolGeom(n, xs, global)
}

func compileQLinearPool(global bool) func(n *graph.Node) (Kernel, error) {
	return func(n *graph.Node) (Kernel, error) {
		if err := inferQLinearPool(global)(n); err != nil {
			return nil, err
		}
		xs := n.Inputs[0].Shape
		if !xs.Known() {
			return nil, qlErr(n, "input shape %s not concrete", xs)
		}
		if !qlIsQ8(n.Inputs[0].DType) || !qlIsQ8(n.Outputs[0].DType) {
			return nil, qlErr(n, "X and Y must be u8/i8")
		}
		g, err := qlPoolGeomFor(n, xs, global)
		if err != nil {
			return nil, err
		}
		return &qlPoolKernel{n: n, global: global, g: g, inclPad: n.Int("count_include_pad", 0) != 0}, nil
	}
}

func (k *qlPoolKernel) ScratchBytes() int { return 0 }

func (k *qlPoolKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	if err := qlReadQ(in[1], in[2], k.s[0][:], k.z[0][:]); err != nil {
		return qlErr(k.n, "x: %v", err)
	}
	if err := qlReadQ(in[3], qlAt(in, 4), k.s[1][:], k.z[1][:]); err != nil {
		return qlErr(k.n, "y: %v", err)
	}
	x, y := in[0], out[0]
	xs, xz, ys, yz := k.s[0][0], k.z[0][0], k.s[1][0], k.z[1][0]
	lo, hi := qlRange(y.DType)
	lo, hi, err := qlActRange(k.n, ys, yz, lo, hi)
	if err != nil {
		return err
	}
	tfl := qlTFLite(k.n)
	rawAvg := tfl && !k.global && xs == ys && xz == yz && x.DType == y.DType
	var meanRQ q8.Requant
	if tfl && k.global {
		meanRQ = q8.NewRequant(float64(xs) / float64(ys))
	}
	g := k.g
	for b := 0; b < g.n; b++ {
		for c := 0; c < g.c; c++ {
			plane := (b*g.c + c) * g.h * g.w
			for oy := 0; oy < g.oh; oy++ {
				for ox := 0; ox < g.ow; ox++ {
					var sum, cnt int32
					for ky := 0; ky < g.kh; ky++ {
						iy := oy*g.sh - g.pt + ky
						for kx := 0; kx < g.kw; kx++ {
							ix := ox*g.sw - g.pl + kx
							if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w {
								if k.inclPad {
									cnt++
									sum += xz // padding is real zero
								}
								continue
							}
							sum += qlGet(x.DType, x.Data, plane+iy*g.w+ix)
							cnt++
						}
					}
					var v int32
					switch {
					case cnt == 0:
						v = yz
					case rawAvg:
						// TFLite reference AveragePool: uint8 (sum+cnt/2)/cnt; int8 rounds half away.
						if sum >= 0 {
							v = (sum + cnt/2) / cnt
						} else {
							v = (sum - cnt/2) / cnt
						}
					case tfl && k.global:
						a := meanRQ.Apply(sum - cnt*xz)
						if a > 0 {
							a = (a + cnt/2) / cnt
						} else {
							a = (a - cnt/2) / cnt
						}
						v = a + yz
					default:
						mean := float64(sum-cnt*xz) * float64(xs) / float64(cnt)
						v = qlQuantizeF(mean/float64(ys), yz, lo, hi, tfl)
					}
					y.Data[(b*g.c+c)*g.oh*g.ow+oy*g.ow+ox] = byte(q8.Clamp(v, lo, hi))
				}
			}
		}
	}
	return nil
}

func init() {
	Register("QLinearAveragePool", &Def{Infer: inferQLinearPool(false), Compile: compileQLinearPool(false)})
	Register("QLinearGlobalAveragePool", &Def{Infer: inferQLinearPool(true), Compile: compileQLinearPool(true)})
}
