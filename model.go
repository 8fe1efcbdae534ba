package wanwu

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/graph/passes"
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/importer/tflite"
	"github.com/wanwu-ai/wanwu/internal/procstat"
	"github.com/wanwu-ai/wanwu/labels"
	"github.com/wanwu-ai/wanwu/memory"
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

	precision    string // "" or "auto": the best that fits (fp32 without a budget)
	budget       int64  // bytes; 0 = no budget (unless autoBudget)
	budgetSrc    string
	autoBudget   bool
	only         []string
	onlyMode     labels.MatchMode
	classes      []int
	photo        *imageio.Header // the largest photo to expect; nil = memory.DefaultPhotoPixels
	releaseAfter time.Duration
	logf         func(format string, a ...any)
	winograd     bool
	memLimit     bool
	calibrate    []string // WithCalibration
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

// WithPrecision asks for a weight precision: "fp32", another one the engine supports for the model
// (see Precisions), or "auto" (the default): the most accurate that fits the budget.
func WithPrecision(p string) Option { return func(c *config) { c.precision = p } }

// WithBudget makes Load choose the most accurate configuration (precision, and input size for models
// with a dynamic size, unless fixed by WithPrecision/WithInputSize) whose predicted peak RSS fits in
// bytes; source names where the figure came from, for messages ("--budget"). Nothing fitting is an
// error (*memory.NoFitError) naming what the smallest configuration needs.
func WithBudget(bytes int64, source string) Option {
	return func(c *config) { c.budget, c.budgetSrc, c.autoBudget = bytes, source, false }
}

// WithDetectedBudget is WithBudget with the budget read from the cgroup limit or MemAvailable
// (memory.DetectBudget).
func WithDetectedBudget() Option { return func(c *config) { c.autoBudget = true } }

// WithOnly keeps only the classes matching queries (class names in Chinese or English, or categories
// such as 食物; see labels.Set.Match): the classifier layer is pruned to those rows at load time, and
// scores are a softmax over the kept classes. Prediction indices stay those of the full label set.
func WithOnly(queries []string, mode labels.MatchMode) Option {
	return func(c *config) { c.only, c.onlyMode = queries, mode }
}

// WithClasses keeps only the given class indices (ascending, distinct), like WithOnly.
func WithClasses(indices []int) Option { return func(c *config) { c.classes = indices } }

// WithPhotoPixels tells the memory prediction how large the photos will be (width×height of the
// largest, decoded at full size); the default is memory.DefaultPhotoPixels.
func WithPhotoPixels(n int64) Option {
	return func(c *config) { c.photo = &imageio.Header{Width: int(n), Height: 1, Orientation: 1} }
}

// WithPhoto tells the memory prediction the header of the largest photo, so a JPEG's reduced-scale
// decoding is accounted for (imageio.ReadHeader reads one without decoding).
func WithPhoto(h imageio.Header) Option { return func(c *config) { c.photo = &h } }

// WithReleaseAfter releases the program (arena, packed weights, worker pool) once the model has been idle
// for d, and compiles it again on the next Classify: for a long-running server that is mostly idle.
func WithReleaseAfter(d time.Duration) Option { return func(c *config) { c.releaseAfter = d } }

// WithMemoryLimit makes Load set the Go runtime's soft memory limit (debug.SetMemoryLimit, process-wide)
// from the chosen configuration's predicted peak (memory.HeapLimit) before it compiles, so the garbage of
// weight conversion and packing is collected before it raises the peak, and the heap stays flat over
// many photos. For programs that run one model, such as the wanwu command; a lower limit already set
// (GOMEMLIMIT) is kept.
func WithMemoryLimit() Option { return func(c *config) { c.memLimit = true } }

// WithLogf receives verbose messages (the chosen configuration and its predicted memory).
func WithLogf(f func(format string, a ...any)) Option { return func(c *config) { c.logf = f } }

