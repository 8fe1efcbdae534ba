package ops

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/q8"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/tensor"
)

// TestQLinearConvFastMatchesGeneric runs every TFLite-rounded QLinearConv shape class through the
// fast paths (VNNI and their pure-Go forms) and through the generic loops, and demands identical
// bytes: awkward channel counts (1, 3, 7, 13, 24), odd planes, tails of every NR/16-lane width,
// both strides, symmetric and TF-SAME pads, grouped convs, u8 per-tensor weights whose w-wz does not
// fit in s8, i8 per-channel weights, batch 2, 1 and 2 threads. Outputs and scratch are followed by
// guard bytes that must survive.
func TestQLinearConvFastMatchesGeneric(t *testing.T) {
	type cse struct {
		cin, cout, h, w, k, s int
		pads                  [4]int
		group, batch          int
		wType                 tensor.DType
		perChannel            bool
		act                   string
		wantFast              int
	}
	var cases []cse
	for _, wt := range []tensor.DType{tensor.U8, tensor.I8} {
		pc := wt == tensor.I8
		cases = append(cases,
			cse{3, 32, 17, 15, 3, 2, [4]int{0, 0, 1, 1}, 1, 1, wt, pc, "Clip", qlFastGemm}, // first conv
			cse{24, 13, 7, 9, 1, 1, [4]int{}, 1, 1, wt, pc, "", qlFastGemm},                // 1x1 direct
			cse{13, 24, 9, 11, 1, 1, [4]int{}, 1, 2, wt, pc, "Relu", qlFastGemm},           // 1x1, K%4 != 0
			cse{16, 40, 15, 15, 1, 1, [4]int{}, 1, 1, wt, pc, "Clip", qlFastGemm},          // 225 pixels: NR tail
			cse{8, 7, 1, 1, 1, 1, [4]int{}, 1, 1, wt, pc, "", qlFastGemm},                  // one pixel
			cse{7, 9, 11, 13, 3, 1, [4]int{1, 1, 1, 1}, 1, 1, wt, pc, "Relu", qlFastGemm},  // 3x3 im2col
			cse{8, 6, 9, 9, 3, 1, [4]int{1, 1, 1, 1}, 2, 1, wt, pc, "", qlFastGemm},        // grouped
			cse{12, 8, 10, 10, 1, 2, [4]int{}, 1, 1, wt, pc, "", qlFastGemm},               // strided 1x1
			cse{7, 7, 13, 9, 3, 1, [4]int{1, 1, 1, 1}, 7, 1, wt, pc, "Clip", qlFastDW},     // depthwise s1
			cse{13, 13, 17, 33, 3, 2, [4]int{0, 0, 1, 1}, 13, 2, wt, pc, "Clip", qlFastDW}, // depthwise s2 TF pads
			cse{24, 24, 7, 7, 3, 1, [4]int{1, 1, 1, 1}, 24, 1, wt, pc, "", qlFastDW},       // 7x7 planes
			cse{3, 3, 1, 1, 3, 1, [4]int{1, 1, 1, 1}, 3, 1, wt, pc, "Relu", qlFastDW},      // 1x1 plane
			cse{5, 5, 16, 18, 3, 2, [4]int{1, 1, 1, 1}, 5, 1, wt, pc, "", qlFastDW},        // depthwise s2 symmetric
			cse{1, 1, 9, 7, 3, 1, [4]int{1, 1, 1, 1}, 1, 1, wt, pc, "Relu", qlFastDW},      // one channel
			cse{33, 1, 5, 7, 1, 1, [4]int{}, 1, 1, wt, pc, "", qlFastGemm},                 // 33 -> 1, odd plane
			cse{33, 33, 11, 15, 3, 2, [4]int{1, 1, 1, 1}, 33, 1, wt, pc, "Clip", qlFastDW}, // depthwise, 33 channels
			cse{13, 13, 3, 29, 3, 1, [4]int{1, 1, 1, 1}, 13, 1, wt, pc, "", qlFastDW},      // 29 wide: 16 + 13 tail
			cse{4, 8, 8, 8, 3, 1, [4]int{1, 1, 1, 1}, 4, 1, wt, pc, "", qlFastNone},        // multiplier 2: generic
			cse{3, 3, 9, 9, 5, 1, [4]int{2, 2, 2, 2}, 3, 1, wt, pc, "", qlFastNone},        // depthwise 5x5: generic
		)
	}
	r := rand.New(rand.NewPCG(11, 12))
	for ci, c := range cases {
		name := fmt.Sprintf("%d_%s_%dx%dx%d_k%d_s%d_g%d", ci, c.wType, c.cin, c.h, c.w, c.k, c.s, c.group)
		t.Run(name, func(t *testing.T) {
			n, in := qlFastNode(r, c.cin, c.cout, c.h, c.w, c.k, c.s, c.pads, c.group, c.batch, c.wType, c.perChannel, c.act)
			fastK, err := compileQLinearConv(n)
			if err != nil {
				t.Fatal(err)
			}
			if got := fastK.(*qlConvKernel).fast.kind; got != c.wantFast {
				t.Fatalf("fast path %d, want %d", got, c.wantFast)
			}
			qlFastOff = true
			genK, err := compileQLinearConv(n)
			qlFastOff = false
			if err != nil {
				t.Fatal(err)
			}
			want := qlRunGuarded(t, genK, n, in, nil)
			for _, im := range q8.Impls() {
				if !im.Available {
					continue
				}
				restore := q8.Use(im)
				for _, threads := range []int{1, 2} {
					pool := parallel.NewPool(threads)
					got := qlRunGuarded(t, fastK, n, in, pool)
					pool.Close()
					if i := firstDiff(got, want); i >= 0 {
						restore()
						t.Fatalf("%s, %d threads: byte %d = %d, generic %d", im.Name, threads, i, got[i], want[i])
					}
				}
				restore()
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// qlRunGuarded runs k once with guard bytes after the output and the scratch and returns the output.
func qlRunGuarded(t *testing.T, k Kernel, n *graph.Node, in []*tensor.Tensor, pool *parallel.Pool) []byte {
	t.Helper()
	const g = 128
	out := n.Outputs[0]
	size := out.Shape.NumElements()
	buf := make([]byte, size+g)
	sbuf := make([]byte, k.ScratchBytes()+g)
	for i := range buf {
		buf[i] = 0xc3
	}
	for i := range sbuf {
		sbuf[i] = 0xc3
	}
	y := &tensor.Tensor{DType: out.DType, Shape: out.Shape.Clone(), Data: buf[:size]}
	if err := k.Run(&Ctx{Scratch: sbuf[:k.ScratchBytes()], Pool: pool}, in, []*tensor.Tensor{y}); err != nil {
		t.Fatal(err)
	}
	for i, v := range buf[size:] {
		if v != 0xc3 {
			t.Fatalf("output guard byte %d overwritten", i)
		}
	}
	for i, v := range sbuf[k.ScratchBytes():] {
		if v != 0xc3 {
			t.Fatalf("scratch guard byte %d overwritten", i)
		}
	}
	return append([]byte(nil), y.Data...)
}

// qlFastNode builds a TFLite-rounded QLinearConv with random u8 input, weights, bias and scales
// (per-tensor u8 weights with a zero point, or per-channel i8), and returns it with its run inputs.
func qlFastNode(r *rand.Rand, cin, cout, h, w, k, s int, pads [4]int, group, batch int, wt tensor.DType, perChannel bool, act string) (*graph.Node, []*tensor.Tensor) {
	cg := cin / group
	x := qlRand(r, tensor.U8, tensor.Shape{batch, cin, h, w})
	wv := qlRand(r, wt, tensor.Shape{cout, cg, k, k})
	nq := 1
	if perChannel {
		nq = cout
	}
	ws := make([]float32, nq)
	for i := range ws {
		ws[i] = 0.001 + 0.02*r.Float32()
	}
	wz := tensor.New(wt, tensor.Shape{nq})
	if wt == tensor.U8 {
		wz.Data[0] = byte(90 + r.IntN(80))
	}
	bias := tensor.New(tensor.I32, tensor.Shape{cout})
	for i := range bias.I32() {
		bias.I32()[i] = int32(r.IntN(40000) - 20000)
	}
	attrs := map[string]graph.Attr{
		"pads":             {Kind: graph.AttrInts, Ints: []int64{int64(pads[0]), int64(pads[1]), int64(pads[2]), int64(pads[3])}},
		"strides":          {Kind: graph.AttrInts, Ints: []int64{int64(s), int64(s)}},
		"group":            {Kind: graph.AttrInt, Int: int64(group)},
		graph.AttrRounding: {Kind: graph.AttrString, Str: graph.RoundingTFLite},
	}
	switch act {
	case "Relu":
		attrs[graph.AttrActivation] = graph.Attr{Kind: graph.AttrString, Str: "Relu"}
	case "Clip":
		attrs[graph.AttrActivation] = graph.Attr{Kind: graph.AttrString, Str: "Clip"}
		attrs[graph.AttrActivationMin] = graph.Attr{Kind: graph.AttrFloat, Float: 0}
		attrs[graph.AttrActivationMax] = graph.Attr{Kind: graph.AttrFloat, Float: 6}
	}
	xv := &graph.Value{Name: "x", DType: tensor.U8, Shape: x.Shape.Clone()}
	ins := []*graph.Value{xv, qlScalar(0.02 + 0.01*r.Float32()), qlZP(tensor.U8, int32(r.IntN(256))),
		qlc("w", wv), qlc("ws", tensor.FromF32(tensor.Shape{nq}, ws)), qlc("wz", wz),
		qlScalar(0.03 + 0.05*r.Float32()), qlZP(tensor.U8, int32(r.IntN(256))), qlc("b", bias)}
	n := &graph.Node{Name: "conv", Op: "QLinearConv", Inputs: ins, Outputs: []*graph.Value{{Name: "y"}}, Attrs: attrs}
	rt := make([]*tensor.Tensor, len(ins))
	for i, v := range ins {
		rt[i] = v.Const
	}
	rt[0] = x
	return n, rt
}
