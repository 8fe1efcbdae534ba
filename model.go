package wanwu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/importer/tflite"
	"github.com/wanwu-ai/wanwu/labels"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Option configures Load.
type Option func(*config)

type config struct {
	threads    int
	labels     *labels.Set
	labelsPath string
	pre        *imageio.Preprocess
	fetcher    *catalog.Fetcher
	size       int
}

// WithThreads sets the number of threads for intra-op parallelism (0 = all cores).
func WithThreads(n int) Option { return func(c *config) { c.threads = n } }

// WithLabels replaces the model's labels.
func WithLabels(s *labels.Set) Option { return func(c *config) { c.labels = s } }

// WithLabelFile loads labels from a file (txt, JSON or ModelScope meta_info.txt; see package labels).
func WithLabelFile(path string) Option { return func(c *config) { c.labelsPath = path } }

// WithPreprocess overrides how photos become input tensors.
func WithPreprocess(p imageio.Preprocess) Option { return func(c *config) { c.pre = &p } }

// WithFetcher sets where catalog models are cached and fetched from.
func WithFetcher(f *catalog.Fetcher) Option { return func(c *config) { c.fetcher = f } }

// WithInputSize sets the square input side for models whose spatial size is dynamic.
func WithInputSize(n int) Option { return func(c *config) { c.size = n } }

// Model is a loaded, compiled classifier.
type Model struct {
	// Name is the catalog name, or the file name without extension.
	Name string
	// Path is the model file.
	Path string
	// Format is "onnx" or "tflite".
	Format string

	labels    *labels.Set
	pre       imageio.Preprocess
	precision string
	outQuant  *quant // dequantization of the output, for integer outputs
	outProbs  bool   // the model already ends in a softmax

	mu    sync.Mutex
	g     *graph.Graph
	prog  *runtime.Program
	input *tensor.Tensor
}

type quant struct {
	scale float32
	zero  int32
}

// Prediction is one class of a result.
type Prediction struct {
	Index   int     `json:"index"`
	Label   string  `json:"label"`
	LabelEn string  `json:"label_en"`
	Score   float64 `json:"score"`
}

// Result is what Classify returns for one photo.
type Result struct {
	Predictions []Prediction
	Elapsed     time.Duration
}

// Load opens a model: a path to an .onnx or .tflite file, or the name of a catalog model (fetched into
// the cache on first use and verified by sha256).
func Load(ctx context.Context, model string, opts ...Option) (*Model, error) {
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	path, entry, err := resolve(ctx, model, cfg.fetcher)
	if err != nil {
		return nil, err
	}
	g, format, err := ImportGraph(path)
	if err != nil {
		return nil, err
	}
	m := &Model{Path: path, Format: format, g: g}
	m.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if entry != nil {
		m.Name = entry.Name
	}
	if err := m.configure(entry, cfg); err != nil {
		g.Close()
		return nil, err
	}
	return m, nil
}

func resolve(ctx context.Context, model string, f *catalog.Fetcher) (string, *catalog.Entry, error) {
	if st, err := os.Stat(model); err == nil {
		if st.IsDir() {
			return "", nil, fmt.Errorf("%s: is a directory, not a model file", model)
		}
		var entry *catalog.Entry
		if e, err := catalog.Model(filepath.Base(model)); err == nil {
			entry = &e // a catalog file given by path keeps its catalog preprocessing
		}
		return model, entry, nil
	}
	e, err := catalog.Model(model)
	if err != nil {
		if strings.ContainsAny(model, `/\.`) {
			return "", nil, fmt.Errorf("%s: no such model file", model)
		}
		return "", nil, err
	}
	if f == nil {
		f = &catalog.Fetcher{}
	}
	p, err := f.Fetch(ctx, e)
	if err != nil {
		return "", nil, err
	}
	return p, &e, nil
}

// ImportGraph reads a model file into the IR, choosing the importer by content (TFLite files carry "TFL3"
// at byte 4), not by name. The caller closes the graph.
func ImportGraph(path string) (*graph.Graph, string, error) {
	head := make([]byte, 8)
	file, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	n, _ := io.ReadFull(file, head)
	file.Close()
	if n == 8 && bytes.Equal(head[4:8], []byte("TFL3")) {
		g, err := tflite.Load(path)
		return g, "tflite", err
	}
	g, err := onnx.Load(path)
	return g, "onnx", err
}