// WithWinograd lets stride-1 3×3 convolutions run as Winograd F(2×2,3×3): 13-17% faster on
// ResNet-50/ResNeSt for 16/9 the memory of those layers' packed weights (ResNet-50: +25 MiB). The
// default is the leaner im2col path; the memory prediction follows the choice.
func WithWinograd() Option { return func(c *config) { c.winograd = true } }

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
	basePre   imageio.Preprocess // before fitting to an input size
	precision string
	outQuant  *quant // dequantization of the output, for integer outputs
	outProbs  bool   // the model already ends in a softmax

	mu    sync.Mutex
	g     *graph.Graph
	prog  *runtime.Program
	input *tensor.Tensor
	// batches caches programs compiled for batch sizes > 1 (ClassifyBatch); Close and Release drop them.
	batches map[int]*batchProgram

	keep []int // kept class indices after head pruning (nil: all), for mapping outputs back
	// srcHeap is what the source graph holds on the Go heap beside the program: the pruned head's copied
	// rows (needed to compile again) and a label file's table. A converted (int8/fp16) program keeps its
	// own head, so these add to its predicted peak; an fp32 program reads the copied rows itself.
	headCopy, labelBytes int64
	chosen               memory.Config
	ropts                runtime.Options // what prog was compiled with, to compile it again after a release
	stats                runtime.Stats
	closed               bool

	releaseAfter time.Duration
	idle         *time.Timer
	lastUse      time.Time
	releases     int
	logf         func(format string, a ...any) // nil: quiet
	winograd     bool                          // Options.Winograd of every program compiled
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

// Record is one photo's result in the JSON form that `wanwu classify --format json|jsonl` prints and
// POST /v1/classify returns (docs/api.md); a photo that failed has only File and Error.
type Record struct {
	File        string       `json:"file"`
	Model       string       `json:"model,omitempty"`
	InputSize   []int        `json:"input_size,omitempty"`
	Precision   string       `json:"precision,omitempty"`
	Predictions []Prediction `json:"predictions,omitempty"`
	ElapsedMS   *float64     `json:"elapsed_ms,omitempty"`
	Error       string       `json:"error,omitempty"`
}

