package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/compiled"
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/graph/passes"
	"github.com/wanwu-ai/wanwu/internal/procstat"
	"github.com/wanwu-ai/wanwu/lower"
	"github.com/wanwu-ai/wanwu/memory"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

// benchFlags are the options of `wanwu bench`.
type benchFlags struct {
	model                string
	size, threads, batch int
	resize               int
	iters, warmup        int
	minTime, maxTime     time.Duration
	format               string
	noHeader             bool
	winograd             bool
	precision, budget    string
	calibrate            []string
	profile              bool
	top                  int
}

// benchResult is the JSON contract of `wanwu bench --format json` (the peer harness in bench/ reads it).
type benchResult struct {
	Model        string  `json:"model"`
	Size         int     `json:"size"`
	Batch        int     `json:"batch"`
	Threads      int     `json:"threads"`
	Precision    string  `json:"precision"`
	MinMS        float64 `json:"min_ms"`
	MedianMS     float64 `json:"median_ms"`
	P90MS        float64 `json:"p90_ms"`
	MaxMS        float64 `json:"max_ms"`
	ImagesPerS   float64 `json:"images_per_s"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
	ArenaBytes   int64   `json:"arena_bytes"`
	WeightBytes  int64   `json:"weight_bytes"`
	// PredictedPeakBytes is memory.Predict for the program and its input tensors: the model of process
	// memory plan, classify and serve use, to compare with PeakRSSBytes.
	PredictedPeakBytes int64 `json:"predicted_peak_bytes"`
	// Profile is present with --profile only.
	Profile *benchProfile `json:"profile,omitempty"`
}

func (m *Main) benchCommand() *cobra.Command {
	var f benchFlags
	c := &cobra.Command{
		Use:   "bench --model MODEL [--size N] [--threads T] [--batch B] [--iters N] [--warmup N]",
		Short: "Time a model on a random input: min/median/p90/max latency, images/s, peak RSS, arena and weights",
		Long: `Time one model on a seeded random input of the model's input type, like ncnn's benchncnn.

The model is an .onnx or .tflite file or a catalog model name. Dynamic input dims are fixed: the batch
(dim 0) to --batch, every other dynamic dim (the image height and width) to --size. After --warmup
untimed runs, --iters runs are timed (continuing until --min-time has passed as well, stopping early
once --max-time has passed; the bench/ peer harness times ONNX Runtime and PyTorch by the same rule).
Latency is per
run of the whole batch; images/s = batch*1000/median. peak_rss_bytes is the process's VmHWM (so it
includes loading), arena_bytes and weight_bytes come from the compiled program's memory plan.

With --threads T > 0 the Go scheduler is also limited to T processors (GOMAXPROCS) for the run, so
"1 thread" means one core, as intra-op threads do in ONNX Runtime.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error { return m.bench(c.Context(), f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.model, "model", "", "model: .onnx/.tflite path or catalog name (required)")
	fl.IntVar(&f.size, "size", 0, "input height and width for dynamic spatial dims (default 224)")
	fl.IntVar(&f.threads, "threads", 0, "threads (0 = all cores; at most 4 per CPU)")
	fl.BoolVar(&f.winograd, "winograd", true, winogradUsage)
	fl.StringVar(&f.precision, "precision", "", "weight precision for a float model: "+strings.Join(wanwu.Precisions(), ", ")+" (default: as stored; auto with --budget)")
	fl.StringVar(&f.budget, "budget", "", "memory budget: bench the most accurate precision and size whose predicted peak fits (see wanwu plan)")
	fl.StringSliceVar(&f.calibrate, "calibrate", nil, calibrateUsage)
	fl.IntVar(&f.resize, "resize", 0, "with --budget: "+resizeUsage)
	fl.IntVar(&f.batch, "batch", 1, "batch size for a dynamic batch dim")
	fl.IntVar(&f.iters, "iters", 20, "timed runs (at least)")
	fl.IntVar(&f.warmup, "warmup", 5, "untimed runs before timing")
	fl.DurationVar(&f.minTime, "min-time", 0, "keep timing until this much time has passed too (e.g. 2s)")
	fl.DurationVar(&f.maxTime, "max-time", 0, "stop timing after this long even before --iters runs (0 = no limit)")
	fl.StringVar(&f.format, "format", "text", "text or json")
	fl.BoolVar(&f.noHeader, "no-header", false, "text: omit the header line (for appending rows)")
	fl.BoolVar(&f.profile, "profile", false, profileUsage)
	fl.IntVar(&f.top, "top", 15, "with --profile, text: how many of the slowest nodes to list (0 = all)")
	return c
}

