package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/compiled"
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
(.pb, the ONNX test-data layout) or a NumPy .npy file (at most 2 GiB; a pipe or device is read as a
stream and refused at its first bytes if they cannot start a tensor file).

Each output is written inside --output-dir as <output name>.pb and .npy, its name made a safe file name:
path separators, NUL, control and Windows-reserved characters become '_'; a name that is empty or all
dots ("..") becomes output<i> or underscores; a name too long for a file name is cut and ends in ~ and
12 hex digits of its SHA-256, as does one whose file name another output already took. Each line
printed maps an output name to its files.

A float16 model runs in float32 (its weights widened at import): its inputs may be given as float16
(the model's own type) or float32, and its outputs are written as float32.`,
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
				if t.DType == tensor.F16 && in.DType == tensor.F32 && g.Meta["wanwu.fp16"] != "" {
					t = widenF16(t) // the model's own float16 input, widened at import like the model
				}
				shapes[in.Name] = t.Shape
				feed[i] = t
			}
			for name := range byName {
				return usagef("the model has no input named %q", name)
			}
			ropts := runtime.Options{Threads: threads, InputShapes: shapes}
			if cf := compiled.Of(g); cf != nil { // runs as converted, with its own packings
				ropts.Prepacked, ropts.Winograd = cf.Prepacked, cf.Info.Winograd
			}
			prog, err := runtime.Compile(g, ropts)
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
			names := make([]string, len(outs))
			for i := range outs {
				names[i] = g.Outputs[i].Name
			}
			for i, file := range outputFileNames(names) {
				t, base := outs[i], filepath.Join(outDir, file)
				if err := tensorio.WritePB(base+".pb", names[i], t); err != nil {
					return err
				}
				if err := tensorio.WriteNPY(base+".npy", t); err != nil {
					return err
				}
				fmt.Fprintf(m.Stdout, "%s %s%s -> %s.{pb,npy}\n", displayName(names[i]), t.DType, t.Shape, base)
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

// widenF16 returns a float32 copy of a float16 tensor (exact: every float16 is a float32).
func widenF16(t *tensor.Tensor) *tensor.Tensor {
	out := tensor.New(tensor.F32, t.Shape)
	f := out.F32()
	for i, h := range t.F16() {
		f[i] = tensor.F16ToF32(h)
	}
	return out
}
