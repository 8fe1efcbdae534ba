package wanwu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/compiled"
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/graph/passes"
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/importer/tflite"
	"github.com/wanwu-ai/wanwu/internal/userfile"
	"github.com/wanwu-ai/wanwu/labels"
	"github.com/wanwu-ai/wanwu/lower"
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
	catsPath   string
	pre        *imageio.Preprocess
	fetcher    *catalog.Fetcher
	size       int
	batch      int // WithBatch: plan for batches of up to this many (PlanConfigs)
	resize     int // WithResize: the shorter side before the centre crop (0: the model's ratio)

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
	exportable   bool     // Convert: compile what a compiled model file needs (runtime.Options.Exportable)
}

// WithThreads sets the number of threads for intra-op parallelism: 0 (the default) is one per core
// (GOMAXPROCS); more than runtime.MaxThreads (4 per CPU) makes Load fail, as each thread is a worker
// goroutine with its own stack that only waits for a core.
func WithThreads(n int) Option { return func(c *config) { c.threads = n } }

// WithLabels replaces the model's labels.
func WithLabels(s *labels.Set) Option { return func(c *config) { c.labels = s } }

// WithLabelFile loads labels from a file (txt, JSON or ModelScope meta_info.txt; see package labels).
func WithLabelFile(path string) Option { return func(c *config) { c.labelsPath = path } }

// WithCategoryFile adds the categories of a categories file (labels.LoadCategories) to the model's
// labels, so WithOnly can select a category (水果) of a user label file.
func WithCategoryFile(path string) Option { return func(c *config) { c.catsPath = path } }

// WithPreprocess overrides how photos become input tensors.
func WithPreprocess(p imageio.Preprocess) Option { return func(c *config) { c.pre = &p } }

// WithFetcher sets where catalog models are cached and fetched from.
func WithFetcher(f *catalog.Fetcher) Option { return func(c *config) { c.fetcher = f } }

// WithInputSize sets the square input side for models whose spatial size is dynamic.
func WithInputSize(n int) Option { return func(c *config) { c.size = n } }

// WithBatch makes PlanConfigs predict batches of up to n photos: a program for each batch size up to n
// sharing weights and one arena, as `wanwu serve --max-batch n` holds. A model with a fixed batch of 1
// cannot; Load compiles batch 1 whatever it says (ClassifyBatch adds the others).
func WithBatch(n int) Option { return func(c *config) { c.batch = n } }

// WithResize sets the shorter side photos are resized to before the centre crop of the input size
// (torchvision Resize(n) + CenterCrop(size)): WithResize(160) with WithInputSize(128) is
// Resize(160)/CenterCrop(128). Only for models that resize the shorter side and crop (ONNX defaults,
// sidecars with "shorter_crop"); it must be at least the input size.
func WithResize(n int) Option { return func(c *config) { c.resize = n } }

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
// ResNet-50/ResNeSt for 16/9 the memory of those layers' packed weights (ResNet-50 fp32 at 224: +11 MiB peak RSS, docs/memory.md). The
// default is the leaner im2col path; the memory prediction follows the choice.
func WithWinograd() Option { return func(c *config) { c.winograd = true } }

