package memory

import (
	"fmt"
	"sort"

	"github.com/wanwu-ai/wanwu/runtime"
)

// The calibrated constants of the peak-RSS model (see docs/memory.md for the measurements they come
// from, and bench/memory for the script that re-measures them).
const (
	// RuntimeBaseBytes is what a classify process holds besides weights, arena, photo and the program's
	// own structures (StepBytes): the binary's pages (about 10 MiB resident before any model with the
	// default CGO_ENABLED=0 build: text, rodata, data), the code pages import, passes and kernels
	// touch, the Go runtime's metadata, the label tables, the main goroutines' stacks and one worker's.
	// Calibrated with StepBytes on the measured residual over 24 configurations (docs/memory.md).
	RuntimeBaseBytes = 14 << 20
	// StepBytes is what the first program costs per kernel step beside its weights and arena: the
	// imported source graph (its nodes, values and tensor headers: about three source nodes per
	// step), the optimized copy, the kernels' own state and the heap around them. Fitted with
	// RuntimeBaseBytes: MobileNetV2 (64 steps) and ResNet-50 (72) leave 14.0-15.2 MiB, ResNeSt-101
	// (382 steps) 18.6-19.0 MiB at int8, where its weights are on the heap too.
	StepBytes = 14 << 10
	// HeapSlackPercent is the growth over everything the program holds (weights, packed, arena,
	// decode) that the base leaves out: heap fragmentation of size classes and GC metadata that scale
	// with the heap, fault-around pages of the mapped weights.
	HeapSlackPercent = 1
	// DecodeBytesPerPixel is what decoding a photo holds at once per pixel: the decoder's own image
	// (YCbCr for JPEG, RGBA for PNG/BMP) and the packed RGB copy.
	DecodeBytesPerPixel = 7
	// DefaultPhotoPixels is the photo `wanwu plan` assumes when it is not told one: 1920×1080.
	DefaultPhotoPixels = 1920 * 1080
	// BaseThreads is the thread count RuntimeBaseBytes was calibrated at (its worker stack included).
	BaseThreads = 2
	// WorkerBytes is what each further thread of the worker pool holds: a goroutine (g struct, job
	// channel) and its stack. An idle worker measured about 3 KiB (a million of them: 2.86 GB); one
	// that has run a depthwise convolution has grown its stack to 32 KiB (the kernel's 16 KiB strip
	// buffer lives there). This is the grown figure, so the prediction holds on any machine.
	WorkerBytes = 36 << 10
	// ProgramBytesPerStep is what each program beyond the first holds, per kernel step: its optimized
	// graph, kernels and tensor headers (its weights are the first program's, shared). Measured, Go
	// heap after GC per extra program of one Shared: ResNet-50 fp32 204 KiB / 72 steps, ResNeSt-101
	// fp16 1084 KiB / 382 steps (2.8 KiB a step), MobileNetV2 int8 356 KiB / 64 steps (5.6 KiB).
	ProgramBytesPerStep = 4 << 10
)

// Breakdown is a predicted peak, by part. All parts are resident at the same time at the peak (the
// first inference of the first photo after the load).
type Breakdown struct {
	// Weights are the constants the program reads: pages of the mapped model file (read while weights are
	// packed or at the first run), or heap copies (pruned head rows, folded or converted constants).
	Weights int64
	// Packed is the kernels' own re-laid-out copies of weights (Go heap).
	Packed int64
	// Arena holds every activation and kernel scratch (Stats.ArenaBytes: scratch is planned inside it).
	Arena int64
	// Decode is the photo being decoded and its packed RGB copy.
	Decode int64
	// Runtime is the process without a model plus the heap's slack over the live heap.
	Runtime int64
	// Mapped is the part of Weights that is pages of the memory-mapped model file. Like the arena
	// (mapped apart from the Go heap), it is resident but outside a Go memory limit: OffHeap.
	Mapped int64
}

