// Package ops holds one file per operator: shape inference, and a Kernel compiled once per concrete shape.
//
// Contract for an operator (TFLite's Prepare/Eval, ncnn's create_pipeline/forward):
//   - Infer sets n.Outputs[i].DType and .Shape from the inputs and attributes. Input shapes may hold
//     dynamic dims (< 0); Infer propagates them where it can and must not fail on them.
//   - Compile runs once the input shapes are concrete. It validates attributes, packs constant weights,
//     and returns a Kernel. User-facing problems (bad attributes, shape mismatch) are errors.
//   - Kernel.Run computes outputs into memory the runtime planned; it must not allocate.
//
// Semantics are those of the latest ONNX opset; importers normalise older forms. Inputs that moved
// from attributes to inputs over opsets (axes, split, min/max, pads) are accepted in either form.
package ops

import (
	"fmt"
	"runtime"
	"sort"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Def describes one operator.
type Def struct {
	// Infer sets output dtypes and shapes.
	Infer func(n *graph.Node) error
	// Compile builds the kernel for concrete input shapes (after Infer).
	Compile func(n *graph.Node) (Kernel, error)
	// CompileWith, when set, is Compile for a whole program's choices (CompileOptions); the runtime
	// prefers it to Compile, which is CompileWith with Winograd allowed and weights packed in place.
	CompileWith func(n *graph.Node, o CompileOptions) (Kernel, error)
	// MACs, when set, counts the multiply-accumulates n does, from shapes (and attributes) alone,
	// for statistics and GFLOP/s; ops without it count none.
	MACs func(n *graph.Node) int64
	// Alias marks ops whose output 0 is input 0's bytes reinterpreted (Reshape, Flatten, Squeeze,
	// Unsqueeze, Identity): the runtime gives them no buffer and runs no kernel.
	Alias bool
	// InPlace marks ops whose output 0 may be written over input 0 when input 0 dies at this node and
	// both have the same byte size (element-wise ops). Their kernels must tolerate out == in[0].
	InPlace bool
}

// CompileOptions are the program-wide choices a kernel's compilation depends on.
type CompileOptions struct {
	// Weights, when not nil, is where a kernel that repacks constant weights takes them, so programs
	// compiled from one graph share one packed copy (see WeightCache).
	Weights WeightCache
	// Estimate says the program is compiled only to be measured: packed weight bytes are sized but
	// never written, so compilation must not read them back.
	Estimate bool
	// Winograd lets 3×3 stride-1 convolutions run Winograd's algorithm where it pays (f32.WinoDirect
	// on the direct schedule, else the tiles-on-lanes F(2×2) path), keeping a transformed weight copy
	// 16/9 the size of the plain one (memory for speed).
	Winograd bool
	// Threads is the size of the worker pool the program runs on (0: this process's GOMAXPROCS).
	// Kernels keep one scratch slot per thread and cut their work for that many, so the scratch the
	// runtime plans is the same whatever GOMAXPROCS the process that plans it has.
	Threads int
}

// slots is the number of per-thread scratch slots a kernel compiled with o keeps.
func (o CompileOptions) slots() int {
	if o.Threads > 0 {
		return o.Threads
	}
	return runtime.GOMAXPROCS(0)
}

// Kernel is a compiled operator instance.
type Kernel interface {
	// ScratchBytes is the workspace Run needs (im2col buffers...); the runtime plans it in the arena.
	ScratchBytes() int
	// Run computes out from in. in holds every node input in order (nil where absent), constants included.
	// out tensors have their final shapes and point at planned memory. Run must not allocate.
	Run(ctx *Ctx, in, out []*tensor.Tensor) error
}

// Ctx is what a kernel may use while running.
type Ctx struct {
	// Scratch is ScratchBytes() long and owned by this kernel for the duration of Run.
	Scratch []byte
	// Pool runs intra-op parallel work; nil means single-threaded.
	Pool *parallel.Pool
}

// opKey names an operator: ONNX's default domain is "", the engine's own ops are in graph.ExtDomain.
type opKey struct{ domain, op string }

// registry is keyed on the domain too, so that a model whose node is named like one of the engine's
// lowered ops (F16Conv, say) gets "unsupported" instead of a kernel that trusts private attributes.
var registry = map[opKey]*Def{}

// Register adds a default-domain operator; called from init functions, one per op file.
func Register(op string, d *Def) { RegisterIn("", op, d) }

// RegisterIn adds an operator of domain.
func RegisterIn(domain, op string, d *Def) {
	k := opKey{domain, op}
	if _, dup := registry[k]; dup {
		panic("ops: duplicate registration of " + domain + "." + op)
	}
	registry[k] = d
}

// Lookup returns the definition of the default-domain op, or nil when it is not supported.
func Lookup(op string) *Def { return registry[opKey{"", op}] }

// LookupIn returns the definition of op in domain, or nil.
func LookupIn(domain, op string) *Def { return registry[opKey{domain, op}] }

// LookupNode returns the definition of n's op in n's domain, or nil.
func LookupNode(n *graph.Node) *Def { return registry[opKey{n.Domain, n.Op}] }

// Supported lists the registered default-domain op types, sorted.
func Supported() []string { return SupportedIn("") }

// SupportedIn lists the op types registered in domain, sorted.
func SupportedIn(domain string) []string {
	var names []string
	for k := range registry {
		if k.domain == domain {
			names = append(names, k.op)
		}
	}
	sort.Strings(names)
	return names
}

// Eval computes a node whose inputs are all constants, allocating outputs in Go memory.
// Used for constant folding and shape inference through shape-computing subgraphs.
func Eval(n *graph.Node) ([]*tensor.Tensor, error) {
	d := LookupNode(n)
	if d == nil {
		return nil, fmt.Errorf("ops: unsupported op %s (node %q)", n.Op, n.Name)
	}
	if err := d.Infer(n); err != nil {
		return nil, err
	}
	in := make([]*tensor.Tensor, len(n.Inputs))
	for i, v := range n.Inputs {
		if v == nil {
			continue
		}
		if v.Const == nil {
			return nil, fmt.Errorf("ops: Eval of node %q: input %q is not constant", n.Name, v.Name)
		}
		in[i] = v.Const
	}
	out := make([]*tensor.Tensor, len(n.Outputs))
	for i, v := range n.Outputs {
		if v == nil {
			continue
		}
		if !v.Shape.Known() {
			return nil, fmt.Errorf("ops: Eval of node %q: output %q has unknown shape %s", n.Name, v.Name, v.Shape)
		}
		out[i] = tensor.New(v.DType, v.Shape)
	}
	if d.Alias {
		out[0].Data = append(out[0].Data[:0], in[0].Data[:out[0].ByteSize()]...)
		return out, nil
	}
	k, err := d.Compile(n)
	if err != nil {
		return nil, err
	}
	ctx := &Ctx{Scratch: make([]byte, k.ScratchBytes())}
	if err := k.Run(ctx, in, out); err != nil {
		return nil, fmt.Errorf("ops: node %q (%s): %w", n.Name, n.Op, err)
	}
	return out, nil
}

// Semantics is the registry as graph/passes sees it (passes.Ops): the passes take it as a value so
// they do not link the kernels.
type Semantics struct{}

// Known reports whether n's op is registered in n's domain.
func (Semantics) Known(n *graph.Node) bool { return LookupNode(n) != nil }

// Infer runs the Infer of n's op.
func (Semantics) Infer(n *graph.Node) error {
	d := LookupNode(n)
	if d == nil {
		return fmt.Errorf("ops: unsupported op %s (node %q)", n.Op, n.Name)
	}
	return d.Infer(n)
}

// Eval is the package's Eval.
func (Semantics) Eval(n *graph.Node) ([]*tensor.Tensor, error) { return Eval(n) }
