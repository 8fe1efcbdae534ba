package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/imageio"
	"github.com/wanwu-ai/wanwu/internal/userfile"
	"github.com/wanwu-ai/wanwu/memory"
)

type planFlags struct {
	model, budget, format, labels string
	cats                          string
	only                          onlyFlags
	size, threads, resize, batch  int
	winograd                      bool
	precision                     string
	photo                         string
}

func (m *Main) planCommand() *cobra.Command {
	var f planFlags
	c := &cobra.Command{
		Use:   "plan --model MODEL [--budget SIZE] [--format json]",
		Short: "Predict peak memory of each configuration of a model and pick the best that fits a budget",
		Long: `List the configurations a model can run in — each precision the engine supports for it and, for
models with a dynamic input size, its default size and those of 224, 192, 160 and 128 below it — the same
list classify and serve choose from, with the predicted peak resident
memory of a classify process (weights + packed copies + arena + photo decoding + Go runtime), ranked by
quality (fp32 > fp16 > int8, then larger input first; fp32 with Winograd, faster for 16/9 of its 3x3
weights, then without it, where that changes the memory). The most accurate configuration that fits the
budget is marked with *. Nothing is run: the plan comes from the memory planner alone.

Without --budget the budget is the cgroup memory limit or MemAvailable, less a safety margin.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error { return m.plan(c, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.model, "model", catalog.DefaultModel, modelUsage)
	fl.StringVar(&f.budget, "budget", "", "memory budget, e.g. 512MiB, 1GiB, 300M (default: detected)")
	fl.StringVar(&f.format, "format", "text", "output format: text or json")
	fl.StringVar(&f.labels, "labels", "", "label file (for --only on models without built-in labels)")
	fl.StringVar(&f.cats, "categories-file", "", categoriesUsage)
	f.only.register(fl, "plan for a classifier pruned to these classes (as for classify --only)")
	fl.IntVar(&f.size, "size", 0, "consider only this input size (0 = the default and 224, 192, 160, 128 below it, for dynamic models)")
	fl.IntVar(&f.resize, "resize", 0, resizeUsage)
	fl.IntVar(&f.batch, "batch", 1, "predict batches of up to N photos, as serve --max-batch N holds (models with a dynamic batch)")
	fl.BoolVar(&f.winograd, "winograd", true, winogradUsage)
	fl.IntVar(&f.threads, "threads", 0, "threads (0 = all cores; at most 4 per CPU)")
	fl.StringVar(&f.precision, "precision", "auto", "consider only this precision (auto = all the engine supports)")
	fl.StringVar(&f.photo, "photo", "", "size the photo-decoding estimate by this photo's header (default: 1920x1080)")
	return c
}

func (m *Main) plan(c *cobra.Command, f planFlags) error {
	if err := checkFormat(f.format, "text", "json"); err != nil {
		return err
	}
	if err := f.only.validate(); err != nil {
		return err
	}
	if err := checkSize(f.size); err != nil {
		return err
	}
	if err := checkResize(f.resize, f.size); err != nil {
		return err
	}
	if f.batch < 1 || f.batch > 256 {
		return usagef("--batch must be from 1 to 256, got %d", f.batch)
	}
	if err := checkThreads(f.threads); err != nil {
		return err
	}
	if err := checkPrecision(f.precision); err != nil {
		return err
	}
	budget := memory.Budget{Source: "--budget"}
	if f.budget != "" {
		b, err := parseSizeFlag("budget", f.budget)
		if err != nil {
			return err
		}
		budget.Bytes = b
	} else {
		b, err := memory.DetectBudget()
		if err != nil {
			return err
		}
		budget = b
	}
	opts := []wanwu.Option{wanwu.WithThreads(f.threads), wanwu.WithInputSize(f.size), wanwu.WithResize(f.resize), wanwu.WithPrecision(f.precision), wanwu.WithBatch(f.batch),
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
	if f.photo != "" {
		if _, err := userfile.CheckRegular(f.photo); err != nil { // a named pipe would block the read
			return err
		}
		h, err := imageio.ReadHeader(f.photo)
		if err != nil {
			return err
		}
		opts = append(opts, wanwu.WithPhoto(h))
	}
	only, err := f.only.option()
	if err != nil {
		return err
	}
	if only != nil {
		opts = append(opts, only)
	}
	p, err := wanwu.PlanConfigs(c.Context(), f.model, budget.Bytes, opts...)
	if err != nil {
		return err
	}
	p.Model = f.model
	for _, w := range p.Warnings {
		fmt.Fprintf(m.Stderr, "wanwu: warning: %s\n", w)
	}
	if f.format == "json" {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(p)
	}
	fmt.Fprintf(m.Stdout, "model %s, budget %s (%s)\n", p.Model, memory.FormatSize(p.BudgetBytes), budget.Source)
	fmt.Fprintf(m.Stdout, "  %-4s %-9s %-5s %-6s %-5s %-7s %-8s %-7s %11s  %s\n", "rank", "precision", "size", "resize", "batch", "threads", "winograd", "labels", "peak", "breakdown")
	for i, c := range p.Candidates {
		mark := " "
		if p.Chosen != nil && c.Precision == p.Chosen.Precision && c.Size == p.Chosen.Size && c.Batch == p.Chosen.Batch && c.Winograd == p.Chosen.Winograd {
			mark = "*"
		} else if !c.Fits {
			mark = "-"
		}
		b := c.Breakdown
		wino := "no"
		if c.Winograd {
			wino = "yes"
		}
		fmt.Fprintf(m.Stdout, "%s %-4d %-9s %-5d %-6d %-5d %-7d %-8s %-7d %11s  weights %s + packed %s + arena %s + decode %s + runtime %s\n",
			mark, i+1, c.Precision, c.Size, c.Resize, c.Batch, c.Threads, wino, c.Labels, memory.FormatSize(c.PredictedPeakBytes),
			memory.FormatSize(b.Weights), memory.FormatSize(b.Packed), memory.FormatSize(b.Arena),
			memory.FormatSize(b.Decode), memory.FormatSize(b.Runtime))
	}
	if p.Chosen == nil {
		s := p.Smallest()
		fmt.Fprintf(m.Stdout, "nothing fits: the smallest configuration (%s) needs %s\n", s, memory.FormatSize(s.PredictedPeakBytes))
		return nil
	}
	fmt.Fprintf(m.Stdout, "chosen (*): %s, predicted peak %s; - marks configurations over the budget\n", *p.Chosen, memory.FormatSize(p.Chosen.PredictedPeakBytes))
	return nil
}
