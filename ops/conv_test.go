package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/ops/ref"
	"github.com/wanwu-ai/wanwu/tensor"
)

// runOp compiles n for the given input tensors (constants where isConst[i]) and runs it on pool,
// checking that Run does not allocate.
func runOp(t *testing.T, n *graph.Node, ins []*tensor.Tensor, isConst []bool, pool *parallel.Pool) []*tensor.Tensor {
	t.Helper()
	return runOpWith(t, n, ins, isConst, pool, nil)
}

// runOpWith is runOp compiling with o (through Def.CompileWith) when o is not nil.
func runOpWith(t *testing.T, n *graph.Node, ins []*tensor.Tensor, isConst []bool, pool *parallel.Pool, o *CompileOptions) []*tensor.Tensor {
	t.Helper()
	n.Inputs = n.Inputs[:0]
	for i, x := range ins {
		if x == nil {
			n.Inputs = append(n.Inputs, nil)
			continue
		}
		v := &graph.Value{Name: fmt.Sprint("in", i), DType: x.DType, Shape: x.Shape.Clone()}
		if isConst != nil && isConst[i] {
			v.Const = x
		}
		n.Inputs = append(n.Inputs, v)
	}
	if len(n.Outputs) == 0 {
		n.Outputs = []*graph.Value{{Name: "y"}}
	}
	d := LookupNode(n)
	if err := d.Infer(n); err != nil {
		t.Fatalf("Infer: %v", err)
	}
	compile := d.Compile
	if o != nil {
		compile = func(n *graph.Node) (Kernel, error) { return d.CompileWith(n, *o) }
	}
	k, err := compile(n)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	out := []*tensor.Tensor{tensor.New(n.Outputs[0].DType, n.Outputs[0].Shape)}
	// Poison the output: kernels must write every element.
	if out[0].DType == tensor.F32 {
		for i := range out[0].F32() {
			out[0].F32()[i] = float32(math.NaN())
		}
	}
	ctx := &Ctx{Scratch: make([]byte, k.ScratchBytes()), Pool: pool}
	if err := k.Run(ctx, ins, out); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if allocs := testing.AllocsPerRun(2, func() { _ = k.Run(ctx, ins, out) }); allocs != 0 {
		t.Errorf("Run allocates %v times", allocs)
	}
	return out
}

func randTensor(r *rand.Rand, shape ...int) *tensor.Tensor {
	x := tensor.New(tensor.F32, shape)
	for i := range x.F32() {
		x.F32()[i] = r.Float32()*2 - 1
	}
	return x
}

func closeSlices(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", name, len(got), len(want))
	}
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if !(math.Abs(g-w) <= tol*(1+math.Abs(w))) {
			t.Fatalf("%s: element %d = %v, want %v", name, i, g, w)
		}
	}
}

func ints64(v ...int) []int64 {
	r := make([]int64, len(v))
	for i, x := range v {
		r[i] = int64(x)
	}
	return r
}

type convCase struct {
	n, c, h, w, m, kh, kw, group int
	stride, dil                  [2]int
	pads                         [4]int // top, left, bottom, right
	bias                         bool
	act                          string
}

func (cc convCase) String() string {
	return fmt.Sprintf("n%d_c%d_%dx%d_m%d_k%dx%d_g%d_s%v_d%v_p%v_b%v_%s", cc.n, cc.c, cc.h, cc.w, cc.m, cc.kh, cc.kw,
		cc.group, cc.stride, cc.dil, cc.pads, cc.bias, cc.act)
}

