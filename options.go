package wanwu

import (
	"time"

	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/labels"
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
	noWinograd   bool
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

// WithWinograd lets stride-1 3×3 convolutions run as Winograd F(2×2,3×3), which is the default; it
// stays for callers written when Winograd was opt-in. See WithoutWinograd.
func WithWinograd() Option { return func(c *config) { c.noWinograd = false } }

// WithoutWinograd keeps stride-1 3×3 convolutions off Winograd F(2×2,3×3): their layers take about
// 1.6 times as long on AVX-512 CPUs (ResNet-50 fp32 one thread: 13 % more in all) and their packed
// weights 9/16 of the memory (ResNet-50 fp32 at 224: 11 MiB less peak RSS, docs/memory.md). The
// memory prediction follows the choice.
func WithoutWinograd() Option { return func(c *config) { c.noWinograd = true } }

func newConfig(opts []Option) config {
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}
