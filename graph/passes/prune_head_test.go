package passes

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"

	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/tensor"
)

func randF32(r *rand.Rand, shape tensor.Shape) *tensor.Tensor {
	v := make([]float32, shape.NumElements())
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return tensor.FromF32(shape, v)
}

// The pruned graph must compute exactly the kept classes of the original (logits), and a trailing
// Softmax must renormalise over the kept classes only.
func TestPruneHead(t *testing.T) {
	requireOps(t, "Gemm", "MatMul", "Add", "Conv", "Flatten", "Softmax")
	const feat, classes = 7, 13
	cases := []struct {
		name    string
		build   func(b *builder, r *rand.Rand)
		softmax bool
	}{
		{"gemm_transB", func(b *builder, r *rand.Rand) {
			b.constant("w", randF32(r, tensor.Shape{classes, feat}))
			b.constant("c", randF32(r, tensor.Shape{classes}))
			b.node("Gemm", "x,w,c", "y").SetInt("transB", 1)
		}, false},
		{"gemm_KN_bias2d", func(b *builder, r *rand.Rand) {
			b.constant("w", randF32(r, tensor.Shape{feat, classes}))
			b.constant("c", randF32(r, tensor.Shape{1, classes}))
			b.node("Gemm", "x,w,c", "y")
		}, false},
		{"matmul_add_softmax", func(b *builder, r *rand.Rand) {
			b.constant("w", randF32(r, tensor.Shape{feat, classes}))
			b.constant("c", randF32(r, tensor.Shape{classes}))
			b.node("MatMul", "x,w", "mm")
			b.node("Add", "c,mm", "logits")
			b.node("Softmax", "logits", "y").SetInt("axis", -1)
		}, true},
		{"conv1x1_flatten", func(b *builder, r *rand.Rand) {
			b.constant("w", randF32(r, tensor.Shape{classes, feat, 1, 1}))
			b.constant("c", randF32(r, tensor.Shape{classes}))
			b.node("Reshape", "x,xs", "x4")
			b.constant("xs", tensor.FromI64(tensor.Shape{4}, []int64{2, feat, 1, 1}))
			b.node("Conv", "x4,w,c", "conv")
			b.node("Flatten", "conv", "y")
		}, false},
	}
	for _, tc := range cases {
		for _, keep := range [][]int{{0, 4, 5, 12}, {3, 4, 5, 6}, {9}} {
			t.Run(tc.name, func(t *testing.T) {
				r := rand.New(rand.NewPCG(1, 2))
				b := newBuilder()
				b.input("x", tensor.F32, tensor.Shape{2, feat})
				tc.build(b, r)
				b.output("y")
				if err := InferShapes(b.g, ops.Semantics{}, nil); err != nil {
					t.Fatal(err)
				}
				x := randF32(r, tensor.Shape{2, feat})
				want := evalGraph(t, b.g, map[string]*tensor.Tensor{"x": x})[0].F32()
				wBefore := append([]byte(nil), b.vals["w"].Const.Data...)

				if err := PruneHead(b.g, keep); err != nil {
					t.Fatal(err)
				}
				if err := b.g.Validate(); err != nil {
					t.Fatal(err)
				}
				if err := InferShapes(b.g, ops.Semantics{}, nil); err != nil {
					t.Fatal(err)
				}
				if got := b.g.Outputs[0].Shape; !got.Equal(tensor.Shape{2, len(keep)}) {
					t.Fatalf("output shape %s, want [2,%d]", got, len(keep))
				}
				got := evalGraph(t, b.g, map[string]*tensor.Tensor{"x": x})[0].F32()
				for row := 0; row < 2; row++ {
					sum := 0.0
					for _, k := range keep {
						sum += float64(want[row*classes+k])
					}
					for i, k := range keep {
						w := float64(want[row*classes+k])
						if tc.softmax {
							w /= sum
						}
						if d := math.Abs(float64(got[row*len(keep)+i]) - w); d > 1e-5*(1+math.Abs(w)) {
							t.Fatalf("keep %v row %d class %d: %g, want %g", keep, row, k, got[row*len(keep)+i], w)
						}
					}
				}
				if string(wBefore) != string(b.vals["w"].Const.Data) {
					t.Fatal("the original weight constant was modified")
				}
			})
		}
	}
}

// A contiguous run of class-major rows is a view of the original bytes (the mapped file), not a copy;
// scattered rows copy only the kept rows.
func TestPruneHeadViewsContiguousRows(t *testing.T) {
	const feat, classes = 4, 10
	r := rand.New(rand.NewPCG(3, 4))
	b := newBuilder()
	b.input("x", tensor.F32, tensor.Shape{1, feat})
	w := b.constant("w", randF32(r, tensor.Shape{classes, feat}))
	b.node("Gemm", "x,w", "y").SetInt("transB", 1)
	b.output("y")
	g := b.g
	if err := PruneHead(g, []int{2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	nw := g.Nodes[0].Inputs[1].Const
	if unsafe.SliceData(nw.Data) != &w.Const.Data[2*feat*4] || len(nw.Data) != 3*feat*4 {
		t.Fatalf("contiguous rows were copied, not viewed")
	}
}

func TestPruneHeadErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(b *builder)
		keep  []int
		want  string
	}{
		{"out_of_range", func(b *builder) {
			b.constant("w", tensor.New(tensor.F32, tensor.Shape{5, 3}))
			b.node("Gemm", "x,w", "y").SetInt("transB", 1)
		}, []int{1, 5}, "out of range"},
		{"unsorted", func(b *builder) {
			b.constant("w", tensor.New(tensor.F32, tensor.Shape{5, 3}))
			b.node("Gemm", "x,w", "y").SetInt("transB", 1)
		}, []int{3, 1}, "ascending"},
		{"not_a_classifier", func(b *builder) {
			b.node("Relu", "x", "y")
		}, []int{0}, "must be Gemm"},
		{"dynamic_weight", func(b *builder) {
			b.node("MatMul", "x,x", "y")
		}, []int{0}, "not a constant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder()
			b.input("x", tensor.F32, tensor.Shape{3, 3})
			tc.build(b)
			b.output("y")
			err := PruneHead(b.g, tc.keep)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
