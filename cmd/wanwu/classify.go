package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
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
	"github.com/wanwu-ai/wanwu/memory"
)

// imageExts are the extensions picked up when walking a folder (files named explicitly are always tried).
var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".bmp": true, ".gif": true, ".webp": true}

const calibrateUsage = "with --precision int8: static activation scales measured on these photos (folders searched recursively) instead of per-run ones"

const winogradUsage = "faster 3x3 convolutions (Winograd) for more weight memory (ResNet-50: +25 MiB)"

type classifyFlags struct {
	model   string
	labels  string
	topK    int
	lang    string
	threads int
	format  string
	size    int

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

Folders are searched recursively for .jpg .jpeg .png .bmp .gif .webp files.
Exit status: 0 if every file was classified, 1 if any failed, 2 for usage errors.`,
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return m.classify(c, f, args) },
	}
	fl := c.Flags()
	fl.StringVar(&f.model, "model", catalog.DefaultModel, "model file (.onnx, .tflite) or catalog name (see `wanwu models`)")
	fl.StringVar(&f.labels, "labels", "", "label file: one label per line, JSON array/object, or ModelScope meta_info.txt")
	fl.IntVar(&f.topK, "top-k", 5, "number of classes to show per photo")
	fl.StringVar(&f.lang, "lang", "zh", "label language: zh or en")
	fl.IntVar(&f.threads, "threads", 0, "threads for inference (0 = all cores)")
	fl.BoolVar(&f.winograd, "winograd", false, winogradUsage)
	fl.StringVar(&f.format, "format", "text", "output format: text, json, jsonl or csv")
	fl.IntVar(&f.size, "size", 0, "input size for models with a dynamic input size (0 = the model's default, or the largest that fits the budget)")
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

// memoryOptions turns the memory flags into Load options; photos (may be nil) size the decode estimate.
func (m *Main) memoryOptions(f classifyFlags, photos []string) ([]wanwu.Option, error) {
	var opts []wanwu.Option
	if f.winograd {
		opts = append(opts, wanwu.WithWinograd())
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
			return nil, err
		}
		opts = append(opts, wanwu.WithBudget(b, "--budget"))
	} else if b, err := memory.DetectBudget(); err == nil {
		opts = append(opts, wanwu.WithBudget(b.Bytes, b.Source))
	} else if f.verbose {
		fmt.Fprintf(m.Stderr, "wanwu: %v; running without a budget\n", err)
	}
	only, err := f.only.option()
	if err != nil {
		return nil, err
	}
	if only != nil {
		opts = append(opts, only)
	}
	if h, ok := largestPhoto(photos); ok {
		opts = append(opts, wanwu.WithPhoto(h))
	}
	if f.verbose {
		opts = append(opts, wanwu.WithLogf(func(format string, a ...any) {
			fmt.Fprintf(m.Stderr, "wanwu: "+format+"\n", a...)
		}))
	}
	return opts, nil
}

// largestPhoto reads the headers of the photos (not their pixels) and returns the largest by pixel
// count; at most the first 1000 are looked at, so a huge folder does not delay the start. ok is false
// when no header could be read.
func largestPhoto(files []string) (best imageio.Header, ok bool) {
	for i, p := range files {
		if i == 1000 {
			break
		}
		h, err := imageio.ReadHeader(p)
		// A header over the decoder's pixel limit is refused when its file is classified; sizing the
		// budget for it would fail the whole run on one bad file.
		if err != nil || imageio.CheckSize(h.Width, h.Height, 0) != nil {
			continue
		}
		if !ok || int64(h.Width)*int64(h.Height) > int64(best.Width)*int64(best.Height) {
			best, ok = h, true
		}
	}
	return best, ok
}

func (f classifyFlags) validate() error {
	if f.topK < 1 {
		return usagef("--top-k must be at least 1, got %d", f.topK)
	}
	if f.lang != "zh" && f.lang != "en" {
		return usagef("--lang must be zh or en, got %q", f.lang)
	}
	if err := checkFormat(f.format, "text", "json", "jsonl", "csv"); err != nil {
		return err
	}
	if err := checkThreads(f.threads); err != nil {
		return err
	}
	if err := checkSize(f.size); err != nil {
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

// collectImages expands folders; a path that cannot be read is kept so its error is reported in order.
func collectImages(args []string) []string {
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			files = append(files, a)
			continue
		}
		filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				files = append(files, p) // unreadable entry: reported as a failed file
				return nil
			}
			if !d.IsDir() && imageExts[strings.ToLower(filepath.Ext(p))] {
				files = append(files, p)
			}
			return nil
		})
	}
	return files
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
	opts := []wanwu.Option{wanwu.WithThreads(f.threads), wanwu.WithInputSize(f.size),
		wanwu.WithFetcher(&catalog.Fetcher{Progress: progressWriter(m.Stderr)})}
	if f.labels != "" {
		opts = append(opts, wanwu.WithLabelFile(f.labels))
	}
	files := collectImages(args)
	if len(files) == 0 {
		return fmt.Errorf("no images found in %s", strings.Join(args, ", "))
	}
	mopts, err := m.memoryOptions(f, files)
	if err != nil {
		return err
	}
	// Keep the Go heap's garbage within the prediction, from the compile on (an fp16 conversion's halves,
	// packing) and over many photos: without a limit the collector lets the heap grow to twice the live
	// arena and weights between collections.
	opts = append(opts, wanwu.WithMemoryLimit())
	model, err := wanwu.Load(ctx, f.model, append(opts, mopts...)...)
	if err != nil {
		return err
	}
	defer model.Close()
	var bar *progressbar.ProgressBar
	if pw := progressWriter(m.Stderr); pw != nil && len(files) > 3 {
		bar = progressbar.NewOptions(len(files), progressbar.OptionSetWriter(pw),
			progressbar.OptionSetDescription("classifying"), progressbar.OptionClearOnFinish())
	}
	out := newResultWriter(m.Stdout, m.Stderr, f)
	h, w := model.InputSize()
	failed := 0
	for _, file := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec := wanwu.Record{File: file}
		res, err := model.ClassifyFile(ctx, file, f.topK)
		if err != nil {
			failed++
			rec.Error = err.Error()
		} else {
			ms := float64(res.Elapsed.Microseconds()) / 1000
			rec.Model, rec.InputSize, rec.Precision = model.Name, []int{h, w}, model.Precision()
			if f.lang == "en" {
				for i := range res.Predictions {
					res.Predictions[i].Label = res.Predictions[i].LabelEn
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

// resultWriter renders records in the chosen format as they arrive (json collects into one array).
type resultWriter struct {
	stdout, stderr io.Writer
	f              classifyFlags
	all            []wanwu.Record
	csv            *csv.Writer
}

func newResultWriter(stdout, stderr io.Writer, f classifyFlags) *resultWriter {
	w := &resultWriter{stdout: stdout, stderr: stderr, f: f, all: []wanwu.Record{}}
	if f.format == "csv" {
		w.csv = csv.NewWriter(stdout)
		w.csv.Write([]string{"file", "rank", "index", "label", "label_en", "score", "elapsed_ms", "error"})
	}
	return w
}

func (w *resultWriter) write(r wanwu.Record) error {
	switch w.f.format {
	case "json":
		w.all = append(w.all, r)
	case "jsonl":
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w.stdout, "%s\n", b)
		return err
	case "csv":
		if r.Error != "" {
			return w.csv.Write([]string{r.File, "", "", "", "", "", "", r.Error})
		}
		for i, p := range r.Predictions {
			w.csv.Write([]string{r.File, strconv.Itoa(i + 1), strconv.Itoa(p.Index), p.Label, p.LabelEn,
				strconv.FormatFloat(p.Score, 'f', 6, 64), strconv.FormatFloat(*r.ElapsedMS, 'f', 3, 64), ""})
		}
		w.csv.Flush()
		return w.csv.Error()
	default:
		if r.Error != "" {
			_, err := fmt.Fprintf(w.stderr, "%s: error: %s\n", r.File, strings.TrimPrefix(r.Error, r.File+": "))
			return err
		}
		parts := make([]string, len(r.Predictions))
		for i, p := range r.Predictions {
			parts[i] = fmt.Sprintf("%s %.1f%%", p.Label, 100*p.Score)
		}
		_, err := fmt.Fprintf(w.stdout, "%s: %s\n", r.File, strings.Join(parts, ", "))
		return err
	}
	return nil
}

func (w *resultWriter) close() error {
	if w.f.format == "json" {
		enc := json.NewEncoder(w.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(w.all)
	}
	return nil
}
