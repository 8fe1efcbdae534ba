package compiled

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// meta is the JSON description at the end of the file.
type meta struct {
	Info  Info        `json:"info"`
	Graph graphMeta   `json:"graph"`
	Packs []packMeta  `json:"packings"`
	Data  []sectionMD `json:"data"` // data sections, referenced by index
}

// sectionMD places one data section in the file.
type sectionMD struct {
	Off int64 `json:"off"`
	Len int64 `json:"len"`
}

type graphMeta struct {
	Name    string            `json:"name,omitempty"`
	Opset   int               `json:"opset,omitempty"`
	Meta    map[string]string `json:"meta,omitempty"`
	Values  []valueMeta       `json:"values"`
	Inputs  []int             `json:"inputs"`
	Outputs []int             `json:"outputs"`
	Nodes   []nodeMeta        `json:"nodes"`
}

type valueMeta struct {
	Name  string       `json:"name"`
	DType tensor.DType `json:"dtype"`
	// Shape is nil while unknown; Known tells nil from the scalar shape {}.
	Shape []int      `json:"shape,omitempty"`
	Known bool       `json:"known,omitempty"`
	Const *constMeta `json:"const,omitempty"`
}

// constMeta is a constant tensor: Data indexes meta.Data, -1 when it has no bytes (it exists only
// packed, or has no elements).
type constMeta struct {
	DType tensor.DType `json:"dtype"`
	Shape []int        `json:"shape"`
	Data  int          `json:"data"`
}

type nodeMeta struct {
	Name    string              `json:"name,omitempty"`
	Op      string              `json:"op"`
	Domain  string              `json:"domain,omitempty"` // "" for ONNX's, graph.ExtDomain for lowered ops
	Inputs  []int               `json:"inputs"`           // value indices, -1 for an omitted input
	Outputs []int               `json:"outputs"`
	Attrs   map[string]attrMeta `json:"attrs,omitempty"`
}

// attrMeta is a graph.Attr; floats are stored as their IEEE bits, which JSON keeps exactly (NaN and
// infinities included).
type attrMeta struct {
	Kind    graph.AttrKind `json:"kind"`
	Int     int64          `json:"i,omitempty"`
	Float   uint32         `json:"f,omitempty"`
	Str     string         `json:"s,omitempty"`
	Ints    []int64        `json:"ints,omitempty"`
	Floats  []uint32       `json:"floats,omitempty"`
	Strings []string       `json:"strings,omitempty"`
	Tensor  *constMeta     `json:"t,omitempty"`
}

type packMeta struct {
	Node   int    `json:"node"`
	Input  int    `json:"input"`
	Layout string `json:"layout"`
	Data   int    `json:"data"`
}

// writer lays out data sections in order.
type writer struct {
	f        *os.File
	w        *bufio.Writer
	off      int64
	sections []sectionMD
	// seen gives bytes already written (a constant several values share) their section.
	seen map[sectionKey]int
}

type sectionKey struct {
	p *byte
	n int
}

// add writes b as a new data section (or finds it written) and returns its index.
func (w *writer) add(b []byte) (int, error) {
	if len(b) == 0 {
		return -1, nil
	}
	key := sectionKey{unsafe.SliceData(b), len(b)}
	if i, ok := w.seen[key]; ok {
		return i, nil
	}
	align := int64(smallAlign)
	if len(b) >= pageAlign {
		align = pageAlign
	}
	if pad := (align - w.off%align) % align; pad > 0 {
		if _, err := w.w.Write(make([]byte, pad)); err != nil {
			return 0, err
		}
		w.off += pad
	}
	if _, err := w.w.Write(b); err != nil {
		return 0, err
	}
	w.sections = append(w.sections, sectionMD{Off: w.off, Len: int64(len(b))})
	w.off += int64(len(b))
	w.seen[key] = len(w.sections) - 1
	return len(w.sections) - 1, nil
}

func (w *writer) constant(t *tensor.Tensor) (*constMeta, error) {
	d, err := w.add(t.Data)
	if err != nil {
		return nil, err
	}
	return &constMeta{DType: t.DType, Shape: shapeInts(t.Shape), Data: d}, nil
}

func shapeInts(s tensor.Shape) []int {
	out := make([]int, len(s))
	copy(out, s)
	return out
}

