package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	goruntime "runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/internal/procstat"
	"github.com/wanwu-ai/wanwu/internal/server"
	"github.com/wanwu-ai/wanwu/memory"
)

type serveFlags struct {
	addr, model, labels  string
	cats                 string
	precision            string
	budget, maxBody      string
	maxBatch             int
	maxWait, timeout     time.Duration
	admissionWait, drain time.Duration
	drainDelay           time.Duration
	bodyTimeout          time.Duration
	bodyStall            time.Duration
	maxDecodes, maxConns int
	threads, size        int
	resize               int
	maxPixels            int64
	logFormat            string
	releaseAfter         time.Duration
	winograd             bool
	only                 onlyFlags
}

func (m *Main) serveCommand() *cobra.Command {
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve [--addr HOST:PORT] [--model M] [--budget SIZE] [--max-batch N] [--max-wait D] [--max-body SIZE] [--timeout D]",
		Short: "Serve the classify API and web page over HTTP, within a memory budget",
		Long: `Serve POST /v1/classify, GET /v1/models, /healthz, /readyz, /metrics and a web page at /.

Every flag can also be set by an environment variable WANWU_<FLAG> (dashes as underscores, upper case:
WANWU_ADDR, WANWU_MAX_BATCH, ...); a flag on the command line wins over the variable.
Sizes take units: 512MiB, 1GiB, 300M (powers of 1024) or 300MB (powers of 1000).
Without --budget the budget is the cgroup memory limit or MemAvailable, less a safety margin. The model
chooses its configuration within three quarters of it; the rest admits requests (see docs/api.md).
A request's body must arrive within --body-timeout, with no pause longer than --body-stall (else 408);
memory is reserved as its bytes arrive. Load is shed from the image headers, before decoding (503).
SIGTERM or SIGINT: /readyz and new requests answer 503 for --drain-delay while connections are still
accepted (a second signal ends the delay), then requests in flight finish (up to --drain).
See docs/api.md.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			if err := envFlags(c.Flags()); err != nil {
				return err
			}
			return m.serve(c.Context(), f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fl.StringVar(&f.model, "model", catalog.DefaultModel, modelUsage)
	fl.StringVar(&f.labels, "labels", "", "label file (see wanwu classify --help)")
	fl.StringVar(&f.cats, "categories-file", "", categoriesUsage)
	fl.StringVar(&f.budget, "budget", "", "memory budget for the process, e.g. 512MiB (default: cgroup limit or MemAvailable, less 10%)")
	fl.IntVar(&f.maxBatch, "max-batch", 8, "most images per model run (1 = no batching)")
	fl.DurationVar(&f.maxWait, "max-wait", 5*time.Millisecond, "how long a batch waits for more images")
	fl.StringVar(&f.maxBody, "max-body", "20MiB", "request body limit")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Second, "per-request deadline (504 when the model run is late, 503 when the request could not start)")
	fl.DurationVar(&f.bodyTimeout, "body-timeout", 0, "deadline for receiving a request's body, 408 after it (0 = half of --timeout; at most --timeout)")
	fl.DurationVar(&f.bodyStall, "body-stall", 2*time.Second, "longest wait for more bytes of a body, 408 after it (at most --body-timeout)")
	fl.DurationVar(&f.admissionWait, "admission-wait", time.Second, "how long a request waits for memory before 503")
	fl.IntVar(&f.maxDecodes, "max-decodes", 0, "images decoded at once (0 = the number of cores)")
	fl.IntVar(&f.maxConns, "max-conns", 1024, "most open connections (also bounded by a quarter of the budget left by the model, 64 KiB each); more wait to be accepted")
	fl.DurationVar(&f.drainDelay, "drain-delay", 5*time.Second, "on SIGTERM, how long /readyz and new requests answer 503 before the listener closes")
	fl.DurationVar(&f.drain, "drain", 30*time.Second, "how long shutdown then waits for requests in flight")
	fl.StringVar(&f.precision, "precision", "auto", "weight precision: "+strings.Join(wanwu.Precisions(), ", ")+" or auto (the most accurate that fits)")
	fl.IntVar(&f.threads, "threads", 0, "threads for inference (0 = all cores; at most 4 per CPU)")
	fl.BoolVar(&f.winograd, "winograd", true, winogradUsage)
	fl.IntVar(&f.size, "size", 0, "input size for models with a dynamic input size (0 = the model's default)")
	fl.IntVar(&f.resize, "resize", 0, resizeUsage)
	fl.Int64Var(&f.maxPixels, "max-pixels", 100_000_000, "largest image accepted, in pixels")
	fl.StringVar(&f.logFormat, "log-format", "json", "log format on stderr: json or text")
	f.only.register(fl, "serve only these classes (comma-separated names or categories, as for classify --only): the classifier is pruned to them at load; a request's only= selects among them")
	fl.DurationVar(&f.releaseAfter, "release-after", 0, "release the model's memory after this long without requests; the next request recompiles (0 = never)")
	return c
}

// envFlags sets every flag not given on the command line from WANWU_<FLAG>, if that variable is set.
func envFlags(fl *pflag.FlagSet) error {
	var err error
	fl.VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		name := "WANWU_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if e := fl.Set(f.Name, v); e != nil {
				err = usagef("%s=%q: %v", name, v, e)
			}
		}
	})
	return err
}

func (f serveFlags) validate() (budget, maxBody int64, err error) {
	if f.budget != "" {
		if budget, err = parseSizeFlag("budget", f.budget); err != nil {
			return 0, 0, err
		}
	}
	if maxBody, err = parseSizeFlag("max-body", f.maxBody); err != nil {
		return 0, 0, err
	}
	if err := checkThreads(f.threads); err != nil {
		return 0, 0, err
	}
	if err := checkSize(f.size); err != nil {
		return 0, 0, err
	}
	if err := checkResize(f.resize, f.size); err != nil {
		return 0, 0, err
	}
	if err := checkPrecision(f.precision); err != nil {
		return 0, 0, err
	}
	if err := f.only.validate(); err != nil {
		return 0, 0, err
	}
	switch {
	case f.maxBatch < 1 || f.maxBatch > 256:
		return 0, 0, usagef("--max-batch must be from 1 to 256, got %d", f.maxBatch)
	case f.maxWait < 0:
		return 0, 0, usagef("--max-wait must not be negative")
	case f.timeout <= 0:
		return 0, 0, usagef("--timeout must be positive")
	case f.admissionWait <= 0:
		return 0, 0, usagef("--admission-wait must be positive")
	case f.bodyTimeout < 0 || f.bodyTimeout > f.timeout:
		return 0, 0, usagef("--body-timeout must be from 0 (half of --timeout) to --timeout (%v), got %v", f.timeout, f.bodyTimeout)
	case f.bodyStall <= 0:
		return 0, 0, usagef("--body-stall must be positive")
	case f.maxDecodes < 0:
		return 0, 0, usagef("--max-decodes must not be negative")
	case f.maxConns < 1:
		return 0, 0, usagef("--max-conns must be positive")
	case f.drainDelay < 0 || f.drain <= 0:
		return 0, 0, usagef("--drain-delay must not be negative and --drain must be positive")
	case f.maxPixels < 1:
		return 0, 0, usagef("--max-pixels must be positive")
	case f.logFormat != "json" && f.logFormat != "text":
		return 0, 0, usagef("--log-format must be json or text, got %q", f.logFormat)
	}
	return budget, maxBody, nil
}

func (m *Main) serve(ctx context.Context, f serveFlags) error {
	budget, maxBody, err := f.validate()
	if err != nil {
		return err
	}
	var h slog.Handler = slog.NewJSONHandler(m.Stderr, nil)
	if f.logFormat == "text" {
		h = slog.NewTextHandler(m.Stderr, nil)
	}
	log := slog.New(h)
	budgetFrom := "--budget"
	if budget == 0 {
		b, err := memory.DetectBudget()
		if err != nil {
			return err
		}
		budget, budgetFrom = b.Bytes, b.Source
	}
	// The Go heap is the part of the budget the runtime controls: make the GC work harder near it rather
	// than let garbage push the process past it (an explicit GOMEMLIMIT wins).
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(budget)
	}

	// The model gets three quarters of the budget to choose its configuration in (precision, and size
	// for dynamic models); the rest is for requests in flight: bodies, decoded photos, batch arenas.
	opts := []wanwu.Option{wanwu.WithThreads(f.threads), wanwu.WithInputSize(f.size), wanwu.WithResize(f.resize),
		wanwu.WithPrecision(f.precision), wanwu.WithBudget(budget-budget/4, budgetFrom+" less a quarter for requests"),
		wanwu.WithFetcher(&catalog.Fetcher{Progress: progressWriter(m.Stderr)})}
	if f.labels != "" {
		opts = append(opts, wanwu.WithLabelFile(f.labels))
	}
	if f.cats != "" {
		opts = append(opts, wanwu.WithCategoryFile(f.cats))
	}
	if !f.winograd {
		opts = append(opts, wanwu.WithoutWinograd())
	}
	only, err := f.only.option()
	if err != nil {
		return err
	}
	if only != nil {
		opts = append(opts, only)
	}
	if f.releaseAfter > 0 {
		opts = append(opts, wanwu.WithReleaseAfter(f.releaseAfter), wanwu.WithLogf(func(format string, a ...any) {
			log.Info(fmt.Sprintf(format, a...))
		}))
	}
	model, err := wanwu.Load(ctx, f.model, opts...)
	if err != nil {
		return err
	}
	defer model.Close()
	for _, u := range model.Unmatched() {
		log.Warn("--only: no class matches a word; ignored", "word", u)
	}

	info, maxBatch, pred, err := modelInfo(model, f.maxBatch, budget)
	if err != nil {
		return err
	}
	// The arena and the mapped weight pages are resident but outside the Go heap: the heap's limit is
	// the budget less them, so garbage cannot take the process past the budget.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(max(budget-pred.OffHeap(), budget/4))
	}
	if !model.BatchDynamic() && f.maxBatch > 1 {
		log.Info("the model's batch is fixed at 1: images run one by one (max-batch 1)")
		maxBatch = 1
	}
	if maxBatch != f.maxBatch && model.BatchDynamic() {
		log.Warn("max-batch lowered to fit the budget", "asked", f.maxBatch, "max_batch", maxBatch)
	}
	// Compile every batch size now, the largest first (it sizes the one shared arena): the memory is
	// taken before the first request, as reserved.
	for n := maxBatch; n >= 2 && model.BatchDynamic(); n-- {
		if err := model.PrepareBatch(n); err != nil {
			return err
		}
	}
	// Resident memory the Go runtime does not manage counts against the budget as well: the arena (mapped
	// apart from the heap) and the file pages now resident (the binary, mapped weights), measured once the
	// programs are compiled. The collector's limit is what the larger of that and the prediction leaves.
	if os.Getenv("GOMEMLIMIT") == "" {
		outside := max(pred.OffHeap(), pred.Arena+residentOutsideGo())
		if limit := max(budget-outside, budget/4); limit != budget-pred.OffHeap() {
			debug.SetMemoryLimit(limit)
			log.Info("Go memory limit", "bytes", limit, "resident_outside_go", outside)
		}
	}
	srv, err := server.New(model, info, server.Config{Budget: budget, MaxBatch: maxBatch, MaxWait: f.maxWait,
		MaxBody: maxBody, Timeout: f.timeout, AdmissionWait: f.admissionWait, MaxPixels: f.maxPixels,
		BodyTimeout: f.bodyTimeout, BodyStall: f.bodyStall, MaxDecodes: f.maxDecodes, MaxConns: f.maxConns,
		DrainDelay: f.drainDelay, Drain: f.drain, Logger: log, Classes: model.Classes()})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	log.Info("serving", "addr", ln.Addr().String(), "model", info.Name, "input_size", info.InputSize,
		"precision", info.Precision, "resize", model.Config().Resize, "budget", budget, "budget_from", budgetFrom, "model_bytes", info.PeakBytes,
		"max_batch", maxBatch, "batch_dynamic", model.BatchDynamic(), "max_wait", f.maxWait.String(),
		"max_body", maxBody, "timeout", f.timeout.String(), "gomaxprocs", goruntime.GOMAXPROCS(0))
	// A second SIGTERM or SIGINT during the drain delay ends it (the first one ended ctx).
	served := make(chan struct{})
	defer close(served)
	go func() {
		select {
		case <-ctx.Done():
		case <-served:
			return
		}
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sig)
		select {
		case <-sig:
			srv.EndDrainDelay()
		case <-served:
		}
	}()
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// modelInfo describes the model and predicts its memory with every batch size up to maxBatch compiled
// (wanwu.Model.PredictBatches: weights once, one arena as large as the largest batch's), lowering
// maxBatch until model and a minimal request fit the budget.
func modelInfo(model *wanwu.Model, maxBatch int, budget int64) (server.Info, int, memory.Breakdown, error) {
	h, w := model.InputSize()
	info := server.Info{Name: model.Name, Format: model.Format, InputSize: []int{h, w}, Precision: model.Precision(),
		SizeDynamic: model.SizeDynamic(), BatchDynamic: model.BatchDynamic()}
	if ls := model.Labels(); ls != nil {
		info.Labels = ls.Len()
	}
	if !model.BatchDynamic() {
		maxBatch = 1
	}
	var b memory.Breakdown
	for ; ; maxBatch-- {
		sizes := make([]int, maxBatch)
		for i := range sizes {
			sizes[i] = i + 1
		}
		var err error
		if b, err = model.PredictBatches(sizes); err != nil {
			return info, 0, b, err
		}
		if maxBatch == 1 || b.Total()+minRequestBytes <= budget {
			break
		}
	}
	info.PlanBytes, info.WeightBytes, info.PeakBytes = b.Arena, b.Weights+b.Packed, b.Total()
	return info, maxBatch, b, nil
}

// minRequestBytes is the least a request needs beside the model (server.New refuses a budget without it).
const minRequestBytes = 4 << 20

// residentOutsideGo is the process's resident memory that the Go runtime does not allocate: pages of
// files (the binary, mapped model weights) and shared memory (0 where /proc is missing). The runtime maps
// no files, so RssFile and RssShmem are outside its memory limit's view.
func residentOutsideGo() int64 {
	st, err := procstat.Status()
	if err != nil {
		return 0
	}
	return st["RssFile"] + st["RssShmem"]
}