func (f benchFlags) validate() error {
	switch {
	case f.model == "":
		return usagef("--model is required")
	case f.batch < 1:
		return usagef("--batch must be at least 1, got %d", f.batch)
	case f.iters < 1:
		return usagef("--iters must be at least 1, got %d", f.iters)
	case f.warmup < 0:
		return usagef("--warmup must be 0 or more, got %d", f.warmup)
	case f.minTime < 0 || f.maxTime < 0:
		return usagef("--min-time and --max-time must not be negative")
	case f.top < 0:
		return usagef("--top must be 0 or more, got %d", f.top)
	}
	if err := checkFormat(f.format, "text", "json"); err != nil {
		return err
	}
	if err := checkSize(f.size); err != nil {
		return err
	}
	if err := checkResize(f.resize, f.size); err != nil {
		return err
	}
	if f.precision != "" {
		if err := checkPrecision(f.precision); err != nil {
			return err
		}
		if f.precision == "auto" && f.budget == "" {
			return usagef("--precision auto needs --budget")
		}
	}
	if len(f.calibrate) > 0 && f.precision != "int8" {
		return usagef("--calibrate needs --precision int8")
	}
	return checkThreads(f.threads)
}

func (m *Main) bench(ctx context.Context, f benchFlags) error {
	if err := f.validate(); err != nil {
		return err
	}
	threads := f.threads
	if threads == 0 {
		threads = goruntime.GOMAXPROCS(0)
	} else if threads < goruntime.GOMAXPROCS(0) {
		// Keep the whole process (GC and scheduler included) on T cores, as a T-thread peer is.
		defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(threads))
	}
	path, name, err := resolveBenchModel(ctx, f.model, progressWriter(m.Stderr))
	if err != nil {
		return err
	}
	g, _, err := wanwu.ImportGraph(path)
	if err != nil {
		return err
	}
	defer g.Close()

	size, precision := f.size, f.precision
	if f.budget != "" {
		// Under a budget, bench what classify would run: the planner's choice of precision and size.
		budget, err := parseSizeFlag("budget", f.budget)
		if err != nil {
			return err
		}
		opts := []wanwu.Option{wanwu.WithThreads(threads), wanwu.WithInputSize(f.size), wanwu.WithResize(f.resize)}
		if precision != "" {
			opts = append(opts, wanwu.WithPrecision(precision))
		}
		if !f.winograd {
			opts = append(opts, wanwu.WithoutWinograd())
		}
		plan, err := wanwu.PlanConfigs(ctx, path, budget, opts...)
		if err != nil {
			return err
		}
		if plan.Chosen == nil {
			return fmt.Errorf("%s: nothing fits in %s (see wanwu plan --model %s --budget %s)", f.model, f.budget, f.model, f.budget)
		}
		precision = plan.Chosen.Precision
		if f.size == 0 && plan.Chosen.Size > 0 {
			size = plan.Chosen.Size
		}
	}
	if size == 0 {
		size = 224
	}
	runPrecision := precision
	if runPrecision == "fp32" || runPrecision == "auto" || runPrecision == wanwu.GraphPrecision(g) {
		runPrecision = "" // as stored
	}
	winograd := f.winograd
	cf := compiled.Of(g)
	if cf != nil {
		// A compiled model file runs as converted, with its own packings.
		if precision != "" && precision != "auto" && precision != cf.Info.Precision {
			return fmt.Errorf("%s: compiled for %s; --precision %s needs converting the source model again", path, cf.Info.Precision, precision)
		}
		if len(f.calibrate) > 0 {
			return fmt.Errorf("%s: calibration is done when converting (wanwu convert --calibrate), not on a compiled model file", path)
		}
		runPrecision, winograd, precision = "", cf.Info.Winograd, cf.Info.Precision
	}
	shapes := map[string]tensor.Shape{}
	feed := make([]*tensor.Tensor, len(g.Inputs))
	rng := rand.New(rand.NewPCG(1, 2)) // seeded: every run of a configuration sees the same input
	for i, in := range g.Inputs {
		s, err := benchShape(in, f.size, size, f.batch, g.Meta["format"] == "tflite")
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		shapes[in.Name] = s
		if i == 0 && len(s) == 4 {
			size = s[imageHeightAxis(s, g.Meta["format"] == "tflite")] // a fixed-size model reports its own size
		}
		feed[i] = tensor.New(in.DType, s)
		fillRandom(feed[i], rng)
	}
	if len(f.calibrate) > 0 && lower.StaticConvBehind() {
		fmt.Fprintln(m.Stderr, "wanwu bench: static int8 runs in assembly with AVX-512 VNNI only; this CPU has AVX2 alone, where dynamic int8 is faster: --calibrate ignored")
	} else if len(f.calibrate) > 0 {
		cal, err := wanwu.Calibration(ctx, path, f.calibrate, wanwu.WithThreads(threads), wanwu.WithInputSize(size))
		if err != nil {
			return err
		}
		passes.StoreCalibration(g, cal)
	}
	ropts := runtime.Options{Threads: threads, InputShapes: shapes, Winograd: winograd, Precision: runPrecision}
	if cf != nil {
		ropts.Prepacked = cf.Prepacked
	}
	prog, err := runtime.Compile(g, ropts)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer prog.Close()

	for i := 0; i < f.warmup; i++ {
		if _, err := prog.Run(ctx, feed); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	times := make([]float64, 0, f.iters)
	start := time.Now()
	for len(times) < f.iters || time.Since(start) < f.minTime {
		if f.maxTime > 0 && len(times) > 0 && time.Since(start) >= f.maxTime {
			break
		}
		t0 := time.Now()
		if _, err := prog.Run(ctx, feed); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		times = append(times, float64(time.Since(t0).Nanoseconds())/1e6)
	}

	st := prog.Stats()
	r := benchResult{Model: name, Size: size, Batch: f.batch, Threads: threads, Precision: cmp.Or(runPrecision, wanwu.GraphPrecision(g)),
		ArenaBytes: int64(st.ArenaBytes), WeightBytes: int64(st.WeightBytes)}
	var feedBytes int64
	for _, t := range feed {
		feedBytes += int64(len(t.Data))
	}
	r.PredictedPeakBytes = memory.Predict(runtime.Union(st), feedBytes).Total()
	r.MinMS, r.MedianMS, r.P90MS, r.MaxMS = latencyStats(times)
	if r.MedianMS > 0 {
		r.ImagesPerS = float64(f.batch) * 1000 / r.MedianMS
	}
	if f.profile {
		// After the plain runs (so their figures are untouched), as many runs again, step by step.
		if r.Profile, err = profileRuns(ctx, prog, feed, len(times), r.MedianMS); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	r.PeakRSSBytes, err = procstat.PeakRSS()
	if err != nil {
		// Not Linux (no /proc): report 0 rather than fail the benchmark.
		fmt.Fprintf(m.Stderr, "wanwu: peak RSS unavailable: %v\n", err)
	}
	if f.format == "json" {
		return json.NewEncoder(m.Stdout).Encode(r)
	}
	if !f.noHeader {
		fmt.Fprintln(m.Stdout, benchHeader())
	}
	fmt.Fprintln(m.Stdout, r.line())
	if r.Profile != nil {
		r.Profile.write(m.Stdout, f.top)
	}
	return nil
}

// resolveBenchModel finds the model file (a path, else a catalog name fetched into the cache) and the
// name to report: the catalog name, the file name without extension, or, for the exporter's
// <name>/model.onnx layout, the directory name.
func resolveBenchModel(ctx context.Context, model string, progress io.Writer) (path, name string, err error) {
	path, e, err := (&catalog.Fetcher{Progress: progress}).Resolve(ctx, model)
	if err != nil {
		return "", "", err
	}
	if e != nil {
		return path, e.Name, nil
	}
	name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if name == "model" {
		if abs, err := filepath.Abs(path); err == nil {
			name = filepath.Base(filepath.Dir(abs))
		}
	}
	return path, name, nil
}

// benchShape fixes an input's dynamic dims: dim 0 is the batch, any other dynamic dim takes the size.
// A fixed dim that contradicts an explicit --size or --batch is an error (the model cannot run so).
// nhwc says the model's image inputs are NHWC whatever their channel count (TFLite's).
func benchShape(in *graph.Value, explicitSize, size, batch int, nhwc bool) (tensor.Shape, error) {
	if in.Shape == nil {
		return nil, fmt.Errorf("input %q has no known rank", in.Name)
	}
	s := in.Shape.Clone()
	for i := range s {
		want := size
		if i == 0 {
			want = batch
		}
		switch {
		case s[i] < 0:
			s[i] = want
		case i == 0 && s[i] != batch:
			return nil, fmt.Errorf("input %q has a fixed batch of %d; --batch %d is not possible", in.Name, s[i], batch)
		}
	}
	// An image input whose height/width are fixed runs only at that size.
	if explicitSize != 0 && len(s) == 4 {
		h := imageHeightAxis(s, nhwc)
		if s[h] != explicitSize || s[h+1] != explicitSize {
			return nil, fmt.Errorf("input %q is fixed at %s; --size %d is not possible", in.Name, in.Shape, explicitSize)
		}
	}
	return s, nil
}

// imageHeightAxis is 2 for NCHW and 1 for NHWC image batches: NHWC where the model format says so
// (TFLite), else where the last dim looks like the channels (1 to 4: gray, gray+alpha, RGB, RGBA)
// and dim 1 does not.
func imageHeightAxis(s tensor.Shape, nhwc bool) int {
	channels := func(d int) bool { return d >= 1 && d <= 4 }
	if nhwc || channels(s[3]) && !channels(s[1]) {
		return 1
	}
	return 2
}

// fillRandom writes seeded noise in the dtype's natural range: N(0,1)-like floats, full-range bytes.
func fillRandom(t *tensor.Tensor, rng *rand.Rand) {
	switch t.DType {
	case tensor.F32:
		v := t.F32()
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
	case tensor.U8, tensor.I8:
		for i := range t.Data {
			t.Data[i] = byte(rng.Uint32())
		}
	default:
		// Integer/bool inputs are ids or flags whose valid range the model defines: zeros are always valid.
		clear(t.Data)
	}
}

// latencyStats returns min, median, p90 (nearest rank) and max of the run times.
func latencyStats(ms []float64) (lo, med, p90, hi float64) {
	if len(ms) == 0 {
		return 0, 0, 0, 0
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		med = s[n/2]
	} else {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	// Nearest-rank percentile: the smallest value with at least 90 % of the runs at or below it.
	rank := (90*n + 99) / 100
	return s[0], med, s[rank-1], s[n-1]
}

func benchHeader() string {
	return fmt.Sprintf("%-28s %5s %5s %3s %5s %9s %9s %9s %9s %9s %9s %9s", "model", "size", "batch", "thr", "prec",
		"min", "median", "p90", "max", "img/s", "rss MiB", "arena MiB")
}

func (r benchResult) line() string {
	return fmt.Sprintf("%-28s %5d %5d %3d %5s %9.2f %9.2f %9.2f %9.2f %9.1f %9.1f %9.1f", r.Model, r.Size, r.Batch,
		r.Threads, r.Precision, r.MinMS, r.MedianMS, r.P90MS, r.MaxMS, r.ImagesPerS,
		float64(r.PeakRSSBytes)/(1<<20), float64(r.ArenaBytes)/(1<<20))
}
