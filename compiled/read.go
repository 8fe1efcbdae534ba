package compiled

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/internal/mmap"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// File is a mapped compiled model file.
type File struct {
	// Graph is the program's optimized graph; its constants view the mapping (Graph.Backing), and
	// closing the graph unmaps the file.
	Graph *graph.Graph
	// Prepacked are the kernel packings, for runtime.Options.Prepacked.
	Prepacked []runtime.PackedWeight
	Info      Info
	// data is the file's mapping.
	data []byte
}

// InFile reports whether b lies in the file's mapping: weights used where they lie, not copied.
func (f *File) InFile(b []byte) bool {
	if len(b) == 0 || len(f.data) == 0 {
		return false
	}
	lo, base := uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(unsafe.Pointer(unsafe.SliceData(f.data)))
	return lo >= base && lo+uintptr(len(b)) <= base+uintptr(len(f.data))
}

// ErrStale is wrapped by the error of a file that no longer matches its source model or this wanwu.
var ErrStale = errors.New("stale compiled model")

// Open maps a compiled model file and checks it: its format version, that its source model (at the
// recorded path, or by its name beside the file), when present, is the one it was converted from,
// and that every section it names lies within it. Errors name the file and the reason.
func Open(path string) (*File, error) {
	data, err := mmap.Map(path)
	if err != nil {
		return nil, fmt.Errorf("compiled: %w", err)
	}
	f, err := parse(path, data)
	if err != nil {
		mmap.Unmap(data)
		return nil, err
	}
	if err := checkSource(path, f.Info.Source); err != nil {
		f.Graph.Close()
		return nil, err
	}
	return f, nil
}

// mapping unmaps the file, and the zeros standing for weights that exist only packed, when the graph
// is closed.
type mapping struct {
	data, zeros []byte
	file        *File
}

// Of returns the compiled model file a graph was opened from (Open, Decode), or nil for a graph of
// another source: for callers that compile a graph themselves (runtime.Options.Prepacked, Winograd).
func Of(g *graph.Graph) *File {
	if m, ok := g.Backing.(*mapping); ok {
		return m.file
	}
	return nil
}

func (m *mapping) Close() error {
	data, zeros := m.data, m.zeros
	m.data, m.zeros = nil, nil
	return errors.Join(mmap.Unmap(data), mmap.Unmap(zeros))
}

// Decode reads a compiled model file held in memory (data must stay unmodified while the graph is
// used); the source model is not checked. Open is the way to load a file.
func Decode(name string, data []byte) (*File, error) { return parse(name, data) }

func parse(path string, data []byte) (*File, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("compiled: %s: %s", path, fmt.Sprintf(format, a...))
	}
	if len(data) < headerBytes || !IsCompiled(data) {
		return nil, fail("not a compiled model file (no %q header)", Ext)
	}
	h := unmarshalHeader(data)
	if h.version != FormatVersion {
		return nil, fmt.Errorf("compiled: %s: %w: format version %d, this wanwu reads version %d; convert the model again", path, ErrStale, h.version, FormatVersion)
	}
	if h.fileSize != uint64(len(data)) {
		if h.fileSize > uint64(len(data)) {
			return nil, fail("truncated: %d bytes of %d", len(data), h.fileSize)
		}
		return nil, fail("%d bytes, the header says %d", len(data), h.fileSize)
	}
	if h.metaOff < headerSize || h.metaOff > h.fileSize || h.metaLen != h.fileSize-h.metaOff {
		return nil, fail("corrupt header: description at %d+%d in %d bytes", h.metaOff, h.metaLen, h.fileSize)
	}
	js := data[h.metaOff:]
	if sha256.Sum256(js) != h.metaSum {
		return nil, fail("corrupt: the description does not match its checksum")
	}
	var m meta
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, fail("corrupt description: %v", err)
	}
	f, zeros, err := build(data[:h.metaOff], &m)
	if err != nil {
		return nil, fail("%v", err)
	}
	f.Graph.Backing = &mapping{data: data, zeros: zeros, file: f}
	f.data = data
	return f, nil
}

