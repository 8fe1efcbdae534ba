package ops

import (
	"math"
	"slices"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/tensor"
)

// ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd and the sums of a function of x with a
// function applied after (ReduceL1 = Σ|x|, ReduceL2 = √Σx², ReduceSumSquare = Σx²,
// ReduceLogSum = log Σx, ReduceLogSumExp = log Σeˣ, as ONNX defines them: no max subtracted), with
// axes as attribute or input, keepdims, noop_with_empty_axes; and ArgMax/ArgMin.

// reduceAxes resolves the reduced axes; nil with ok means "all axes", noop means identity.
func reduceAxes(n *graph.Node, rank int) (axes []bool, noop, known bool, err error) {
	vals, present, known := intsInputOrAttr(n, 1, "axes")
	if !known {
		return nil, false, false, nil
	}
	axes = make([]bool, rank)
	if !present || len(vals) == 0 {
		if n.Int("noop_with_empty_axes", 0) != 0 {
			return axes, true, true, nil
		}
		for i := range axes {
			axes[i] = true
		}
		return axes, false, true, nil
	}
	for _, a := range vals {
		ax, err := normAxis(n, a, rank)
		if err != nil {
			return nil, false, true, err
		}
		axes[ax] = true
	}
	return axes, false, true, nil
}

func inferReduce(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	keep := n.Int("keepdims", 1) != 0
	if x.Shape == nil {
		setOut(n, 0, x.DType, nil)
		return nil
	}
	axes, noop, known, err := reduceAxes(n, len(x.Shape))
	if err != nil {
		return err
	}
	switch {
	case !known && keep:
		setOut(n, 0, x.DType, dynShape(len(x.Shape)))
		return nil
	case !known:
		setOut(n, 0, x.DType, nil)
		return nil
	case noop:
		setOut(n, 0, x.DType, x.Shape.Clone())
		return nil
	}
	out := tensor.Shape{}
	for i, d := range x.Shape {
		switch {
		case !axes[i]:
			out = append(out, d)
		case keep:
			out = append(out, 1)
		}
	}
	setOut(n, 0, x.DType, out)
	return nil
}

// reduceKernel walks the input in order with an odometer, adding each element into its output slot
// (reduced dims have output stride 0). Serial (reductions in CNN heads are small), except the sum of
// a leading dim, which split-attention blocks run on whole activations.
type reduceKernel struct {
	op      string
	dims    []int
	ostride []int
	idx     []int
	count   float32
	noop    bool
	// pre maps each element before a sum, post each result after it (nil: identity).
	pre, post func(float32) float32
	// lead > 0: a ReduceSum of the leading dim of [lead, inner] (ResNeSt's sum over its radix splits of
	// [1, 2, C, H, W]): vector adds, the inner range cut across threads (runLead).
	lead, inner int
	parts       int
	x, y        []float32
}

// leadPartMin is the fewest inner elements worth a thread of their own in runLead.
const leadPartMin = 16 << 10

// runLead computes the leading-dim sum: thread s sums its contiguous run of the inner elements.
func (k *reduceKernel) runLead(ctx *Ctx, x, y []float32) {
	k.x, k.y = x, y
	k.parts = max(1, min(ctx.pool().Threads(), k.inner/leadPartMin))
	ctx.pool().ForThreads(k.parts, k)
}

func (k *reduceKernel) Do(lo, hi int) {
	for s := lo; s < hi; s++ {
		a, b := s*k.inner/k.parts, (s+1)*k.inner/k.parts
		y := k.y[a:b]
		if k.lead == 1 {
			copy(y, k.x[a:b])
			continue
		}
		f32.Add(y, k.x[a:b], k.x[k.inner+a:k.inner+b])
		for r := 2; r < k.lead; r++ {
			f32.Add(y, y, k.x[r*k.inner+a:r*k.inner+b])
		}
	}
}

