package lower

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// builder assembles graphs by value name, for terse tests (as graph/passes' tests do).
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

// setShape gives node outputs dtype/shape directly, for passes that run after inference.
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

func randT(r *rand.Rand, shape tensor.Shape, lo, hi float32) *tensor.Tensor {
	t := tensor.New(tensor.F32, shape)
	for i := range t.F32() {
		t.F32()[i] = lo + (hi-lo)*r.Float32()
	}
	return t
}
