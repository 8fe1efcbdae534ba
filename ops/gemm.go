package ops

import (
	"fmt"
	"unsafe"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Gemm: ONNX Gemm, Y = alpha*op(A)*op(B) + beta*C with C broadcast unidirectionally to [M, N], plus
// a fused activation. Y is first filled with beta*C, then the blocked f32.Gemm accumulates into it;
// the work is split into column ranges across threads (see batchedGemm).

func init() {
	Register("Gemm", &Def{Infer: inferGemm, Compile: compileGemm, CompileWith: compileGemmWith, MACs: gemmMACs})
}

// bytesAsF32 views scratch bytes as float32s (the arena keeps scratch 4-byte aligned).
func bytesAsF32(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

func gemmDims(n *graph.Node) (m, k, nn int, err error) {
	a, b := n.Input(0), n.Input(1)
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return 0, 0, 0, fmt.Errorf("ops: node %q (Gemm): A %s and B %s must be 2-D", n.Name, a.Shape, b.Shape)
	}
	m, k = a.Shape[0], a.Shape[1]
	if n.Int("transA", 0) != 0 {
		m, k = k, m
	}
	kb, nn := b.Shape[0], b.Shape[1]
	if n.Int("transB", 0) != 0 {
		kb, nn = nn, kb
	}
	if k >= 0 && kb >= 0 && k != kb {
		return 0, 0, 0, fmt.Errorf("ops: node %q (Gemm): inner dims differ: A %s, B %s", n.Name, a.Shape, b.Shape)
	}
	return m, k, nn, nil
}

func inferGemm(n *graph.Node) error {
	if n.Input(0) == nil || n.Input(1) == nil || len(n.Outputs) < 1 || n.Outputs[0] == nil {
		return fmt.Errorf("ops: node %q (Gemm): needs A, B and one output", n.Name)
	}
	n.Outputs[0].DType = tensor.F32
	if n.Input(0).Shape == nil || n.Input(1).Shape == nil {
		n.Outputs[0].Shape = nil
		return nil
	}
	m, _, nn, err := gemmDims(n)
	if err != nil {
		return err
	}
	n.Outputs[0].Shape = tensor.Shape{m, nn}
	return nil
}

type gemmKernel struct {
	bg    batchedGemm
	beta  float32
	cRows int // rows of C after prepending 1s (0 when absent)
	cCols int
}

func compileGemm(n *graph.Node) (Kernel, error) { return compileGemmWith(n, CompileOptions{}) }

func compileGemmWith(n *graph.Node, o CompileOptions) (Kernel, error) {
	if err := inferGemm(n); err != nil {
		return nil, err
	}
	a, b, c := n.Input(0), n.Input(1), n.Input(2)
	for i, v := range []*graph.Value{a, b, c} {
		if i == 1 && v.DType == tensor.F16 && v.IsConst() {
			continue // a constant f16 B (lower.ConvertFP16) is widened as it is packed or streamed
		}
		if v != nil && v.DType != tensor.F32 {
			return nil, fmt.Errorf("ops: node %q (Gemm): only f32 is supported, got %s", n.Name, v.DType)
		}
		if v != nil && !v.Shape.Known() {
			return nil, fmt.Errorf("ops: node %q (Gemm): shape %s not concrete", n.Name, v.Shape)
		}
	}
	m, kk, nn, err := gemmDims(n)
	if err != nil {
		return nil, err
	}
	g := &gemmKernel{beta: n.Float("beta", 1)}
	if c != nil {
		cs := c.Shape
		if len(cs) > 2 {
			return nil, fmt.Errorf("ops: node %q (Gemm): C %s has rank > 2", n.Name, cs)
		}
		g.cRows, g.cCols = 1, 1
		if len(cs) == 2 {
			g.cRows, g.cCols = cs[0], cs[1]
		} else if len(cs) == 1 {
			g.cCols = cs[0]
		}
		if (g.cRows != 1 && g.cRows != m) || (g.cCols != 1 && g.cCols != nn) {
			return nil, fmt.Errorf("ops: node %q (Gemm): C %s does not broadcast to [%d,%d]", n.Name, cs, m, nn)
		}
	}
	act, err := ActivationOf(n)
	if err != nil {
		return nil, err
	}
	lda, ldb := a.Shape[1], b.Shape[1]
	g.bg.init(n.Int("transA", 0) != 0, n.Int("transB", 0) != 0, m, nn, kk, n.Float("alpha", 1), lda, ldb, nn, 1, act,
		[]int{0}, []int{0}, []int{0}, o.slots())
	return g, nil
}

func (g *gemmKernel) ScratchBytes() int { return g.bg.scratchBytes() }

func (g *gemmKernel) Run(ctx *Ctx, in, out []*tensor.Tensor) error {
	y := out[0].F32()
	m, n := g.bg.m, g.bg.n
	if g.cRows == 0 || g.beta == 0 {
		clear(y)
	} else {
		c := in[2].F32()
		for i := 0; i < m; i++ {
			row := y[i*n : (i+1)*n]
			ci := 0
			if g.cRows != 1 {
				ci = i * g.cCols
			}
			if g.cCols == 1 {
				f32.Fill(row, g.beta*c[ci])
				continue
			}
			for j := range row {
				row[j] = g.beta * c[ci+j]
			}
		}
	}
	g.bg.runB(ctx, in[0].F32(), in[1], y)
	return nil
}

// batchedGemm runs C_b = alpha*op(A_b)*op(B_b) + beta*C_b for a list of batches (operand offsets
// precomputed, so broadcasting costs nothing at Run). Each batch is split into column ranges so
// small batches still use every thread; each thread slot owns f32.Gemm workspace in scratch.
type batchedGemm struct {
	transA, transB   bool
	m, n, k          int
	alpha, beta      float32
	lda, ldb, ldc    int
	act              Activation
	aOff, bOff, cOff []int
	nsplit, colsPer  int
	slots, slotLen   int

	a, b, c, work []float32
	b16           []uint16 // B in IEEE halves (then b is nil)
	items, used   int
}

func (g *batchedGemm) init(transA, transB bool, m, n, k int, alpha float32, lda, ldb, ldc int, beta float32,
	act Activation, aOff, bOff, cOff []int, slots int) {
	*g = batchedGemm{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		lda: lda, ldb: ldb, ldc: ldc, act: act, aOff: aOff, bOff: bOff, cOff: cOff}
	g.slots = slots
	batches := len(cOff)
	g.nsplit = 1
	if batches < g.slots && m*n*k > 1<<15 {
		g.nsplit = min((g.slots+batches-1)/batches, max((n+f32.NR-1)/f32.NR, 1))
	}
	g.colsPer = f32.RoundUp((n+g.nsplit-1)/g.nsplit, f32.NR)
	g.slotLen = f32.GemmWorkLen(m, g.colsPer, k)
}

func (g *batchedGemm) scratchBytes() int { return 4 * g.slots * g.slotLen }

// runB runs with B given as a tensor: f32, or (constant weights under Precision "fp16") f16.
func (g *batchedGemm) runB(ctx *Ctx, a []float32, b *tensor.Tensor, c []float32) {
	if b.DType == tensor.F16 {
		g.b16 = b.F16()
		g.run(ctx, a, nil, c)
		return
	}
	g.b16 = nil
	g.run(ctx, a, b.F32(), c)
}

func (g *batchedGemm) run(ctx *Ctx, a, b, c []float32) {
	g.a, g.b, g.c = a, b, c
	g.work = bytesAsF32(ctx.Scratch)
	g.items = len(g.cOff) * g.nsplit
	g.used = min(g.slots, g.items, max(ctx.Pool.Threads(), 1))
	ctx.Pool.For(g.used, 1, g)
}

func (g *batchedGemm) Do(lo, hi int) {
	for s := lo; s < hi; s++ {
		work := g.work[s*g.slotLen : (s+1)*g.slotLen]
		for it := s * g.items / g.used; it < (s+1)*g.items/g.used; it++ {
			bi, part := it/g.nsplit, it%g.nsplit
			j0 := part * g.colsPer
			if j0 >= g.n {
				continue
			}
			cols := min(g.colsPer, g.n-j0)
			bo := g.bOff[bi] + j0
			if g.transB {
				bo = g.bOff[bi] + j0*g.ldb
			}
			c := g.c[g.cOff[bi]+j0:]
			if g.b == nil {
				f32.Gemm16(g.transA, g.transB, g.m, cols, g.k, g.alpha, g.a[g.aOff[bi]:], g.lda, g.b16[bo:], g.ldb,
					g.beta, c, g.ldc, work)
			} else {
				f32.Gemm(g.transA, g.transB, g.m, cols, g.k, g.alpha, g.a[g.aOff[bi]:], g.lda, g.b[bo:], g.ldb,
					g.beta, c, g.ldc, work)
			}
			if g.act.Kind != ActNone {
				for i := 0; i < g.m; i++ {
					g.act.Apply(c[i*g.ldc : i*g.ldc+cols])
				}
			}
		}
	}
}

func gemmMACs(n *graph.Node) int64 {
	outN, a := outElems(n), n.Input(0)
	if outN < 0 {
		return 0
	}
	if n.Int("transA", 0) != 0 {
		return outN * dimOf(a, 0)
	}
	return outN * dimOf(a, 1)
}