// sumForms are the reductions computed as post(Σ pre(x)).
var sumForms = map[string][2]func(float32) float32{
	"ReduceL1":        {func(v float32) float32 { return float32(math.Abs(float64(v))) }, nil},
	"ReduceL2":        {func(v float32) float32 { return v * v }, func(v float32) float32 { return float32(math.Sqrt(float64(v))) }},
	"ReduceSumSquare": {func(v float32) float32 { return v * v }, nil},
	"ReduceLogSum":    {nil, func(v float32) float32 { return float32(math.Log(float64(v))) }},
	"ReduceLogSumExp": {func(v float32) float32 { return float32(math.Exp(float64(v))) }, func(v float32) float32 { return float32(math.Log(float64(v))) }},
}

func (k *reduceKernel) ScratchBytes() int { return 0 }

func (k *reduceKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	x, y := elems[float32](in[0]), elems[float32](out[0])
	if k.noop {
		copy(y, x)
		return nil
	}
	if k.lead > 0 {
		k.runLead(ctx, x, y)
		return nil
	}
	var init float32
	switch k.op {
	case "ReduceMax":
		init = float32(math.Inf(-1))
	case "ReduceMin":
		init = float32(math.Inf(1))
	case "ReduceProd":
		init = 1
	}
	for i := range y {
		y[i] = init
	}
	// Walk x in contiguous runs of the innermost (coalesced) dim: a kept dim accumulates the run into
	// y[o:o+n] element-wise, a reduced one folds the run into y[o]; the odometer moves once per run.
	clear(k.idx)
	o := 0
	r := len(k.dims)
	n := k.dims[r-1]
	kept := k.ostride[r-1] != 0
	for base := 0; base < len(x); base += n {
		run := x[base : base+n]
		switch {
		case k.pre != nil && kept:
			for i, v := range run {
				y[o+i] += k.pre(v)
			}
		case k.pre != nil:
			s := y[o]
			for _, v := range run {
				s += k.pre(v)
			}
			y[o] = s
		case k.op == "ReduceProd" && kept:
			for i, v := range run {
				y[o+i] *= v
			}
		case k.op == "ReduceProd":
			p := y[o]
			for _, v := range run {
				p *= v
			}
			y[o] = p
		case kept:
			reduceInto(k.op, y[o:o+n], run)
		case k.op == "ReduceMax":
			y[o] = max(y[o], maxOf(run))
		case k.op == "ReduceMin":
			y[o] = min(y[o], minOf(run))
		default:
			y[o] += sumOf(run)
		}
		for d := r - 2; d >= 0; d-- {
			k.idx[d]++
			o += k.ostride[d]
			if k.idx[d] < k.dims[d] {
				break
			}
			o -= k.ostride[d] * k.dims[d]
			k.idx[d] = 0
		}
	}
	if k.op == "ReduceMean" && k.count > 0 {
		inv := 1 / k.count
		for i := range y {
			y[i] *= inv
		}
	}
	if k.post != nil {
		for i, v := range y {
			y[i] = k.post(v)
		}
	}
	return nil
}

func compileReduce(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	if x.DType != tensor.F32 {
		return nil, errf(n, "unsupported dtype %s", x.DType)
	}
	axes, noop, known, err := reduceAxes(n, len(x.Shape))
	if err != nil {
		return nil, err
	}
	if !known {
		return nil, errf(n, "axes input must be constant")
	}
	k := &reduceKernel{op: n.Op, dims: slices.Clone([]int(x.Shape)), ostride: make([]int, len(x.Shape)),
		idx: make([]int, len(x.Shape)), noop: noop, count: 1}
	if f, ok := sumForms[n.Op]; ok {
		k.pre, k.post = f[0], f[1]
		if k.pre == nil {
			k.pre = func(v float32) float32 { return v }
		}
	}
	acc := 1
	for i := len(x.Shape) - 1; i >= 0; i-- {
		if axes[i] {
			k.count *= float32(x.Shape[i])
			continue
		}
		k.ostride[i] = acc
		acc *= x.Shape[i]
	}
	if x.Shape.NumElements() == 0 {
		return nil, errf(n, "reduction over an empty tensor")
	}
	k.coalesce()
	var dims, os []int // without size-1 dims ([1, 2, C·H·W] is [2, C·H·W])
	for i, d := range k.dims {
		if d != 1 {
			dims, os = append(dims, d), append(os, k.ostride[i])
		}
	}
	if n.Op == "ReduceSum" && len(dims) == 2 && os[0] == 0 && os[1] == 1 {
		// (Vector adds sum in another order than sumOf's left-to-right fold only across the leading dim,
		// which is summed in index order here too: the same rounding, element by element.)
		k.lead, k.inner = dims[0], dims[1]
	}
	return k, nil
}