// configure decides labels, preprocessing and the input shape, then compiles the program.
func (m *Model) configure(entry *catalog.Entry, cfg config) error {
	if len(m.g.Inputs) != 1 || len(m.g.Outputs) < 1 {
		return fmt.Errorf("%s: a classifier needs one image input and a score output; this model has %d inputs, %d outputs",
			m.Path, len(m.g.Inputs), len(m.g.Outputs))
	}
	in := m.g.Inputs[0]
	shape := in.Shape.Clone()
	if len(shape) != 4 {
		return fmt.Errorf("%s: input %q has shape %s; want an image batch [N,C,H,W] or [N,H,W,C]", m.Path, in.Name, in.Shape)
	}
	layout := "NCHW"
	hAxis := 2
	if shape[1] != 3 && shape[3] == 3 {
		layout, hAxis = "NHWC", 1
	} else if shape[1] != 3 && shape[1] >= 0 {
		return fmt.Errorf("%s: input %q has shape %s; want 3 colour channels", m.Path, in.Name, in.Shape)
	}
	size := cfg.size
	if shape[0] < 0 {
		shape[0] = 1
	}
	for _, ax := range []int{hAxis, hAxis + 1} {
		switch {
		case shape[ax] >= 0 && size != 0 && shape[ax] != size:
			return fmt.Errorf("%s: input size is fixed at %dx%d; --size %d is not possible", m.Path, shape[hAxis], shape[hAxis+1], size)
		case shape[ax] < 0 && size != 0:
			shape[ax] = size
		case shape[ax] < 0:
			shape[ax] = 224
		}
	}

	// Preprocessing: explicit option > sidecar <model>.json > catalog > defaults by format.
	var pre imageio.Preprocess
	switch {
	case cfg.pre != nil:
		pre = *cfg.pre
	default:
		sidecar := strings.TrimSuffix(m.Path, filepath.Ext(m.Path)) + ".json"
		if _, err := os.Stat(sidecar); err == nil {
			p, err := imageio.LoadConfig(sidecar)
			if err != nil {
				return err
			}
			pre = p
		} else if entry != nil {
			cp := entry.Preprocess
			pre = imageio.Preprocess{Resize: cp.Resize, Filter: cp.Filter, Mean: cp.Mean, Std: cp.Std}
		} else if m.Format == "tflite" {
			// TFLite classifiers are trained on whole photos squeezed to the input size.
			pre = imageio.Preprocess{Resize: "stretch", Filter: "bilinear", Std: [3]float32{1, 1, 1}}
		} else {
			// torchvision's ImageNet evaluation transform.
			pre = imageio.Preprocess{Resize: "shorter_crop",
				Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}
		}
	}
	pre.Height, pre.Width = shape[hAxis], shape[hAxis+1]
	if pre.Resize == "shorter_crop" && cfg.size != 0 {
		pre.ResizeShorter = 0 // follows the size: N*256/224
	}
	pre.Layout = layout
	switch in.DType {
	case tensor.F32:
		pre.DType = "f32"
	case tensor.U8:
		pre.DType = "u8"
	case tensor.I8:
		pre.DType = "i8"
	default:
		return fmt.Errorf("%s: input %q has element type %s; want f32, u8 or i8", m.Path, in.Name, in.DType)
	}
	m.pre = pre

	prog, err := runtime.Compile(m.g, runtime.Options{Threads: cfg.threads,
		InputShapes: map[string]tensor.Shape{in.Name: shape}})
	if err != nil {
		return fmt.Errorf("%s: %w", m.Path, err)
	}
	m.prog = prog
	m.input = tensor.New(in.DType, shape)
	m.precision = precisionOf(m.g)
	m.outQuant, m.outProbs = outputSemantics(m.g)

	classes := prog.Graph().Outputs[0].Shape.NumElements()
	switch {
	case cfg.labels != nil:
		m.labels = cfg.labels
	case cfg.labelsPath != "":
		s, err := labels.Load(cfg.labelsPath)
		if err != nil {
			return err
		}
		m.labels = s
	case entry != nil && entry.Labels == "imagenet1001":
		m.labels = labels.ImageNetWithBackground()
	case m.g.Meta["labels"] != "":
		s, err := labels.Parse(m.Path+" (embedded labels)", []byte(m.g.Meta["labels"]))
		if err != nil {
			return err
		}
		m.labels = withChinese(s)
	case classes == 1001:
		m.labels = labels.ImageNetWithBackground()
	case classes == 1000:
		m.labels = labels.ImageNet()
	}
	if m.labels != nil && m.labels.Len() != classes {
		return fmt.Errorf("%s: the model scores %d classes but the label set has %d", m.Path, classes, m.labels.Len())
	}
	return nil
}

// withChinese swaps an embedded English ImageNet label file (with or without "background" first) for the
// built-in set, which has the Chinese names.
func withChinese(s *labels.Set) *labels.Set {
	for _, known := range []*labels.Set{labels.ImageNet(), labels.ImageNetWithBackground()} {
		if s.Len() != known.Len() {
			continue
		}
		same := true
		for i := 0; i < s.Len() && same; i++ {
			same = s.English(i) == known.English(i)
		}
		if same {
			return known
		}
	}
	return s
}

// precisionOf names the weight precision: int8/uint8 for quantized graphs, fp16 or fp32 otherwise.
func precisionOf(g *graph.Graph) string {
	p := "fp32"
	for _, n := range g.Nodes {
		if n.Op == "QLinearConv" || n.Op == "QLinearMatMul" {
			if w := n.Input(3); w != nil && w.DType == tensor.I8 {
				return "int8"
			}
			p = "uint8"
		}
		if n.Op == "Conv" || n.Op == "Gemm" || n.Op == "MatMul" {
			if w := n.Input(1); w != nil && w.DType == tensor.F16 {
				p = "fp16"
			}
		}
	}
	return p
}