// Model is a loaded, compiled classifier.
type Model struct {
	// Name is the catalog name, or the file name without extension.
	Name string
	// Path is the model file.
	Path string
	// Format is "onnx", "tflite" or "wanwu" (a compiled model file, package compiled).
	Format string
	// compiled is the mapped compiled model file when Format is "wanwu".
	compiled *compiled.File

	labels    *labels.Set
	pre       imageio.Preprocess
	basePre   imageio.Preprocess // before fitting to an input size
	precision string
	outQuant  *quant  // dequantization of the output, for integer outputs
	outProbs  bool    // the model already ends in a softmax
	beta      float64 // the softmax's beta where scoreFromLogits took the softmax out of the graph (0: 1)

	mu   sync.Mutex
	g    *graph.Graph
	prog *runtime.Program
	// shared holds what every program of the model shares: derived weights, one arena, one worker
	// pool (runtime.Shared); Close and Release drop it with the programs.
	shared *runtime.Shared
	// batches caches programs compiled for batch sizes > 1 (ClassifyBatch); Close and Release drop them.
	batches map[int]*batchProgram
	// estimates caches runtime.Estimate of the program for each batch size (PredictBatches).
	estimates map[int]runtime.Stats
	// budget is the budget the configuration was chosen under (Bytes 0: none); ClassifyBatch compiles
	// a program for a larger batch only when the model with it still fits.
	budget      memory.Budget
	memLimit    bool  // WithMemoryLimit: raise the Go memory limit with the batch programs' prediction
	memLimitSet int64 // the limit WithMemoryLimit set (0: none)

	keep      []int    // kept class indices after head pruning (nil: all), for mapping outputs back
	unmatched []string // WithOnly queries that matched no class (others did), for a warning
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
	resize       int                           // WithResize (0: the model's own ratio)
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

// basePreprocess decides preprocessing: explicit option > sidecar <model>.json > catalog > defaults by
// format. A sidecar or catalog size becomes the default input size of a dynamic model.
func (m *Model) basePreprocess(entry *catalog.Entry, cfg config, ii *inputInfo) (imageio.Preprocess, error) {
	var pre imageio.Preprocess
	switch {
	case cfg.pre != nil:
		pre = *cfg.pre
	case m.compiled != nil:
		pre = m.compiled.Info.Preprocess
	default:
		sidecar := sidecarPath(m.Path)
		if sc, err := readSidecar(sidecar); err != nil {
			return pre, err
		} else if sc.Preprocess != nil {
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

// shorterSide is the side photos are resized to before the centre crop, 0 when they are not cropped so.
func shorterSide(p imageio.Preprocess) int {
	if p.Resize != "shorter_crop" && p.Resize != "" {
		return 0
	}
	if p.ResizeShorter == 0 {
		return max(p.Width, p.Height) * 256 / 224
	}
	return p.ResizeShorter
}

// sidecarPath is the JSON file beside a model that describes it: <model>.json.
func sidecarPath(model string) string {
	return strings.TrimSuffix(model, filepath.Ext(model)) + ".json"
}

// sidecar is what Load reads from a model's sidecar: its preprocessing (imageio.LoadConfig) and labels.
type sidecar struct {
	Preprocess *json.RawMessage `json:"preprocess"`
	Labels     json.RawMessage  `json:"labels"` // a JSON label list (labels.Parse): array, or index -> name
}

// maxSidecarBytes bounds a sidecar: a preprocess section and up to labels.MaxLabels names.
const maxSidecarBytes = 32 << 20

// readSidecar reads the sidecar at path; none there is the zero sidecar.
func readSidecar(path string) (sidecar, error) {
	var sc sidecar
	if _, err := os.Stat(path); err != nil {
		return sc, nil
	}
	data, err := userfile.ReadFile(path, maxSidecarBytes, "a model sidecar", userfile.CheckText)
	if err != nil {
		return sc, err
	}
	if err := json.Unmarshal(data, &sc); err != nil {
		return sc, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}

// preprocessFor fits the preprocessing to an input size: the crop is the size, and the shorter side
// before it is resize when given (WithResize), else keeps the configured ratio (resize_shorter/height of a
// sidecar), or N·256/224 by default.
func preprocessFor(base imageio.Preprocess, shape tensor.Shape, hAxis, resize int) imageio.Preprocess {
	p := base
	p.Height, p.Width = shape[hAxis], shape[hAxis+1]
	if p.Resize == "shorter_crop" || p.Resize == "" {
		if resize > 0 {
			p.ResizeShorter = resize
		} else if base.ResizeShorter > 0 && base.Height > 0 {
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
	all, err := m.runOneLocked(ctx, m.prog, []*imageio.RGB{img}, topK)
	if err != nil {
		return Result{}, err
	}
	preds := all[0]
	return Result{Predictions: preds, Elapsed: time.Since(start)}, nil
}
