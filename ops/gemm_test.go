package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/ops/ref"
	"github.com/wanwu-ai/wanwu/tensor"
)

func TestGemmMatchesReference(t *testing.T) { forEachF32Impl(t, testGemmMatchesReference) }

func testGemmMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	pool := parallel.NewPool(3)
	defer pool.Close()
	i := 0
	for _, mnk := range [][3]int{{1, 1, 1}, {1, 1000, 300}, {3, 7, 13}, {24, 13, 7}, {70, 90, 260}} {
		m, nn, k := mnk[0], mnk[1], mnk[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, cshape := range []tensor.Shape{nil, {}, {nn}, {1, nn}, {m, 1}, {m, nn}} {
				i++
				as, bs := []int{m, k}, []int{k, nn}
				if tr[0] {
					as = []int{k, m}
				}
				if tr[1] {
					bs = []int{nn, k}
				}
				a, b := randTensor(r, as...), randTensor(r, bs...)
				alpha, beta := float32(0.5), float32(-2)
				n := &graph.Node{Name: "gemm", Op: "Gemm"}
				n.SetFloat("alpha", alpha)
				n.SetFloat("beta", beta)
				if tr[0] {
					n.SetInt("transA", 1)
				}
				if tr[1] {
					n.SetInt("transB", 1)
				}
				act := Activation{Kind: ActRelu}
				if i%2 == 0 {
					SetActivation(n, act)
				} else {
					act = Activation{}
				}
				ins := []*tensor.Tensor{a, b}
				var cfull []float32
				if cshape != nil {
					c := randTensor(r, cshape...)
					ins = append(ins, c)
					// Broadcast C to [m, nn] by hand for the reference.
					cfull = make([]float32, m*nn)
					for y := 0; y < m; y++ {
						for x := 0; x < nn; x++ {
							switch {
							case len(cshape) == 0:
								cfull[y*nn+x] = c.F32()[0]
							case len(cshape) == 1:
								cfull[y*nn+x] = c.F32()[x]
							default:
								cfull[y*nn+x] = c.F32()[min(y, cshape[0]-1)*cshape[1]+min(x, cshape[1]-1)]
							}
						}
					}
				}
				want := ref.Gemm(tr[0], tr[1], m, nn, k, alpha, a.F32(), b.F32(), beta, cfull)
				act.Apply(want)
				pl := pool
				if i%3 == 0 {
					pl = nil
				}
				t.Run(fmt.Sprintf("m%d_n%d_k%d_t%v_c%v", m, nn, k, tr, cshape), func(t *testing.T) {
					got := runOp(t, n, ins, []bool{false, i%2 == 0, true}, pl)
					if !got[0].Shape.Equal(tensor.Shape{m, nn}) {
						t.Fatalf("shape %s", got[0].Shape)
					}
					closeSlices(t, "Gemm", got[0].F32(), want, 1e-4)
				})
			}
		}
	}
}

func TestMatMulMatchesReference(t *testing.T) { forEachF32Impl(t, testMatMulMatchesReference) }

func testMatMulMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	pool := parallel.NewPool(2)
	defer pool.Close()
	for i, tc := range []struct{ a, b, out tensor.Shape }{
		{tensor.Shape{3, 7}, tensor.Shape{7, 13}, tensor.Shape{3, 13}},
		{tensor.Shape{7}, tensor.Shape{7, 13}, tensor.Shape{13}},
		{tensor.Shape{3, 7}, tensor.Shape{7}, tensor.Shape{3}},
		{tensor.Shape{7}, tensor.Shape{7}, tensor.Shape{}},
		{tensor.Shape{2, 3, 5, 7}, tensor.Shape{7, 4}, tensor.Shape{2, 3, 5, 4}},
		{tensor.Shape{5, 7}, tensor.Shape{2, 1, 7, 4}, tensor.Shape{2, 1, 5, 4}},
		{tensor.Shape{2, 1, 5, 7}, tensor.Shape{3, 7, 24}, tensor.Shape{2, 3, 5, 24}},
		{tensor.Shape{4, 7}, tensor.Shape{3, 7, 1}, tensor.Shape{3, 4, 1}},
		{tensor.Shape{1, 64, 300}, tensor.Shape{300, 70}, tensor.Shape{1, 64, 70}},
	} {
		a, b := randTensor(r, tc.a...), randTensor(r, tc.b...)
		n := &graph.Node{Name: "mm", Op: "MatMul"}
		pl := pool
		if i%2 == 0 {
			pl = nil
		}
		got := runOp(t, n, []*tensor.Tensor{a, b}, []bool{false, true}, pl)
		if !got[0].Shape.Equal(tc.out) {
			t.Fatalf("%v x %v: shape %s, want %s", tc.a, tc.b, got[0].Shape, tc.out)
		}
		// Reference: promote 1-D operands, broadcast batch dims by index arithmetic, naive product each.
		a2, b2 := tc.a, tc.b
		if len(a2) == 1 {
			a2 = tensor.Shape{1, a2[0]}
		}
		if len(b2) == 1 {
			b2 = tensor.Shape{b2[0], 1}
		}
		m, k, nn := a2[len(a2)-2], a2[len(a2)-1], b2[len(b2)-1]
		rank := max(len(a2), len(b2)) - 2
		dim := func(s tensor.Shape, i int) int {
			if j := i - (rank - (len(s) - 2)); j >= 0 {
				return s[j]
			}
			return 1
		}
		batch := 1
		for d := 0; d < rank; d++ {
			batch *= max(dim(a2, d), dim(b2, d))
		}
		var want []float32
		for bi := 0; bi < batch; bi++ {
			ai, bj, rem := 0, 0, bi
			strideOut, sa, sb := 1, 1, 1
			for d := rank - 1; d >= 0; d-- {
				od := max(dim(a2, d), dim(b2, d))
				idx := rem / strideOut % od
				if dim(a2, d) != 1 {
					ai += idx * sa
				}
				if dim(b2, d) != 1 {
					bj += idx * sb
				}
				sa *= dim(a2, d)
				sb *= dim(b2, d)
				strideOut *= od
			}
			want = append(want, ref.Gemm(false, false, m, nn, k, 1, a.F32()[ai*m*k:(ai+1)*m*k], b.F32()[bj*k*nn:(bj+1)*k*nn], 0, nil)...)
		}
		closeSlices(t, fmt.Sprint("MatMul ", tc.a, tc.b), got[0].F32(), want, 1e-4)
	}
}
