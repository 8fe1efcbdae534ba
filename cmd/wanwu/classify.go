package main

import (
	"context"
	"errors"
	"fmt"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/webp"
	"golang.org/x/term"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/internal/parallel"
	"github.com/wanwu-ai/wanwu/internal/userfile"
	"github.com/wanwu-ai/wanwu/memory"
)

const calibrateUsage = "with --precision int8: static activation scales measured on these photos (folders searched recursively) instead of per-run ones"
const categoriesUsage = "categories file for the label file (lines \"水果: 苹果, 香蕉\"; docs/labels.md), so --only 水果 selects them"
const winogradUsage = "3x3 convolutions as Winograd F(2x2,3x3): faster for more weight memory; --winograd=false saves it (ResNet-50 fp32: -11 MiB peak RSS)"

type classifyFlags struct {
	model   string
	labels  string
	cats    string
	topK    int
	lang    string
	threads int
	format  string
	size    int
	resize  int

	precision string
	budget    string
	only      onlyFlags
	verbose   bool
	winograd  bool
	calibrate []string
}

func (m *Main) classifyCommand() *cobra.Command {
	var f classifyFlags
	c := &cobra.Command{
		Use:   "classify [flags] PATH...",
		Short: "Name what is in photos (files or folders, searched recursively)",
		Long: `Classify photos and print the top-K classes with Chinese (or English) labels.

Folders are searched recursively for .jpg .jpeg .png .bmp .gif .webp files. Only regular files are
read: a named pipe, a device or a socket (named, or met in a folder) gets an error of its own and is
never opened. Under a budget a photo too large to decode within it (by its header) is refused alone;
the model is sized for the largest photo it can take.

Results are printed as each photo finishes, in every format (json writes its array incrementally), so
an interrupted run keeps what it computed. A failure in one photo, even an internal error, is that
photo's error and the others go on.

Exit status: 0 every file was classified; 1 some failed (each has its error) or the model could not be
loaded; 2 usage error (bad flags or arguments) and nothing else; 3 internal error (a bug; results
already printed stand); 130 interrupted (SIGINT/SIGTERM) before every file was done.`,
		Example: `  wanwu classify photo.jpg                       # Chinese top-5 with the default model
  wanwu models                                   # the catalog models for --model, cached or not
  wanwu classify --model resnet50.onnx --lang en cat.png
  wanwu classify --format csv-bom --only 水果 photos/   # CSV for Excel, fruit classes only`,
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return m.classify(c, f, args) },
	}
	fl := c.Flags()
	fl.StringVar(&f.model, "model", catalog.DefaultModel, modelUsage)
	fl.StringVar(&f.labels, "labels", "", "label file: one label per line, a table with a header (label, label_en, categories), JSON array/object, or ModelScope meta_info.txt (docs/labels.md)")
	fl.StringVar(&f.cats, "categories-file", "", categoriesUsage)
	fl.IntVar(&f.topK, "top-k", 5, "number of classes to show per photo")
	fl.StringVar(&f.lang, "lang", "zh", "label language: zh or en")
	fl.IntVar(&f.threads, "threads", 0, "threads for inference (0 = all cores)")
	fl.BoolVar(&f.winograd, "winograd", true, winogradUsage)
	fl.StringVar(&f.format, "format", "text", "output format: text, json, jsonl, csv, or csv-bom (CSV starting with a UTF-8 byte-order mark, so spreadsheet programs such as Excel read the Chinese labels right)")
	fl.IntVar(&f.size, "size", 0, "input size for models with a dynamic input size (0 = the model's default, or the largest that fits the budget)")
	fl.IntVar(&f.resize, "resize", 0, resizeUsage)
	fl.StringSliceVar(&f.calibrate, "calibrate", nil, calibrateUsage)
	addMemoryFlags(fl, &f)
	return c
}