// data draws cc's input, weight (in half precision when half is set: wIn holds the halves, the
// reference sees them rounded) and bias, and computes the reference output before any activation.
func (cc convCase) data(r *rand.Rand, half bool) (x, wIn, b *tensor.Tensor, want []float32, ws [4]int) {
	x = randTensor(r, cc.n, cc.c, cc.h, cc.w)
	w := randTensor(r, cc.m, cc.c/cc.group, cc.kh, cc.kw)
	wIn = w
	if half {
		wIn, w = toF16(w)
	}
	var bias []float32
	if cc.bias {
		b = randTensor(r, cc.m)
		bias = b.F32()
	}
	want, ws = ref.Conv(x.F32(), [4]int{cc.n, cc.c, cc.h, cc.w}, w.F32(), [4]int{cc.m, cc.c / cc.group, cc.kh, cc.kw}, bias,
		ref.Conv2D{Group: cc.group, Strides: cc.stride, Dilations: cc.dil, Pads: cc.pads})
	return x, wIn, b, want, ws
}

// testPools is no pool and pools of two and three threads, closed when t ends.
func testPools(t *testing.T) []*parallel.Pool {
	pools := []*parallel.Pool{nil, parallel.NewPool(2), parallel.NewPool(3)}
	t.Cleanup(func() {
		for _, p := range pools[1:] {
			p.Close()
		}
	})
	return pools
}

func convCases() []convCase {
	var cs []convCase
	// Awkward channel counts through every path (pointwise, im2col, grouped, depthwise).
	for _, c := range []int{1, 3, 7, 13, 24} {
		for _, m := range []int{1, 3, 7, 13, 24} {
			cs = append(cs, convCase{n: 1, c: c, h: 9, w: 7, m: m, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true})
			cs = append(cs, convCase{n: 1, c: c, h: 5, w: 11, m: m, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}})
		}
	}
	for _, s := range [][2]int{{1, 1}, {2, 2}, {2, 1}, {3, 2}} {
		for _, d := range [][2]int{{1, 1}, {2, 2}, {1, 3}} {
			for _, p := range [][4]int{{0, 0, 0, 0}, {1, 1, 1, 1}, {2, 0, 1, 3}} {
				cs = append(cs, convCase{n: 1, c: 5, h: 13, w: 11, m: 6, kh: 3, kw: 3, group: 1, stride: s, dil: d, pads: p, bias: true, act: "Relu"})
				cs = append(cs, convCase{n: 1, c: 7, h: 13, w: 11, m: 7, kh: 3, kw: 3, group: 7, stride: s, dil: d, pads: p, bias: true})
				cs = append(cs, convCase{n: 2, c: 6, h: 9, w: 10, m: 9, kh: 2, kw: 3, group: 3, stride: s, dil: d, pads: p})
			}
		}
	}
	// Depthwise 3×3 stride 1/2 (the specialised rows), multiplier 2, 5×5, wide rows, activations.
	for _, s := range []int{1, 2} {
		for _, hw := range []int{1, 2, 3, 8, 17} {
			cs = append(cs, convCase{n: 1, c: 13, h: hw, w: hw + 2, m: 13, kh: 3, kw: 3, group: 13, stride: [2]int{s, s}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true, act: "Clip"})
		}
		cs = append(cs, convCase{n: 1, c: 8, h: 12, w: 12, m: 16, kh: 3, kw: 3, group: 8, stride: [2]int{s, s}, dil: [2]int{1, 1}, pads: [4]int{0, 1, 1, 0}, bias: true, act: "HardSwish"})
		cs = append(cs, convCase{n: 1, c: 24, h: 15, w: 15, m: 24, kh: 5, kw: 5, group: 24, stride: [2]int{s, s}, dil: [2]int{1, 1}, pads: [4]int{2, 2, 2, 2}, act: "LeakyRelu"})
	}
	// Depthwise rows wide enough for full 16-lane vectors, masked tails and the stride-2 over-read
	// fallback of the AVX-512 row kernels, with the fused Relu/Clip in their epilogue.
	for _, s := range []int{1, 2} {
		cs = append(cs, convCase{n: 1, c: 5, h: 9, w: 61, m: 5, kh: 3, kw: 3, group: 5, stride: [2]int{s, s}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true, act: "Clip"},
			convCase{n: 1, c: 3, h: 11, w: 50, m: 3, kh: 5, kw: 5, group: 3, stride: [2]int{s, s}, dil: [2]int{1, 1}, pads: [4]int{2, 2, 2, 2}, bias: true, act: "Relu"})
	}
	// Depthwise planes large enough to be split in row bands across threads (dwBandMinPixels), stride
	// 1 and 2, 3×3 and 5×5, with an activation after the kernel.
	cs = append(cs,
		convCase{n: 1, c: 6, h: 58, w: 61, m: 6, kh: 3, kw: 3, group: 6, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true, act: "Relu"},
		convCase{n: 1, c: 5, h: 119, w: 114, m: 5, kh: 3, kw: 3, group: 5, stride: [2]int{2, 2}, dil: [2]int{1, 1}, pads: [4]int{0, 0, 1, 1}, bias: true, act: "HardSwish"},
		convCase{n: 1, c: 4, h: 57, w: 60, m: 4, kh: 5, kw: 5, group: 4, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{2, 2, 2, 2}, act: "Clip"},
	)
	// Big enough for several tiles, KC blocks (K = 64*9 > 256) and split rows.
	cs = append(cs,
		convCase{n: 1, c: 64, h: 23, w: 25, m: 37, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true, act: "Relu"},
		convCase{n: 1, c: 300, h: 7, w: 7, m: 70, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}, dil: [2]int{1, 1}, bias: true},
		convCase{n: 1, c: 3, h: 31, w: 29, m: 16, kh: 7, kw: 7, group: 1, stride: [2]int{2, 2}, dil: [2]int{1, 1}, pads: [4]int{3, 3, 3, 3}, bias: true, act: "Relu"},
		convCase{n: 1, c: 32, h: 9, w: 9, m: 64, kh: 3, kw: 3, group: 2, stride: [2]int{2, 2}, dil: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, bias: true},
	)
	return cs
}

