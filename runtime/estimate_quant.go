package runtime

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/graph/passes"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/tensor"
)

// quantizeForEstimate is passes.QuantizeWeightsReleasing for Estimate: the same rewrite (which nodes
// become DynQConv/DynQGemm, with which attributes and inputs), but the packed int8 weights are virtual —
// views of a reserved, never-written anonymous mapping (virtualBytes) of the right length — so no float
// weight is read and no int8 copy is made. A ResNeSt-101 with a 54k-class head would otherwise read its
// 600 MB file and allocate 150 MB for every candidate `wanwu plan` looks at. The kernels' Compile only
// views the packing (and sums its rows: zero pages, never resident). TestEstimateMatchesCompileInt8
// keeps this mirror honest against the real pass.
//
// The returned function unmaps the virtual memory; call it once the estimate is done.
func quantizeForEstimate(g *graph.Graph, precision string) (func(), error) {
	switch precision {
	case "", passes.PrecisionFP32:
		return func() {}, nil
	case passes.PrecisionInt8:
	default:
		return nil, fmt.Errorf("passes: unknown precision %q (want fp32 or int8)", precision)
	}
	var plans []quantPlan
	largest := 0
	for _, n := range g.Nodes {
		var p quantPlan
		var ok bool
		switch n.Op {
		case "Conv":
			p, ok = estimateConv(n)
		case "Gemm", "MatMul":
			p, ok = estimateGemm(n)
		}
		if ok {
			plans = append(plans, p)
			largest = max(largest, p.packed)
		}
	}
	virt, free := virtualBytes(largest)
	for _, p := range plans {
		n := p.n
		w := n.Input(1)
		q := &graph.Value{Name: w.Name + "_q8", DType: tensor.I8, Shape: tensor.Shape{p.packed},
			Const: &tensor.Tensor{DType: tensor.I8, Shape: tensor.Shape{p.packed}, Data: virt[:p.packed:p.packed]}}
		s := &graph.Value{Name: w.Name + "_scale", DType: tensor.F32, Shape: tensor.Shape{p.cout},
			Const: tensor.New(tensor.F32, tensor.Shape{p.cout})}
		if p.conv {
			ws := []int64{int64(w.Shape[0]), int64(w.Shape[1]), int64(w.Shape[2]), int64(w.Shape[3])}
			n.Op = "DynQConv"
			n.SetInts("weight_shape", ws)
			n.SetInts("kernel_shape", ws[2:])
			n.Inputs = []*graph.Value{n.Input(0), q, s, n.Input(2)}
			if n.Inputs[3] == nil {
				n.Inputs = n.Inputs[:3]
			}
			continue
		}
		act := n.Attrs
		n.Op = "DynQGemm"
		n.Attrs = map[string]graph.Attr{}
		for name, at := range act {
			if len(name) >= len("activation") && name[:len("activation")] == "activation" {
				n.Attrs[name] = at
			}
		}
		n.SetInt("n", int64(p.nn))
		n.SetInt("k", int64(p.kk))
		n.Inputs = []*graph.Value{n.Input(0), q, s}
		if p.bias != nil {
			n.Inputs = append(n.Inputs, p.bias)
		}
	}
	if err := g.Validate(); err != nil {
		free()
		return nil, err
	}
	return free, nil
}

// quantPlan is one node the int8 pass would convert.
type quantPlan struct {
	n      *graph.Node
	conv   bool         // DynQConv, else DynQGemm
	packed int          // bytes of the packed int8 weights
	cout   int          // output channels (scales)
	kk, nn int          // DynQGemm's k and n
	bias   *graph.Value // DynQGemm's bias
}

// estimateConv mirrors passes.quantizeConv's conditions: which Conv nodes become DynQConv, and the
// length of their packed weights.
func estimateConv(n *graph.Node) (p quantPlan, ok bool) {
	x, w := n.Input(0), n.Input(1)
	if x == nil || x.DType != tensor.F32 || len(x.Shape) != 4 || !isF32Const(w) || len(w.Shape) != 4 {
		return p, false
	}
	if b := n.Input(2); b != nil && b.DType != tensor.F32 {
		return p, false
	}
	group := int(n.Int("group", 1))
	cout, cg := w.Shape[0], w.Shape[1]
	if group < 1 || cout%group != 0 || (cg == 1 && group > 1) {
		return p, false
	}
	k := cg * w.Shape[2] * w.Shape[3]
	p.n, p.conv, p.cout = n, true, cout
	p.packed = group * q8.PackedALen(cout/group, k)
	return p, true
}

// estimateGemm mirrors passes.quantizeGemm's conditions.
func estimateGemm(n *graph.Node) (p quantPlan, ok bool) {
	a, w := n.Input(0), n.Input(1)
	if a == nil || a.DType != tensor.F32 || len(a.Shape) < 1 || !isF32Const(w) || len(w.Shape) != 2 {
		return p, false
	}
	kk, nn := w.Shape[0], w.Shape[1]
	if n.Op == "Gemm" {
		if len(a.Shape) != 2 || n.Int("transA", 0) != 0 || n.Float("alpha", 1) != 1 {
			return p, false
		}
		if n.Int("transB", 0) != 0 {
			kk, nn = nn, kk
		}
		if c := n.Input(2); c != nil {
			if n.Float("beta", 1) != 1 || c.DType != tensor.F32 || c.Shape.NumElements() != nn ||
				(len(c.Shape) == 2 && c.Shape[0] != 1) || len(c.Shape) > 2 {
				return p, false
			}
			p.bias = c
		}
	} else if len(a.Shape) < 2 {
		return p, false
	}
	if a.Shape[len(a.Shape)-1] != kk {
		return p, false
	}
	p.n, p.kk, p.nn, p.cout = n, kk, nn, nn
	p.packed = q8.PackedGemvLen(nn, kk)
	return p, true
}

func isF32Const(v *graph.Value) bool {
	return v != nil && v.Const != nil && v.DType == tensor.F32 && v.Const.DType == tensor.F32
}
