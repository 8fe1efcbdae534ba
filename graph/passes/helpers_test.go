package passes

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/ops"
	"github.com/wanwu-ai/wanwu/tensor"
)

// builder assembles graphs by value name, for terse tests.
type builder struct {
	g    *graph.Graph
	vals map[string]*graph.Value
}

func newBuilder() *builder { return &builder{g: &graph.Graph{}, vals: map[string]*graph.Value{}} }

func (b *builder) val(name string) *graph.Value {
	if name == "" {
		return nil
	}
	v, ok := b.vals[name]
	if !ok {
		v = &graph.Value{Name: name}
		b.vals[name] = v
	}
	return v
}

func (b *builder) input(name string, dt tensor.DType, shape tensor.Shape) *graph.Value {
	v := b.val(name)
	v.DType, v.Shape = dt, shape
	b.g.Inputs = append(b.g.Inputs, v)
	return v
}

func (b *builder) constant(name string, t *tensor.Tensor) *graph.Value {
	v := b.val(name)
	v.DType, v.Shape, v.Const = t.DType, t.Shape.Clone(), t
	return v
}

// node adds op with comma-separated input and output names ("" for an absent input).
func (b *builder) node(op, ins, outs string) *graph.Node {
	n := &graph.Node{Name: op + fmt.Sprint(len(b.g.Nodes)), Op: op, Attrs: map[string]graph.Attr{}}
	if ins != "" {
		for _, s := range strings.Split(ins, ",") {
			n.Inputs = append(n.Inputs, b.val(strings.TrimSpace(s)))
		}
	}
	for _, s := range strings.Split(outs, ",") {
		n.Outputs = append(n.Outputs, b.val(strings.TrimSpace(s)))
	}
	b.g.Nodes = append(b.g.Nodes, n)
	return n
}

func (b *builder) output(names ...string) {
	for _, s := range names {
		b.g.Outputs = append(b.g.Outputs, b.val(s))
	}
}

// setShapes gives node outputs dtype/shape directly, for passes that run after inference.
func (b *builder) setShape(name string, dt tensor.DType, shape tensor.Shape) {
	v := b.val(name)
	v.DType, v.Shape = dt, shape
}

// checkPass runs pass, compares Dump with want (leading tabs and blank edges trimmed) and validates.
func checkPass(t *testing.T, g *graph.Graph, pass func(*graph.Graph) error, want string) {
	t.Helper()
	before := g.Dump()
	if err := pass(g); err != nil {
		t.Fatalf("pass failed: %v\nbefore:\n%s", err, before)
	}
	if err := g.Validate(); err != nil {
		t.Fatalf("invalid after pass: %v\n%s", err, g.Dump())
	}
	if got, w := g.Dump(), dedent(want); got != w {
		t.Errorf("before:\n%s\ngot:\n%s\nwant:\n%s", before, got, w)
	}
}

func dedent(s string) string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		out = append(out, strings.TrimSpace(l))
	}
	return strings.Join(out, "\n") + "\n"
}

func f32(shape tensor.Shape, v ...float32) *tensor.Tensor { return tensor.FromF32(shape, v) }

// Test-only ops, registered under names no real op uses, so these tests run whether or not the real
// operator files are present. tAdd broadcasts nothing; tShape folds at Infer time like ONNX Shape;
// tReshape takes its target from a constant second input (0 copies, -1 infers).
func init() {
	ops.Register("tAdd", &ops.Def{
		Infer: func(n *graph.Node) error {
			a, b := n.Inputs[0], n.Inputs[1]
			if a.Shape != nil && b.Shape != nil && a.Shape.Known() && b.Shape.Known() && !a.Shape.Equal(b.Shape) {
				return fmt.Errorf("tAdd: shapes %s and %s differ", a.Shape, b.Shape)
			}
			n.Outputs[0].DType, n.Outputs[0].Shape = a.DType, a.Shape.Clone()
			return nil
		},
		Compile: func(n *graph.Node) (ops.Kernel, error) { return tAddKernel{}, nil },
		InPlace: true,
	})
	ops.Register("tShape", &ops.Def{
		Infer: func(n *graph.Node) error {
			s := n.Inputs[0].Shape
			o := n.Outputs[0]
			o.DType, o.Shape = tensor.I64, tensor.Shape{len(s)}
			if s.Known() {
				v := make([]int64, len(s))
				for i, d := range s {
					v[i] = int64(d)
				}
				o.Const = tensor.FromI64(o.Shape, v)
			}
			return nil
		},
		Compile: func(n *graph.Node) (ops.Kernel, error) { return nil, fmt.Errorf("tShape runs only at fold time") },
	})
	ops.Register("tReshape", &ops.Def{
		Infer: func(n *graph.Node) error {
			x, s, o := n.Inputs[0], n.Inputs[1], n.Outputs[0]
			o.DType = x.DType
			if !s.IsConst() {
				o.Shape = make(tensor.Shape, s.Shape[0])
				for i := range o.Shape {
					o.Shape[i] = -1
				}
				return nil
			}
			t := s.Const.Ints()
			o.Shape = make(tensor.Shape, len(t))
			rest, neg := x.Shape.NumElements(), -1
			for i, d := range t {
				switch {
				case d == 0:
					o.Shape[i] = x.Shape[i]
				case d < 0:
					neg = i
					continue
				default:
					o.Shape[i] = int(d)
				}
				if rest >= 0 {
					rest /= o.Shape[i]
				}
			}
			if neg >= 0 {
				o.Shape[neg] = rest
			}
			return nil
		},
		Alias: true,
	})
}

type tAddKernel struct{}

func (tAddKernel) ScratchBytes() int { return 0 }
func (tAddKernel) Run(_ *ops.Ctx, in, out []*tensor.Tensor) error {
	a, b, o := in[0].F32(), in[1].F32(), out[0].F32()
	for i := range o {
		o[i] = a[i] + b[i]
	}
	return nil
}