// addMemoryFlags adds the flags that choose a configuration under a memory budget.
func addMemoryFlags(fl *pflag.FlagSet, f *classifyFlags) {
	fl.StringVar(&f.precision, "precision", "auto", "weight precision: "+strings.Join(wanwu.Precisions(), ", ")+" or auto (the most accurate that fits the budget)")
	fl.StringVar(&f.budget, "budget", "", "memory budget, e.g. 512MiB, 1GiB, 300M (default: the cgroup limit or MemAvailable, less a safety margin)")
	f.only.register(fl, "keep only these classes (comma-separated names or categories, e.g. 猫,狗,鹦鹉 or 食物); the classifier is pruned to them and scores are a softmax over them")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "print the chosen configuration and its predicted memory on stderr")
}

// memoryOptions turns the memory flags into Load options, and returns the budget they set (zero: none).
func (m *Main) memoryOptions(f classifyFlags) ([]wanwu.Option, memory.Budget, error) {
	var budget memory.Budget
	var opts []wanwu.Option
	if !f.winograd {
		opts = append(opts, wanwu.WithoutWinograd())
	}
	if f.precision != "" && f.precision != "auto" {
		opts = append(opts, wanwu.WithPrecision(f.precision))
	}
	if len(f.calibrate) > 0 {
		opts = append(opts, wanwu.WithCalibration(f.calibrate...))
	}
	if f.budget != "" {
		b, err := parseSizeFlag("budget", f.budget)
		if err != nil {
			return nil, budget, err
		}
		budget = memory.Budget{Bytes: b, Source: "--budget"}
		opts = append(opts, wanwu.WithBudget(b, "--budget"))
	} else if b, err := memory.DetectBudget(); err == nil {
		budget = b
		opts = append(opts, wanwu.WithBudget(b.Bytes, b.Source))
	} else if f.verbose {
		fmt.Fprintf(m.Stderr, "wanwu: %v; running without a budget\n", err)
	}
	only, err := f.only.option()
	if err != nil {
		return nil, budget, err
	}
	if only != nil {
		opts = append(opts, only)
	}
	if f.verbose {
		opts = append(opts, wanwu.WithLogf(func(format string, a ...any) {
			fmt.Fprintf(m.Stderr, "wanwu: "+format+"\n", a...)
		}))
	}
	return opts, budget, nil
}

func (f classifyFlags) validate() error {
	if f.topK < 1 {
		return usagef("--top-k must be at least 1, got %d", f.topK)
	}
	if f.lang != "zh" && f.lang != "en" {
		return usagef("--lang must be zh or en, got %q", f.lang)
	}
	if err := checkFormat(f.format, "text", "json", "jsonl", "csv", "csv-bom"); err != nil {
		return err
	}
	if err := checkThreads(f.threads); err != nil {
		return err
	}
	if err := checkSize(f.size); err != nil {
		return err
	}
	if err := checkResize(f.resize, f.size); err != nil {
		return err
	}
	if err := f.only.validate(); err != nil {
		return err
	}
	if len(f.calibrate) > 0 && f.precision != "int8" {
		return usagef("--calibrate needs --precision int8")
	}
	return checkPrecision(f.precision)
}

func progressWriter(w io.Writer) io.Writer {
	if file, ok := w.(*os.File); ok && term.IsTerminal(int(file.Fd())) {
		return w
	}
	return nil
}

