package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TopK along one axis (default -1): the k largest (largest=1, the default) or smallest elements of
// each lane, in order (sorted output; ties keep the lower index first, as ONNX specifies), and
// their int64 indices. k comes from input 1 (opset >= 10) or the "k" attribute (TopK-1) and must be
// known when compiling: it fixes the output shapes. Float32 data.

type topKKernel struct {
	outer, axis, inner, k int
	largest               bool
	taken                 []bool // per lane: elements already output
}

func (t *topKKernel) ScratchBytes() int { return 0 }

// Run selects, k times per lane, the best element not yet taken (a strict comparison keeps the
// lowest index among equals): O(k·axis) per lane without allocating.
func (t *topKKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	x, vals, idx := elems[float32](in[0]), elems[float32](out[0]), elems[int64](out[1])
	for o := 0; o < t.outer; o++ {
		for i := 0; i < t.inner; i++ {
			clear(t.taken)
			base := o*t.axis*t.inner + i
			for r := 0; r < t.k; r++ {
				best := -1
				for a := 0; a < t.axis; a++ {
					if t.taken[a] {
						continue
					}
					v := x[base+a*t.inner]
					if best < 0 {
						best = a
						continue
					}
					b := x[base+best*t.inner]
					if t.largest && v > b || !t.largest && v < b {
						best = a
					}
				}
				t.taken[best] = true
				p := (o*t.k+r)*t.inner + i
				vals[p], idx[p] = x[base+best*t.inner], int64(best)
			}
		}
	}
	return nil
}

// topKParams resolves axis and k; known is false while k is not a constant.
func topKParams(n *graph.Node) (axis, k int, known bool, err error) {
	x := n.Inputs[0]
	if axis, err = normAxis(n, n.Int("axis", -1), len(x.Shape)); err != nil {
		return 0, 0, false, err
	}
	var ks []int64
	switch kv := n.Input(1); {
	case kv == nil && n.Has("k"): // TopK-1: an int attribute
		ks = []int64{n.Int("k", 0)}
	case kv == nil:
		return 0, 0, true, errf(n, "k is required")
	case kv.Const == nil: // computed: not known before run time
		return axis, 0, false, nil
	default:
		ks = kv.Const.Ints()
	}
	if len(ks) != 1 || ks[0] < 0 || ks[0] > int64(x.Shape[axis]) {
		return 0, 0, true, errf(n, "k %v for an axis of %d", ks, x.Shape[axis])
	}
	return axis, int(ks[0]), true, nil
}

func inferTopK(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	if x.Shape == nil {
		setOut(n, 0, x.DType, nil)
		setOut(n, 1, tensor.I64, nil)
		return nil
	}
	axis, k, known, err := topKParams(n)
	if err != nil {
		return err
	}
	out := x.Shape.Clone()
	if known {
		out[axis] = k
	} else {
		out[axis] = -1
	}
	setOut(n, 0, x.DType, out)
	setOut(n, 1, tensor.I64, out.Clone())
	return nil
}

func compileTopK(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	if x.DType != tensor.F32 {
		return nil, errf(n, "unsupported dtype %s", x.DType)
	}
	axis, k, known, err := topKParams(n)
	if err != nil {
		return nil, err
	}
	if !known {
		return nil, errf(n, "k must be constant")
	}
	if len(n.Outputs) < 2 || n.Outputs[1] == nil {
		return nil, errf(n, "needs both outputs (values and indices)")
	}
	t := &topKKernel{axis: x.Shape[axis], k: k, largest: n.Int("largest", 1) != 0, taken: make([]bool, x.Shape[axis])}
	t.outer, t.inner = blockDims(x.Shape, axis, 1)
	return t, nil
}

func init() {
	Register("TopK", &Def{Infer: inferTopK, Compile: compileTopK})
}
