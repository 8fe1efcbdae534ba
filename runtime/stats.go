package runtime

import (
	"fmt"
	"strings"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/plan"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Stats describes a compiled program.
type Stats struct {
	// ArenaBytes is the one arena holding every activation, graph input/output and kernel scratch.
	ArenaBytes int
	// LinearArenaBytes is what the same buffers would take without any reuse (plan.Linear): the
	// planner's saving is LinearArenaBytes - ArenaBytes.
	LinearArenaBytes int
	// LiveBoundBytes is the most bytes live at any one step (plan.LowerBound): no plan can use less.
	LiveBoundBytes int
	// ScratchBytes is the largest single kernel scratch.
	ScratchBytes int
	// WeightBytes counts constants the program reads plus weight copies kernels keep (PackedWeights).
	WeightBytes int
	// PackedBytes is the part of WeightBytes that kernels repacked.
	PackedBytes int
	// Threads is the size of the worker pool the program runs on.
	Threads int
	// NumSteps is the number of kernels Run calls (alias nodes run nothing).
	NumSteps int
	// MACs sums Steps[i].MACs.
	MACs int64
	// Steps has one row per node of the optimized graph, in run order.
	Steps []StepStat
	// Buffers is the memory plan, one row per planned buffer.
	Buffers []BufferStat

	// weights names every weight counted in WeightBytes, for Union. (Process memory as a whole —
	// runtime, stacks, photo — is package memory's model: memory.Predict(Union(stats...), ...).)
	weights []weightUse
}

// StepStat is one node of the optimized graph.
type StepStat struct {
	Node, Op string
	DType    tensor.DType
	Shape    tensor.Shape // output 0
	// MACs counts multiply-accumulates for Conv, ConvTranspose, Gemm, MatMul, their QLinear forms and
	// the precision rewrites' F16Conv, DynQConv, DynQGemm and Q8Conv (0 otherwise).
	MACs         int64
	ScratchBytes int
	Alias        bool // runs nothing: the output views input 0
	InPlace      bool // writes over input 0
}

// BufferStat is one planned buffer: a value (and every alias/in-place value sharing it) or a scratch.
type BufferStat struct {
	Name        string
	Offset      int
	Size        int
	First, Last int
}

func (c *compiled) makeStats(defs []*ops.Def, inPlace []bool, maxScratch int, wc *weightCtx) Stats {
	s := Stats{ArenaBytes: c.plan.ArenaSize, LinearArenaBytes: plan.Linear(c.bufs).ArenaSize,
		LiveBoundBytes: plan.LowerBound(c.bufs), ScratchBytes: maxScratch}
	seen := map[*tensor.Tensor]bool{}
	for i, n := range c.g.Nodes {
		for _, in := range n.Inputs {
			if in.IsConst() && !seen[in.Const] {
				seen[in.Const] = true
				s.WeightBytes += len(in.Const.Data)
				if len(in.Const.Data) > 0 {
					s.weights = append(s.weights, wc.use(in.Const))
				}
			}
		}
		st := StepStat{Node: n.Name, Op: n.Op, Alias: c.kernels[i] == nil, InPlace: inPlace[i], MACs: macsOf(defs[i], n)}
		if o := n.Outputs[0]; o != nil {
			st.DType, st.Shape = o.DType, o.Shape.Clone()
		}
		if k := c.kernels[i]; k != nil {
			s.NumSteps++
			st.ScratchBytes = k.ScratchBytes()
			pk := packedBytes(n, k)
			s.PackedBytes += pk
			// What the kernel took from the store is named by its derivation; a copy it made on its own
			// belongs to this program alone.
			for _, u := range wc.packs[i] {
				s.weights = append(s.weights, u)
				pk -= u.bytes
			}
			if pk > 0 {
				s.weights = append(s.weights, weightUse{id: deriveID(wc.nonce, n.Name, i), bytes: pk, packed: true})
			}
		}
		s.MACs += st.MACs
		s.Steps = append(s.Steps, st)
	}
	for _, v := range c.g.Outputs {
		if v.IsConst() && !seen[v.Const] {
			seen[v.Const] = true
			s.WeightBytes += len(v.Const.Data)
			if len(v.Const.Data) > 0 {
				s.weights = append(s.weights, wc.use(v.Const))
			}
		}
	}
	s.WeightBytes += s.PackedBytes
	for i, b := range c.bufs {
		s.Buffers = append(s.Buffers, BufferStat{Name: c.names[i], Offset: c.plan.Offsets[i], Size: b.Size, First: b.First, Last: b.Last})
	}
	return s
}

// macsOf is what n's op counts (Def.MACs), 0 for ops that count none.
func macsOf(d *ops.Def, n *graph.Node) int64 {
	if d == nil || d.MACs == nil {
		return 0
	}
	return d.MACs(n)
}

// String renders the stats as a table for `wanwu inspect` / `wanwu plan`.
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-4s %-28s %-20s %-18s %12s %10s\n", "#", "node", "op", "output", "MACs", "scratch")
	for i, st := range s.Steps {
		op := st.Op
		switch {
		case st.Alias:
			op += " (view)"
		case st.InPlace:
			op += " (in-place)"
		}
		fmt.Fprintf(&b, "%-4d %-28s %-20s %-18s %12d %10d\n", i, st.Node, op, st.DType.String()+st.Shape.String(), st.MACs, st.ScratchBytes)
	}
	fmt.Fprintf(&b, "steps %d, MACs %d\n", s.NumSteps, s.MACs)
	fmt.Fprintf(&b, "arena %d bytes (no reuse %d, live bound %d), max scratch %d, weights %d (packed %d), threads %d\n",
		s.ArenaBytes, s.LinearArenaBytes, s.LiveBoundBytes, s.ScratchBytes, s.WeightBytes, s.PackedBytes, s.Threads)
	return b.String()
}
