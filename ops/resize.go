package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Resize of 4-D NCHW f32 tensors over H and W, modes nearest and linear (bilinear). Inputs X, roi
// (ignored), scales, sizes (opset 11+; opset 10's Upsample-like "scales" as input 1 is normalised by
// the importer). Index and weight tables are built at compile time, so Run only gathers.

func resizeTarget(n *graph.Node, in tensor.Shape) (out tensor.Shape, scales []float64, ok bool, err error) {
	r := len(in)
	if v := n.Input(3); v != nil {
		sizes, known := constInts(v)
		if !known {
			return nil, nil, false, nil
		}
		if len(sizes) != r {
			return nil, nil, true, errf(n, "sizes %v do not match rank %d", sizes, r)
		}
		out = make(tensor.Shape, r)
		scales = make([]float64, r)
		for i, s := range sizes {
			out[i] = int(s)
			if in[i] > 0 {
				scales[i] = float64(s) / float64(in[i])
			}
		}
		return out, scales, true, nil
	}
	v := n.Input(2)
	if v == nil {
		return nil, nil, true, errf(n, "needs scales or sizes")
	}
	if v.Const == nil {
		return nil, nil, false, nil
	}
	if v.Const.DType != tensor.F32 || v.Const.NumElements() != r {
		return nil, nil, true, errf(n, "scales must be f32[%d]", r)
	}
	out = make(tensor.Shape, r)
	scales = make([]float64, r)
	for i, s := range v.Const.F32() {
		if s <= 0 {
			return nil, nil, true, errf(n, "scale %v must be positive", s)
		}
		scales[i] = float64(s)
		out[i] = -1
		if in[i] >= 0 {
			out[i] = int(math.Floor(float64(in[i]) * float64(s)))
		}
	}
	return out, scales, true, nil
}

func inferResize(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	if x.Shape == nil {
		setOut(n, 0, x.DType, nil)
		return nil
	}
	out, _, ok, err := resizeTarget(n, x.Shape)
	if err != nil {
		return err
	}
	if !ok {
		out = dynShape(len(x.Shape))
	}
	setOut(n, 0, x.DType, out)
	return nil
}

// resizeAxis holds, per output coordinate, the two source indices and the weight of the second.
type resizeAxis struct {
	i0, i1 []int
	w      []float32
}

// buildAxis maps output coordinates to input ones. resized is in*scale as a real number, which the
// ONNX reference uses (not the floored output length) in align_corners and pytorch_half_pixel.
func buildAxis(n *graph.Node, inLen, outLen int, scale, resized float64, linear bool) (resizeAxis, error) {
	ctm := n.Str("coordinate_transformation_mode", "half_pixel")
	nm := n.Str("nearest_mode", "round_prefer_floor")
	a := resizeAxis{i0: make([]int, outLen), i1: make([]int, outLen), w: make([]float32, outLen)}
	for o := 0; o < outLen; o++ {
		x := float64(o)
		var s float64
		switch ctm {
		case "half_pixel":
			s = (x+0.5)/scale - 0.5
		case "pytorch_half_pixel":
			if resized > 1 {
				s = (x+0.5)/scale - 0.5
			}
		case "align_corners":
			if resized > 1 {
				s = x * float64(inLen-1) / (resized - 1)
			}
		case "asymmetric":
			s = x / scale
		case "tf_half_pixel_for_nn":
			s = (x + 0.5) / scale
		case "tf_crop_and_resize":
			return a, errf(n, "coordinate_transformation_mode tf_crop_and_resize is not supported")
		default:
			return a, errf(n, "unknown coordinate_transformation_mode %q", ctm)
		}
		if linear {
			s = min(max(s, 0), float64(inLen-1))
			i0 := int(math.Floor(s))
			a.i0[o], a.i1[o] = i0, min(i0+1, inLen-1)
			a.w[o] = float32(s - float64(i0))
			continue
		}
		var i int
		switch nm {
		case "round_prefer_floor":
			if s-math.Floor(s) == 0.5 {
				i = int(math.Floor(s))
			} else {
				i = int(math.Round(s))
			}
		case "round_prefer_ceil":
			if s-math.Floor(s) == 0.5 {
				i = int(math.Ceil(s))
			} else {
				i = int(math.Round(s))
			}
		case "floor":
			i = int(math.Floor(s))
		case "ceil":
			i = int(math.Ceil(s))
		default:
			return a, errf(n, "unknown nearest_mode %q", nm)
		}
		i = min(max(i, 0), inLen-1)
		a.i0[o], a.i1[o] = i, i
	}
	return a, nil
}

type resizeKernel struct {
	planes     int // N*C
	inH, inW   int
	outH, outW int
	h, w       resizeAxis
	linear     bool
	x, dst     []float32
}

func (k *resizeKernel) ScratchBytes() int { return 0 }

func (k *resizeKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.dst = elems[float32](in[0]), elems[float32](out[0])
	ctx.pool().For(k.planes, 1, k)
	return nil
}

func (k *resizeKernel) Do(lo, hi int) {
	for p := lo; p < hi; p++ {
		src := k.x[p*k.inH*k.inW : (p+1)*k.inH*k.inW]
		dst := k.dst[p*k.outH*k.outW : (p+1)*k.outH*k.outW]
		for oy := 0; oy < k.outH; oy++ {
			r0 := src[k.h.i0[oy]*k.inW : (k.h.i0[oy]+1)*k.inW]
			row := dst[oy*k.outW : (oy+1)*k.outW]
			if !k.linear {
				for ox := range row {
					row[ox] = r0[k.w.i0[ox]]
				}
				continue
			}
			r1 := src[k.h.i1[oy]*k.inW : (k.h.i1[oy]+1)*k.inW]
			wy := k.h.w[oy]
			for ox := range row {
				i0, i1, wx := k.w.i0[ox], k.w.i1[ox], k.w.w[ox]
				top := r0[i0] + (r0[i1]-r0[i0])*wx
				bot := r1[i0] + (r1[i1]-r1[i0])*wx
				row[ox] = top + (bot-top)*wy
			}
		}
	}
}

func compileResize(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	if x.DType != tensor.F32 || len(x.Shape) != 4 {
		return nil, errf(n, "only 4-D f32 NCHW input is supported, got %s%v", x.DType, x.Shape)
	}
	out, scales, ok, err := resizeTarget(n, x.Shape)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errf(n, "scales/sizes must be constant")
	}
	if out[0] != x.Shape[0] || out[1] != x.Shape[1] {
		return nil, errf(n, "resizing N or C (%v -> %v) is not supported", x.Shape, out)
	}
	var linear bool
	switch m := n.Str("mode", "nearest"); m {
	case "nearest":
	case "linear":
		linear = true
	default:
		return nil, errf(n, "mode %q is not supported", m)
	}
	k := &resizeKernel{planes: x.Shape[0] * x.Shape[1], inH: x.Shape[2], inW: x.Shape[3], outH: out[2], outW: out[3], linear: linear}
	if k.inH == 0 || k.inW == 0 {
		return nil, errf(n, "empty input")
	}
	resized := func(d int) float64 {
		if n.Input(3) != nil {
			return float64(out[d]) // sizes given: exact
		}
		return float64(x.Shape[d]) * scales[d]
	}
	if k.h, err = buildAxis(n, k.inH, k.outH, scales[2], resized(2), linear); err != nil {
		return nil, err
	}
	if k.w, err = buildAxis(n, k.inW, k.outW, scales[3], resized(3), linear); err != nil {
		return nil, err
	}
	return k, nil
}

func init() {
	Register("Resize", &Def{Infer: inferResize, Compile: compileResize})
}
