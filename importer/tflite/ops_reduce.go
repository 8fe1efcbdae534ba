package tflite

import (
	"fmt"

	"github.com/wanwu-ai/wanwu/graph"
	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
	"github.com/wanwu-ai/wanwu/tensor"
)

// reduceOps maps the reductions (axes in input 1, ReducerOptions.keep_dims) to IR ops. Only MEAN
// has a quantized form (over the spatial axes: QLinearGlobalAveragePool).
var reduceOps = map[fb.BuiltinOperator]string{
	fb.BuiltinOperatorMEAN: "ReduceMean", fb.BuiltinOperatorSUM: "ReduceSum", fb.BuiltinOperatorREDUCE_MAX: "ReduceMax",
}

func convReduce(b *builder, o *opc) error {
	code, opName := b.builtin(o.op)
	irOp := reduceOps[code]
	x, err := b.in(o, 0)
	if err != nil {
		return err
	}
	xt := o.in[0]
	rank := len(xt.shape)
	axes, err := constAxes(o.in[1])
	if err != nil {
		return err
	}
	keep := opts[fb.ReducerOptions](o).KeepDims()
	ir := map[int]bool{}
	for _, a := range axes {
		if a < -rank || a >= rank {
			return fmt.Errorf("axis %d out of range", a)
		}
		ir[axisNCHW(a, rank)] = true
	}
	if quantized(o) {
		if code != fb.BuiltinOperatorMEAN {
			return fmt.Errorf("quantized %s is not supported (float models only)", opName)
		}
		if rank != 4 || len(ir) != 2 || !ir[2] || !ir[3] {
			return fmt.Errorf("quantized MEAN only over the spatial axes of a 4-D tensor")
		}
		xs, xz := b.qparams(xt)
		ys, yz := b.qparams(o.out[0])
		pooled := &graph.Value{Name: b.name(o.out[0].name + "_pool"), DType: actType(o.out[0]), Shape: tensor.Shape{xt.shape[0], xt.shape[3], 1, 1}}
		n := b.node("QLinearGlobalAveragePool", []*graph.Value{x, xs, xz, ys, yz}, pooled)
		n.SetStr(graph.AttrRounding, graph.RoundingTFLite)
		if keep {
			b.vals[o.out[0].ti] = pooled
			return nil
		}
		b.reshapeTo(pooled, o.out[0])
		return nil
	}
	irAxes := make([]int64, 0, len(ir))
	for a := 0; a < rank; a++ {
		if ir[a] {
			irAxes = append(irAxes, int64(a))
		}
	}
	if !keep && rank == 4 && len(o.out[0].shape) != 4 {
		// Reducing to a lower rank: reduce in NCHW keeping dims, then squeeze in NHWC element order.
		pooled := &graph.Value{Name: b.name(o.out[0].name + "_keep"), DType: x.DType}
		n := b.node(irOp, []*graph.Value{x, b.i64Const("axes", irAxes)}, pooled)
		n.SetInt("keepdims", 1)
		kshape := xt.shape.Clone()
		for _, a := range axes {
			kshape[(a+rank)%rank] = 1
		}
		pooled.Shape = nchw(kshape)
		tk := &tinfo{name: pooled.Name, shape: kshape, dt: xt.dt}
		b.reshapeTo(b.flatNHWC(pooled, tk), o.out[0])
		return nil
	}
	y := b.newAct(o.out[0])
	n := b.node(irOp, []*graph.Value{x, b.i64Const("axes", irAxes)}, y)
	if keep {
		n.SetInt("keepdims", 1)
	} else {
		n.SetInt("keepdims", 0)
	}
	return nil
}