func (m *Main) classify(c *cobra.Command, f classifyFlags, args []string) error {
	if err := f.validate(); err != nil {
		return err
	}
	ctx := c.Context()
	opts := []wanwu.Option{wanwu.WithThreads(f.threads), wanwu.WithInputSize(f.size), wanwu.WithResize(f.resize),
		wanwu.WithFetcher(&catalog.Fetcher{Progress: progressWriter(m.Stderr)})}
	if f.labels != "" {
		opts = append(opts, wanwu.WithLabelFile(f.labels))
	}
	if f.cats != "" {
		opts = append(opts, wanwu.WithCategoryFile(f.cats))
	}
	files := collectPhotos(args)
	if len(files) == 0 {
		return fmt.Errorf("no images found in %s", strings.Join(args, ", "))
	}
	mopts, budget, err := m.memoryOptions(f)
	if err != nil {
		return err
	}
	// Keep the Go heap's garbage within the prediction, from the compile on (an fp16 conversion's halves,
	// packing) and over many photos: without a limit the collector lets the heap grow to twice the live
	// arena and weights between collections.
	opts = append(opts, wanwu.WithMemoryLimit())
	model, err := loadForPhotos(ctx, f.model, append(opts, mopts...), budget.Bytes, sizingCandidates(files))
	if err != nil {
		return err
	}
	defer model.Close()
	warnUnmatched(m.Stderr, model.Unmatched())
	var bar *progressbar.ProgressBar
	if pw := progressWriter(m.Stderr); pw != nil && len(files) > 3 {
		bar = progressbar.NewOptions(len(files), progressbar.OptionSetWriter(pw),
			progressbar.OptionSetDescription("classifying"), progressbar.OptionClearOnFinish())
	}
	out := newResultWriter(m.Stdout, m.Stderr, f.format)
	h, w := model.InputSize()
	failed := 0
	for i, file := range files {
		if ctx.Err() != nil {
			if err := out.close(); err != nil {
				return err
			}
			return interruptedError{done: i, total: len(files)}
		}
		rec := wanwu.Record{File: file.path}
		res, err := m.classifyOne(ctx, model, budget, file, f.topK)
		if err != nil {
			failed++
			rec.Error = err.Error()
		} else {
			ms := float64(res.Elapsed.Microseconds()) / 1000
			rec.Model, rec.InputSize, rec.Precision = model.Name, []int{h, w}, model.Precision()
			if f.lang == "en" {
				for i := range res.Predictions {
					if en := res.Predictions[i].LabelEn; en != "" { // a label file without English keeps its names
						res.Predictions[i].Label = en
					}
				}
			}
			rec.Predictions, rec.ElapsedMS = res.Predictions, &ms
		}
		if err := out.write(rec); err != nil {
			return err
		}
		if bar != nil {
			bar.Add(1)
		}
	}
	if err := out.close(); err != nil {
		return err
	}
	if failed > 0 {
		return partialError{failed: failed, total: len(files)}
	}
	return nil
}

// classifyOne classifies one photo, or says why not: refused before opening (not a regular file), refused
// by its header (over the budget), or failed while decoding or running. A panic is this photo's error:
// its stack goes to stderr and the run goes on.
func (m *Main) classifyOne(ctx context.Context, model *wanwu.Model, budget memory.Budget, p photo, topK int) (res wanwu.Result, err error) {
	if p.err != nil {
		return res, p.err
	}
	defer func() {
		if r := recover(); r != nil {
			value, stack := r, debug.Stack()
			if pp, ok := r.(*parallel.Panic); ok {
				value, stack = pp.Value, pp.Stack
			}
			fmt.Fprintf(m.Stderr, "wanwu: %s: panic: %v\n%s", p.path, value, stack)
			err = fmt.Errorf("%s: internal error (panic: %v); please report this bug", p.path, value)
		}
	}()
	h, err := readPhotoHeader(p.path)
	var nr *userfile.NotRegularError
	switch {
	case errors.As(err, &nr):
		return res, err // it was replaced since the folder was listed
	case err == nil && imageio.CheckSize(h.Width, h.Height, 0) == nil: // past the pixel limit: the decoder says so
		if err := admit(model, budget, h); err != nil {
			return res, fmt.Errorf("%s: %w", p.path, err)
		}
		collectBeforeLargeDecode(model, budget, h)
	}
	// A header that cannot be read is left to the decoder, which says what is wrong with it.
	classify := m.classifyFile
	if classify == nil {
		classify = (*wanwu.Model).ClassifyFile
	}
	return classify(model, ctx, p.path, topK)
}

// collectBeforeLargeDecode runs a garbage collection before a photo whose decode is predicted to take
// more than an eighth of the budget. Go reuses the previous photos' freed buffers only after a
// collection; a large decode that starts before one maps fresh pages, so the process holds two large
// photos at once (measured: a hostile folder with two 16-bit interlaced PNGs in a row peaked at 86 MiB
// under --budget 64MiB when the CPU was contended, 58 MiB otherwise). A collection of a heap that holds
// little but garbage takes about a millisecond, far less than such a decode.
func collectBeforeLargeDecode(m *wanwu.Model, budget memory.Budget, h imageio.Header) {
	if budget.Bytes > 0 && h.FileBytes+m.DecodeCost(h) > budget.Bytes/8 {
		runtime.GC()
	}
}
