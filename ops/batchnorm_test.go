package ops

import (
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/ops/ref"
	"github.com/wanwu-ai/wanwu/tensor"
)

func TestBatchNormMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	pool := parallel.NewPool(2)
	defer pool.Close()
	for i, shape := range [][]int{{1, 3, 5, 7}, {2, 13, 4, 4}, {3, 24}, {1, 7, 9}} {
		x := randTensor(r, shape...)
		c := shape[1]
		scale, bias, mean := randTensor(r, c), randTensor(r, c), randTensor(r, c)
		variance := randTensor(r, c)
		for j, v := range variance.F32() {
			variance.F32()[j] = v*v + 0.1
		}
		n := &graph.Node{Name: "bn", Op: "BatchNormalization"}
		n.SetFloat("epsilon", 1e-3)
		spatial := 1
		for _, d := range shape[2:] {
			spatial *= d
		}
		want := ref.BatchNorm(x.F32(), shape[0], c, spatial, scale.F32(), bias.F32(), mean.F32(), variance.F32(), 1e-3)
		isConst := i%2 == 0 // statistics constant (folded in Compile) or runtime inputs (folded into scratch)
		got := runOp(t, n, []*tensor.Tensor{x, scale, bias, mean, variance}, []bool{false, isConst, isConst, isConst, isConst}, pool)
		closeSlices(t, "BatchNorm", got[0].F32(), want, 1e-5)

		// In place: out aliases in[0].
		k, err := compileBatchNorm(n)
		if err != nil {
			t.Fatal(err)
		}
		xc := x.Clone()
		if err := k.Run(&Ctx{Scratch: make([]byte, k.ScratchBytes())}, []*tensor.Tensor{xc, scale, bias, mean, variance}, []*tensor.Tensor{xc}); err != nil {
			t.Fatal(err)
		}
		closeSlices(t, "BatchNorm in place", xc.F32(), want, 1e-5)
	}
}

func TestBatchNormRejectsTraining(t *testing.T) {
	c := &graph.Value{Name: "c", DType: tensor.F32, Shape: tensor.Shape{2}}
	n := &graph.Node{Name: "bn", Op: "BatchNormalization",
		Inputs:  []*graph.Value{{Name: "x", DType: tensor.F32, Shape: tensor.Shape{1, 2, 3, 3}}, c, c, c, c},
		Outputs: []*graph.Value{{Name: "y"}}}
	n.SetInt("training_mode", 1)
	if _, err := compileBatchNorm(n); err == nil {
		t.Fatal("training_mode=1 compiled")
	}
}
