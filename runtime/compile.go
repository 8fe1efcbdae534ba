// Package runtime turns a graph into a Program: optimized, shape-specialised, with every activation
// placed ahead of time in one arena, and runs it without allocating.
package runtime

import (
	"fmt"
	goruntime "runtime"
	"unsafe"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/graph/passes"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/lower"
	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/plan"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Options configure compilation.
type Options struct {
	// Threads sizes the worker pool kernels run on; 0 means GOMAXPROCS.
	Threads int
	// InputShapes fixes graph input shapes by name (dynamic dims such as the batch, or the image size).
	InputShapes map[string]tensor.Shape
	// Winograd lets stride-1 3×3 convolutions run as Winograd F(2×2,3×3) where it measures faster
	// (the wanwu package and command turn it on unless asked not to): on AVX-512, 3×3 layers take
	// about 0.6 of the direct convolution's time, for 16/9 the memory of their packed weights. Off,
	// they stay on the direct convolution or the im2col GEMM.
	Winograd bool
	// Precision selects how float layers with constant weights run: "" or "fp32" as they are, "int8"
	// with per-channel int8 weights and dynamically quantized activations (lower.QuantizeWeights).
	// Converting releases the source graph's file pages as it goes when its Backing allows it.
	Precision string
	// AfterStep, when set, is called after every kernel with the node it ran and its output tensors
	// (views of the arena, valid until the next step writes over them): activation calibration
	// (package calibrate) reads the ranges of intermediate values through it. Such a program keeps
	// every residual Add as its own step, so each value it observes exists; to time the program as it
	// normally runs, use Program.RunProfiled instead.
	AfterStep func(n *graph.Node, outputs []*tensor.Tensor)
	// Shared, when not nil, is where the program takes its derived weights, arena and worker pool from,
	// shared with the other programs compiled with it (see Shared); Threads is then the Shared's.
	// Estimate ignores it.
	Shared *Shared
	// Prepacked are kernel packings made earlier (a compiled model file, package compiled): a kernel
	// asking for one of them takes it as it is instead of packing the weight again. A weight whose Data
	// is empty exists only packed: a kernel asking for a packing of it that is not here fails the compile
	// (nothing could fill it).
	Prepacked []PackedWeight
	// Exportable keeps in the program's graph what a compiled model file needs to run it again: a
	// constant a kernel packed for itself (not through the weight store, so Packings lacks it) keeps
	// its data instead of being dropped once packed.
	Exportable bool
}

// PackedWeights is implemented by kernels that keep their own copy of weights (repacked for the
// micro-kernels, say); Stats counts those bytes in WeightBytes.
type PackedWeights interface {
	PackedBytes() int
}

// step is one kernel invocation with its operands pre-bound.
type step struct {
	kernel  ops.Kernel
	in, out []*tensor.Tensor
	ctx     ops.Ctx
	node    *graph.Node
	stat    int // index of the node's row in Stats.Steps
}

// Program is a compiled graph. It is not safe for concurrent use: Run reuses one arena, so callers
// must serialise Run calls (the wanwu facade does).
type Program struct {
	g       *graph.Graph
	arena   []byte
	shared  *Shared // nil: the arena and pool are the program's own
	pool    *parallel.Pool
	steps   []step
	inputs  []*tensor.Tensor // arena slots of graph inputs
	inNames []string
	outputs []*tensor.Tensor
	stats   Stats
	closed  bool
	// packings are what the kernels took from the weight store, for Packings.
	packings []Packing
	// afterStep is Options.AfterStep.
	afterStep func(*graph.Node, []*tensor.Tensor)
	// views and scratch place tensors and kernel scratch in the arena by offset, so bind can move them
	// onto another arena (a Shared's grows when a larger program joins).
	views   []arenaView
	scratch []arenaView // t nil: steps[step].ctx.Scratch
}

type arenaView struct {
	t         *tensor.Tensor
	step      int
	off, size int
}

// bind points every arena view of p at arena.
func (p *Program) bind(arena []byte) {
	p.arena = arena
	for _, v := range p.views {
		v.t.Data = arena[v.off : v.off+v.size : v.off+v.size]
	}
	for _, v := range p.scratch {
		p.steps[v.step].ctx.Scratch = arena[v.off : v.off+v.size : v.off+v.size]
	}
}

// Compile clones g, optimizes the clone for opts.InputShapes, compiles every kernel, plans all
// activations, graph inputs/outputs and kernel scratch into one arena and allocates it.
// Constants keep viewing g's memory: g must stay open (not Closed) while the Program is used.
//
// With opts.Shared the program reads the weights earlier programs of that Shared derived (compiling
// only what is new), runs on its pool and uses its arena, grown to this program's size if need be.
func Compile(g *graph.Graph, opts Options) (*Program, error) {
	if err := CheckThreads(opts.Threads); err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	store := newWeightStore()
	if opts.Shared != nil {
		store = opts.Shared.store
	}
	c, err := build(g, opts, store, false)
	if err != nil {
		return nil, err
	}
	if err := checkAllocatable(c.plan.ArenaSize); err != nil {
		return nil, err
	}
	p := &Program{g: c.g, stats: c.stats, shared: opts.Shared, afterStep: opts.AfterStep, packings: c.packings}

	// One tensor header per value; alias and in-place values view their root buffer's bytes.
	hdr := map[*graph.Value]*tensor.Tensor{}
	tensorOf := func(v *graph.Value) *tensor.Tensor {
		if v == nil {
			return nil
		}
		if t, ok := hdr[v]; ok {
			return t
		}
		var t *tensor.Tensor
		switch {
		case v.Const != nil:
			t = v.Const
		case c.constView[v] != nil:
			src := c.constView[v]
			t = &tensor.Tensor{DType: v.DType, Shape: v.Shape.Clone(), Data: src.Data[:byteSize(v)]}
		default:
			t = &tensor.Tensor{DType: v.DType, Shape: v.Shape.Clone()}
			p.views = append(p.views, arenaView{t: t, off: c.plan.Offsets[c.planIndex(v)], size: byteSize(v)})
		}
		hdr[v] = t
		return t
	}
	for _, v := range c.g.Inputs {
		p.inputs = append(p.inputs, tensorOf(v))
		p.inNames = append(p.inNames, v.Name)
	}
	for i, n := range c.g.Nodes {
		if c.kernels[i] == nil {
			continue // alias: its output header is all it takes
		}
		s := step{kernel: c.kernels[i], node: n, stat: i, in: make([]*tensor.Tensor, len(n.Inputs)), out: make([]*tensor.Tensor, len(n.Outputs))}
		for j, v := range n.Inputs {
			s.in[j] = tensorOf(v)
		}
		for j, v := range n.Outputs {
			s.out[j] = tensorOf(v)
		}
		if sb := c.scratch[i]; sb >= 0 {
			p.scratch = append(p.scratch, arenaView{step: len(p.steps), off: c.plan.Offsets[sb], size: c.bufs[sb].Size})
		}
		p.steps = append(p.steps, s)
	}
	for _, v := range c.g.Outputs {
		p.outputs = append(p.outputs, tensorOf(v))
	}
	if s := opts.Shared; s != nil {
		p.pool = s.pool
		if err := s.attach(p, c.plan.ArenaSize); err != nil {
			return nil, err
		}
	} else {
		p.pool = parallel.NewPool(opts.Threads)
		p.bind(alignedBytes(c.plan.ArenaSize))
	}
	for i := range p.steps {
		p.steps[i].ctx.Pool = p.pool
	}
	return p, nil
}

// Estimate plans g for opts exactly as Compile would (kernels included, so scratch and packed weights
// are counted) but allocates no arena and starts no workers: the CLI uses it to predict memory for an
// input size and batch.
func Estimate(g *graph.Graph, opts Options) (Stats, error) {
	if err := CheckThreads(opts.Threads); err != nil {
		return Stats{}, fmt.Errorf("runtime: %w", err)
	}
	store := newWeightStore()
	defer store.release()
	c, err := build(g, opts, store, true)
	if err != nil {
		return Stats{}, err
	}
	return c.stats, nil
}

// Input is the arena slot of graph input i: a caller may write the input there and pass it to Run,
// which then copies nothing. It views the arena, so it is valid until the next Compile with the same
// Shared (which may move the arena) or Close.
func (p *Program) Input(i int) *tensor.Tensor { return p.inputs[i] }

// Graph returns the optimized graph the program runs (read-only).
func (p *Program) Graph() *graph.Graph { return p.g }

// Stats describes the compiled program's memory and steps.
func (p *Program) Stats() Stats { return p.stats }

// Close stops the worker pool and drops the arena. The Program must not be used afterwards.
func (p *Program) Close() {
	if p.closed {
		return
	}
	p.closed = true
	if p.shared != nil {
		p.shared.detach(p)
		// The shared arena may be unmapped now: nothing of p may view it.
		for _, v := range p.views {
			v.t.Data = nil
		}
		for _, v := range p.scratch {
			p.steps[v.step].ctx.Scratch = nil
		}
	} else {
		p.pool.Close()
	}
	p.arena = nil
}

// viewable reports whether an Alias op's output can simply view its input: one output, same dtype
// size and no more bytes. Otherwise the node runs its kernel (a copy) into a buffer of its own.
func viewable(d *ops.Def, n *graph.Node) bool {
	if !d.Alias || n.Input(0) == nil || len(n.Outputs) == 0 || n.Outputs[0] == nil {
		return false
	}
	for _, o := range n.Outputs[1:] {
		if o != nil {
			return false
		}
	}
	in, out := n.Inputs[0], n.Outputs[0]
	return byteSize(out) <= byteSize(in) && in.DType.Size() == out.DType.Size()
}

// known reports whether a value's shape is fully fixed; a nil Shape means "not inferred" (a scalar is
// Shape{}, not nil).
func known(s tensor.Shape) bool { return s != nil && s.Known() }

func shapeString(s tensor.Shape) string {
	if s == nil {
		return "(unknown)"
	}
	return s.String()
}

func byteSize(v *graph.Value) int { return v.Shape.NumElements() * v.DType.Size() }

// alignedBytes returns n bytes starting at a plan.Align boundary, so planned offsets stay aligned in memory.
func alignedBytes(n int) []byte {
	if n == 0 {
		return nil
	}
	raw := make([]byte, n+plan.Align-1)
	skip := int(-uintptr(unsafe.Pointer(&raw[0])) & (plan.Align - 1))
	return raw[skip : skip+n : skip+n]
}

// compiled is what Compile and Estimate share: the optimized graph, kernels and the memory plan.
type compiled struct {
	g       *graph.Graph
	kernels []ops.Kernel // per node; nil for alias nodes
	// parent links a value's buffer to the one it shares (alias, in-place); roots point to themselves.
	parent []int
	bufOf  map[*graph.Value]int
	// constView marks alias outputs whose input is a constant: they view the constant's bytes.
	constView map[*graph.Value]*tensor.Tensor
	vals      []*graph.Value // value owning each buffer id (nil for scratch)
	isIn      []bool
	isOut     []bool
	scratch   []int // per node: plan index of its scratch buffer, or -1
	// bufs/plan are indexed by plan index; rootPlan maps a root buffer id to its plan index.
	bufs     []plan.Buffer
	names    []string
	rootPlan map[int]int
	plan     plan.Plan
	stats    Stats
	packings []Packing
}

func (c *compiled) find(b int) int {
	for c.parent[b] != b {
		c.parent[b] = c.parent[c.parent[b]]
		b = c.parent[b]
	}
	return b
}

func (c *compiled) planIndex(v *graph.Value) int { return c.rootPlan[c.find(c.bufOf[v])] }

// build runs passes, compiles kernels, computes lifetimes and plans the arena.
func build(src *graph.Graph, opts Options, store *weightStore, estimate bool) (*compiled, error) {
	// The pool's size: kernels keep a scratch slot per thread.
	threads := opts.Threads
	if opts.Shared != nil {
		threads = opts.Shared.threads
	}
	if threads <= 0 {
		threads = goruntime.GOMAXPROCS(0)
	}
	g := src.Clone()
	if err := passes.Optimize(g, ops.Semantics{}, opts.InputShapes); err != nil {
		return nil, err
	}
	wc := newWeightCtx(store, src, estimate)
	wc.prepack(opts.Prepacked)
	wc.canonicalize(g)
	// An Estimate converts over virtual (reserved, never-written) weight bytes: the same rewrite and
	// sizes, nothing read or copied, so `wanwu plan` costs no weight memory. A conversion goes through
	// the store, so programs compiled with one Shared convert each weight once.
	conv := lower.Conversion{Memo: wc.memo}
	if estimate {
		conv.Virtual = wc.virtual
	} else {
		conv.Release, _ = src.Backing.(graph.RangeReleaser)
	}
	var err error
	switch opts.Precision {
	case "", lower.PrecisionFP32:
	case lower.PrecisionFP16:
		err = lower.ConvertFP16With(g, conv)
	case lower.PrecisionInt8:
		err = lower.QuantizeWeightsWith(g, conv)
	default:
		err = fmt.Errorf("unknown precision %q (want fp32, fp16 or int8)", opts.Precision)
	}
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	// After the precision rewrite, which would drop a residual input it does not know about. Not
	// when every step is observed (calibration): the fused node would hide the convolution's own
	// output, whose range the static int8 program needs. The same holds for a MaxPool folded into
	// the convolution before it.
	if opts.AfterStep == nil {
		if err := passes.FuseConvAdd(g); err != nil {
			return nil, fmt.Errorf("runtime: %w", err)
		}
		if err := passes.FuseConvMaxPool(g, ops.ConvMaxPoolFusable); err != nil {
			return nil, fmt.Errorf("runtime: %w", err)
		}
	}
	for _, v := range g.Inputs {
		if !known(v.Shape) {
			return nil, fmt.Errorf("runtime: input %q has dynamic shape %s; give its size in Options.InputShapes", v.Name, shapeString(v.Shape))
		}
	}
	release := newWeightReleaser(src, g, !estimate, wc)
	release.keepPrivate = opts.Exportable
	c := &compiled{g: g, bufOf: map[*graph.Value]int{}, constView: map[*graph.Value]*tensor.Tensor{}, rootPlan: map[int]int{}}
	newBuf := func(v *graph.Value, first int) {
		c.bufOf[v] = len(c.parent)
		c.parent = append(c.parent, len(c.parent))
		c.vals = append(c.vals, v)
		c.isIn = append(c.isIn, false)
		c.isOut = append(c.isOut, false)
		c.bufs = append(c.bufs, plan.Buffer{Size: byteSize(v), First: first, Last: first})
	}
	// bufs is first indexed by buffer id; it is compacted to plan indices below.
	for _, v := range g.Inputs {
		if _, dup := c.bufOf[v]; dup || v.Const != nil {
			continue
		}
		newBuf(v, 0)
		c.isIn[c.bufOf[v]] = true
	}

	// Kernels and buffers, node by node.
	c.kernels = make([]ops.Kernel, len(g.Nodes))
	defs := make([]*ops.Def, len(g.Nodes))
	for i, n := range g.Nodes {
		d := ops.LookupNode(n)
		if d == nil {
			return nil, fmt.Errorf("runtime: unsupported op %s (node %q)", n.Op, n.Name)
		}
		defs[i] = d
		for _, o := range n.Outputs {
			if o != nil && o.Const == nil && !known(o.Shape) {
				return nil, fmt.Errorf("runtime: node %q (%s): output %q has unknown shape %s after shape inference (does it depend on input data?)", n.Name, n.Op, o.Name, shapeString(o.Shape))
			}
		}
		for _, in := range n.Inputs {
			if in != nil && in.Const == nil {
				if _, ok := c.bufOf[in]; !ok && c.constView[in] == nil {
					return nil, fmt.Errorf("runtime: node %q (%s): input %q has no producer", n.Name, n.Op, in.Name)
				}
			}
		}
		if viewable(d, n) {
			in, out := n.Inputs[0], n.Outputs[0]
			switch {
			case in.Const != nil:
				c.constView[out] = in.Const
			case c.constView[in] != nil:
				c.constView[out] = c.constView[in]
			default:
				c.bufOf[out] = c.bufOf[in]
			}
			continue
		}
		wc.node = i
		k, err := compileKernel(d, n, ops.CompileOptions{Weights: wc, Estimate: estimate, Winograd: opts.Winograd, Threads: threads})
		if err == nil {
			err = wc.err
		}
		if err != nil {
			return nil, fmt.Errorf("runtime: compile node %q (%s): %w", n.Name, n.Op, err)
		}
		if k == nil {
			return nil, fmt.Errorf("runtime: compile node %q (%s): op returned no kernel", n.Name, n.Op)
		}
		c.kernels[i] = k
		c.packings = append(c.packings, wc.packingsOf(i, n)...)
		release.compiled(i, n, k)
		for _, o := range n.Outputs {
			if o != nil && o.Const == nil {
				newBuf(o, i)
			}
		}
	}

	// Lifetimes: a buffer lives until its last reader (through any alias of it); graph outputs to the end.
	last := max(len(g.Nodes)-1, 0)
	for i, n := range g.Nodes {
		for _, in := range n.Inputs {
			if b, ok := c.bufOf[in]; ok && in.Const == nil {
				c.bufs[b].Last = max(c.bufs[b].Last, i)
			}
		}
	}
	for _, v := range g.Outputs {
		if b, ok := c.bufOf[v]; ok {
			c.bufs[b].Last = last
			c.isOut[b] = true
		}
	}

	// In-place: output 0 takes over input 0's buffer when that buffer dies here.
	inPlace := make([]bool, len(g.Nodes))
	for i, n := range g.Nodes {
		if !defs[i].InPlace || c.kernels[i] == nil || len(n.Outputs) == 0 || n.Outputs[0] == nil {
			continue
		}
		in0, out0 := n.Input(0), n.Outputs[0]
		ib, ok := c.bufOf[in0]
		if !ok || in0.Const != nil || out0.Const != nil {
			continue
		}
		r, ob := c.find(ib), c.find(c.bufOf[out0])
		if c.bufs[r].Last != i || c.isIn[r] || c.isOut[r] || c.bufs[r].Size != byteSize(out0) || byteSize(in0) != byteSize(out0) {
			continue
		}
		shared := false
		for _, other := range n.Inputs[1:] {
			if b, ok := c.bufOf[other]; ok && other != in0 && c.find(b) == r {
				shared = true // another view of the same bytes would be read after being overwritten
			}
		}
		if shared {
			continue
		}
		c.parent[ob] = r
		c.bufs[r].Last = max(c.bufs[r].Last, c.bufs[ob].Last)
		c.isOut[r] = c.isOut[r] || c.isOut[ob]
		inPlace[i] = true
	}

	// Compact: one plan buffer per root, then scratch.
	var bufs []plan.Buffer
	for b := range c.parent {
		if c.find(b) == b {
			c.rootPlan[b] = len(bufs)
			bufs = append(bufs, c.bufs[b])
			c.names = append(c.names, c.vals[b].Name)
		}
	}
	c.scratch = make([]int, len(g.Nodes))
	maxScratch := 0
	for i, k := range c.kernels {
		c.scratch[i] = -1
		if k == nil {
			continue
		}
		s := k.ScratchBytes()
		if s < 0 || s > tensor.MaxBytes {
			return nil, fmt.Errorf("runtime: node %q (%s) asks for %d bytes of scratch", g.Nodes[i].Name, g.Nodes[i].Op, s)
		}
		if s > 0 {
			c.scratch[i] = len(bufs)
			bufs = append(bufs, plan.Buffer{Size: s, First: i, Last: i})
			c.names = append(c.names, g.Nodes[i].Name+"#scratch")
			maxScratch = max(maxScratch, s)
		}
	}
	c.bufs = bufs
	// Every size is at most tensor.MaxBytes (shape inference checks them); their sum bounds the arena,
	// so once it is checked no offset the planner computes can overflow.
	total := 0
	for _, b := range bufs {
		var ok bool
		if total, ok = tensor.AddBytes(total, b.Size+plan.Align); !ok {
			return nil, fmt.Errorf("runtime: the activations need more than %d TiB", tensor.MaxBytes>>40)
		}
	}
	c.plan = plan.Greedy(bufs)
	if err := plan.Verify(bufs, c.plan); err != nil {
		return nil, fmt.Errorf("runtime: memory plan failed verification: %w", err)
	}
	c.stats = c.makeStats(defs, inPlace, maxScratch, wc)
	c.stats.Threads = threads
	return c, nil
}
