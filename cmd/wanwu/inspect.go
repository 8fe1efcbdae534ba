package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wanwu-ai/wanwu"
	"github.com/wanwu-ai/wanwu/catalog"
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
)

type tensorInfo struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
}

type inspectReport struct {
	Model       string         `json:"model"`
	Format      string         `json:"format"`
	Opset       int            `json:"opset,omitempty"`
	Inputs      []tensorInfo   `json:"inputs"`
	Outputs     []tensorInfo   `json:"outputs"`
	Ops         map[string]int `json:"ops"`
	Parameters  int64          `json:"parameters"`
	WeightBytes int64          `json:"weight_bytes"`
	InputShape  []int          `json:"input_shape"`
	MACs        int64          `json:"macs"`
	ArenaBytes  int64          `json:"arena_bytes"`
}

func (m *Main) inspectCommand() *cobra.Command {
	var size, batch int
	var format string
	c := &cobra.Command{
		Use:   "inspect MODEL",
		Short: "Show a model's inputs, outputs, ops, parameters, MACs and planned arena",
		Long:  "MODEL is an .onnx or .tflite file or a catalog model name (see `wanwu models`).",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			if batch < 1 {
				return usagef("--batch must be at least 1, got %d", batch)
			}
			if err := checkSize(size); err != nil {
				return err
			}
			path, _, err := (&catalog.Fetcher{Progress: progressWriter(m.Stderr)}).Resolve(c.Context(), args[0])
			if err != nil {
				return err
			}
			g, kind, err := wanwu.ImportGraph(path)
			if err != nil {
				return err
			}
			defer g.Close()
			r := inspectReport{Model: args[0], Format: kind, Opset: g.Opset, Ops: map[string]int{}}
			for _, v := range g.Inputs {
				r.Inputs = append(r.Inputs, tensorInfo{v.Name, v.DType.String(), v.Shape})
			}
			for _, v := range g.Outputs {
				r.Outputs = append(r.Outputs, tensorInfo{v.Name, v.DType.String(), v.Shape})
			}
			for _, n := range g.Nodes {
				r.Ops[n.Op]++
			}
			r.Parameters, r.WeightBytes = weightsOf(g)
			shapes := concreteInputShapes(g, size, batch)
			for _, s := range shapes {
				r.InputShape = s
				break
			}
			st, err := runtime.Estimate(g, runtime.Options{Threads: 1, InputShapes: shapes})
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			r.MACs, r.ArenaBytes = st.MACs, int64(st.ArenaBytes)
			if format == "json" {
				enc := json.NewEncoder(m.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			m.printInspect(r)
			return nil
		},
	}
	c.Flags().IntVar(&size, "size", 0, "input size for dynamic spatial dims (default 224)")
	c.Flags().IntVar(&batch, "batch", 1, "batch size for a dynamic batch dim")
	c.Flags().StringVar(&format, "format", "text", "text or json")
	return c
}

// weightsOf counts constant elements and bytes (parameters = float or quantized weights, not shape constants).
func weightsOf(g *graph.Graph) (params, bytes int64) {
	seen := map[*graph.Value]bool{}
	for _, n := range g.Nodes {
		for _, v := range n.Inputs {
			if !v.IsConst() || seen[v] {
				continue
			}
			seen[v] = true
			bytes += int64(v.Const.ByteSize())
			if v.DType != tensor.I64 && v.DType != tensor.Bool {
				params += int64(v.Const.NumElements())
			}
		}
	}
	return params, bytes
}

// concreteInputShapes fixes dynamic dims: batch for dim 0, size (default 224) for the others.
func concreteInputShapes(g *graph.Graph, size, batch int) map[string]tensor.Shape {
	if size == 0 {
		size = 224
	}
	shapes := map[string]tensor.Shape{}
	for _, in := range g.Inputs {
		s := in.Shape.Clone()
		for i := range s {
			if s[i] < 0 {
				if i == 0 {
					s[i] = batch
				} else {
					s[i] = size
				}
			}
		}
		shapes[in.Name] = s
	}
	return shapes
}

func (m *Main) printInspect(r inspectReport) {
	w := tabwriter.NewWriter(m.Stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintf(w, "model\t%s (%s", r.Model, r.Format)
	if r.Opset > 0 {
		fmt.Fprintf(w, ", opset %d", r.Opset)
	}
	fmt.Fprintln(w, ")")
	for _, t := range r.Inputs {
		fmt.Fprintf(w, "input\t%s %s%s\n", t.Name, t.DType, tensor.Shape(t.Shape))
	}
	for _, t := range r.Outputs {
		fmt.Fprintf(w, "output\t%s %s%s\n", t.Name, t.DType, tensor.Shape(t.Shape))
	}
	fmt.Fprintf(w, "parameters\t%d (%.2f M)\n", r.Parameters, float64(r.Parameters)/1e6)
	fmt.Fprintf(w, "weight bytes\t%d (%.1f MiB)\n", r.WeightBytes, float64(r.WeightBytes)/(1<<20))
	fmt.Fprintf(w, "at input\t%s\n", tensor.Shape(r.InputShape))
	fmt.Fprintf(w, "MACs\t%d (%.3f G)\n", r.MACs, float64(r.MACs)/1e9)
	fmt.Fprintf(w, "arena bytes\t%d (%.1f MiB)\n", r.ArenaBytes, float64(r.ArenaBytes)/(1<<20))
	names := make([]string, 0, len(r.Ops))
	for k := range r.Ops {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if r.Ops[names[i]] != r.Ops[names[j]] {
			return r.Ops[names[i]] > r.Ops[names[j]]
		}
		return names[i] < names[j]
	})
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s×%d", k, r.Ops[k])
	}
	fmt.Fprintf(w, "ops\t%s\n", strings.Join(parts, " "))
	w.Flush()
}
