package passes

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// headPassThrough are the ops allowed between the classifier and the graph output: they keep the class
// axis as it is (elementwise along it, or reshapes that move no class).
var headPassThrough = map[string]bool{
	"Softmax": true, "LogSoftmax": true, "Sigmoid": true, "Flatten": true, "Identity": true, "Reshape": true,
	"Squeeze": true, "Unsqueeze": true, "Cast": true, "DequantizeLinear": true, "QuantizeLinear": true,
	"QLinearSoftmax": true, "QLinearSigmoid": true,
}

// PruneHead keeps only the classes keep (ascending, distinct) of a classifier: the graph's first output
// is traced back through headPassThrough ops and a constant bias Add to the final Gemm, MatMul,
// QLinearMatMul or 1×1 Conv, whose weight rows (or columns), bias and per-class quantization parameters
// are cut down to keep. Output class i of the rewritten graph is class keep[i] of the original.
//
// Memory is the point: a weight stored class-major (Gemm transB=1, Conv [N,C,1,1]) is sliced row by
// row, so only the kept rows are read — when keep is one contiguous run the new constant is a view of
// the old one (of the mapped model file) and nothing is copied at all. Class-minor layouts (MatMul,
// Gemm transB=0: [K,N]) gather the kept columns, reading every row once. Softmax over the kept classes
// renormalises over the subset.
func PruneHead(g *graph.Graph, keep []int) error {
	if len(g.Outputs) == 0 {
		return fmt.Errorf("passes: prune_head: graph has no outputs")
	}
	if len(keep) == 0 {
		return fmt.Errorf("passes: prune_head: no classes to keep")
	}
	// A scattered subset of a mapped head is copied row by row; the backing drops the file pages the copy
	// has passed (see pruneAxis).
	release := func([]byte) {}
	if r, ok := g.Backing.(graph.RangeReleaser); ok {
		release = r.ReleaseRange
	}
	prod, cons := g.Producers(), g.Consumers()
	v := g.Outputs[0]
	var chain []*graph.Value // values whose class axis shrinks, from the graph output back to the head
	var reshapes []*graph.Node
	var bias *graph.Node
	single := func(v *graph.Value) bool { return len(cons[v]) <= 1 && (v == g.Outputs[0] || !g.IsOutput(v)) }
	for {
		if !single(v) {
			return fmt.Errorf("passes: prune_head: %q is read by more than the classifier output; cannot prune", v.Name)
		}
		chain = append(chain, v)
		n := prod[v]
		if n == nil {
			return fmt.Errorf("passes: prune_head: no classifier layer found before output %q", g.Outputs[0].Name)
		}
		switch {
		case headPassThrough[n.Op]:
			if n.Op == "Reshape" {
				reshapes = append(reshapes, n)
			}
			v = n.Inputs[0]
			continue
		case n.Op == "Add" && bias == nil && len(n.Inputs) == 2 && (n.Inputs[0].IsConst() != n.Inputs[1].IsConst()):
			bias = n
			if n.Inputs[0].IsConst() {
				v = n.Inputs[1]
			} else {
				v = n.Inputs[0]
			}
			continue
		}
		if err := pruneLayer(n, keep, release); err != nil {
			return err
		}
		break
	}
	classes := g.Outputs[0].Shape
	n := 0
	if len(classes) > 0 {
		n = classes[len(classes)-1]
	}
	if bias != nil {
		for i, in := range bias.Inputs {
			if in.IsConst() {
				nb, err := pruneLastAxis(in, keep, n, release)
				if err != nil {
					return fmt.Errorf("passes: prune_head: bias of node %q: %w", bias.Name, err)
				}
				bias.Inputs[i] = nb
			}
		}
	}
	for _, r := range reshapes {
		if s := r.Input(1); s.IsConst() {
			if s.Const.DType != tensor.I64 {
				return fmt.Errorf("passes: prune_head: Reshape %q shape is %s, want int64", r.Name, s.Const.DType)
			}
			dims := s.Const.Ints()
			out := make([]int64, len(dims))
			for i, d := range dims {
				out[i] = d
				if int(d) == n && n > 0 {
					out[i] = int64(len(keep)) // an explicit class count; -1 and 0 need no change
				}
			}
			r.Inputs[1] = &graph.Value{Name: s.Name + "/pruned", DType: tensor.I64, Shape: tensor.Shape{len(out)},
				Const: tensor.FromI64(tensor.Shape{len(out)}, out)}
		}
	}
	// The class axis of every value on the chain is now len(keep) long; shape inference redoes the rest.
	for _, cv := range chain {
		if cv.Shape == nil {
			continue
		}
		s := cv.Shape.Clone()
		for i := len(s) - 1; i >= 0; i-- {
			if s[i] == n && n > 0 {
				s[i] = len(keep)
				break
			}
		}
		cv.Shape = s
	}
	return nil
}

