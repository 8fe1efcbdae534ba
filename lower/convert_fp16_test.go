package lower

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	f32k "github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/tensor"
)

// recordReleaser records released ranges (the role importer/onnx's mapping plays).
type recordReleaser struct{ bytes int }

func (r *recordReleaser) ReleaseRange(b []byte) { r.bytes += len(b) }

func TestConvertFP16(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	b := newBuilder()
	b.input("x", tensor.F32, tensor.Shape{1, 4, 8, 8})
	b.constant("w", randT(r, tensor.Shape{4, 4, 3, 3}, -1, 1))
	b.constant("dw", randT(r, tensor.Shape{4, 1, 3, 3}, -1, 1))
	b.constant("big", f32(tensor.Shape{4, 4, 1, 1}, 1e5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
	b.constant("fc", randT(r, tensor.Shape{10, 256}, -1, 1))
	b.constant("mm", randT(r, tensor.Shape{10, 5}, -1, 1))
	b.constant("bias", randT(r, tensor.Shape{10}, -1, 1))
	b.node("Conv", "x,w", "a")
	b.node("Conv", "a,dw", "c").SetInt("group", 4)
	b.node("Conv", "c,big", "d")
	b.node("Conv", "d,w", "e") // w again: shares the converted tensor
	b.node("Flatten", "e", "f")
	b.node("Gemm", "f,fc,bias", "g").SetInt("transB", 1)
	b.node("MatMul", "g,mm", "y")
	for name, s := range map[string]tensor.Shape{"a": {1, 4, 8, 8}, "c": {1, 4, 8, 8}, "d": {1, 4, 8, 8}, "e": {1, 4, 8, 8}, "f": {1, 256}, "g": {1, 10}, "y": {1, 5}} {
		b.setShape(name, tensor.F32, s)
	}
	b.output("y")
	w := b.vals["w"].Const.F32()
	rel := &recordReleaser{}
	// Conv weights are packed for the selected micro-kernel: RoundUp(4, MR) rows of 36.
	packed := f32k.RoundUp(4, f32k.MR) * 36
	checkPass(t, b.g, func(g *graph.Graph) error { return ConvertFP16Releasing(g, rel) }, fmt.Sprintf(`
		input x f32[1,4,8,8]
		a = F16Conv(x, w_f16:const f16[%[1]d]) {packed_mr=%[2]d, weight_shape=[4 4 3 3]} -> f32[1,4,8,8]
		c = Conv(a, dw:const f32[4,1,3,3]) {group=4} -> f32[1,4,8,8]
		d = Conv(c, big:const f32[4,4,1,1]) -> f32[1,4,8,8]
		e = F16Conv(d, w_f16:const f16[%[1]d]) {packed_mr=%[2]d, weight_shape=[4 4 3 3]} -> f32[1,4,8,8]
		f = Flatten(e) -> f32[1,256]
		g = Gemm(f, fc_f16:const f16[10,256], bias:const f32[10]) {transB=1} -> f32[1,10]
		y = MatMul(g, mm_f16:const f16[10,5]) -> f32[1,5]
		output y
	`, packed, f32k.MR))
	// Every converted weight is the nearest half; each f32 tensor read (w once, big, fc, mm) released.
	if b.g.Nodes[0].Inputs[1] != b.g.Nodes[3].Inputs[1] {
		t.Error("the shared weight was converted twice")
	}
	pa := f32k.PackedA16{M: 4, K: 36, MR: f32k.MR, Data: b.g.Nodes[0].Inputs[1].Const.F16()}
	h := make([]uint16, 4*36)
	f32k.UnpackA16(h, &pa)
	for i, v := range w {
		got := float64(tensor.F16ToF32(h[i]))
		if math.Abs(got-float64(v)) > math.Abs(float64(v))*math.Exp2(-11) {
			t.Fatalf("w[%d] = %v -> %v: more than half an ulp of f16", i, v, got)
		}
	}
	if want := 4 * (4*36 + 16 + 2560 + 50); rel.bytes != want {
		t.Errorf("released %d bytes, want %d", rel.bytes, want)
	}
}

func TestConvertFP16ChunkedRelease(t *testing.T) {
	// A weight larger than one chunk is released in several pieces covering it exactly once.
	n := fp16Chunk + 1000
	w := tensor.New(tensor.F32, tensor.Shape{n/1000 + 1, 1000})
	b := newBuilder()
	b.input("x", tensor.F32, tensor.Shape{1, 1000})
	b.constant("w", w)
	b.node("Gemm", "x,w", "y").SetInt("transB", 1)
	b.setShape("y", tensor.F32, tensor.Shape{1, n/1000 + 1})
	b.output("y")
	var pieces []int
	rel := releaseFunc(func(p []byte) { pieces = append(pieces, len(p)) })
	if err := ConvertFP16Releasing(b.g, rel); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range pieces {
		total += p
		if p > 4*fp16Chunk {
			t.Errorf("released %d bytes at once, more than one chunk", p)
		}
	}
	if len(pieces) < 2 || total != len(w.Data) {
		t.Errorf("released %v (total %d), want chunks covering %d bytes", pieces, total, len(w.Data))
	}
}

type releaseFunc func([]byte)

func (f releaseFunc) ReleaseRange(b []byte) { f(b) }

// TestConvertFP16VirtualMatches: the estimate form rewrites exactly like the real pass (same Dump,
// same byte sizes) while every f16 byte comes from the virtual allocator.
func TestConvertFP16VirtualMatches(t *testing.T) {
	build := func() *graph.Graph {
		r := rand.New(rand.NewPCG(3, 4))
		b := newBuilder()
		b.input("x", tensor.F32, tensor.Shape{1, 6, 8, 8})
		b.constant("w", randT(r, tensor.Shape{15, 3, 3, 3}, -1, 1))
		b.constant("dw", randT(r, tensor.Shape{15, 1, 3, 3}, -1, 1))
		b.constant("fc", randT(r, tensor.Shape{7, 960}, -1, 1))
		b.node("Conv", "x,w", "a").SetInt("group", 2)
		b.node("Conv", "a,dw", "c").SetInt("group", 15)
		b.node("Flatten", "c", "f")
		b.node("Gemm", "f,fc", "y").SetInt("transB", 1)
		for name, s := range map[string]tensor.Shape{"a": {1, 15, 8, 8}, "c": {1, 15, 8, 8}, "f": {1, 960}, "y": {1, 7}} {
			b.setShape(name, tensor.F32, s)
		}
		b.output("y")
		return b.g
	}
	real, virt := build(), build()
	if err := ConvertFP16(real); err != nil {
		t.Fatal(err)
	}
	var asked []int
	if err := ConvertFP16Virtual(virt, func(n int) []byte { asked = append(asked, n); return make([]byte, n) }); err != nil {
		t.Fatal(err)
	}
	if a, b := real.Dump(), virt.Dump(); a != b {
		t.Fatalf("virtual rewrite differs:\n%s\nreal:\n%s", b, a)
	}
	var want []int
	for _, n := range real.Nodes {
		if w := n.Input(1); w != nil && w.DType == tensor.F16 {
			want = append(want, len(w.Const.Data))
		}
	}
	if fmt.Sprint(asked) != fmt.Sprint(want) {
		t.Errorf("virtual sizes %v, real %v", asked, want)
	}
}
