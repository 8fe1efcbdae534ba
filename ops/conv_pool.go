package ops

import (
	"fmt"
	"os"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/kernels/f32"
	"github.com/wanwu-ai/wanwu/tensor"
)

// A Conv carrying graph.AttrMaxPool3x3S2 (passes.FuseConvMaxPool) outputs the 3×3, stride-2 max pool
// padded by one of its convolution: the direct schedule pools each thread's rows as they leave the
// kernels (f32.ConvDirectPool) and writes only the pooled planes. ResNet-50's stem: Conv and MaxPool
// 1.326 ms unfused against 1.171 fused on one thread (BenchmarkConvDirectPool, warm caches); in the
// model the 3.2 MB intermediate no longer goes out to L3 and back.

// convPoolMode overrides the rule for measurements: WANWU_CONV_POOL=off leaves MaxPool unfused.
var convPoolMode = os.Getenv("WANWU_CONV_POOL")

// pooledConv reports whether n's output is the max pool of its convolution.
func pooledConv(n *graph.Node) bool { return n.Int(graph.AttrMaxPool3x3S2, 0) != 0 }

// ConvMaxPoolFusable reports whether Conv or F16Conv n runs on the direct schedule on every thread
// count, which is where a max pool can be fused into it (passes.FuseConvMaxPool): constant weights,
// one group, no depthwise, a window other than 1×1 (those go direct by thread count), an activation
// the kernels clamp, and kernels for its window, stride and output channels here.
func ConvMaxPoolFusable(n *graph.Node) bool {
	if convPoolMode == "off" || convDirectMode == "off" {
		return false
	}
	c := n
	switch {
	case n.Domain == "" && n.Op == "Conv":
		if w := n.Input(1); w == nil || !w.IsConst() {
			return false
		}
	case n.Domain == graph.ExtDomain && n.Op == graph.OpF16Conv:
		var err error
		if c, _, _, err = f16ConvAsConv(n); err != nil {
			return false
		}
	default:
		return false
	}
	x, w := c.Input(0), c.Input(1)
	if x == nil || w == nil || x.DType != tensor.F32 || !x.Shape.Known() || len(x.Shape) != 4 || !w.Shape.Known() ||
		len(w.Shape) != 4 || c.Int("group", 1) != 1 || len(c.Inputs) > 3 {
		return false
	}
	act, err := ActivationOf(c)
	if err != nil {
		return false
	}
	if clamp, _, _ := act.ClampBounds(); !clamp && act.Kind != ActNone {
		return false
	}
	ks, err := convKernelShape(c, w.Shape)
	if err != nil {
		return false
	}
	win, err := resolveWindow(c, x.Shape[2:], ks, false)
	if err != nil {
		return false
	}
	g := win.geom(x.Shape[1], x.Shape[2:])
	return !(g.KH == 1 && g.KW == 1) && f32.ConvDirectSupported(&g, w.Shape[0])
}

// checkPooledConv refuses a fused max pool the direct schedule would not run (a hand-written
// attribute, or a rule that changed under passes.FuseConvMaxPool).
func checkPooledConv(n *graph.Node, k *convKernel, w *graph.Value, prepacked bool, o CompileOptions) error {
	if k.residual || k.depthwise || k.groups != 1 || k.sub != nil ||
		(!w.IsConst() && !prepacked) || !useConvDirect(k, o.slots()) {
		return fmt.Errorf("ops: node %q (Conv): a fused max pool needs a one-group convolution with constant weights on the direct schedule", n.Name)
	}
	return nil
}

// pooledConvMACs counts a pooled convolution over the rows it computes: every unpooled output.
func pooledConvMACs(n *graph.Node, w *graph.Value) int64 {
	x := n.Input(0)
	if x == nil || w == nil || !x.Shape.Known() || !w.Shape.Known() || len(x.Shape) < 3 || len(w.Shape) < 2 {
		return 0
	}
	ks, err := convKernelShape(n, w.Shape)
	if err != nil {
		return 0
	}
	win, err := resolveWindow(n, x.Shape[2:], ks, false)
	if err != nil {
		return 0
	}
	out := int64(x.Shape[0]) * int64(w.Shape[0])
	for _, o := range win.out {
		out *= int64(o)
	}
	return out * int64(tensor.Shape(w.Shape[1:]).NumElements())
}

// doDirectPool runs parts [lo, hi) of a pooled direct convolution: part s is a contiguous run of
// pooled rows of every output channel.
func (k *convKernel) doDirectPool(lo, hi int) {
	d := k.dc
	g := &d.g
	hw := g.H * g.W
	ph, pw := f32.ConvDirectPoolDims(g)
	phw := ph * pw
	x := k.x[d.image*k.cin*hw : (d.image+1)*k.cin*hw]
	clamp, lo32, hi32 := k.act.ClampBounds()
	for s := lo; s < hi; s++ {
		scratch := d.slots[s*d.slotLen : (s+1)*d.slotLen]
		py0, py1 := s*ph/d.parts, (s+1)*ph/d.parts
		if py0 == py1 {
			continue
		}
		y := k.y[d.image*k.cout*phw : (d.image+1)*k.cout*phw]
		for o0 := 0; o0 < k.mg; o0 += f32.ConvDirectMaxChannels {
			nb := min(f32.ConvDirectMaxChannels, k.mg-o0)
			if d.w16 != nil {
				f32.ConvDirectPool16(g, x, d.w16, y, k.bias, o0, nb, py0, py1, clamp, lo32, hi32, scratch)
				continue
			}
			f32.ConvDirectPool(g, x, d.w, y, k.bias, o0, nb, py0, py1, clamp, lo32, hi32, scratch)
		}
	}
}