// OffHeap is what the prediction holds outside what a Go memory limit counts: the arena, the mapped
// weight pages and the binary's own pages (BinaryBytes). A Go memory limit meant to keep the whole
// process within a budget is the budget less this.
func (b Breakdown) OffHeap() int64 { return b.Arena + b.Mapped + BinaryBytes }

// BinaryBytes is the part of RuntimeBaseBytes that is the binary's resident pages (text, rodata,
// data) rather than memory the Go runtime maps: a wanwu process measures 9.3-9.6 MiB VmRSS before it
// does anything, a little of it the runtime's first heap.
const BinaryBytes = 8 << 20

// Total is the predicted peak RSS.
func (b Breakdown) Total() int64 { return b.Weights + b.Packed + b.Arena + b.Decode + b.Runtime }

func (b Breakdown) String() string {
	return fmt.Sprintf("%s = weights %s + packed %s + arena %s + decode %s + runtime %s",
		FormatSize(b.Total()), FormatSize(b.Weights), FormatSize(b.Packed), FormatSize(b.Arena),
		FormatSize(b.Decode), FormatSize(b.Runtime))
}

// DecodeBytes is the decoding cost of a photo of w×h pixels stored in fileBytes bytes (read whole).
func DecodeBytes(w, h int, fileBytes int64) int64 {
	return int64(w)*int64(h)*DecodeBytesPerPixel + fileBytes
}

// Predict is the one model of a wanwu process's peak RSS, used by plan, classify, bench, serve and
// /v1/models: the programs' planned memory (runtime.Union of runtime.Estimate or Program.Stats, for the
// configuration's precision, size, batches and pruned head: weights and packed copies once, the
// largest arena once) plus decodeBytes of photo, plus the process itself (RuntimeBytes) and the heap's
// slack over everything held.
func Predict(fp runtime.Footprint, decodeBytes int64) Breakdown {
	b := Breakdown{
		Weights: fp.ConstBytes,
		Packed:  fp.PackedBytes,
		Arena:   fp.ArenaBytes,
		Decode:  decodeBytes,
		Mapped:  fp.MappedBytes,
	}
	b.Runtime = RuntimeBytes(fp) + (b.Weights+b.Packed+b.Arena+b.Decode)*HeapSlackPercent/100
	return b
}

// RuntimeBytes is the process besides weights, arena and photo: the calibrated base, the first
// program's structures (StepBytes per step), the programs beyond the first (a model's batch programs,
// whose weights are the first's) and the worker goroutines beyond BaseThreads.
func RuntimeBytes(fp runtime.Footprint) int64 {
	r := int64(RuntimeBaseBytes)
	if fp.Programs > 0 {
		first := fp.Steps / fp.Programs
		r += int64(first)*StepBytes + int64(fp.Steps-first)*ProgramBytesPerStep
	}
	if fp.Threads > BaseThreads {
		r += int64(fp.Threads-BaseThreads) * WorkerBytes
	}
	return r
}

// HeapLimit is a Go memory limit (debug.SetMemoryLimit) for a process running the configuration b
// predicts: everything but the process base and the arena (mapped apart from the Go heap), as if every
// weight lived on the Go heap (converted int8 and fp16 weights, pruned-head copies do; mapped fp32
// weights do not, which only loosens the limit), plus a margin for the prediction's error. Set before compiling, it makes the collector reclaim
// conversion and packing garbage (an fp16 conversion's halves once packed, folded constants, the
// import's buffers) before the heap grows past the predicted peak, instead of at twice the live heap.
func HeapLimit(b Breakdown) int64 {
	live := b.Weights + b.Packed + b.Decode
	return live + live/8 + HeapMarginBytes
}

// HeapMarginBytes is HeapLimit's fixed headroom: Go's own non-heap memory (stacks, GC metadata) that
// the limit also counts, and small allocations the prediction leaves out.
const HeapMarginBytes = 8 << 20

