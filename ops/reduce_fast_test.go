package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/tensor"
)

// naiveReduce reduces x (shape dims) over the axes marked in red, keeping dims, by a direct index walk.
func naiveReduce(op string, x []float32, dims []int, red []bool) []float32 {
	odims := make([]int, len(dims))
	outN := 1
	for i, d := range dims {
		odims[i] = d
		if red[i] {
			odims[i] = 1
		}
		outN *= odims[i]
	}
	y := make([]float64, outN)
	seen := make([]bool, outN)
	idx := make([]int, len(dims))
	for _, v := range x {
		o := 0
		for i := range dims {
			o = o*odims[i] + map[bool]int{true: 0, false: idx[i]}[red[i]]
		}
		switch {
		case !seen[o]:
			y[o] = float64(v)
		case op == "ReduceMax":
			y[o] = math.Max(y[o], float64(v))
		case op == "ReduceMin":
			y[o] = math.Min(y[o], float64(v))
		default:
			y[o] += float64(v)
		}
		seen[o] = true
		for d := len(dims) - 1; d >= 0; d-- {
			if idx[d]++; idx[d] < dims[d] {
				break
			}
			idx[d] = 0
		}
	}
	out := make([]float32, outN)
	for i, v := range y {
		if op == "ReduceMean" {
			v /= float64(len(x) / outN)
		}
		out[i] = float32(v)
	}
	return out
}

// TestReduceRunsMatchNaive: the run-wise reduction (coalesced dims) against a naive walk, for every
// subset of axes of awkward 3-D/4-D/5-D shapes (ResNeSt's [1,2,C,H,W] radix sum included).
func TestReduceRunsMatchNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for _, dims := range [][]int{{1, 2, 7, 5, 3}, {3, 1, 13}, {2, 3, 4, 5}, {1, 2, 64, 1, 1}, {5, 1, 1, 9}} {
		for mask := 1; mask < 1<<len(dims); mask++ {
			var axes []int64
			red := make([]bool, len(dims))
			for i := range dims {
				if mask&(1<<i) != 0 {
					axes = append(axes, int64(i))
					red[i] = true
				}
			}
			for _, op := range []string{"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin"} {
				x := randTensor(r, dims...)
				n := &graph.Node{Name: "r", Op: op}
				n.SetInts("axes", axes)
				got := runOp(t, n, []*tensor.Tensor{x}, nil, nil)
				closeSlices(t, fmt.Sprintf("%s %v axes %v", op, dims, axes), got[0].F32(), naiveReduce(op, x.F32(), dims, red), 1e-5)
			}
		}
	}
}

// TestReduceLeadSumThreads: the sum over a leading dim (ResNeSt's radix sum) on activations large
// enough to be cut across threads, serial and on 2 and 3 threads, against the naive walk.
func TestReduceLeadSumThreads(t *testing.T) {
	r := rand.New(rand.NewPCG(53, 54))
	pools := []*parallel.Pool{nil, parallel.NewPool(2), parallel.NewPool(3)}
	defer func() {
		for _, p := range pools[1:] {
			p.Close()
		}
	}()
	for _, c := range []struct {
		dims []int
		axes []int64
	}{
		{[]int{1, 2, 64, 28, 28}, []int64{1}}, {[]int{2, 1, 3, 9000}, []int64{0, 1}}, {[]int{3, 40001}, []int64{0}}, {[]int{1, 1, 70000}, []int64{0, 1}},
	} {
		red := make([]bool, len(c.dims))
		for _, a := range c.axes {
			red[a] = true
		}
		x := randTensor(r, c.dims...)
		want := naiveReduce("ReduceSum", x.F32(), c.dims, red)
		for _, p := range pools {
			n := &graph.Node{Name: "r", Op: "ReduceSum"}
			n.SetInts("axes", c.axes)
			got := runOp(t, n, []*tensor.Tensor{x}, nil, p)
			closeSlices(t, fmt.Sprintf("ReduceSum %v axes %v threads %d", c.dims, c.axes, p.Threads()), got[0].F32(), want, 1e-5)
		}
	}
}