// TestConvMatchesReference walks the ISA ladder: each available micro-kernel (AVX512 / AVX2 /
// Generic) compiles and runs every case, so GODEBUG=cpu.avx512f=off or -tags purego runs are covered
// by subtests rather than separate CI jobs.
func TestConvMatchesReference(t *testing.T) { forEachF32Impl(t, testConvMatchesReference) }

func forEachF32Impl(t *testing.T, f func(t *testing.T)) {
	for _, im := range f32.Impls() {
		t.Run(im.Name, func(t *testing.T) {
			if !im.Available {
				t.Skipf("%s not available here", im.Name)
			}
			defer f32.Use(im)()
			f(t)
		})
	}
}

func testConvMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pool := parallel.NewPool(3)
	defer pool.Close()
	for i, cc := range convCases() {
		x := randTensor(r, cc.n, cc.c, cc.h, cc.w)
		w := randTensor(r, cc.m, cc.c/cc.group, cc.kh, cc.kw)
		var b *tensor.Tensor
		var bias []float32
		if cc.bias {
			b = randTensor(r, cc.m)
			bias = b.F32()
		}
		want, ws := ref.Conv(x.F32(), [4]int{cc.n, cc.c, cc.h, cc.w}, w.F32(), [4]int{cc.m, cc.c / cc.group, cc.kh, cc.kw}, bias,
			ref.Conv2D{Group: cc.group, Strides: cc.stride, Dilations: cc.dil, Pads: cc.pads})
		if ws[2] <= 0 || ws[3] <= 0 {
			continue
		}
		n := &graph.Node{Name: "conv", Op: "Conv"}
		n.SetInts("strides", ints64(cc.stride[0], cc.stride[1]))
		n.SetInts("dilations", ints64(cc.dil[0], cc.dil[1]))
		n.SetInts("pads", ints64(cc.pads[0], cc.pads[1], cc.pads[2], cc.pads[3]))
		n.SetInt("group", int64(cc.group))
		var act Activation
		if cc.act != "" {
			act = Activation{Kind: actKind(cc.act), Min: -0.25, Max: 0.5, Alpha: 0.1}
			SetActivation(n, act)
		}
		// The residual form (a fused Add, passes.FuseConvAdd) against the unfused reference:
		// act(conv + b + z).
		z := randTensor(r, ws[0], ws[1], max(ws[2], 1), max(ws[3], 1))
		wantZ := append([]float32(nil), want...)
		for j := range wantZ {
			wantZ[j] += z.F32()[j]
		}
		act.Apply(wantZ)
		act.Apply(want)
		// Alternate constant / runtime weights, serial / parallel.
		wConst := i%2 == 0
		p := pool
		if i%3 == 0 {
			p = nil
		}
		t.Run(cc.String(), func(t *testing.T) {
			got := runOp(t, n, []*tensor.Tensor{x, w, b}, []bool{false, wConst, true}, p)
			if !got[0].Shape.Equal(tensor.Shape{ws[0], ws[1], ws[2], ws[3]}) {
				t.Fatalf("shape %s, want %v", got[0].Shape, ws)
			}
			closeSlices(t, "Conv", got[0].F32(), want, 1e-4)
			nz := *n
			nz.Outputs = nil
			got = runOp(t, &nz, []*tensor.Tensor{x, w, b, z}, []bool{false, wConst, true, i%4 == 1}, p)
			closeSlices(t, "Conv+Z", got[0].F32(), wantZ, 1e-4)
		})
	}
}

