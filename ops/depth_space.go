package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// DepthToSpace and SpaceToDepth move b×b blocks between channels and space (NCHW, any dtype; bytes
// are moved as they are). With C' = C/b² (DepthToSpace) or C (SpaceToDepth):
//
//	DepthToSpace DCR (default, TensorFlow's): y[n, c, h*b+i, w*b+j] = x[n, (i*b+j)*C' + c, h, w]
//	DepthToSpace CRD (PyTorch's PixelShuffle): y[n, c, h*b+i, w*b+j] = x[n, c*b*b + i*b + j, h, w]
//	SpaceToDepth:                              y[n, (i*b+j)*C + c, h, w] = x[n, c, h*b+i, w*b+j]

func init() {
	Register("DepthToSpace", &Def{Infer: inferDepthSpace, Compile: compileDepthSpace})
	Register("SpaceToDepth", &Def{Infer: inferDepthSpace, Compile: compileDepthSpace})
}

func depthSpaceShape(n *graph.Node) (tensor.Shape, int, error) {
	if err := needInputs(n, 1); err != nil {
		return nil, 0, err
	}
	b := int(n.Int("blocksize", 0))
	if b < 1 {
		return nil, 0, errf(n, "blocksize must be positive, is %d", b)
	}
	x := n.Inputs[0].Shape
	if x == nil {
		return nil, b, nil
	}
	if len(x) != 4 {
		return nil, 0, errf(n, "input must be 4-D (NCHW), is %s", x)
	}
	y := x.Clone()
	if n.Op == "DepthToSpace" {
		if x[1] >= 0 && x[1]%(b*b) != 0 {
			return nil, 0, errf(n, "%d channels do not divide into blocks of %d×%d", x[1], b, b)
		}
		if mode := n.Str("mode", "DCR"); mode != "DCR" && mode != "CRD" {
			return nil, 0, errf(n, "unknown mode %q (DCR or CRD)", mode)
		}
		y[1] = scaleDim(x[1], 1, b*b)
		y[2], y[3] = scaleDim(x[2], b, 1), scaleDim(x[3], b, 1)
		return y, b, nil
	}
	for _, d := range x[2:] {
		if d >= 0 && d%b != 0 {
			return nil, 0, errf(n, "spatial size %s does not divide into blocks of %d", x[2:], b)
		}
	}
	y[1] = scaleDim(x[1], b*b, 1)
	y[2], y[3] = scaleDim(x[2], 1, b), scaleDim(x[3], 1, b)
	return y, b, nil
}

// scaleDim is d*mul/div, or -1 for a dynamic dim.
func scaleDim(d, mul, div int) int {
	if d < 0 {
		return -1
	}
	return d * mul / div
}

func inferDepthSpace(n *graph.Node) error {
	y, _, err := depthSpaceShape(n)
	if err != nil {
		return err
	}
	setOut(n, 0, n.Inputs[0].DType, y)
	return nil
}

type depthSpaceKernel struct {
	toSpace, crd bool
	n, c, h, w   int // the space-side shape: y of DepthToSpace, x of SpaceToDepth (c = C')
	b, esize     int
}

func compileDepthSpace(n *graph.Node) (Kernel, error) {
	y, b, err := depthSpaceShape(n)
	if err != nil {
		return nil, err
	}
	x := n.Inputs[0].Shape
	if !x.Known() {
		return nil, errf(n, "input shape %s must be concrete", x)
	}
	k := &depthSpaceKernel{toSpace: n.Op == "DepthToSpace", crd: n.Str("mode", "DCR") == "CRD", b: b,
		esize: n.Inputs[0].DType.Size()}
	space := x
	if k.toSpace {
		space = y
	}
	k.n, k.c, k.h, k.w = space[0], space[1], space[2], space[3]
	return k, nil
}

func (k *depthSpaceKernel) ScratchBytes() int { return 0 }

func (k *depthSpaceKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	src, dst := in[0].Data, out[0].Data
	b, e := k.b, k.esize
	hb, wb := k.h/b, k.w/b // the depth side's spatial size
	for n := 0; n < k.n; n++ {
		for c := 0; c < k.c; c++ {
			for i := 0; i < b; i++ {
				for j := 0; j < b; j++ {
					dc := (i*b+j)*k.c + c // depth-side channel
					if k.crd {
						dc = c*b*b + i*b + j
					}
					for h := 0; h < hb; h++ {
						sp := (((n*k.c+c)*k.h+h*b+i)*k.w + j) * e
						dp := (((n*k.c*b*b+dc)*hb + h) * wb) * e
						for w := 0; w < wb; w++ {
							s, d := sp+w*b*e, dp+w*e
							if k.toSpace {
								copy(dst[s:s+e], src[d:d+e])
							} else {
								copy(dst[d:d+e], src[s:s+e])
							}
						}
					}
				}
			}
		}
	}
	return nil
}