// build makes the graph and packings of m over data (the file up to the description), checking every
// index and section. Weights that exist only packed view zeros, the mapping it returns (every reader
// is a kernel taking the packing, but a file that says otherwise must not make one read past an end).
func build(data []byte, m *meta) (f *File, zeros []byte, err error) {
	defer func() {
		if err != nil && zeros != nil {
			mmap.Unmap(zeros)
			zeros = nil
		}
	}()
	for i, s := range m.Data {
		if s.Off < headerSize || s.Len <= 0 || s.Off > int64(len(data)) || s.Len > int64(len(data))-s.Off {
			return nil, nil, fmt.Errorf("data section %d (%d+%d) lies outside the file", i, s.Off, s.Len)
		}
		align := int64(smallAlign)
		if s.Len >= pageAlign {
			align = pageAlign
		}
		if s.Off%align != 0 {
			return nil, nil, fmt.Errorf("data section %d at %d is not aligned to %d", i, s.Off, align)
		}
	}
	var absent []*tensor.Tensor
	maxAbsent := 0
	constant := func(c *constMeta) (*tensor.Tensor, error) {
		shape := tensor.Shape(c.Shape)
		if c.DType == tensor.Invalid || c.DType.Size() == 0 {
			return nil, fmt.Errorf("constant of element type %d", c.DType)
		}
		for _, d := range shape {
			if d < 0 {
				return nil, fmt.Errorf("constant of shape %v", c.Shape)
			}
		}
		n, err := shape.Bytes(c.DType)
		if err != nil {
			return nil, err
		}
		t := &tensor.Tensor{DType: c.DType, Shape: shape}
		switch {
		case c.Data == -1 && n > 0:
			absent = append(absent, t)
			maxAbsent = max(maxAbsent, n)
		case c.Data == -1:
		case c.Data < 0 || c.Data >= len(m.Data):
			return nil, fmt.Errorf("constant of shape %v: no data section %d", c.Shape, c.Data)
		default:
			s := m.Data[c.Data]
			if s.Len != int64(n) {
				return nil, fmt.Errorf("constant %s%v takes %d bytes, its section has %d", c.DType, c.Shape, n, s.Len)
			}
			t.Data = data[s.Off : s.Off+s.Len : s.Off+s.Len]
		}
		return t, nil
	}

	gm := &m.Graph
	g := &graph.Graph{Name: gm.Name, Opset: gm.Opset, Meta: gm.Meta}
	if g.Meta == nil {
		g.Meta = map[string]string{}
	}
	values := make([]*graph.Value, len(gm.Values))
	for i, vm := range gm.Values {
		v := &graph.Value{Name: vm.Name, DType: vm.DType}
		if vm.Known || len(vm.Shape) > 0 {
			v.Shape = tensor.Shape(vm.Shape)
			if v.Shape == nil {
				v.Shape = tensor.Shape{}
			}
		}
		if vm.Const != nil {
			t, err := constant(vm.Const)
			if err != nil {
				return nil, nil, fmt.Errorf("value %q: %w", vm.Name, err)
			}
			v.Const = t
		}
		values[i] = v
	}
	value := func(i int, optional bool) (*graph.Value, error) {
		if i == -1 && optional {
			return nil, nil
		}
		if i < 0 || i >= len(values) {
			return nil, fmt.Errorf("no value %d", i)
		}
		return values[i], nil
	}
	for _, i := range gm.Inputs {
		v, err := value(i, false)
		if err != nil {
			return nil, nil, fmt.Errorf("graph input: %w", err)
		}
		g.Inputs = append(g.Inputs, v)
	}
	for _, i := range gm.Outputs {
		v, err := value(i, false)
		if err != nil {
			return nil, nil, fmt.Errorf("graph output: %w", err)
		}
		g.Outputs = append(g.Outputs, v)
	}
	for _, nm := range gm.Nodes {
		n := &graph.Node{Name: nm.Name, Op: nm.Op, Domain: nm.Domain, Attrs: make(map[string]graph.Attr, len(nm.Attrs))}
		if n.Domain == "" && graph.IsExtOp(n.Op) {
			// Written before nodes had domains; a compiled file is the engine's own output, so its
			// lowered ops are the engine's, not a model's op of the same name.
			n.Domain = graph.ExtDomain
		}
		for _, i := range nm.Inputs {
			v, err := value(i, true)
			if err != nil {
				return nil, nil, fmt.Errorf("node %q: input: %w", nm.Name, err)
			}
			n.Inputs = append(n.Inputs, v)
		}
		for _, i := range nm.Outputs {
			v, err := value(i, true)
			if err != nil {
				return nil, nil, fmt.Errorf("node %q: output: %w", nm.Name, err)
			}
			n.Outputs = append(n.Outputs, v)
		}
		for k, am := range nm.Attrs {
			if am.Kind < graph.AttrInt || am.Kind > graph.AttrTensor {
				return nil, nil, fmt.Errorf("node %q: attribute %q of kind %d", nm.Name, k, am.Kind)
			}
			a := graph.Attr{Kind: am.Kind, Int: am.Int, Float: math.Float32frombits(am.Float), Str: am.Str, Ints: am.Ints, Strings: am.Strings}
			for _, b := range am.Floats {
				a.Floats = append(a.Floats, math.Float32frombits(b))
			}
			if am.Tensor != nil {
				t, err := constant(am.Tensor)
				if err != nil {
					return nil, nil, fmt.Errorf("node %q: attribute %q: %w", nm.Name, k, err)
				}
				a.Tensor = t
			}
			n.Attrs[k] = a
		}
		g.Nodes = append(g.Nodes, n)
	}
	if err := g.Validate(); err != nil {
		return nil, nil, err
	}
	if maxAbsent > 0 {
		if zeros, err = mmap.Zeros(maxAbsent); err != nil {
			return nil, nil, err
		}
		for _, t := range absent {
			n := mustBytes(t)
			t.Data = zeros[:n:n]
		}
	}
	f = &File{Graph: g, Info: m.Info}
	only := map[*tensor.Tensor]bool{}
	for _, t := range absent {
		only[t] = true
	}
	for _, pm := range m.Packs {
		if pm.Node < 0 || pm.Node >= len(g.Nodes) || pm.Input < 0 || pm.Input >= len(g.Nodes[pm.Node].Inputs) ||
			!g.Nodes[pm.Node].Inputs[pm.Input].IsConst() {
			return nil, nil, fmt.Errorf("packing %q of node %d input %d: no such constant", pm.Layout, pm.Node, pm.Input)
		}
		if pm.Data < 0 || pm.Data >= len(m.Data) {
			return nil, nil, fmt.Errorf("packing %q of node %d: no data section %d", pm.Layout, pm.Node, pm.Data)
		}
		s := m.Data[pm.Data]
		w := g.Nodes[pm.Node].Inputs[pm.Input].Const
		f.Prepacked = append(f.Prepacked, runtime.PackedWeight{Weight: w, Layout: pm.Layout,
			Data: data[s.Off : s.Off+s.Len : s.Off+s.Len], Only: only[w]})
	}
	return f, zeros, nil
}

