package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Layout operators that move elements without arithmetic: Transpose, Concat, Split, Slice, Gather,
// Expand, Tile. They work on any dtype; kernels are instantiated per element width.

// --- Transpose ---

type transposeKernel[T any] struct {
	// 4-D form (lower ranks are padded with leading 1s): out[a,b,c,d] = in[a*s0 + b*s1 + c*s2 + d*s3].
	dims [4]int
	st   [4]int
	// general form for rank > 4
	odims, ist, idx []int
}

func (k *transposeKernel[T]) ScratchBytes() int { return 0 }

func (k *transposeKernel[T]) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	x, y := elems[T](in[0]), elems[T](out[0])
	if len(y) == 0 {
		return nil
	}
	if k.odims == nil {
		d, s := k.dims, k.st
		o := 0
		for a := 0; a < d[0]; a++ {
			for b := 0; b < d[1]; b++ {
				base := a*s[0] + b*s[1]
				for c := 0; c < d[2]; c++ {
					p := base + c*s[2]
					if s[3] == 1 {
						o += copy(y[o:o+d[3]], x[p:p+d[3]])
						continue
					}
					for e := 0; e < d[3]; e++ {
						y[o] = x[p]
						o++
						p += s[3]
					}
				}
			}
		}
		return nil
	}
	clear(k.idx)
	p, r := 0, len(k.odims)
	for o := range y {
		y[o] = x[p]
		for d := r - 1; d >= 0; d-- {
			k.idx[d]++
			p += k.ist[d]
			if k.idx[d] < k.odims[d] {
				break
			}
			p -= k.ist[d] * k.odims[d]
			k.idx[d] = 0
		}
	}
	return nil
}

func transposePerm(n *graph.Node, r int) ([]int, error) {
	p := n.Ints("perm", nil)
	perm := make([]int, r)
	if p == nil {
		for i := range perm {
			perm[i] = r - 1 - i
		}
		return perm, nil
	}
	if len(p) != r {
		return nil, errf(n, "perm %v does not match rank %d", p, r)
	}
	seen := make([]bool, r)
	for i, v := range p {
		if v < 0 || int(v) >= r || seen[v] {
			return nil, errf(n, "invalid perm %v", p)
		}
		seen[v] = true
		perm[i] = int(v)
	}
	return perm, nil
}

func inferTranspose(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	if x.Shape == nil {
		setOut(n, 0, x.DType, nil)
		return nil
	}
	perm, err := transposePerm(n, len(x.Shape))
	if err != nil {
		return err
	}
	out := make(tensor.Shape, len(perm))
	for i, p := range perm {
		out[i] = x.Shape[p]
	}
	setOut(n, 0, x.DType, out)
	return nil
}

func compileTranspose(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	perm, err := transposePerm(n, len(x.Shape))
	if err != nil {
		return nil, err
	}
	ist := x.Shape.Strides()
	r := len(perm)
	odims := make([]int, r)
	pst := make([]int, r)
	for i, p := range perm {
		odims[i] = x.Shape[p]
		pst[i] = ist[p]
	}
	return bySize(x.DType, func() Kernel { return mkTranspose[uint8](odims, pst) },
		func() Kernel { return mkTranspose[uint16](odims, pst) },
		func() Kernel { return mkTranspose[uint32](odims, pst) },
		func() Kernel { return mkTranspose[uint64](odims, pst) })
}

func mkTranspose[T any](odims, pst []int) Kernel {
	k := &transposeKernel[T]{}
	r := len(odims)
	if r > 4 {
		k.odims, k.ist, k.idx = odims, pst, make([]int, r)
		return k
	}
	for i := range 4 {
		k.dims[i], k.st[i] = 1, 0
		if j := i - (4 - r); j >= 0 {
			k.dims[i], k.st[i] = odims[j], pst[j]
		}
	}
	return k
}

// bySize picks the kernel instantiation for an element width.
func bySize(dt tensor.DType, k1, k2, k4, k8 func() Kernel) (Kernel, error) {
	switch dt.Size() {
	case 1:
		return k1(), nil
	case 2:
		return k2(), nil
	case 4:
		return k4(), nil
	case 8:
		return k8(), nil
	}
	return nil, errf(&graph.Node{}, "unsupported dtype %s", dt)
}

// --- Concat and Split: byte-level block copies over (outer, axis*inner) ---