// Load opens a model: a path to an .onnx or .tflite file, or the name of a catalog model (fetched into
// the cache on first use and verified by sha256).
func Load(ctx context.Context, model string, opts ...Option) (*Model, error) {
	cfg := newConfig(opts)
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

func newConfig(opts []Option) config {
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
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
	g, format, err := ImportGraph(path)
	if err != nil {
		return nil, inputInfo{}, err
	}
	m := &Model{Path: path, Format: format, g: g}
	m.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if entry != nil {
		m.Name = entry.Name
	}
	ii, err := m.prepare(entry, cfg)
	if err != nil {
		g.Close()
		return nil, inputInfo{}, err
	}
	return m, ii, nil
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

// precisions are the weight precisions the engine can run a float model in, most accurate first
// (memory.PrecisionRank): fp32 is the model as it is; fp16 stores Conv/Gemm/MatMul weights as IEEE
// half, widened to f32 in the kernels; int8 quantizes weights per output channel at load and
// activations dynamically per layer (docs/precision.md). Both convert streaming through the mapped
// model, releasing each float tensor's pages once converted. A precision is only offered for a model
// when runtime.Estimate accepts it.
var precisions = []string{"fp32", "fp16", "int8"}

// Precisions lists the precisions the engine offers for float models, most accurate first.
func Precisions() []string { return slices.Clone(precisions) }

// runtimePrecision is how runtime.Options asks for a configuration's precision p: a conversion for
// fp16 and int8, "" (the model as it is) for fp32 and for what only a stored model has (uint8).
func runtimePrecision(p string) string {
	if p == "fp32" || !slices.Contains(precisions, p) {
		return ""
	}
	return p
}

// PlanSizes are the input sizes considered for models whose spatial size is dynamic.
var PlanSizes = []int{224, 192, 160, 128}

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

// basePreprocess decides preprocessing: explicit option > sidecar <model>.json > catalog > defaults by
// format. A sidecar or catalog size becomes the default input size of a dynamic model.
func (m *Model) basePreprocess(entry *catalog.Entry, cfg config, ii *inputInfo) (imageio.Preprocess, error) {
	var pre imageio.Preprocess
	switch {
	case cfg.pre != nil:
		pre = *cfg.pre
	default:
		sidecar := strings.TrimSuffix(m.Path, filepath.Ext(m.Path)) + ".json"
		if _, err := os.Stat(sidecar); err == nil {
			p, err := imageio.LoadConfig(sidecar)
			if err != nil {
				return pre, err
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
	if ii.dynamic && pre.Height > 0 && pre.Height == pre.Width {
		ii.baseSize = pre.Height
	}
	pre.Layout = ii.layout
	switch ii.dtype {
	case tensor.F32:
		pre.DType = "f32"
	case tensor.U8:
		pre.DType = "u8"
	case tensor.I8:
		pre.DType = "i8"
	default:
		return pre, fmt.Errorf("%s: input %q has element type %s; want f32, u8 or i8", m.Path, ii.name, ii.dtype)
	}
	return pre, nil
}

// preprocessFor fits the preprocessing to an input size: the crop is the size, and the shorter side
// before it keeps the configured ratio (resize_shorter/height of a sidecar), or N·256/224 by default.
func preprocessFor(base imageio.Preprocess, shape tensor.Shape, hAxis int) imageio.Preprocess {
	p := base
	p.Height, p.Width = shape[hAxis], shape[hAxis+1]
	if p.Resize == "shorter_crop" || p.Resize == "" {
		if base.ResizeShorter > 0 && base.Height > 0 {
			p.ResizeShorter = (base.ResizeShorter*max(p.Height, p.Width) + base.Height/2) / base.Height
		} else {
			p.ResizeShorter = 0 // max(H,W)*256/224
		}
	}
	return p
}

// prepare decides the input, the base preprocessing, the labels and the class subset, and prunes the
// classifier to the subset.
func (m *Model) prepare(entry *catalog.Entry, cfg config) (inputInfo, error) {
	m.winograd = cfg.winograd
	ii, err := m.inputInfo(cfg)
	if err != nil {
		return ii, err
	}
	if m.basePre, err = m.basePreprocess(entry, cfg, &ii); err != nil {
		return ii, err
	}

	// Labels, checked against the classes the model scores.
	classes := -1 // unknown until compiled; configure checks the labels against the program then
	if osh := m.g.Outputs[0].Shape; len(osh) > 0 && osh[len(osh)-1] > 0 {
		classes = osh[len(osh)-1]
	}
	if err := m.chooseLabels(entry, cfg, classes); err != nil {
		return ii, err
	}

	keep := cfg.classes
	if len(cfg.only) > 0 {
		if m.labels == nil {
			return ii, fmt.Errorf("%s: --only needs class names, and this model has none (give --labels)", m.Path)
		}
		if keep, err = m.labels.Match(cfg.only, cfg.onlyMode); err != nil {
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
	cands, err := m.chooseConfig(cfg, ii)
	if err != nil {
		return err
	}
	c := cands[0]
	m.chosen = c
	shape := ii.shapeFor(c.Size, 1)
	m.pre = preprocessFor(m.basePre, shape, ii.hAxis)
	m.ropts = runtime.Options{Threads: cfg.threads, InputShapes: map[string]tensor.Shape{ii.name: shape},
		Precision: runtimePrecision(c.Precision), Winograd: m.winograd}
	if cfg.memLimit {
		if c.PredictedPeakBytes == 0 { // no budget: nothing was estimated yet (Estimate reads no weights)
			if c, err = m.predict(ii, c.Precision, c.Size, 1, c.Threads, cfg.photo); err != nil {
				return err
			}
		}
		setMemoryLimit(memory.HeapLimit(c.Breakdown))
	}
	if len(cfg.calibrate) > 0 {
		if c.Precision != "int8" && cfg.precision != "" && cfg.precision != "auto" {
			return fmt.Errorf("%s: calibration photos are for int8, not %s", m.Path, c.Precision)
		}
		if c.Precision == "int8" {
			if err := m.calibrateGraph(context.Background(), cfg.calibrate, m.pre, shape, ii.dtype, cfg.threads); err != nil {
				return err
			}
		}
	}
	prog, err := runtime.Compile(m.g, m.ropts)
	if err != nil {
		return fmt.Errorf("%s: %w", m.Path, err)
	}
	m.prog, m.stats = prog, prog.Stats()
	m.chosen.Breakdown = m.held(memory.Predict(m.stats, m.decodeCost(cfg.photo, m.pre)+inputBytes(ii, c.Size, 1)), c.Precision)
	m.chosen.PredictedPeakBytes = m.chosen.Breakdown.Total()
	m.chosen.Labels = prog.Graph().Outputs[0].Shape.NumElements()
	if cfg.logf != nil {
		cfg.logf("%s: %s; predicted peak %s", m.Name, m.chosen, m.chosen.Breakdown)
	}
	m.input = tensor.New(ii.dtype, shape)
	m.precision = GraphPrecision(m.g)
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
func setMemoryLimit(limit int64) {
	if cur := debug.SetMemoryLimit(-1); limit < cur {
		debug.SetMemoryLimit(limit)
	}
}

// chooseLabels picks the label set for a model scoring classes classes (-1: not known before compiling).
func (m *Model) chooseLabels(entry *catalog.Entry, cfg config, classes int) error {
	switch {
	case cfg.labels != nil:
		m.labels = cfg.labels
	case cfg.labelsPath != "":
		s, err := labels.Load(cfg.labelsPath)
		if err != nil {
			return err
		}
		m.labels = s
		// A loaded table holds each name, its lower-cased form and their headers: about 4x the file
		// (measured: 2.3 MiB for a 54k-line, 0.6 MB file). The built-in 1000 classes are in the base.
		if st, err := os.Stat(cfg.labelsPath); err == nil {
			m.labelBytes = 4 * st.Size()
		}
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
	if m.labels != nil && classes > 0 && m.labels.Len() != classes {
		return fmt.Errorf("%s: the model scores %d classes but the label set has %d", m.Path, classes, m.labels.Len())
	}
	return nil
}

// candidatePrecisions are the precisions to consider: the stored one for quantized or half models,
// else every registered precision (or just the one asked for).
func (m *Model) candidatePrecisions(asked string) ([]string, error) {
	stored := GraphPrecision(m.g)
	if stored != "fp32" {
		if asked != "" && asked != "auto" && asked != stored {
			return nil, fmt.Errorf("%s: the model stores %s weights; --precision %s is not possible", m.Path, stored, asked)
		}
		return []string{"fp32"}, nil // as stored: no conversion
	}
	if asked == "" || asked == "auto" {
		return Precisions(), nil
	}
	if !slices.Contains(precisions, asked) {
		return nil, fmt.Errorf("%s: precision %q is not supported; choose one of %s or auto", m.Path, asked, strings.Join(Precisions(), ", "))
	}
	return []string{asked}, nil
}

// chooseConfig returns the configuration to compile first (and, under a budget, the whole ranked list
// behind it). Without a budget it is the asked (or default) precision and size, estimated for -v.
func (m *Model) chooseConfig(cfg config, ii inputInfo) ([]memory.Config, error) {
	budget := memory.Budget{Bytes: cfg.budget, Source: cfg.budgetSrc}
	if cfg.autoBudget {
		b, err := memory.DetectBudget()
		if err != nil {
			return nil, err
		}
		budget = b
	}
	precs, err := m.candidatePrecisions(cfg.precision)
	if err != nil {
		return nil, err
	}
	sizes := []int{ii.baseSize}
	if cfg.size != 0 {
		sizes = []int{cfg.size}
	} else if ii.dynamic && budget.Bytes > 0 {
		sizes = nil
		for _, s := range PlanSizes {
			if s <= ii.baseSize {
				sizes = append(sizes, s)
			}
		}
		if len(sizes) == 0 || sizes[0] != ii.baseSize {
			sizes = append([]int{ii.baseSize}, sizes...)
		}
	}
	if budget.Bytes <= 0 && !cfg.autoBudget {
		// No budget: the most accurate precision asked for, at the asked size.
		p := "fp32"
		if cfg.precision != "" && cfg.precision != "auto" && len(precs) == 1 {
			p = precs[0]
		}
		precs = []string{p}
	}
	threads := cfg.threads
	if threads <= 0 {
		threads = goruntime.GOMAXPROCS(0)
	}
	if budget.Bytes <= 0 && !cfg.autoBudget {
		// Nothing to choose: configure predicts from the compiled program's own stats.
		return []memory.Config{{Precision: precs[0], Size: sizes[0], Batch: 1, Threads: threads}}, nil
	}
	var all []memory.Config
	for _, p := range precs {
		for _, size := range sizes {
			c, err := m.predict(ii, p, size, 1, threads, cfg.photo)
			if err != nil {
				if len(precs) == 1 && len(sizes) == 1 {
					return nil, err
				}
				continue // a precision the engine cannot run this model in is not a candidate
			}
			all = append(all, c)
		}
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%s: no configuration compiles", m.Path)
	}
	plan := memory.Choose(m.Name, all, budget.Bytes)
	if plan.Chosen == nil {
		return nil, &memory.NoFitError{Model: m.Name, Budget: budget, Smallest: plan.Smallest()}
	}
	if cfg.logf != nil {
		cfg.logf("budget %s (%s)", memory.FormatSize(budget.Bytes), budget.Source)
	}
	return []memory.Config{*plan.Chosen}, nil
}

// predict estimates one configuration's peak RSS without compiling weights or allocating the arena.
func (m *Model) predict(ii inputInfo, precision string, size, batch, threads int, photo *imageio.Header) (memory.Config, error) {
	opts := runtime.Options{Threads: threads, InputShapes: map[string]tensor.Shape{ii.name: ii.shapeFor(size, batch)},
		Precision: runtimePrecision(precision), Winograd: m.winograd}
	st, err := runtime.Estimate(m.g, opts)
	if err != nil {
		return memory.Config{}, fmt.Errorf("%s: %s at %d: %w", m.Path, precision, size, err)
	}
	labelsN := 0
	if outs := st.Steps; len(outs) > 0 {
		labelsN = outs[len(outs)-1].Shape.NumElements() / batch
	}
	pre := preprocessFor(m.basePre, ii.shapeFor(size, 1), ii.hAxis)
	b := m.held(memory.Predict(st, m.decodeCost(photo, pre)+inputBytes(ii, size, batch)), precision)
	if precision == "fp32" {
		precision = GraphPrecision(m.g) // a half or quantized file runs as stored
	}
	return memory.Config{Precision: precision, Size: size, Batch: batch, Threads: threads, Labels: labelsN,
		PredictedPeakBytes: b.Total(), Breakdown: b}, nil
}

// PlanConfigs predicts every candidate configuration of a model (each precision the engine runs it in
// and, for a dynamic input size, each of PlanSizes), ranks them and chooses under budget. It does not
// compile weights or allocate arenas. Options as for Load (WithOnly, WithThreads, WithPhotoPixels ...).
func PlanConfigs(ctx context.Context, model string, budget int64, opts ...Option) (memory.Plan, error) {
	cfg := newConfig(opts)
	m, ii, err := open(ctx, model, cfg)
	if err != nil {
		return memory.Plan{}, err
	}
	defer m.g.Close()
	precs, err := m.candidatePrecisions(cfg.precision)
	if err != nil {
		return memory.Plan{}, err
	}
	sizes := []int{ii.baseSize}
	if cfg.size != 0 {
		sizes = []int{cfg.size}
	} else if ii.dynamic {
		sizes = PlanSizes
	}
	threads := cfg.threads
	if threads <= 0 {
		threads = goruntime.GOMAXPROCS(0)
	}
	var all []memory.Config
	var firstErr error
	for _, p := range precs {
		for _, size := range sizes {
			if err := ctx.Err(); err != nil {
				return memory.Plan{}, err
			}
			c, err := m.predict(ii, p, size, 1, threads, cfg.photo)
			if err != nil {
				firstErr = cmp.Or(firstErr, err)
				continue
			}
			all = append(all, c)
		}
	}
	if len(all) == 0 {
		return memory.Plan{}, firstErr
	}
	return memory.Choose(m.Name, all, budget), nil
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

// GraphPrecision names the precision a graph's weights are stored in: int8 or uint8 for quantized graphs
// (by the QLinearConv/QLinearMatMul weight type), fp16 for half weights, fp32 otherwise.
func GraphPrecision(g *graph.Graph) string {
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
func (m *Model) Stats() runtime.Stats { return m.stats }

// Config is the configuration Load chose (precision, size, threads, classes) and its predicted peak RSS.
func (m *Model) Config() memory.Config { return m.chosen }

// Classes maps output positions to class indices of the full label set when the head was pruned
// (WithOnly, WithClasses); nil when every class is scored.
func (m *Model) Classes() []int { return m.keep }

// Close releases the program and the mapped model file.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	if m.idle != nil {
		m.idle.Stop()
	}
	if m.prog != nil {
		m.prog.Close()
		m.prog = nil
	}
	m.closeBatchesLocked()
	return m.g.Close()
}

// Releases counts how often the idle timer (WithReleaseAfter) has released the program.
func (m *Model) Releases() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.releases
}

// Release drops the compiled program now — its arena, packed weights and worker pool — and returns the
// freed memory to the operating system; the next Classify compiles it again. Pages of the mapped model
// file are released from the process too (they stay in the page cache).
func (m *Model) Release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.releaseLocked()
}

func (m *Model) releaseLocked() {
	if m.prog == nil {
		return
	}
	rssBefore, _ := procstat.RSS()
	m.prog.Close()
	m.prog = nil
	m.closeBatchesLocked()
	m.releases++
	defer func() {
		if m.logf != nil {
			rss, _ := procstat.RSS()
			m.logf("%s: idle for %s, released the program: RSS %s -> %s", m.Name, m.releaseAfter,
				memory.FormatSize(rssBefore), memory.FormatSize(rss))
		}
	}()
	debug.FreeOSMemory()
	// The mapped weights the program read at run time (an fp32 classifier head) leave the process too.
	if rel, ok := m.g.Backing.(graph.RangeReleaser); ok {
		for t := range constTensors(m.g) {
			rel.ReleaseRange(t.Data)
		}
	}
}

// readyLocked makes sure a program is compiled (again, after a release) and restarts the idle timer.
func (m *Model) readyLocked() error {
	if m.closed {
		return ErrClosed
	}
	if m.prog == nil {
		prog, err := runtime.Compile(m.g, m.ropts)
		if err != nil {
			return fmt.Errorf("%s: %w", m.Path, err)
		}
		m.prog = prog
	}
	if m.releaseAfter > 0 {
		m.lastUse = time.Now()
		if m.idle == nil {
			m.idle = time.AfterFunc(m.releaseAfter, m.idleCheck)
		} else {
			m.idle.Reset(m.releaseAfter)
		}
	}
	return nil
}

// idleCheck runs when the idle timer fires; a Classify that started meanwhile has pushed lastUse on.
func (m *Model) idleCheck() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.prog == nil {
		return
	}
	if wait := m.releaseAfter - time.Since(m.lastUse); wait > 0 {
		m.idle.Reset(wait)
		return
	}
	m.releaseLocked()
}

// held adds to a prediction what the model holds outside the program (see Model.headCopy).
func (m *Model) held(b memory.Breakdown, precision string) memory.Breakdown {
	extra := m.labelBytes
	if precision != "fp32" {
		extra += m.headCopy
	}
	b.Weights += extra
	b.Runtime += extra * memory.HeapSlackPercent / 100
	return b
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

// inputBytes is the preprocessed input batch the facade fills before each run (outside the arena).
func inputBytes(ii inputInfo, size, batch int) int64 {
	return int64(ii.shapeFor(size, batch).NumElements()) * int64(ii.dtype.Size())
}

// decodeCost predicts what decoding photo (the default photo when nil) holds at its peak for pre.
func (m *Model) decodeCost(photo *imageio.Header, pre imageio.Preprocess) int64 {
	if photo == nil {
		return memory.DecodeBytes(memory.DefaultPhotoPixels, 1, 0)
	}
	return photo.DecodeCost(pre.MinSize())
}

// DecodeOptions are the decoding bounds for this model's photos: JPEGs decode at the smallest DCT scale
// that still covers the model's resize, so a 24 MP photo costs about as much as a small one.
func (m *Model) DecodeOptions() imageio.DecodeOptions {
	w, h := m.pre.MinSize()
	return imageio.DecodeOptions{MinWidth: w, MinHeight: h}
}

// ClassifyFile decodes a photo and classifies it; errors name the file.
func (m *Model) ClassifyFile(ctx context.Context, path string, topK int) (Result, error) {
	start := time.Now()
	img, err := imageio.DecodeFile(path, m.DecodeOptions())
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
	if err := m.readyLocked(); err != nil {
		return Result{}, err
	}
	all, err := m.runOneLocked(ctx, m.prog, m.input, []*imageio.RGB{img}, topK)
	if err != nil {
		return Result{}, err
	}
	preds := all[0]
	return Result{Predictions: preds, Elapsed: time.Since(start)}, nil
}

// predictions is the topK of scores, named, with indices of the full label set.
func (m *Model) predictions(scores []float64, topK int) []Prediction {
	preds := topKOf(scores, topK)
	for i := range preds {
		if m.keep != nil {
			preds[i].Index = m.keep[preds[i].Index]
		}
		if m.labels != nil {
			preds[i].Label = m.labels.Name(preds[i].Index, "zh")
			preds[i].LabelEn = m.labels.Name(preds[i].Index, "en")
		} else {
			preds[i].Label = fmt.Sprintf("#%d", preds[i].Index)
			preds[i].LabelEn = preds[i].Label
		}
	}
	return preds
}

// scores turns the output into probabilities; for a pruned head, over the kept classes only.
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