func TestConv1D(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := randTensor(r, 2, 5, 19)
	w := randTensor(r, 4, 5, 3)
	n := &graph.Node{Name: "conv1d", Op: "Conv"}
	n.SetInts("strides", ints64(2))
	n.SetInts("dilations", ints64(2))
	n.SetInts("pads", ints64(3, 1))
	got := runOp(t, n, []*tensor.Tensor{x, w}, []bool{false, true}, nil)
	// A 1-D convolution is a 2-D one over a height-1 image.
	want, ws := ref.Conv(x.F32(), [4]int{2, 5, 1, 19}, w.F32(), [4]int{4, 5, 1, 3}, nil,
		ref.Conv2D{Strides: [2]int{1, 2}, Dilations: [2]int{1, 2}, Pads: [4]int{0, 3, 0, 1}})
	if !got[0].Shape.Equal(tensor.Shape{2, 4, ws[3]}) {
		t.Fatalf("shape %s, want [2,4,%d]", got[0].Shape, ws[3])
	}
	closeSlices(t, "Conv1D", got[0].F32(), want, 1e-4)
}

func TestConvAutoPadShapes(t *testing.T) {
	for _, tc := range []struct {
		autoPad     string
		in, k, s, d int
		out, pb, pe int
	}{
		{"SAME_UPPER", 7, 3, 2, 1, 4, 1, 1},
		{"SAME_UPPER", 8, 3, 2, 1, 4, 0, 1},
		{"SAME_LOWER", 8, 3, 2, 1, 4, 1, 0},
		{"SAME_UPPER", 5, 4, 1, 1, 5, 1, 2},
		{"SAME_LOWER", 5, 4, 1, 1, 5, 2, 1},
		{"VALID", 7, 3, 2, 1, 3, 0, 0},
		{"VALID", 9, 3, 1, 3, 3, 0, 0},
	} {
		n := &graph.Node{Name: "c", Op: "Conv"}
		n.SetStr("auto_pad", tc.autoPad)
		n.SetInts("strides", ints64(tc.s))
		n.SetInts("dilations", ints64(tc.d))
		w, err := resolveWindow(n, []int{tc.in}, []int{tc.k}, false)
		if err != nil {
			t.Fatal(err)
		}
		if w.out[0] != tc.out || w.padB[0] != tc.pb || w.padE[0] != tc.pe {
			t.Errorf("%+v: out %d pads %d,%d", tc, w.out[0], w.padB[0], w.padE[0])
		}
		// Cross-check: the resolved pads give the same size under the explicit-pads formula.
		if o := ref.OutSize(tc.in, tc.k, tc.s, tc.d, w.padB[0], w.padE[0], false); o != tc.out {
			t.Errorf("%+v: explicit-pad size %d", tc, o)
		}
	}
}

