// Package graph is wanwu's one intermediate representation: every importer produces it, every pass rewrites it.
//
// Op names and attribute names follow ONNX (the richer source format): a TFLite CONV_2D becomes "Conv",
// a quantized TFLite op becomes the matching ONNX QLinear* op. Tensors are NCHW.
package graph

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/wanwu-ai/wanwu/tensor"
)

// Value is an edge of the graph: a graph input, a constant (weights), or a node output.
type Value struct {
	Name  string
	DType tensor.DType
	// Shape is nil while unknown; dims < 0 are dynamic until a concrete input size is chosen.
	Shape tensor.Shape
	// Const holds the data of initializers and folded constants; nil for values computed at run time.
	Const *tensor.Tensor
}

// IsConst reports whether the value is known before running.
func (v *Value) IsConst() bool { return v != nil && v.Const != nil }

// AttrKind says which field of an Attr is set.
type AttrKind uint8

const (
	AttrInt AttrKind = iota + 1
	AttrFloat
	AttrString
	AttrInts
	AttrFloats
	AttrStrings
	AttrTensor
)

// Attr is a node attribute.
type Attr struct {
	Kind    AttrKind
	Int     int64
	Float   float32
	Str     string
	Ints    []int64
	Floats  []float32
	Strings []string
	Tensor  *tensor.Tensor
}

// Node is one operation.
type Node struct {
	Name string
	Op   string
	// Domain is the operator set Op belongs to: "" for ONNX's default domain (and the com.microsoft
	// contrib ops the importers map onto it), ExtDomain for the engine's own lowered ops.
	Domain string
	// Inputs may hold nil for an omitted optional input (ONNX's empty name).
	Inputs  []*Value
	Outputs []*Value
	Attrs   map[string]Attr
}

// Input returns input i, or nil when it is absent.
func (n *Node) Input(i int) *Value {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return nil
}

// Int returns an integer attribute or def.
func (n *Node) Int(name string, def int64) int64 {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrInt {
		return a.Int
	}
	return def
}

// Float returns a float attribute or def.
func (n *Node) Float(name string, def float32) float32 {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrFloat {
		return a.Float
	}
	return def
}

// Str returns a string attribute or def.
func (n *Node) Str(name string, def string) string {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrString {
		return a.Str
	}
	return def
}

// Ints returns an integer-list attribute or def.
func (n *Node) Ints(name string, def []int64) []int64 {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrInts {
		return a.Ints
	}
	return def
}

// Floats returns a float-list attribute or def.
func (n *Node) Floats(name string, def []float32) []float32 {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrFloats {
		return a.Floats
	}
	return def
}

// Has reports whether attribute name is present.
func (n *Node) Has(name string) bool { _, ok := n.Attrs[name]; return ok }

// SetInt sets an integer attribute.
func (n *Node) SetInt(name string, v int64) { n.setAttr(name, Attr{Kind: AttrInt, Int: v}) }

// SetFloat sets a float attribute.
func (n *Node) SetFloat(name string, v float32) { n.setAttr(name, Attr{Kind: AttrFloat, Float: v}) }

// SetStr sets a string attribute.
func (n *Node) SetStr(name string, v string) { n.setAttr(name, Attr{Kind: AttrString, Str: v}) }

// SetInts sets an integer-list attribute.
func (n *Node) SetInts(name string, v []int64) { n.setAttr(name, Attr{Kind: AttrInts, Ints: v}) }

func (n *Node) setAttr(name string, a Attr) {
	if n.Attrs == nil {
		n.Attrs = map[string]Attr{}
	}
	n.Attrs[name] = a
}

// Graph is a whole model.
type Graph struct {
	Name    string
	Inputs  []*Value
	Outputs []*Value
	// Nodes are kept in topological order (Validate checks it).
	Nodes []*Node
	// Opset is the default-domain opset the model was written for (0 when not ONNX).
	Opset int
	// Meta carries importer metadata (producer, embedded label files as "labels", ...).
	Meta map[string]string
	// Backing owns memory that Const tensors view (e.g. a memory-mapped model file); may be nil.
	Backing io.Closer
}

// Close releases memory the constants view; the graph's constants must not be used afterwards.
func (g *Graph) Close() error {
	if g.Backing != nil {
		err := g.Backing.Close()
		g.Backing = nil
		return err
	}
	return nil
}

// Producers maps each node output to its node.
func (g *Graph) Producers() map[*Value]*Node {
	m := make(map[*Value]*Node, len(g.Nodes))
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != nil {
				m[o] = n
			}
		}
	}
	return m
}

// Consumers maps each value to the nodes reading it, in graph order.
func (g *Graph) Consumers() map[*Value][]*Node {
	m := make(map[*Value][]*Node)
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != nil {
				m[in] = append(m[in], n)
			}
		}
	}
	return m
}

// IsOutput reports whether v is a graph output.
func (g *Graph) IsOutput(v *Value) bool {
	for _, o := range g.Outputs {
		if o == v {
			return true
		}
	}
	return false
}