func inferConcat(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	var out tensor.Shape
	var ax int
	for i, v := range n.Inputs {
		if v == nil {
			return errf(n, "input %d is missing", i)
		}
		if v.Shape == nil {
			setOut(n, 0, n.Inputs[0].DType, nil)
			return nil
		}
		if out == nil {
			var err error
			if ax, err = normAxis(n, n.Int("axis", 0), len(v.Shape)); err != nil {
				return err
			}
			out = v.Shape.Clone()
			continue
		}
		if len(v.Shape) != len(out) || v.DType != n.Inputs[0].DType {
			return errf(n, "input %d (%s%v) does not match %s%v", i, v.DType, v.Shape, n.Inputs[0].DType, out)
		}
		for d := range out {
			switch {
			case d == ax:
				if out[d] < 0 || v.Shape[d] < 0 {
					out[d] = -1
				} else {
					out[d] += v.Shape[d]
				}
			case out[d] < 0:
				out[d] = v.Shape[d]
			case v.Shape[d] >= 0 && v.Shape[d] != out[d]:
				return errf(n, "input %d shape %v does not match %v off axis %d", i, v.Shape, out, ax)
			}
		}
	}
	setOut(n, 0, n.Inputs[0].DType, out)
	return nil
}

// blockKernel copies, for each of outer blocks, a run of bytes from each input into the output
// (Concat) or from the input into each output (Split).
type blockKernel struct {
	outer int
	runs  []int // bytes per block per piece
	split bool
}

func (k *blockKernel) ScratchBytes() int { return 0 }

func (k *blockKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	if k.split {
		src := in[0].Data
		off := 0
		for o := 0; o < k.outer; o++ {
			for j, r := range k.runs {
				if out[j] != nil {
					copy(out[j].Data[o*r:o*r+r], src[off:off+r])
				}
				off += r
			}
		}
		return nil
	}
	dst := out[0].Data
	off := 0
	for o := 0; o < k.outer; o++ {
		for j, r := range k.runs {
			off += copy(dst[off:off+r], in[j].Data[o*r:o*r+r])
		}
	}
	return nil
}

// blockDims splits s around axis ax: outer is the product of the dims before it, inner that of the dims
// after it times esize (the element size in bytes, or 1 to count elements).
func blockDims(s tensor.Shape, ax int, esize int) (outer, inner int) {
	outer, inner = 1, esize
	for _, d := range s[:ax] {
		outer *= d
	}
	for _, d := range s[ax+1:] {
		inner *= d
	}
	return outer, inner
}