func TestConvRejects(t *testing.T) {
	x := &graph.Value{Name: "x", DType: tensor.F32, Shape: tensor.Shape{1, 4, 5, 5}}
	for name, mk := range map[string]func() *graph.Node{
		"group mismatch": func() *graph.Node {
			n := &graph.Node{Op: "Conv", Inputs: []*graph.Value{x, {Name: "w", DType: tensor.F32, Shape: tensor.Shape{6, 3, 3, 3}}}}
			n.SetInt("group", 2)
			return n
		},
		"3-D": func() *graph.Node {
			x3 := &graph.Value{Name: "x", DType: tensor.F32, Shape: tensor.Shape{1, 4, 5, 5, 5}}
			return &graph.Node{Op: "Conv", Inputs: []*graph.Value{x3, {Name: "w", DType: tensor.F32, Shape: tensor.Shape{2, 4, 3, 3, 3}}}}
		},
		"bad auto_pad": func() *graph.Node {
			n := &graph.Node{Op: "Conv", Inputs: []*graph.Value{x, {Name: "w", DType: tensor.F32, Shape: tensor.Shape{2, 4, 3, 3}}}}
			n.SetStr("auto_pad", "SAME")
			return n
		},
		"kernel too big": func() *graph.Node {
			return &graph.Node{Op: "Conv", Inputs: []*graph.Value{x, {Name: "w", DType: tensor.F32, Shape: tensor.Shape{2, 4, 7, 7}}}}
		},
	} {
		n := mk()
		n.Name = name
		n.Outputs = []*graph.Value{{Name: "y"}}
		if _, err := compileConv(n); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v, want an error naming the node", name, err)
		}
	}
}

// resnetConvs are ResNet-50's distinct convolution layers at 224×224 (and a MobileNetV2 depthwise one).
var resnetConvs = []convCase{
	{n: 1, c: 3, h: 224, w: 224, m: 64, kh: 7, kw: 7, group: 1, stride: [2]int{2, 2}, pads: [4]int{3, 3, 3, 3}},
	{n: 1, c: 64, h: 56, w: 56, m: 64, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}},
	{n: 1, c: 64, h: 56, w: 56, m: 64, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}},
	{n: 1, c: 64, h: 56, w: 56, m: 256, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}},
	{n: 1, c: 256, h: 56, w: 56, m: 64, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}},
	{n: 1, c: 256, h: 56, w: 56, m: 128, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}},
	{n: 1, c: 128, h: 56, w: 56, m: 128, kh: 3, kw: 3, group: 1, stride: [2]int{2, 2}, pads: [4]int{1, 1, 1, 1}},
	{n: 1, c: 256, h: 56, w: 56, m: 512, kh: 1, kw: 1, group: 1, stride: [2]int{2, 2}},
	{n: 1, c: 128, h: 28, w: 28, m: 512, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}},
	{n: 1, c: 512, h: 28, w: 28, m: 128, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}},
	{n: 1, c: 128, h: 28, w: 28, m: 128, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}},
	{n: 1, c: 512, h: 28, w: 28, m: 256, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}},
	{n: 1, c: 256, h: 28, w: 28, m: 256, kh: 3, kw: 3, group: 1, stride: [2]int{2, 2}, pads: [4]int{1, 1, 1, 1}},
	{n: 1, c: 512, h: 28, w: 28, m: 1024, kh: 1, kw: 1, group: 1, stride: [2]int{2, 2}},
	{n: 1, c: 256, h: 14, w: 14, m: 1024, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}},
	{n: 1, c: 1024, h: 14, w: 14, m: 256, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}},
	{n: 1, c: 256, h: 14, w: 14, m: 256, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}},
	{n: 1, c: 1024, h: 14, w: 14, m: 512, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}},
	{n: 1, c: 512, h: 14, w: 14, m: 512, kh: 3, kw: 3, group: 1, stride: [2]int{2, 2}, pads: [4]int{1, 1, 1, 1}},
	{n: 1, c: 1024, h: 14, w: 14, m: 2048, kh: 1, kw: 1, group: 1, stride: [2]int{2, 2}},
	{n: 1, c: 512, h: 7, w: 7, m: 2048, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}},
	{n: 1, c: 2048, h: 7, w: 7, m: 512, kh: 1, kw: 1, group: 1, stride: [2]int{1, 1}},
	{n: 1, c: 512, h: 7, w: 7, m: 512, kh: 3, kw: 3, group: 1, stride: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}},
	{n: 1, c: 144, h: 56, w: 56, m: 144, kh: 3, kw: 3, group: 144, stride: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}},
}