// coalesce merges adjacent dims that are both reduced, or both kept and contiguous in y, so the
// innermost run Run walks is as long as possible (ReduceSum over ResNeSt's radix axis [1,2,C,H,W]
// becomes [2, C·H·W]: one element-wise pass per radix instead of an odometer step per element).
func (k *reduceKernel) coalesce() {
	dims, os := []int{k.dims[0]}, []int{k.ostride[0]}
	for i := 1; i < len(k.dims); i++ {
		last := len(dims) - 1
		d, o := k.dims[i], k.ostride[i]
		if (os[last] == 0 && o == 0) || (os[last] != 0 && o != 0 && os[last] == o*d) {
			dims[last] *= d
			os[last] = o
			continue
		}
		dims, os = append(dims, d), append(os, o)
	}
	k.dims, k.ostride, k.idx = dims, os, make([]int, len(dims))
}

// reduceInto combines x into y element-wise (sum, max or min by op).
func reduceInto(op string, y, x []float32) {
	x = x[:len(y)]
	switch op {
	case "ReduceMax":
		for i, v := range x {
			y[i] = max(y[i], v)
		}
	case "ReduceMin":
		for i, v := range x {
			y[i] = min(y[i], v)
		}
	default:
		for i, v := range x {
			y[i] += v
		}
	}
}

// sumOf adds x left to right, as the element-by-element loop did (same rounding).
func sumOf(x []float32) float32 {
	var s float32
	for _, v := range x {
		s += v
	}
	return s
}

func maxOf(x []float32) float32 {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	return m
}

func minOf(x []float32) float32 {
	m := x[0]
	for _, v := range x[1:] {
		m = min(m, v)
	}
	return m
}

// ArgMax (ArgMin): index of the largest (smallest) element along axis (first one, or last with
// select_last_index) as i64.
type argMaxKernel struct {
	outer, axis, inner int
	last, min          bool
}

func (k *argMaxKernel) ScratchBytes() int { return 0 }

func (k *argMaxKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	x, y := elems[float32](in[0]), elems[int64](out[0])
	for o := 0; o < k.outer; o++ {
		for i := 0; i < k.inner; i++ {
			base := o*k.axis*k.inner + i
			best, bi := x[base], 0
			for a := 1; a < k.axis; a++ {
				v := x[base+a*k.inner]
				better := v > best
				if k.min {
					better = v < best
				}
				if better || (k.last && v == best) {
					best, bi = v, a
				}
			}
			y[o*k.inner+i] = int64(bi)
		}
	}
	return nil
}

func inferArgMax(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	if x.Shape == nil {
		setOut(n, 0, tensor.I64, nil)
		return nil
	}
	ax, err := normAxis(n, n.Int("axis", 0), len(x.Shape))
	if err != nil {
		return err
	}
	out := x.Shape.Clone()
	if n.Int("keepdims", 1) != 0 {
		out[ax] = 1
	} else {
		out = append(out[:ax], out[ax+1:]...)
	}
	setOut(n, 0, tensor.I64, out)
	return nil
}

func compileArgMax(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	if x.DType != tensor.F32 {
		return nil, errf(n, "unsupported dtype %s", x.DType)
	}
	ax, err := normAxis(n, n.Int("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	k := &argMaxKernel{axis: x.Shape[ax], last: n.Int("select_last_index", 0) != 0, min: n.Op == "ArgMin"}
	if k.axis == 0 {
		return nil, errf(n, "%s over an empty axis", n.Op)
	}
	k.outer, k.inner = blockDims(x.Shape, ax, 1)
	return k, nil
}

func init() {
	for _, op := range []string{"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
		"ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"} {
		Register(op, &Def{Infer: inferReduce, Compile: compileReduce})
	}
	Register("ArgMax", &Def{Infer: inferArgMax, Compile: compileArgMax})
	Register("ArgMin", &Def{Infer: inferArgMax, Compile: compileArgMax})
}
