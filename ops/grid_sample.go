package ops

import (
	"math"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// GridSample (4-D, as PyTorch's grid_sample): Y[n, c, h, w] samples X[n, c] at grid[n, h, w] =
// (x, y) in [-1, 1] (x along the width). Coordinates unnormalise to pixels by
// align_corners ? (v+1)/2·(size-1) : ((v+1)·size-1)/2. mode bilinear, nearest (round half to even)
// or bicubic (A = -0.75, 4×4 taps); padding_mode zeros (outside reads 0), border (clamped) or
// reflection (mirrored at the border pixels' centres with align_corners, else at their edges,
// then clamped). Bilinear and nearest pad the sampling point; bicubic pads each tap.

type gridSampleKernel struct {
	n, c, h, w, oh, ow int
	mode, padding      string
	align              bool
}

func (k *gridSampleKernel) ScratchBytes() int { return 0 }

// unnormalize maps v in [-1, 1] to a pixel coordinate on an axis of size.
func (k *gridSampleKernel) unnormalize(v float64, size int) float64 {
	if k.align {
		return (v + 1) / 2 * float64(size-1)
	}
	return ((v+1)*float64(size) - 1) / 2
}

// reflectCoord mirrors coordinate v into [lo2/2, hi2/2] (PyTorch's reflect_coordinates).
func reflectCoord(v float64, lo2, hi2 float64) float64 {
	if lo2 == hi2 {
		return 0
	}
	lo, span := lo2/2, (hi2-lo2)/2
	v = math.Abs(v - lo)
	extra, flips := math.Mod(v, span), math.Floor(v/span)
	if int64(flips)%2 == 0 {
		return extra + lo
	}
	return span - extra + lo
}

// pad applies padding_mode to a coordinate on an axis of size (zeros leaves it).
func (k *gridSampleKernel) pad(v float64, size int) float64 {
	switch k.padding {
	case "border":
		return math.Min(math.Max(v, 0), float64(size-1))
	case "reflection":
		if k.align {
			v = reflectCoord(v, 0, 2*float64(size-1))
		} else {
			v = reflectCoord(v, -1, 2*float64(size)-1)
		}
		return math.Min(math.Max(v, 0), float64(size-1))
	}
	return v
}

func (k *gridSampleKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	x, grid, y := elems[float32](in[0]), elems[float32](in[1]), elems[float32](out[0])
	for b := 0; b < k.n; b++ {
		for i := 0; i < k.oh; i++ {
			for j := 0; j < k.ow; j++ {
				g := ((b*k.oh+i)*k.ow + j) * 2
				gx, gy := k.unnormalize(float64(grid[g]), k.w), k.unnormalize(float64(grid[g+1]), k.h)
				for c := 0; c < k.c; c++ {
					plane := x[(b*k.c+c)*k.h*k.w:][:k.h*k.w]
					at := func(yy, xx int) float64 {
						if yy < 0 || yy >= k.h || xx < 0 || xx >= k.w {
							return 0
						}
						return float64(plane[yy*k.w+xx])
					}
					var v float64
					switch k.mode {
					case "nearest":
						v = at(int(math.RoundToEven(k.pad(gy, k.h))), int(math.RoundToEven(k.pad(gx, k.w))))
					case "bicubic":
						x0, y0 := math.Floor(gx), math.Floor(gy)
						wx, wy := cubicWeights(gx-x0), cubicWeights(gy-y0)
						for ty := 0; ty < 4; ty++ {
							for tx := 0; tx < 4; tx++ {
								yy := k.pad(y0-1+float64(ty), k.h)
								xx := k.pad(x0-1+float64(tx), k.w)
								v += wy[ty] * wx[tx] * at(int(yy), int(xx))
							}
						}
					default: // bilinear
						px, py := k.pad(gx, k.w), k.pad(gy, k.h)
						x0, y0 := math.Floor(px), math.Floor(py)
						fx, fy := px-x0, py-y0
						xi, yi := int(x0), int(y0)
						v = at(yi, xi)*(1-fy)*(1-fx) + at(yi, xi+1)*(1-fy)*fx + at(yi+1, xi)*fy*(1-fx) + at(yi+1, xi+1)*fy*fx
					}
					y[((b*k.c+c)*k.oh+i)*k.ow+j] = float32(v)
				}
			}
		}
	}
	return nil
}

// cubicWeights are the 4 tap weights at fraction t (cubic convolution, A = -0.75).
func cubicWeights(t float64) [4]float64 {
	const a = -0.75
	near := func(d float64) float64 { return ((a+2)*d-(a+3))*d*d + 1 }
	far := func(d float64) float64 { return ((a*d-5*a)*d+8*a)*d - 4*a }
	return [4]float64{far(t + 1), near(t), near(1 - t), far(2 - t)}
}

func inferGridSample(n *graph.Node) error {
	if err := needInputs(n, 2); err != nil {
		return err
	}
	x, g := n.Inputs[0].Shape, n.Inputs[1].Shape
	if x == nil || g == nil {
		setOut(n, 0, n.Inputs[0].DType, nil)
		return nil
	}
	if len(x) != 4 || len(g) != 4 || g[3] != 2 || g[0] != x[0] {
		return errf(n, "X %s and grid %s: want [N,C,H,W] and [N,H_out,W_out,2]", x, g)
	}
	setOut(n, 0, n.Inputs[0].DType, tensor.Shape{x[0], x[1], g[1], g[2]})
	return nil
}

func compileGridSample(n *graph.Node) (Kernel, error) {
	x, g := n.Inputs[0], n.Inputs[1]
	if x.DType != tensor.F32 || g.DType != tensor.F32 {
		return nil, errf(n, "X and grid must be float32, are %s and %s", x.DType, g.DType)
	}
	mode, pad := n.Str("mode", "bilinear"), n.Str("padding_mode", "zeros")
	if mode == "linear" { // opset 20's name
		mode = "bilinear"
	} else if mode == "cubic" {
		mode = "bicubic"
	}
	if mode != "bilinear" && mode != "nearest" && mode != "bicubic" {
		return nil, errf(n, "unsupported mode %q", mode)
	}
	if pad != "zeros" && pad != "border" && pad != "reflection" {
		return nil, errf(n, "unsupported padding_mode %q", pad)
	}
	return &gridSampleKernel{n: x.Shape[0], c: x.Shape[1], h: x.Shape[2], w: x.Shape[3], oh: g.Shape[1], ow: g.Shape[2],
		mode: mode, padding: pad, align: n.Int("align_corners", 0) != 0}, nil
}

func init() {
	Register("GridSample", &Def{Infer: inferGridSample, Compile: compileGridSample})
}