func compileConcat(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	ax, err := normAxis(n, n.Int("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	outer, inner := blockDims(x.Shape, ax, x.DType.Size())
	k := &blockKernel{outer: outer}
	for _, v := range n.Inputs {
		k.runs = append(k.runs, v.Shape[ax]*inner)
	}
	return k, nil
}

// splitSizes resolves the split: sizes from input 1 or the "split" attribute, else num_outputs
// (or the number of outputs) parts, the last one smaller when the axis does not divide evenly.
func splitSizes(n *graph.Node, dim int) ([]int, bool, error) {
	vals, present, known := intsInputOrAttr(n, 1, "split")
	if !known {
		return nil, false, nil
	}
	if present && len(vals) > 0 {
		if len(vals) != len(n.Outputs) {
			return nil, true, errf(n, "split %v does not match %d outputs", vals, len(n.Outputs))
		}
		sizes := make([]int, len(vals))
		sum := 0
		for i, v := range vals {
			if v < 0 {
				return nil, true, errf(n, "negative split %d", v)
			}
			sizes[i] = int(v)
			sum += int(v)
		}
		if dim >= 0 && sum != dim {
			return nil, true, errf(n, "split %v does not sum to %d", vals, dim)
		}
		return sizes, true, nil
	}
	parts := int(n.Int("num_outputs", int64(len(n.Outputs))))
	if parts <= 0 || parts != len(n.Outputs) {
		return nil, true, errf(n, "num_outputs %d with %d outputs", parts, len(n.Outputs))
	}
	if dim < 0 {
		return nil, false, nil
	}
	each := (dim + parts - 1) / parts
	sizes := make([]int, parts)
	left := dim
	for i := range sizes {
		sizes[i] = min(each, left)
		left -= sizes[i]
	}
	return sizes, true, nil
}

func inferSplit(n *graph.Node) error {
	if err := needInputs(n, 1); err != nil {
		return err
	}
	x := n.Inputs[0]
	if x.Shape == nil {
		for i := range n.Outputs {
			setOut(n, i, x.DType, nil)
		}
		return nil
	}
	ax, err := normAxis(n, n.Int("axis", 0), len(x.Shape))
	if err != nil {
		return err
	}
	sizes, ok, err := splitSizes(n, x.Shape[ax])
	if err != nil {
		return err
	}
	for i := range n.Outputs {
		s := x.Shape.Clone()
		s[ax] = -1
		if ok {
			s[ax] = sizes[i]
		}
		setOut(n, i, x.DType, s)
	}
	return nil
}

func compileSplit(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	ax, err := normAxis(n, n.Int("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	sizes, ok, err := splitSizes(n, x.Shape[ax])
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errf(n, "split sizes must be constant")
	}
	outer, inner := blockDims(x.Shape, ax, x.DType.Size())
	k := &blockKernel{outer: outer, split: true}
	for _, s := range sizes {
		k.runs = append(k.runs, s*inner)
	}
	return k, nil
}

// --- Slice ---

// sliceParams resolves per-axis start and step and the output dims (ONNX clamping rules).
func sliceParams(n *graph.Node, in tensor.Shape) (start, step []int, out tensor.Shape, ok bool, err error) {
	starts, ok1 := constInts(n.Input(1))
	ends, ok2 := constInts(n.Input(2))
	axes, ok3 := constInts(n.Input(3))
	steps, ok4 := constInts(n.Input(4))
	if !ok1 || !ok2 || (n.Input(3) != nil && !ok3) || (n.Input(4) != nil && !ok4) {
		return nil, nil, nil, false, nil
	}
	if len(starts) != len(ends) || (axes != nil && len(axes) != len(starts)) || (steps != nil && len(steps) != len(starts)) {
		return nil, nil, nil, true, errf(n, "starts/ends/axes/steps lengths differ")
	}
	r := len(in)
	start, step = make([]int, r), make([]int, r)
	out = in.Clone()
	for i := range step {
		step[i] = 1
	}
	seen := make([]bool, r)
	for i := range starts {
		a := int64(i)
		if axes != nil {
			a = axes[i]
		}
		ax, err := normAxis(n, a, r)
		if err != nil {
			return nil, nil, nil, true, err
		}
		if seen[ax] {
			return nil, nil, nil, true, errf(n, "repeated axis %d", a)
		}
		seen[ax] = true
		st := int64(1)
		if steps != nil {
			st = steps[i]
		}
		if st == 0 {
			return nil, nil, nil, true, errf(n, "step 0")
		}
		dim := int64(in[ax])
		if dim < 0 {
			out[ax] = -1
			continue
		}
		s, e := starts[i], ends[i]
		if s < 0 {
			s += dim
		}
		if e < 0 {
			e += dim
		}
		if st > 0 {
			s, e = min(max(s, 0), dim), min(max(e, 0), dim)
		} else {
			s, e = min(max(s, 0), dim-1), min(max(e, -1), dim-1)
		}
		cnt := int64(0)
		if st > 0 && e > s {
			cnt = (e - s + st - 1) / st
		} else if st < 0 && s > e {
			cnt = (s - e - st - 1) / -st
		}
		start[ax], step[ax], out[ax] = int(s), int(st), int(cnt)
	}
	return start, step, out, true, nil
}

func inferSlice(n *graph.Node) error {
	if err := needInputs(n, 3); err != nil {
		return err
	}
	x := n.Inputs[0]
	if x.Shape == nil {
		setOut(n, 0, x.DType, nil)
		return nil
	}
	_, _, out, ok, err := sliceParams(n, x.Shape)
	if err != nil {
		return err
	}
	if !ok {
		out = dynShape(len(x.Shape))
	}
	setOut(n, 0, x.DType, out)
	return nil
}

// stridedKernel copies out[i...] = in[base + sum(i_d * st_d)]: Slice (strides = step * input stride).
type stridedKernel[T any] struct {
	base      int
	dims, st  []int
	idx       []int
	innerCopy bool // last stride is 1: copy whole rows
}

func (k *stridedKernel[T]) ScratchBytes() int { return 0 }

func (k *stridedKernel[T]) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	x, y := elems[T](in[0]), elems[T](out[0])
	if len(y) == 0 {
		return nil
	}
	r := len(k.dims)
	if r == 0 {
		y[0] = x[k.base]
		return nil
	}
	clear(k.idx)
	inner, ist := k.dims[r-1], k.st[r-1]
	p := k.base
	for o := 0; o < len(y); o += inner {
		if k.innerCopy {
			copy(y[o:o+inner], x[p:p+inner])
		} else {
			q := p
			for e := 0; e < inner; e++ {
				y[o+e] = x[q]
				q += ist
			}
		}
		for d := r - 2; d >= 0; d-- {
			k.idx[d]++
			p += k.st[d]
			if k.idx[d] < k.dims[d] {
				break
			}
			p -= k.st[d] * k.dims[d]
			k.idx[d] = 0
		}
	}
	return nil
}

func mkStrided[T any](base int, dims, st []int) Kernel {
	r := len(dims)
	return &stridedKernel[T]{base: base, dims: dims, st: st, idx: make([]int, r), innerCopy: r > 0 && st[r-1] == 1}
}

func compileSlice(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	start, step, out, ok, err := sliceParams(n, x.Shape)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errf(n, "starts/ends/axes/steps must be constant")
	}
	ist := x.Shape.Strides()
	base := 0
	st := make([]int, len(ist))
	for d := range ist {
		base += start[d] * ist[d]
		st[d] = step[d] * ist[d]
	}
	dims := []int(out.Clone())
	return bySize(x.DType, func() Kernel { return mkStrided[uint8](base, dims, st) },
		func() Kernel { return mkStrided[uint16](base, dims, st) },
		func() Kernel { return mkStrided[uint32](base, dims, st) },
		func() Kernel { return mkStrided[uint64](base, dims, st) })
}

// --- Gather ---

func inferGather(n *graph.Node) error {
	if err := needInputs(n, 2); err != nil {
		return err
	}
	x, idx := n.Inputs[0], n.Inputs[1]
	if x.Shape == nil || idx.Shape == nil {
		setOut(n, 0, x.DType, nil)
		return nil
	}
	ax, err := normAxis(n, n.Int("axis", 0), len(x.Shape))
	if err != nil {
		return err
	}
	out := append(append(x.Shape[:ax:ax].Clone(), idx.Shape...), x.Shape[ax+1:]...)
	setOut(n, 0, x.DType, out)
	return nil
}

type gatherKernel struct {
	outer, dim, inner int // inner in bytes
}

func (k *gatherKernel) ScratchBytes() int { return 0 }

func (k *gatherKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	x, y := in[0].Data, out[0].Data
	nidx := in[1].NumElements()
	var i64 []int64
	var i32 []int32
	if in[1].DType == tensor.I64 {
		i64 = elems[int64](in[1])
	} else {
		i32 = elems[int32](in[1])
	}
	o := 0
	for b := 0; b < k.outer; b++ {
		for j := 0; j < nidx; j++ {
			var v int64
			if i64 != nil {
				v = i64[j]
			} else {
				v = int64(i32[j])
			}
			if v < 0 {
				v += int64(k.dim)
			}
			if v < 0 || v >= int64(k.dim) {
				return errGatherIndex
			}
			src := (b*k.dim + int(v)) * k.inner
			o += copy(y[o:o+k.inner], x[src:src+k.inner])
		}
	}
	return nil
}

var errGatherIndex = errorString("ops: Gather index out of range")

type errorString string

func (e errorString) Error() string { return string(e) }

func compileGather(n *graph.Node) (Kernel, error) {
	x, idx := n.Inputs[0], n.Inputs[1]
	if idx.DType != tensor.I64 && idx.DType != tensor.I32 {
		return nil, errf(n, "indices must be i32 or i64, are %s", idx.DType)
	}
	ax, err := normAxis(n, n.Int("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	outer, inner := blockDims(x.Shape, ax, x.DType.Size())
	return &gatherKernel{outer: outer, dim: x.Shape[ax], inner: inner}, nil
}

// --- Expand and Tile ---

func inferExpand(n *graph.Node) error {
	if err := needInputs(n, 2); err != nil {
		return err
	}
	x, s := n.Inputs[0], n.Inputs[1]
	spec, ok := constInts(s)
	if !ok {
		if len(s.Shape) == 1 && s.Shape[0] >= 0 && x.Shape != nil {
			setOut(n, 0, x.DType, dynShape(max(s.Shape[0], len(x.Shape))))
		} else {
			setOut(n, 0, x.DType, nil)
		}
		return nil
	}
	target := make(tensor.Shape, len(spec))
	for i, v := range spec {
		target[i] = int(v)
	}
	out, err := broadcastShapes(n, x.Shape, target)
	if err != nil {
		return err
	}
	setOut(n, 0, x.DType, out)
	return nil
}

// expandKernel broadcasts its input over the output shape.
type expandKernel[T any] struct {
	b      *bcast
	x, dst []T
}

func (k *expandKernel[T]) ScratchBytes() int { return 0 }

func (k *expandKernel[T]) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	k.x, k.dst = elems[T](in[0]), elems[T](out[0])
	ctx.pool().For(k.b.tasks(), k.b.grain(), k)
	return nil
}

func (k *expandKernel[T]) Do(lo, hi int) {
	b := k.b
	for t := lo; t < hi; t++ {
		row, a, e := b.span(t)
		d := k.dst[row*b.inner+a : row*b.inner+e]
		src := operand(b, 0, row, k.x, a, e)
		if len(src) == len(d) {
			copy(d, src)
			continue
		}
		v := src[0]
		for i := range d {
			d[i] = v
		}
	}
}

func compileExpand(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	b := newBcast(n.Outputs[0].Shape, x.Shape)
	return bySize(x.DType, func() Kernel { return &expandKernel[uint8]{b: b} },
		func() Kernel { return &expandKernel[uint16]{b: b} },
		func() Kernel { return &expandKernel[uint32]{b: b} },
		func() Kernel { return &expandKernel[uint64]{b: b} })
}

func inferTile(n *graph.Node) error {
	if err := needInputs(n, 2); err != nil {
		return err
	}
	x := n.Inputs[0]
	reps, ok := constInts(n.Inputs[1])
	if x.Shape == nil {
		setOut(n, 0, x.DType, nil)
		return nil
	}
	if !ok {
		setOut(n, 0, x.DType, dynShape(len(x.Shape)))
		return nil
	}
	if len(reps) != len(x.Shape) {
		return errf(n, "repeats %v do not match rank %d", reps, len(x.Shape))
	}
	out := x.Shape.Clone()
	for i, r := range reps {
		if r < 0 {
			return errf(n, "negative repeat %d", r)
		}
		if out[i] >= 0 {
			out[i] *= int(r)
		}
	}
	setOut(n, 0, x.DType, out)
	return nil
}

// tileKernel copies each input row (innermost dim) repeatedly: out row at index (i_0..i_{r-2})
// reads input row (i_d mod in_d).
type tileKernel[T any] struct {
	in, out []int
	ist     []int
	idx     []int
}

func (k *tileKernel[T]) ScratchBytes() int { return 0 }

func (k *tileKernel[T]) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	x, y := elems[T](in[0]), elems[T](out[0])
	r := len(k.out)
	if len(y) == 0 {
		return nil
	}
	if r == 0 {
		y[0] = x[0]
		return nil
	}
	clear(k.idx)
	inRow, outRow := k.in[r-1], k.out[r-1]
	for o := 0; o < len(y); o += outRow {
		p := 0
		for d := 0; d < r-1; d++ {
			p += (k.idx[d] % k.in[d]) * k.ist[d]
		}
		for c := 0; c < outRow; c += inRow {
			copy(y[o+c:o+c+inRow], x[p:p+inRow])
		}
		for d := r - 2; d >= 0; d-- {
			k.idx[d]++
			if k.idx[d] < k.out[d] {
				break
			}
			k.idx[d] = 0
		}
	}
	return nil
}

func compileTile(n *graph.Node) (Kernel, error) {
	x := n.Inputs[0]
	if _, ok := constInts(n.Inputs[1]); !ok {
		return nil, errf(n, "repeats must be constant")
	}
	mk := func() (ins, outs, ist, idx []int) {
		return []int(x.Shape.Clone()), []int(n.Outputs[0].Shape.Clone()), x.Shape.Strides(), make([]int, len(x.Shape))
	}
	return bySize(x.DType, func() Kernel { a, b, c, d := mk(); return &tileKernel[uint8]{a, b, c, d} },
		func() Kernel { a, b, c, d := mk(); return &tileKernel[uint16]{a, b, c, d} },
		func() Kernel { a, b, c, d := mk(); return &tileKernel[uint32]{a, b, c, d} },
		func() Kernel { a, b, c, d := mk(); return &tileKernel[uint64]{a, b, c, d} })
}

func init() {
	Register("Transpose", &Def{Infer: inferTranspose, Compile: compileTranspose})
	Register("Concat", &Def{Infer: inferConcat, Compile: compileConcat})
	Register("Split", &Def{Infer: inferSplit, Compile: compileSplit})
	Register("Slice", &Def{Infer: inferSlice, Compile: compileSlice})
	Register("Gather", &Def{Infer: inferGather, Compile: compileGather})
	Register("Expand", &Def{Infer: inferExpand, Compile: compileExpand})
	Register("Tile", &Def{Infer: inferTile, Compile: compileTile})
}