// outputSemantics finds how to read the first output: the quantization of an integer output, and whether
// the model ends in a softmax already (then its scores are shown as they are).
func outputSemantics(g *graph.Graph) (*quant, bool) {
	prod := g.Producers()
	v := g.Outputs[0]
	var q *quant
	for n := prod[v]; n != nil; n = prod[n.Inputs[0]] {
		// y_scale, y_zero_point input positions of the ops that produce quantized outputs.
		scaleAt := map[string]int{"QuantizeLinear": 1, "QLinearConv": 6, "QLinearMatMul": 6, "QLinearAdd": 6,
			"QLinearMul": 6, "QLinearSoftmax": 3, "QLinearSigmoid": 3, "QLinearGlobalAveragePool": 3,
			"QLinearAveragePool": 3}
		if q == nil && (v.DType == tensor.U8 || v.DType == tensor.I8) {
			if i, ok := scaleAt[n.Op]; ok {
				q = &quant{scale: 1}
				if s := n.Input(i); s.IsConst() {
					q.scale = s.Const.F32()[0]
				}
				if z := n.Input(i + 1); z.IsConst() {
					q.zero = int32(z.Const.Ints()[0])
				}
			}
		}
		switch n.Op {
		case "Softmax", "QLinearSoftmax":
			return q, true
		case "Reshape", "Squeeze", "Flatten", "Identity", "DequantizeLinear", "QuantizeLinear", "Unsqueeze":
			if len(n.Inputs) == 0 {
				return q, false
			}
			continue
		}
		return q, false
	}
	return q, false
}

// InputSize is the model's input height and width.
func (m *Model) InputSize() (h, w int) { return m.pre.Height, m.pre.Width }

// Precision is fp32, fp16, int8 or uint8.
func (m *Model) Precision() string { return m.precision }

// Labels is the label set (nil if the model's classes have no names).
func (m *Model) Labels() *labels.Set { return m.labels }

// Stats describes the compiled program's memory.
func (m *Model) Stats() runtime.Stats { return m.prog.Stats() }

// Close releases the program and the mapped model file.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.prog != nil {
		m.prog.Close()
		m.prog = nil
	}
	return m.g.Close()
}

// ClassifyFile decodes a photo and classifies it; errors name the file.
func (m *Model) ClassifyFile(ctx context.Context, path string, topK int) (Result, error) {
	start := time.Now()
	img, err := imageio.DecodeFile(path, imageio.DecodeOptions{})
	if err != nil {
		return Result{}, err
	}
	res, err := m.Classify(ctx, img, topK)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", path, err)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// ErrClosed is returned by Classify after Close.
var ErrClosed = errors.New("wanwu: model is closed")

// Classify returns the topK most likely classes of img, best first.
func (m *Model) Classify(ctx context.Context, img *imageio.RGB, topK int) (Result, error) {
	start := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.prog == nil {
		return Result{}, ErrClosed
	}
	if err := m.pre.Into(img, m.input, 0); err != nil {
		return Result{}, err
	}
	outs, err := m.prog.Run(ctx, []*tensor.Tensor{m.input})
	if err != nil {
		return Result{}, err
	}
	scores := m.scores(outs[0])
	preds := topKOf(scores, topK)
	for i := range preds {
		if m.labels != nil {
			preds[i].Label = m.labels.Name(preds[i].Index, "zh")
			preds[i].LabelEn = m.labels.Name(preds[i].Index, "en")
		} else {
			preds[i].Label = fmt.Sprintf("#%d", preds[i].Index)
			preds[i].LabelEn = preds[i].Label
		}
	}
	return Result{Predictions: preds, Elapsed: time.Since(start)}, nil
}

// scores turns the output into probabilities.
func (m *Model) scores(out *tensor.Tensor) []float64 {
	n := out.NumElements()
	s := make([]float64, n)
	switch out.DType {
	case tensor.F32:
		for i, v := range out.F32() {
			s[i] = float64(v)
		}
	case tensor.U8, tensor.I8:
		q := m.outQuant
		if q == nil {
			q = &quant{scale: 1}
		}
		for i := 0; i < n; i++ {
			var raw int32
			if out.DType == tensor.U8 {
				raw = int32(out.Data[i])
			} else {
				raw = int32(int8(out.Data[i]))
			}
			s[i] = float64(q.scale) * float64(raw-q.zero)
		}
	default:
		panic("wanwu: unexpected output type " + out.DType.String())
	}
	if !m.outProbs {
		softmax(s)
	}
	return s
}

func softmax(s []float64) {
	mx := math.Inf(-1)
	for _, v := range s {
		mx = max(mx, v)
	}
	sum := 0.0
	for i, v := range s {
		s[i] = math.Exp(v - mx)
		sum += s[i]
	}
	for i := range s {
		s[i] /= sum
	}
}

func topKOf(s []float64, k int) []Prediction {
	idx := make([]int, len(s))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s[idx[a]] > s[idx[b]] })
	if k > len(idx) {
		k = len(idx)
	}
	out := make([]Prediction, k)
	for i := range out {
		out[i] = Prediction{Index: idx[i], Score: s[idx[i]]}
	}
	return out
}
