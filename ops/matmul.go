package ops

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// MatMul: ONNX MatMul (numpy matmul): N-d operands multiply their last two dims with the leading
// (batch) dims broadcast; a 1-D A is [1, K] with that dim dropped from the result, a 1-D B is [K, 1]
// likewise. Batch offsets are resolved once in Compile. A fused activation is honoured.

func init() {
	Register("MatMul", &Def{Infer: inferMatMul, Compile: compileMatMul, CompileWith: compileMatMulWith, MACs: matMulMACs})
}

// matmulShapes returns the output shape and the 2-D-promoted operand shapes.
func matmulShapes(n *graph.Node, as, bs tensor.Shape) (out, a2, b2 tensor.Shape, err error) {
	if len(as) == 0 || len(bs) == 0 {
		return nil, nil, nil, fmt.Errorf("ops: node %q (MatMul): scalar operand", n.Name)
	}
	a2, b2 = as.Clone(), bs.Clone()
	if len(as) == 1 {
		a2 = tensor.Shape{1, as[0]}
	}
	if len(bs) == 1 {
		b2 = tensor.Shape{bs[0], 1}
	}
	ka, kb := a2[len(a2)-1], b2[len(b2)-2]
	if ka >= 0 && kb >= 0 && ka != kb {
		return nil, nil, nil, fmt.Errorf("ops: node %q (MatMul): inner dims differ: %s x %s", n.Name, as, bs)
	}
	ab, bb := a2[:len(a2)-2], b2[:len(b2)-2]
	rank := max(len(ab), len(bb))
	for i := 0; i < rank; i++ {
		da, db := 1, 1
		if j := i - (rank - len(ab)); j >= 0 {
			da = ab[j]
		}
		if j := i - (rank - len(bb)); j >= 0 {
			db = bb[j]
		}
		var d int
		switch {
		case da == db || db == 1:
			d = da
		case da == 1:
			d = db
		case da < 0 || db < 0:
			d = -1
		default:
			return nil, nil, nil, fmt.Errorf("ops: node %q (MatMul): batch dims of %s and %s do not broadcast", n.Name, as, bs)
		}
		out = append(out, d)
	}
	if len(as) > 1 {
		out = append(out, a2[len(a2)-2])
	}
	if len(bs) > 1 {
		out = append(out, b2[len(b2)-1])
	}
	if out == nil {
		out = tensor.Shape{}
	}
	return out, a2, b2, nil
}

func inferMatMul(n *graph.Node) error {
	a, b := n.Input(0), n.Input(1)
	if a == nil || b == nil || len(n.Outputs) < 1 || n.Outputs[0] == nil {
		return fmt.Errorf("ops: node %q (MatMul): needs A, B and one output", n.Name)
	}
	n.Outputs[0].DType = a.DType
	if a.Shape == nil || b.Shape == nil {
		n.Outputs[0].Shape = nil
		return nil
	}
	out, _, _, err := matmulShapes(n, a.Shape, b.Shape)
	if err != nil {
		return err
	}
	n.Outputs[0].Shape = out
	return nil
}

type matmulKernel struct{ bg batchedGemm }

func compileMatMul(n *graph.Node) (Kernel, error) { return compileMatMulWith(n, CompileOptions{}) }

func compileMatMulWith(n *graph.Node, o CompileOptions) (Kernel, error) {
	if err := inferMatMul(n); err != nil {
		return nil, err
	}
	a, b := n.Input(0), n.Input(1)
	// A constant f16 B (lower.ConvertFP16) is widened as it is packed or streamed.
	if a.DType != tensor.F32 || (b.DType != tensor.F32 && !(b.DType == tensor.F16 && b.IsConst())) {
		return nil, fmt.Errorf("ops: node %q (MatMul): only f32 is supported, got %s x %s", n.Name, a.DType, b.DType)
	}
	if !a.Shape.Known() || !b.Shape.Known() {
		return nil, fmt.Errorf("ops: node %q (MatMul): shapes %s, %s not concrete", n.Name, a.Shape, b.Shape)
	}
	_, a2, b2, err := matmulShapes(n, a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	act, err := ActivationOf(n)
	if err != nil {
		return nil, err
	}
	m, k, nn := a2[len(a2)-2], a2[len(a2)-1], b2[len(b2)-1]
	aOff, bOff, cOff := matmulBatches(a2, b2)
	mk := &matmulKernel{}
	mk.bg.init(false, false, m, nn, k, 1, k, nn, nn, 0, act, aOff, bOff, cOff, o.slots())
	return mk, nil
}

func (mk *matmulKernel) ScratchBytes() int { return mk.bg.scratchBytes() }

func (mk *matmulKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	mk.bg.runB(ctx, in[0].F32(), in[1], out[0].F32())
	return nil
}

// matmulBatches lists, per batch of the broadcast product of a2 [..., m, k] and b2 [..., k, n]
// (2-D-promoted shapes), the element offsets of its A, B and C matrices.
func matmulBatches(a2, b2 tensor.Shape) (aOff, bOff, cOff []int) {
	m, k, nn := a2[len(a2)-2], a2[len(a2)-1], b2[len(b2)-1]
	ab, bb := a2[:len(a2)-2], b2[:len(b2)-2]
	rank := max(len(ab), len(bb))
	pad := func(s tensor.Shape) tensor.Shape {
		p := make(tensor.Shape, rank)
		for i := range p {
			p[i] = 1
		}
		copy(p[rank-len(s):], s)
		return p
	}
	ab, bb = pad(ab), pad(bb)
	batch := make(tensor.Shape, rank)
	total := 1
	for i := range batch {
		batch[i] = max(ab[i], bb[i])
		total *= batch[i]
	}
	aOff, bOff, cOff = make([]int, total), make([]int, total), make([]int, total)
	idx := make([]int, rank)
	for t := 0; t < total; t++ {
		ai, bi := 0, 0
		for i := 0; i < rank; i++ {
			ai *= ab[i]
			bi *= bb[i]
			if ab[i] != 1 {
				ai += idx[i]
			}
			if bb[i] != 1 {
				bi += idx[i]
			}
		}
		aOff[t], bOff[t], cOff[t] = ai*m*k, bi*k*nn, t*m*nn
		for i := rank - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < batch[i] {
				break
			}
			idx[i] = 0
		}
	}
	return aOff, bOff, cOff
}

func matMulMACs(n *graph.Node) int64 { return lastDimMACs(n, n.Input(0)) }