// BenchmarkConvResNet times single-threaded Conv layers (constant weights, bias, Relu) as the runtime
// runs them; GFLOP/s is from the fastest run (see f32's timeBest), to set against BenchmarkFMAPeak.
func BenchmarkConvResNet(b *testing.B) {
	for _, cc := range resnetConvs {
		b.Run(fmt.Sprintf("c%d_%dx%d_m%d_k%d_s%d_g%d", cc.c, cc.h, cc.w, cc.m, cc.kh, cc.stride[0], cc.group), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			x := randTensor(r, cc.n, cc.c, cc.h, cc.w)
			w := randTensor(r, cc.m, cc.c/cc.group, cc.kh, cc.kw)
			bias := randTensor(r, cc.m)
			n := &graph.Node{Name: "conv", Op: "Conv", Outputs: []*graph.Value{{Name: "y"}},
				Inputs: []*graph.Value{{Name: "x", DType: tensor.F32, Shape: x.Shape}, {Name: "w", DType: tensor.F32, Shape: w.Shape, Const: w},
					{Name: "b", DType: tensor.F32, Shape: bias.Shape, Const: bias}}}
			n.SetInts("strides", ints64(cc.stride[0], cc.stride[1]))
			n.SetInts("pads", ints64(cc.pads[0], cc.pads[1], cc.pads[2], cc.pads[3]))
			n.SetInt("group", int64(cc.group))
			n.SetStr(graph.AttrActivation, "Relu")
			if err := inferConv(n); err != nil {
				b.Fatal(err)
			}
			k, err := compileConv(n)
			if err != nil {
				b.Fatal(err)
			}
			y := tensor.New(tensor.F32, n.Outputs[0].Shape)
			ctx := &Ctx{Scratch: make([]byte, k.ScratchBytes())}
			ins, outs := []*tensor.Tensor{x, w, bias}, []*tensor.Tensor{y}
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			_ = k.Run(ctx, ins, outs)
			const passes = 2048
			best, bestPeak := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				_ = k.Run(ctx, ins, outs)
				best = min(best, time.Since(t0))
				t0 = time.Now()
				if f32.FMALoop(passes) {
					bestPeak = min(bestPeak, time.Since(t0))
				}
			}
			flop := 2 * float64(y.NumElements()*cc.c/cc.group*cc.kh*cc.kw)
			b.ReportMetric(flop/best.Seconds()/1e9, "GFLOP/s")
			b.ReportMetric(float64(best.Microseconds()), "best-µs")
			if bestPeak < time.Hour {
				// Against the FMA loop timed between the runs (the clock moves with the other core's load).
				b.ReportMetric(100*flop/best.Seconds()/(passes*f32.FMALoopFlops/bestPeak.Seconds()), "%peak")
			}
		})
	}
}

// actKind is the fused activation kind a test case names.
func actKind(name string) ActKind {
	k, ok := graph.ActKindNamed(name)
	if !ok {
		panic("unknown activation " + name)
	}
	return k
}
