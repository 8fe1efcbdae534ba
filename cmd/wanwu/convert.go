package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/internal/userfile"
)

type convertFlags struct {
	model, labels, precision, out string
	size, threads                 int
	winograd, verbose             bool
	calibrate                     []string
	only                          onlyFlags
}

func (m *Main) convertCommand() *cobra.Command {
	var f convertFlags
	c := &cobra.Command{
		Use:   "convert --model MODEL [--precision fp32|fp16|int8] [--calibrate DIR] -o OUT.wanwu",
		Short: "Compile a model once into a .wanwu file that loads without converting anything",
		Long: `Compile a model as classify would (precision, calibration, class subset, input size) and write
the result to one file: the optimized graph with every weight compiling derives (int8 weights and
scales, half weights, folded constants, the kernels' packed panels), the preprocessing, the labels,
and the SHA-256 of the source model. Every command's --model takes the file: it is memory-mapped and
run as it is, so the first photo is classified without reading the source model or packing weights.

The file is compiled for batch 1 at one input size (photos are classified one at a time), and for
this machine's kernels: on a CPU with other kernels (or a wanwu with another file format) it is
refused, with the reason. It is refused too when its source model is found (at the path it was
converted from, or by its name beside the file) and has changed since.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error { return m.convert(c, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.model, "model", catalog.DefaultModel, "model file (.onnx, .tflite) or catalog name")
	fl.StringVarP(&f.out, "output", "o", "", "the compiled model file to write (.wanwu)")
	fl.StringVar(&f.precision, "precision", "auto", "weight precision: fp32, fp16, int8, or auto: fp32, or what a quantized model stores")
	fl.StringSliceVar(&f.calibrate, "calibrate", nil, calibrateUsage)
	fl.StringVar(&f.labels, "labels", "", "label file to record: one label per line, JSON array/object, or ModelScope meta_info.txt")
	fl.IntVar(&f.size, "size", 0, "input size for models with a dynamic input size (0 = the model's default)")
	fl.IntVar(&f.threads, "threads", 0, "threads for compiling (and calibrating); 0 = all cores")
	fl.BoolVar(&f.winograd, "winograd", true, winogradUsage)
	f.only.register(fl, "keep only these classes (as for classify --only); the file holds the pruned classifier")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "print the configuration and what the file holds on stderr")
	return c
}

func (m *Main) convert(c *cobra.Command, f convertFlags) error {
	if f.out == "" {
		return usagef("-o/--output is required")
	}
	if err := checkPrecision(f.precision); err != nil {
		return err
	}
	if len(f.calibrate) > 0 && f.precision != "int8" {
		return usagef("--calibrate needs --precision int8")
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
	opts := []wanwu.Option{wanwu.WithThreads(f.threads), wanwu.WithInputSize(f.size),
		wanwu.WithFetcher(&catalog.Fetcher{Progress: progressWriter(m.Stderr)})}
	if f.precision != "auto" {
		opts = append(opts, wanwu.WithPrecision(f.precision))
	}
	if len(f.calibrate) > 0 {
		opts = append(opts, wanwu.WithCalibration(f.calibrate...))
	}
	if !f.winograd {
		opts = append(opts, wanwu.WithoutWinograd())
	}
	if f.labels != "" {
		opts = append(opts, wanwu.WithLabelFile(f.labels))
	}
	only, err := f.only.option()
	if err != nil {
		return err
	}
	if only != nil {
		opts = append(opts, only)
	}
	if f.verbose {
		opts = append(opts, wanwu.WithLogf(func(format string, a ...any) {
			fmt.Fprintf(m.Stderr, "wanwu: "+format+"\n", a...)
		}))
	}
	start := time.Now()
	info, err := wanwu.Convert(c.Context(), f.model, f.out, opts...)
	if err != nil {
		return err
	}
	size := int64(0)
	if st, err := os.Stat(f.out); err == nil {
		size = st.Size()
	}
	fmt.Fprintf(m.Stdout, "%s: %s %s at %dx%d, %s, from %s (sha256 %s) in %.1f s\n", f.out, info.Name, info.Precision,
		info.Preprocess.Height, info.Preprocess.Width, userfile.FormatBytes(size), info.Source.Path, info.Source.SHA256[:12],
		time.Since(start).Seconds())
	return nil
}