// mustBytes is the byte size of a constant whose shape build checked.
func mustBytes(t *tensor.Tensor) int {
	n, _ := t.Shape.Bytes(t.DType)
	return n
}

// checkSource refuses a compiled file whose source model is present (at the recorded path, or by its
// name beside the file) and is not the one it was converted from. A source of the recorded size and
// modification time is taken as unchanged without reading it.
func checkSource(path string, src Source) error {
	if src.Path == "" {
		return nil
	}
	candidates := []string{src.Path, filepath.Join(filepath.Dir(path), filepath.Base(src.Path))}
	for _, c := range candidates {
		st, err := os.Stat(c)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		if st.Size() == src.Size && st.ModTime().UnixNano() == src.ModTime {
			return nil
		}
		sum, err := FileSHA256(c)
		if err != nil {
			return fmt.Errorf("compiled: %s: checking its source model: %w", path, err)
		}
		if sum != src.SHA256 {
			return fmt.Errorf("compiled: %s: %w: its source model %s has changed since it was converted (sha256 %s, converted from %s); convert it again",
				path, ErrStale, c, short(sum), short(src.SHA256))
		}
		return nil
	}
	return nil
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

// FileSHA256 is the hex SHA-256 of a file's content.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SourceOf describes the model file at path for Info.Source.
func SourceOf(path string) (Source, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Source{}, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return Source{}, err
	}
	sum, err := FileSHA256(abs)
	if err != nil {
		return Source{}, err
	}
	return Source{Path: abs, SHA256: sum, Size: st.Size(), ModTime: st.ModTime().UnixNano()}, nil
}