// Config is one candidate configuration, as `wanwu plan --format json` prints it.
type Config struct {
	Precision string `json:"precision"`
	Size      int    `json:"size"`
	Resize    int    `json:"resize,omitempty"` // shorter side before the centre crop (0: photos are not cropped)
	Batch     int    `json:"batch"`
	Threads   int    `json:"threads"`
	// Winograd is whether stride-1 3×3 convolutions run as Winograd F(2×2,3×3): faster, with 16/9 of
	// their weights' memory; under a budget the same precision and size without it comes next.
	Winograd           bool  `json:"winograd"`
	Labels             int   `json:"labels"`
	PredictedPeakBytes int64 `json:"predicted_peak_bytes"`
	Fits               bool  `json:"fits"`

	// Breakdown is the prediction by part (not part of the JSON contract).
	Breakdown Breakdown `json:"-"`
}

func (c Config) String() string {
	wino := ""
	if c.Winograd {
		wino = ", Winograd"
	}
	return fmt.Sprintf("%s %dx%d batch %d, %d threads%s, %d labels", c.Precision, c.Size, c.Size, c.Batch, c.Threads, wino, c.Labels)
}

// Plan is the candidates for a model under a budget, best quality first, and the one chosen.
type Plan struct {
	Model       string   `json:"model"`
	BudgetBytes int64    `json:"budget_bytes"`
	Chosen      *Config  `json:"chosen"`
	Candidates  []Config `json:"candidates"`
	// Warnings are what the user should know that did not stop the plan (--only words matching nothing).
	Warnings []string `json:"warnings,omitempty"`
}

// PrecisionRank orders precisions by accuracy: lower is better. Unknown precisions rank last.
func PrecisionRank(p string) int {
	switch p {
	case "fp32":
		return 0
	case "fp16":
		return 1
	case "int8":
		return 2
	case "uint8":
		return 3
	}
	return 4
}

// SortByQuality orders candidates best first: by precision (fp32 > fp16 > int8), then by input size
// (larger first), then smaller batch, then fewer threads. Precision comes first because a smaller
// input costs more accuracy than weight quantization on ImageNet CNNs (224 -> 160 loses several
// points of top-1; per-channel int8 weights lose well under one), and because weights dominate
// memory: dropping the input size rarely rescues a budget that the weights exceed.
func SortByQuality(cs []Config) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if ra, rb := PrecisionRank(a.Precision), PrecisionRank(b.Precision); ra != rb {
			return ra < rb
		}
		if a.Size != b.Size {
			return a.Size > b.Size
		}
		if a.Batch != b.Batch {
			return a.Batch < b.Batch
		}
		if a.Winograd != b.Winograd {
			return a.Winograd // as accurate and faster: first while it fits
		}
		return a.Threads < b.Threads
	})
}

// Choose marks which candidates fit budget, sorts them best first and returns the plan with the best
// fitting candidate chosen (nil if none fits).
func Choose(model string, cs []Config, budget int64) Plan {
	SortByQuality(cs)
	p := Plan{Model: model, BudgetBytes: budget, Candidates: cs}
	for i := range cs {
		cs[i].Fits = cs[i].PredictedPeakBytes <= budget
		if cs[i].Fits && p.Chosen == nil {
			c := cs[i]
			p.Chosen = &c
		}
	}
	return p
}

// NoFitError says that no candidate fits the budget, and what the smallest one needs.
type NoFitError struct {
	Model    string
	Budget   Budget
	Smallest Config
}

func (e *NoFitError) Error() string {
	src := ""
	if e.Budget.Source != "" {
		src = " (" + e.Budget.Source + ")"
	}
	return fmt.Sprintf("%s does not fit in a budget of %s%s: the smallest configuration (%s) needs %s (%s); "+
		"raise --budget, keep fewer classes with --only, or free memory",
		e.Model, FormatSize(e.Budget.Bytes), src, e.Smallest, FormatSize(e.Smallest.PredictedPeakBytes), e.Smallest.Breakdown)
}

// Smallest is the candidate with the lowest predicted peak.
func (p Plan) Smallest() Config {
	var s Config
	for i, c := range p.Candidates {
		if i == 0 || c.PredictedPeakBytes < s.PredictedPeakBytes {
			s = c
		}
	}
	return s
}