// Validate checks that nodes are topologically ordered, every non-constant input is produced
// before use, and no value has two producers.
func (g *Graph) Validate() error {
	avail := map[*Value]bool{}
	for _, in := range g.Inputs {
		avail[in] = true
	}
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == nil || in.Const != nil {
				continue
			}
			if !avail[in] {
				return fmt.Errorf("graph: node %q (%s) input %d %q is used before it is produced", n.Name, n.Op, i, in.Name)
			}
		}
		for _, o := range n.Outputs {
			if o == nil {
				continue
			}
			if avail[o] {
				return fmt.Errorf("graph: value %q has more than one producer (node %q)", o.Name, n.Name)
			}
			avail[o] = true
		}
	}
	for _, o := range g.Outputs {
		if o.Const == nil && !avail[o] {
			return fmt.Errorf("graph: output %q is never produced", o.Name)
		}
	}
	return nil
}

// TopoSort reorders Nodes so every node follows the producers of its inputs (stable otherwise).
func (g *Graph) TopoSort() error {
	prod := g.Producers()
	done := map[*Node]bool{}
	onStack := map[*Node]bool{}
	order := make([]*Node, 0, len(g.Nodes))
	var visit func(n *Node) error
	visit = func(n *Node) error {
		if done[n] {
			return nil
		}
		if onStack[n] {
			return fmt.Errorf("graph: cycle through node %q", n.Name)
		}
		onStack[n] = true
		for _, in := range n.Inputs {
			if p := prod[in]; p != nil && in.Const == nil {
				if err := visit(p); err != nil {
					return err
				}
			}
		}
		onStack[n] = false
		done[n] = true
		order = append(order, n)
		return nil
	}
	for _, n := range g.Nodes {
		if err := visit(n); err != nil {
			return err
		}
	}
	g.Nodes = order
	return nil
}

// Clone copies the graph structure (nodes, values, attributes) so passes can rewrite the copy;
// constant tensors are shared, not copied, and Backing stays with the original.
func (g *Graph) Clone() *Graph {
	vm := map[*Value]*Value{}
	cv := func(v *Value) *Value {
		if v == nil {
			return nil
		}
		if c, ok := vm[v]; ok {
			return c
		}
		c := &Value{Name: v.Name, DType: v.DType, Shape: v.Shape.Clone(), Const: v.Const}
		vm[v] = c
		return c
	}
	c := &Graph{Name: g.Name, Opset: g.Opset, Meta: map[string]string{}}
	for k, v := range g.Meta {
		c.Meta[k] = v
	}
	for _, v := range g.Inputs {
		c.Inputs = append(c.Inputs, cv(v))
	}
	for _, n := range g.Nodes {
		nn := &Node{Name: n.Name, Op: n.Op, Domain: n.Domain, Attrs: make(map[string]Attr, len(n.Attrs))}
		for k, a := range n.Attrs {
			nn.Attrs[k] = a
		}
		for _, in := range n.Inputs {
			nn.Inputs = append(nn.Inputs, cv(in))
		}
		for _, o := range n.Outputs {
			nn.Outputs = append(nn.Outputs, cv(o))
		}
		c.Nodes = append(c.Nodes, nn)
	}
	for _, v := range g.Outputs {
		c.Outputs = append(c.Outputs, cv(v))
	}
	return c
}

// Dump renders the graph as stable text, one node per line, for tests and `wanwu inspect`:
//
//	input x f32[1,3,8,8]
//	y = Conv(x, w:const f32[4,3,3,3]) {pads=[1,1,1,1]} -> f32[1,4,8,8]
//	output y
func (g *Graph) Dump() string {
	var b strings.Builder
	for _, v := range g.Inputs {
		fmt.Fprintf(&b, "input %s %s%s\n", v.Name, v.DType, v.Shape)
	}
	for _, n := range g.Nodes {
		outs := make([]string, len(n.Outputs))
		for i, o := range n.Outputs {
			if o == nil {
				outs[i] = "_"
			} else {
				outs[i] = o.Name
			}
		}
		ins := make([]string, len(n.Inputs))
		for i, in := range n.Inputs {
			switch {
			case in == nil:
				ins[i] = "_"
			case in.Const != nil:
				ins[i] = fmt.Sprintf("%s:const %s%s", in.Name, in.DType, in.Shape)
			default:
				ins[i] = in.Name
			}
		}
		fmt.Fprintf(&b, "%s = %s(%s)", strings.Join(outs, ", "), n.Op, strings.Join(ins, ", "))
		if len(n.Attrs) > 0 {
			keys := make([]string, 0, len(n.Attrs))
			for k := range n.Attrs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = k + "=" + n.Attrs[k].String()
			}
			fmt.Fprintf(&b, " {%s}", strings.Join(parts, ", "))
		}
		if len(n.Outputs) > 0 && n.Outputs[0] != nil && n.Outputs[0].Shape != nil {
			fmt.Fprintf(&b, " -> %s%s", n.Outputs[0].DType, n.Outputs[0].Shape)
		}
		b.WriteByte('\n')
	}
	for _, v := range g.Outputs {
		fmt.Fprintf(&b, "output %s\n", v.Name)
	}
	return b.String()
}

func (a Attr) String() string {
	switch a.Kind {
	case AttrInt:
		return fmt.Sprint(a.Int)
	case AttrFloat:
		return fmt.Sprint(a.Float)
	case AttrString:
		return fmt.Sprintf("%q", a.Str)
	case AttrInts:
		return fmt.Sprint(a.Ints)
	case AttrFloats:
		return fmt.Sprint(a.Floats)
	case AttrStrings:
		return fmt.Sprintf("%q", a.Strings)
	case AttrTensor:
		if a.Tensor == nil {
			return "tensor(nil)"
		}
		return fmt.Sprintf("tensor(%s%s)", a.Tensor.DType, a.Tensor.Shape)
	}
	return "?"
}