// Write writes program p (compiled at batch 1 for one input size) and info to path as a compiled
// model file. It writes to a temporary file beside path and renames it, so a failed or interrupted
// write leaves no partial file under the name.
func Write(path string, p *runtime.Program, info Info) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("compiled: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes it private; a model file is not
		return fmt.Errorf("compiled: %w", err)
	}
	w := &writer{f: tmp, w: bufio.NewWriterSize(tmp, 1<<20), seen: map[sectionKey]int{}}
	if _, err := w.w.Write(make([]byte, headerSize)); err != nil {
		return fmt.Errorf("compiled: %s: %w", path, err)
	}
	w.off = headerSize
	if err := checkExportable(p); err != nil {
		return fmt.Errorf("compiled: %s: %w", path, err)
	}
	m := meta{Info: info}
	if m.Graph, err = w.graph(p.Graph()); err != nil {
		return fmt.Errorf("compiled: %s: %w", path, err)
	}
	for _, pk := range p.Packings() {
		d, err := w.add(pk.Data)
		if err != nil {
			return fmt.Errorf("compiled: %s: %w", path, err)
		}
		m.Packs = append(m.Packs, packMeta{Node: pk.Node, Input: pk.Input, Layout: pk.Layout, Data: d})
	}
	m.Data = w.sections
	js, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("compiled: %s: %w", path, err)
	}
	h := header{version: FormatVersion, metaOff: uint64(w.off), metaLen: uint64(len(js)), metaSum: sha256.Sum256(js)}
	h.fileSize = h.metaOff + h.metaLen
	if _, err := w.w.Write(js); err != nil {
		return fmt.Errorf("compiled: %s: %w", path, err)
	}
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("compiled: %s: %w", path, err)
	}
	if _, err := tmp.WriteAt(h.marshal(), 0); err != nil {
		return fmt.Errorf("compiled: %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("compiled: %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("compiled: %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("compiled: %w", err)
	}
	return nil
}

// checkExportable refuses a program whose graph lost the data of a weight a kernel packed for itself:
// the file could not give the weight back (compile with runtime.Options.Exportable).
func checkExportable(p *runtime.Program) error {
	packed := map[*tensor.Tensor]bool{}
	g := p.Graph()
	for _, pk := range p.Packings() {
		packed[g.Nodes[pk.Node].Inputs[pk.Input].Const] = true
	}
	for _, n := range g.Nodes {
		for _, v := range n.Inputs {
			if v.IsConst() && len(v.Const.Data) == 0 && v.Const.Shape.NumElements() > 0 && !packed[v.Const] {
				return fmt.Errorf("node %q: weight %q was packed by its kernel and dropped; compile the program with Options.Exportable", n.Name, v.Name)
			}
		}
	}
	return nil
}

// graph describes g, writing its constants.
func (w *writer) graph(g *graph.Graph) (graphMeta, error) {
	gm := graphMeta{Name: g.Name, Opset: g.Opset, Meta: g.Meta}
	index := map[*graph.Value]int{}
	var valueErr error
	id := func(v *graph.Value) int {
		if v == nil {
			return -1
		}
		if i, ok := index[v]; ok {
			return i
		}
		vm := valueMeta{Name: v.Name, DType: v.DType, Shape: shapeInts(v.Shape), Known: v.Shape != nil}
		if v.Const != nil {
			c, err := w.constant(v.Const)
			if err != nil && valueErr == nil {
				valueErr = err
			}
			vm.Const = c
		}
		index[v] = len(gm.Values)
		gm.Values = append(gm.Values, vm)
		return index[v]
	}
	for _, v := range g.Inputs {
		gm.Inputs = append(gm.Inputs, id(v))
	}
	for _, n := range g.Nodes {
		nm := nodeMeta{Name: n.Name, Op: n.Op, Domain: n.Domain}
		for _, v := range n.Inputs {
			nm.Inputs = append(nm.Inputs, id(v))
		}
		for _, v := range n.Outputs {
			nm.Outputs = append(nm.Outputs, id(v))
		}
		if len(n.Attrs) > 0 {
			nm.Attrs = map[string]attrMeta{}
		}
		for k, a := range n.Attrs {
			am := attrMeta{Kind: a.Kind, Int: a.Int, Float: math.Float32bits(a.Float), Str: a.Str, Ints: a.Ints, Strings: a.Strings}
			for _, f := range a.Floats {
				am.Floats = append(am.Floats, math.Float32bits(f))
			}
			if a.Tensor != nil {
				c, err := w.constant(a.Tensor)
				if err != nil {
					return gm, err
				}
				am.Tensor = c
			}
			nm.Attrs[k] = am
		}
		gm.Nodes = append(gm.Nodes, nm)
	}
	for _, v := range g.Outputs {
		gm.Outputs = append(gm.Outputs, id(v))
	}
	return gm, valueErr
}
