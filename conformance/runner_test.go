package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"github.com/wanwu-ai/wanwu/graph"
	onnximport "github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/ops"
	wrt "github.com/wanwu-ai/wanwu/runtime"
	"github.com/wanwu-ai/wanwu/tensor"
	"github.com/wanwu-ai/wanwu/tensorio"
)

// unsupportedError says a model uses ops wanwu does not implement: the case is skipped, not failed.
type unsupportedError struct{ ops []string }

func (e *unsupportedError) Error() string { return "unsupported ops: " + strings.Join(e.ops, ", ") }

// dataSet is one test_data_set_K folder: inputs and expected outputs in index order.
type dataSet struct {
	name    string
	inputs  []*tensor.Tensor
	outputs []*tensor.Tensor
}

var pbIndex = regexp.MustCompile(`^(input|output)_(\d+)\.pb$`)

// readDataSets reads every test_data_set_* under dir, sorted by name.
func readDataSets(dir string) ([]dataSet, error) {
	dirs, err := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if err != nil {
		return nil, err
	}
	sort.Strings(dirs)
	var sets []dataSet
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			return nil, err
		}
		ins, outs := map[int]*tensor.Tensor{}, map[int]*tensor.Tensor{}
		for _, e := range ents {
			m := pbIndex.FindStringSubmatch(e.Name())
			if m == nil {
				continue
			}
			t, _, err := tensorio.ReadFile(filepath.Join(d, e.Name()))
			if err != nil {
				return nil, err
			}
			i, _ := strconv.Atoi(m[2])
			if m[1] == "input" {
				ins[i] = t
			} else {
				outs[i] = t
			}
		}
		s := dataSet{name: filepath.Base(d)}
		for i := 0; i < len(ins); i++ {
			if ins[i] == nil {
				return nil, fmt.Errorf("%s: input_%d.pb missing", d, i)
			}
			s.inputs = append(s.inputs, ins[i])
		}
		for i := 0; i < len(outs); i++ {
			if outs[i] == nil {
				return nil, fmt.Errorf("%s: output_%d.pb missing", d, i)
			}
			s.outputs = append(s.outputs, outs[i])
		}
		sets = append(sets, s)
	}
	if len(sets) == 0 {
		return nil, fmt.Errorf("%s: no test_data_set_*", dir)
	}
	return sets, nil
}

// missingOps lists the op types of g that have no registered implementation.
func missingOps(g *graph.Graph) []string {
	seen := map[string]bool{}
	var missing []string
	for _, n := range g.Nodes {
		if !seen[n.Op] && ops.Lookup(n.Op) == nil {
			missing = append(missing, n.Op)
		}
		seen[n.Op] = true
	}
	sort.Strings(missing)
	return missing
}

// checkFunc compares output i of a data set.
type checkFunc func(set string, i int, got, want *tensor.Tensor) error

// runModelDir imports dir/model.onnx and, for every data set, compiles it for the set's input
// shapes, runs it and calls check on every output. Missing ops give an *unsupportedError; panics
// in the engine are turned into errors so one broken op does not stop the whole suite.
func runModelDir(dir string, threads int, check checkFunc) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, trimStack(debug.Stack()))
		}
	}()
	sets, err := readDataSets(dir)
	if err != nil {
		return err
	}
	g, err := onnximport.Load(filepath.Join(dir, "model.onnx"))
	if err != nil {
		if ops := unsupportedOps(err); ops != nil {
			return &unsupportedError{ops}
		}
		return fmt.Errorf("import: %w", err)
	}
	defer g.Close()
	if m := missingOps(g); len(m) > 0 {
		return &unsupportedError{m}
	}
	for _, s := range sets {
		if len(s.inputs) != len(g.Inputs) {
			return fmt.Errorf("%s: %d inputs, the graph has %d", s.name, len(s.inputs), len(g.Inputs))
		}
		shapes := make(map[string]tensor.Shape, len(g.Inputs))
		for i, v := range g.Inputs {
			shapes[v.Name] = s.inputs[i].Shape
		}
		p, err := wrt.Compile(g, wrt.Options{Threads: threads, InputShapes: shapes})
		if err != nil {
			return fmt.Errorf("%s: compile: %w", s.name, err)
		}
		outs, err := p.Run(context.Background(), s.inputs)
		if err != nil {
			p.Close()
			return fmt.Errorf("%s: run: %w", s.name, err)
		}
		if len(outs) != len(s.outputs) {
			p.Close()
			return fmt.Errorf("%s: %d outputs, want %d", s.name, len(outs), len(s.outputs))
		}
		for i, want := range s.outputs {
			if err := check(s.name, i, outs[i], want); err != nil {
				p.Close()
				return fmt.Errorf("%s: output %d (%s): %w", s.name, i, g.Outputs[i].Name, err)
			}
		}
		p.Close()
	}
	return nil
}

// unsupportedOps extracts the op list from the importer's unsupported-op error, nil for other errors.
func unsupportedOps(err error) []string {
	var u *onnximport.UnsupportedError
	if errors.As(err, &u) {
		return u.OpTypes()
	}
	return nil
}

// trimStack keeps the first lines of a panic stack below the runtime's own frames.
func trimStack(s []byte) string {
	lines := strings.Split(string(s), "\n")
	if len(lines) > 24 {
		lines = lines[:24]
	}
	return strings.Join(lines, "\n")
}
