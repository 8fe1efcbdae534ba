package wanwu

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"unsafe"

	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/compiled"
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/graph/passes"
	"github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/importer/tflite"
	"github.com/wanwu-ai/wanwu/lower"
	"github.com/wanwu-ai/wanwu/memory"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Load opens a model: a path to an .onnx or .tflite file, or the name of a catalog model (fetched into
// the cache on first use and verified by sha256).
func Load(ctx context.Context, model string, opts ...Option) (*Model, error) {
	cfg := newConfig(opts)
	if err := runtime.CheckThreads(cfg.threads); err != nil {
		return nil, fmt.Errorf("wanwu: %w", err)
	}
	m, ii, err := open(ctx, model, cfg)
	if err != nil {
		return nil, err
	}
	if err := m.configure(ii, cfg); err != nil {
		m.g.Close()
		return nil, err
	}
	return m, nil
}

// open resolves and imports a model and decides what Load and PlanConfigs share: the image input, the
// base preprocessing, the labels and the class subset (the classifier is pruned to it before anything
// is planned). The caller closes m.g.
func open(ctx context.Context, model string, cfg config) (*Model, inputInfo, error) {
	f := cfg.fetcher
	if f == nil {
		f = &catalog.Fetcher{}
	}
	path, entry, err := f.Resolve(ctx, model)
	if err != nil {
		return nil, inputInfo{}, err
	}
	var m *Model
	if isCompiledFile(path) {
		cf, err := compiled.Open(path)
		if err != nil {
			return nil, inputInfo{}, err
		}
		m = &Model{Path: path, Format: "wanwu", g: cf.Graph, compiled: cf, Name: cf.Info.Name}
		if err := m.checkCompiledOptions(cfg); err != nil {
			cf.Graph.Close()
			return nil, inputInfo{}, err
		}
	} else {
		g, format, err := ImportGraph(path)
		if err != nil {
			return nil, inputInfo{}, err
		}
		m = &Model{Path: path, Format: format, g: g}
		m.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		if entry != nil {
			m.Name = entry.Name
		}
	}
	g := m.g
	ii, err := m.prepare(entry, cfg)
	if err != nil {
		g.Close()
		return nil, inputInfo{}, err
	}
	return m, ii, nil
}

// ImportGraph reads a model file into the IR, choosing the importer by content (TFLite files carry "TFL3"
// at byte 4), not by name. The caller closes the graph.
//
// A compiled model file (.wanwu, by its header) gives the optimized graph it holds, format "wanwu":
// compile it with the file's packings (compiled.Of(g).Prepacked) and Winograd setting, at precision
// "" (it is converted already).
func ImportGraph(path string) (*graph.Graph, string, error) {
	head := make([]byte, 8)
	file, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	n, _ := io.ReadFull(file, head)
	file.Close()
	if compiled.IsCompiled(head[:n]) {
		f, err := compiled.Open(path)
		if err != nil {
			return nil, "", err
		}
		return f.Graph, "wanwu", nil
	}
	if n == 8 && bytes.Equal(head[4:8], []byte("TFL3")) {
		g, err := tflite.Load(path)
		return g, "tflite", err
	}
	g, err := onnx.Load(path)
	return g, "onnx", err
}

// inputInfo is what configure learns about the image input.
type inputInfo struct {
	name     string
	dtype    tensor.DType
	shape    tensor.Shape // with the batch fixed to 1; spatial dims may be < 0 (dynamic)
	layout   string
	hAxis    int
	dynamic  bool
	baseSize int // the size used when none is asked for
}

func (m *Model) inputInfo(cfg config) (inputInfo, error) {
	if len(m.g.Inputs) != 1 || len(m.g.Outputs) < 1 {
		return inputInfo{}, fmt.Errorf("%s: a classifier needs one image input and a score output; this model has %d inputs, %d outputs",
			m.Path, len(m.g.Inputs), len(m.g.Outputs))
	}
	in := m.g.Inputs[0]
	ii := inputInfo{name: in.Name, dtype: in.DType, shape: in.Shape.Clone(), layout: "NCHW", hAxis: 2}
	if len(ii.shape) != 4 {
		return ii, fmt.Errorf("%s: input %q has shape %s; want an image batch [N,C,H,W] or [N,H,W,C]", m.Path, in.Name, in.Shape)
	}
	if _, err := ii.shape.Bytes(ii.dtype); err != nil {
		return ii, fmt.Errorf("%s: input %q: %w", m.Path, in.Name, err)
	}
	if ii.shape[1] != 3 && ii.shape[3] == 3 {
		ii.layout, ii.hAxis = "NHWC", 1
	} else if ii.shape[1] != 3 && ii.shape[1] >= 0 {
		return ii, fmt.Errorf("%s: input %q has shape %s; want 3 colour channels", m.Path, in.Name, in.Shape)
	}
	if ii.shape[0] < 0 {
		ii.shape[0] = 1
	}
	h, w := ii.shape[ii.hAxis], ii.shape[ii.hAxis+1]
	ii.dynamic = h < 0 || w < 0
	if !ii.dynamic && cfg.size != 0 && (h != cfg.size || w != cfg.size) {
		return ii, fmt.Errorf("%s: input size is fixed at %dx%d; --size %d is not possible", m.Path, h, w, cfg.size)
	}
	ii.baseSize = 224
	if !ii.dynamic {
		ii.baseSize = h
	}
	return ii, nil
}

// shapeFor is the input shape at a square size (fixed dims stay).
func (ii inputInfo) shapeFor(size, batch int) tensor.Shape {
	s := ii.shape.Clone()
	s[0] = batch
	for _, ax := range []int{ii.hAxis, ii.hAxis + 1} {
		if s[ax] < 0 {
			s[ax] = size
		}
	}
	return s
}

// prepare decides the input, the base preprocessing, the labels and the class subset, and prunes the
// classifier to the subset.
func (m *Model) prepare(entry *catalog.Entry, cfg config) (inputInfo, error) {
	m.winograd = !cfg.noWinograd
	if m.compiled != nil {
		m.winograd = m.compiled.Info.Winograd // the packings were made for it
	}
	ii, err := m.inputInfo(cfg)
	if err != nil {
		return ii, err
	}
	if m.basePre, err = m.basePreprocess(entry, cfg, &ii); err != nil {
		return ii, err
	}
	if cfg.resize != 0 {
		if r := m.basePre.Resize; r != "shorter_crop" && r != "" {
			return ii, fmt.Errorf("%s: --resize %d: this model's photos are resized by %q, not shorter side then crop", m.Path, cfg.resize, r)
		}
		m.resize = cfg.resize
	}

	// Labels, checked against the classes the model scores.
	classes := -1 // unknown until compiled; configure checks the labels against the program then
	if osh := m.g.Outputs[0].Shape; len(osh) > 0 && osh[len(osh)-1] > 0 && (m.compiled == nil || m.compiled.Info.Keep == nil) {
		classes = osh[len(osh)-1]
	}
	if err := m.chooseLabels(entry, cfg, classes); err != nil {
		return ii, err
	}

	m.beta, _ = scoreFromLogits(m.g)
	keep := cfg.classes
	if m.compiled != nil {
		m.keep = m.compiled.Info.Keep // pruned when converted; checkCompiledOptions refused another subset
		return ii, nil
	}
	if len(cfg.only) > 0 {
		if m.labels == nil {
			return ii, fmt.Errorf("%s: --only needs class names, and this model has none (give --labels)", m.Path)
		}
		if keep, m.unmatched, err = m.labels.MatchSome(cfg.only, cfg.onlyMode); err != nil {
			return ii, err
		}
	}
	if keep != nil {
		before := constTensors(m.g)
		if err := passes.PruneHead(m.g, keep); err != nil {
			return ii, fmt.Errorf("%s: %w", m.Path, err)
		}
		m.headCopy = copiedConstBytes(m.g, before)
		m.keep = keep
	}
	return ii, nil
}

// configure decides the precision and input size (under a budget when there is one), then compiles the
// program.
func (m *Model) configure(ii inputInfo, cfg config) error {
	c, err := m.chooseConfig(cfg, ii)
	if err != nil {
		return err
	}
	m.chosen = c
	m.winograd = c.Winograd // the budget may have chosen the leaner packing
	shape := ii.shapeFor(c.Size, 1)
	if m.resize > 0 && m.resize < max(shape[ii.hAxis], shape[ii.hAxis+1]) {
		return fmt.Errorf("%s: --resize %d is smaller than the %dx%d input it is cropped to", m.Path, m.resize, shape[ii.hAxis], shape[ii.hAxis+1])
	}
	m.pre = preprocessFor(m.basePre, shape, ii.hAxis, m.resize)
	m.memLimit = cfg.memLimit
	if cfg.memLimit {
		if c.PredictedPeakBytes == 0 { // no budget: nothing was estimated yet (Estimate reads no weights)
			if c, err = m.predict(ii, c, cfg.photo); err != nil {
				return err
			}
		}
		m.memLimitSet = setMemoryLimit(memory.HeapLimit(c.Breakdown))
	}
	if len(cfg.calibrate) > 0 {
		if c.Precision != "int8" && cfg.precision != "" && cfg.precision != "auto" {
			return fmt.Errorf("%s: calibration photos are for int8, not %s", m.Path, c.Precision)
		}
		switch {
		case c.Precision == "int8" && lower.StaticConvBehind():
			if _, err := calibrationFiles(cfg.calibrate); err != nil { // named paths must still exist
				return err
			}
			if cfg.logf != nil {
				cfg.logf("%s: static int8 runs in assembly with AVX-512 VNNI only; this CPU has AVX2 alone, where dynamic int8 is faster: calibration skipped", m.Name)
			}
		case c.Precision == "int8":
			if err := m.calibrateGraph(context.Background(), cfg.calibrate, m.pre, shape, ii.dtype, cfg.threads); err != nil {
				return err
			}
		}
	}
	shared, err := runtime.NewShared(cfg.threads)
	if err != nil {
		return fmt.Errorf("%s: %w", m.Path, err)
	}
	m.shared = shared
	m.ropts = runtime.Options{Threads: cfg.threads, InputShapes: map[string]tensor.Shape{ii.name: shape},
		Precision: m.runPrecision(c.Precision), Winograd: m.winograd, Shared: shared}
	if m.compiled != nil {
		m.ropts.Prepacked = m.compiled.Prepacked
	}
	m.ropts.Exportable = cfg.exportable
	prog, err := runtime.Compile(m.g, m.ropts)
	if err != nil {
		shared.Close()
		m.shared = nil
		return fmt.Errorf("%s: %w", m.Path, err)
	}
	m.prog, m.stats = prog, prog.Stats()
	m.chosen.Breakdown = m.held(memory.Predict(runtime.Union(m.stats), m.decodeCost(cfg.photo, m.pre)), m.ropts.Precision)
	m.chosen.PredictedPeakBytes = m.chosen.Breakdown.Total()
	m.chosen.Resize = shorterSide(m.pre)
	m.chosen.Labels = prog.Graph().Outputs[0].Shape.NumElements()
	if cfg.logf != nil {
		cfg.logf("%s: %s; predicted peak %s", m.Name, m.chosen, m.chosen.Breakdown)
	}
	m.precision = m.storedPrecision()
	if c.Precision != "fp32" {
		m.precision = c.Precision
	}
	m.outQuant, m.outProbs = outputSemantics(m.g)
	m.releaseAfter = cfg.releaseAfter
	m.logf = cfg.logf

	out := prog.Graph().Outputs[0].Shape.NumElements()
	want := out
	if m.keep != nil {
		want = len(m.keep)
	}
	if out != want {
		return fmt.Errorf("%s: the pruned model scores %d classes, want %d", m.Path, out, want)
	}
	if m.labels != nil && m.keep == nil && m.labels.Len() != out {
		return fmt.Errorf("%s: the model scores %d classes but the label set has %d", m.Path, out, m.labels.Len())
	}
	return nil
}

// setMemoryLimit lowers the Go memory limit to limit bytes; a lower limit already in force is kept.
// It returns the limit it set (0 when it kept the one in force).
func setMemoryLimit(limit int64) int64 {
	if cur := debug.SetMemoryLimit(-1); limit < cur {
		debug.SetMemoryLimit(limit)
		return limit
	}
	return 0
}

// constTensors is the set of constant tensors g's nodes read.
func constTensors(g *graph.Graph) map[*tensor.Tensor]bool {
	s := map[*tensor.Tensor]bool{}
	for _, n := range g.Nodes {
		for _, v := range n.Inputs {
			if v.IsConst() {
				s[v.Const] = true
			}
		}
	}
	return s
}

// copiedConstBytes sums the constants of g that are new since before and do not view the memory of a
// constant that was there (PruneHead views a contiguous run of rows, and copies scattered ones).
func copiedConstBytes(g *graph.Graph, before map[*tensor.Tensor]bool) int64 {
	var n int64
	for t := range constTensors(g) {
		if before[t] || len(t.Data) == 0 {
			continue
		}
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(t.Data)))
		view := false
		for o := range before {
			if len(o.Data) == 0 {
				continue
			}
			ol := uintptr(unsafe.Pointer(unsafe.SliceData(o.Data)))
			if lo >= ol && lo < ol+uintptr(len(o.Data)) {
				view = true
				break
			}
		}
		if !view {
			n += int64(len(t.Data))
		}
	}
	return n
}