// pruneLayer cuts the classifier node's weights, bias and per-class quantization down to keep.
func pruneLayer(n *graph.Node, keep []int, release func([]byte)) error {
	errf := func(format string, a ...any) error {
		return fmt.Errorf("passes: prune_head: node %q (%s): %s", n.Name, n.Op, fmt.Sprintf(format, a...))
	}
	var err error
	set := func(i int, axis int) {
		if err != nil {
			return
		}
		w := n.Input(i)
		if !w.IsConst() {
			err = errf("input %d is not a constant", i)
			return
		}
		var nw *graph.Value
		if nw, err = pruneAxis(w, axis, keep, release); err == nil {
			n.Inputs[i] = nw
		} else {
			err = errf("%v", err)
		}
	}
	// perClass prunes a quantization parameter when it has one entry per class (per-tensor stays).
	perClass := func(i, classes int) {
		if p := n.Input(i); p.IsConst() && p.Const.NumElements() == classes && classes > 1 {
			set(i, len(p.Shape)-1)
		}
	}
	switch n.Op {
	case "Gemm":
		w := n.Input(1)
		if !w.IsConst() || len(w.Shape) != 2 {
			return errf("weight is not a constant matrix")
		}
		classAxis := 1
		if n.Int("transB", 0) != 0 {
			classAxis = 0
		}
		classes := w.Shape[classAxis]
		if err := checkKeep(keep, classes); err != nil {
			return errf("%v", err)
		}
		set(1, classAxis)
		if c := n.Input(2); c != nil {
			if !c.IsConst() {
				return errf("bias C is not a constant")
			}
			nc, e := pruneLastAxis(c, keep, classes, release)
			if e != nil {
				return errf("bias: %v", e)
			}
			n.Inputs[2] = nc
		}
	case "MatMul":
		w := n.Input(1)
		if !w.IsConst() || len(w.Shape) < 2 {
			return errf("weight is not a constant matrix")
		}
		if err := checkKeep(keep, w.Shape[len(w.Shape)-1]); err != nil {
			return errf("%v", err)
		}
		set(1, len(w.Shape)-1)
	case "QLinearMatMul":
		w := n.Input(3)
		if !w.IsConst() || len(w.Shape) != 2 {
			return errf("weight is not a constant matrix")
		}
		classes := w.Shape[1]
		if err := checkKeep(keep, classes); err != nil {
			return errf("%v", err)
		}
		set(3, 1)
		perClass(4, classes)
		perClass(5, classes)
	case "Conv", "QLinearConv":
		wi, bi := 1, 2
		if n.Op == "QLinearConv" {
			wi, bi = 3, 8
		}
		w := n.Input(wi)
		if !w.IsConst() || len(w.Shape) != 4 || w.Shape[2] != 1 || w.Shape[3] != 1 || n.Int("group", 1) != 1 {
			return errf("only a 1×1 convolution with constant weights can be pruned")
		}
		classes := w.Shape[0]
		if err := checkKeep(keep, classes); err != nil {
			return errf("%v", err)
		}
		set(wi, 0)
		if n.Op == "QLinearConv" {
			perClass(4, classes)
			perClass(5, classes)
		}
		if b := n.Input(bi); b != nil {
			set(bi, 0)
		}
	default:
		return errf("the classifier layer must be Gemm, MatMul, QLinearMatMul or a 1×1 Conv")
	}
	if err != nil {
		return err
	}
	if o := n.Outputs[0]; o != nil && o.Shape != nil {
		s := o.Shape.Clone()
		ax := len(s) - 1
		if n.Op == "Conv" || n.Op == "QLinearConv" {
			ax = 1
		}
		s[ax] = len(keep)
		o.Shape = s
	}
	return nil
}

