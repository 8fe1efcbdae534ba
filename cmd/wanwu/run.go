package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tensorio"
)

func (m *Main) runCommand() *cobra.Command {
	var model, outDir string
	var inputs []string
	var threads int
	c := &cobra.Command{
		Use:   "run --model MODEL --input NAME=FILE... --output-dir DIR",
		Short: "Run a model on raw tensors (.pb TensorProto or .npy) and write every output as .pb and .npy",
		Long: `Run a model on raw input tensors, for checking an export's numerics against PyTorch.

Each --input gives a graph input by name (NAME=FILE) or in order (FILE). FILE is an ONNX TensorProto
(.pb, the ONNX test-data layout) or a NumPy .npy file. Each output is written as <output name>.pb and .npy.`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			if model == "" {
				return usagef("--model is required")
			}
			if len(inputs) == 0 {
				return usagef("at least one --input is required")
			}
			if outDir == "" {
				return usagef("--output-dir is required")
			}
			if err := checkThreads(threads); err != nil {
				return err
			}
			path, _, err := (&catalog.Fetcher{Progress: progressWriter(m.Stderr)}).Resolve(c.Context(), model)
			if err != nil {
				return err
			}
			g, _, err := wanwu.ImportGraph(path)
			if err != nil {
				return err
			}
			defer g.Close()
			byName := map[string]*tensor.Tensor{}
			for i, spec := range inputs {
				name, file, ok := strings.Cut(spec, "=")
				if !ok {
					file = spec
					if i >= len(g.Inputs) {
						return usagef("--input %s: the model has only %d inputs", spec, len(g.Inputs))
					}
					name = g.Inputs[i].Name
				}
				t, _, err := tensorio.ReadFile(file)
				if err != nil {
					return err
				}
				byName[name] = t
			}
			shapes := map[string]tensor.Shape{}
			feed := make([]*tensor.Tensor, len(g.Inputs))
			for i, in := range g.Inputs {
				t, ok := byName[in.Name]
				if !ok {
					return usagef("no --input for graph input %q", in.Name)
				}
				delete(byName, in.Name)
				shapes[in.Name] = t.Shape
				feed[i] = t
			}
			for name := range byName {
				return usagef("the model has no input named %q", name)
			}
			prog, err := runtime.Compile(g, runtime.Options{Threads: threads, InputShapes: shapes})
			if err != nil {
				return fmt.Errorf("%s: %w", model, err)
			}
			defer prog.Close()
			outs, err := prog.Run(c.Context(), feed)
			if err != nil {
				return fmt.Errorf("%s: %w", model, err)
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return err
			}
			for i, t := range outs {
				name := g.Outputs[i].Name
				base := filepath.Join(outDir, safeFileName(name))
				if err := tensorio.WritePB(base+".pb", name, t); err != nil {
					return err
				}
				if err := tensorio.WriteNPY(base+".npy", t); err != nil {
					return err
				}
				fmt.Fprintf(m.Stdout, "%s %s%s -> %s.{pb,npy}\n", name, t.DType, t.Shape, base)
			}
			return nil
		},
	}
	c.Flags().StringVar(&model, "model", "", "model file (.onnx, .tflite) or catalog name (required)")
	c.Flags().StringArrayVar(&inputs, "input", nil, "NAME=FILE (or FILE for inputs in order); repeatable")
	c.Flags().StringVar(&outDir, "output-dir", "", "directory for the outputs")
	c.Flags().IntVar(&threads, "threads", 0, "threads (0 = all cores)")
	return c
}

// safeFileName keeps output names (which may contain '/' or ':') usable as file names.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r == 0 {
			return '_'
		}
		return r
	}, s)
}