func checkKeep(keep []int, classes int) error {
	for i, k := range keep {
		if k < 0 || k >= classes {
			return fmt.Errorf("class %d out of range [0,%d)", k, classes)
		}
		if i > 0 && k <= keep[i-1] {
			return fmt.Errorf("classes to keep must be ascending and distinct (%d after %d)", k, keep[i-1])
		}
	}
	return nil
}

// pruneLastAxis prunes a bias-like constant along its last axis when that axis is the class axis;
// a scalar or broadcast (size-1) bias stays as it is.
func pruneLastAxis(v *graph.Value, keep []int, classes int, release func([]byte)) (*graph.Value, error) {
	s := v.Const.Shape
	if len(s) == 0 || s[len(s)-1] == 1 {
		return v, nil
	}
	if s[len(s)-1] != classes {
		return nil, fmt.Errorf("shape %s does not end in the %d classes", s, classes)
	}
	return pruneAxis(v, len(s)-1, keep, release)
}

// pruneAxis returns a constant holding the slices keep of v along axis. Only the kept slices are read;
// one contiguous run along the leading axis is a view of v's bytes. release drops the resident pages of
// source bytes already copied (the graph's backing; a no-op for memory it does not own).
func pruneAxis(v *graph.Value, axis int, keep []int, release func([]byte)) (*graph.Value, error) {
	t := v.Const
	s := t.Shape
	if axis < 0 || axis >= len(s) {
		return nil, fmt.Errorf("axis %d out of range for %s", axis, s)
	}
	if err := checkKeep(keep, s[axis]); err != nil {
		return nil, err
	}
	outer := tensor.Shape(s[:axis]).NumElements()
	inner := tensor.Shape(s[axis+1:]).NumElements() * t.DType.Size()
	ns := s.Clone()
	ns[axis] = len(keep)
	nt := &tensor.Tensor{DType: t.DType, Shape: ns}
	if outer == 1 && keep[len(keep)-1]-keep[0] == len(keep)-1 {
		nt.Data = t.Data[keep[0]*inner : (keep[0]+len(keep))*inner : (keep[0]+len(keep))*inner]
	} else {
		nt.Data = make([]byte, outer*len(keep)*inner)
		dst := nt.Data
		// Source pages are released every few MiB as the copy passes them, so a scattered subset of a
		// mapped head never has more than a window of the head resident: the kernel maps up to 64 KiB
		// around every faulting page, so without this a 54k-class head would stay mostly resident even
		// though only a few rows are kept.
		const window = 4 << 20
		done := 0
		for o := 0; o < outer; o++ {
			base := o * s[axis] * inner
			for _, k := range keep {
				dst = dst[copy(dst, t.Data[base+k*inner:base+(k+1)*inner]):]
				if end := base + (k+1)*inner; end-done >= window {
					release(t.Data[done:end])
					done = end
				}
			}
		}
		release(t.Data[done:])
	}
	return &graph.Value{Name: v.Name + "/pruned", DType: v.DType, Shape: ns.Clone(), Const: nt}, nil
}
