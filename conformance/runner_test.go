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

// shapeInputs lists, per op, the input slots whose values fix output shapes (or act as attributes
// the kernel is compiled for). wanwu plans every buffer before the first Run, so these must be
// constants, as they are in exported models; ONNX's node tests often feed them as graph inputs.
var shapeInputs = map[string][]int{
	"Reshape": {1}, "Expand": {1}, "Tile": {1}, "ConstantOfShape": {0}, "Slice": {1, 2, 3, 4},
	"Split": {1}, "Squeeze": {1}, "Unsqueeze": {1}, "Pad": {1, 3}, "Resize": {1, 2, 3}, "Upsample": {1},
	"TopK": {1}, "Range": {0, 1, 2}, "OneHot": {1}, "CumSum": {1}, "Trilu": {1}, "Dropout": {1, 2},
	"CenterCropPad": {1, 2}, "MaxUnpool": {2}, "DFT": {1, 2}, "STFT": {1, 3},
	"BlackmanWindow": {0}, "HammingWindow": {0}, "HannWindow": {0}, "MelWeightMatrix": {0, 1, 2, 3, 4},
	"ReduceSum": {1}, "ReduceMean": {1}, "ReduceMax": {1}, "ReduceMin": {1}, "ReduceProd": {1},
	"ReduceL1": {1}, "ReduceL2": {1}, "ReduceLogSum": {1}, "ReduceLogSumExp": {1}, "ReduceSumSquare": {1},
}

// shapeInputIndexes returns the indexes of g's inputs that feed a shape slot of some node, directly
// or through other nodes (an expanded function casts and scales its size input before Range).
func shapeInputIndexes(g *graph.Graph) map[int]bool {
	slot := map[*graph.Value]bool{}
	for _, n := range g.Nodes {
		for _, i := range shapeInputs[n.Op] {
			if v := n.Input(i); v != nil {
				slot[v] = true
			}
		}
	}
	// Nodes are in topological order: walking them backwards, a node producing a value that fixes a
	// shape makes its inputs fix it too.
	for k := len(g.Nodes) - 1; k >= 0; k-- {
		n := g.Nodes[k]
		feeds := false
		for _, o := range n.Outputs {
			feeds = feeds || (o != nil && slot[o])
		}
		if feeds {
			for _, v := range n.Inputs {
				if v != nil {
					slot[v] = true
				}
			}
		}
	}
	idx := map[int]bool{}
	for i, v := range g.Inputs {
		if slot[v] {
			idx[i] = true
		}
	}
	return idx
}

// runStats tells how a model directory ran.
type runStats struct {
	frozen int // graph inputs bound as constants (shape inputs), summed over data sets
}

// runModelDir imports dir/model.onnx and, for every data set, compiles it for the set's input
// shapes, runs it and calls check on every output. Graph inputs in shape slots (shapeInputs) are
// bound to the data set's values as constants before compiling. Missing ops give an
// *unsupportedError; panics in the engine become errors so one broken op does not stop the suite.
func runModelDir(dir string, opts wrt.Options, check checkFunc) (st runStats, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, trimStack(debug.Stack()))
		}
	}()
	sets, err := readDataSets(dir)
	if err != nil {
		return st, err
	}
	load := func() (*graph.Graph, error) {
		g, err := onnximport.Load(filepath.Join(dir, "model.onnx"))
		if err != nil {
			if ops := unsupportedOps(err); ops != nil {
				return nil, &unsupportedError{ops}
			}
			return nil, fmt.Errorf("import: %w", err)
		}
		if m := missingOps(g); len(m) > 0 {
			g.Close()
			return nil, &unsupportedError{m}
		}
		return g, nil
	}
	for _, s := range sets {
		// A fresh graph per data set: frozen inputs take each set's values.
		g, err := load()
		if err != nil {
			return st, err
		}
		err = runSet(g, s, opts, check, true, &st)
		g.Close()
		if err != nil {
			return st, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	if st.frozen == 0 {
		return st, nil
	}
	// The same model with its shape inputs fed at run time: the engine may refuse it (it cannot
	// plan memory for shapes it does not know), but it must never return a wrong answer.
	for _, s := range sets {
		g, err := load()
		if err != nil {
			return st, err
		}
		var ignored runStats
		err = runSet(g, s, opts, check, false, &ignored)
		g.Close()
		var wrong *wrongResultError
		if errors.As(err, &wrong) {
			return st, fmt.Errorf("%s, shape inputs fed at run time: accepted, but %w", s.name, err)
		}
	}
	return st, nil
}

// wrongResultError marks a model that compiled and ran but returned wrong outputs.
type wrongResultError struct{ err error }

func (e *wrongResultError) Error() string { return e.err.Error() }
func (e *wrongResultError) Unwrap() error { return e.err }

// runSet compiles g for one data set and checks its outputs. With freeze, inputs in shape slots
// become constants holding the set's values; without, every input is fed at run time.
func runSet(g *graph.Graph, s dataSet, opts wrt.Options, check checkFunc, freeze bool, st *runStats) error {
	if len(s.inputs) != len(g.Inputs) {
		return fmt.Errorf("%d inputs, the graph has %d", len(s.inputs), len(g.Inputs))
	}
	frozen := map[int]bool{}
	if freeze {
		frozen = shapeInputIndexes(g)
	}
	var inputs []*tensor.Tensor
	var kept []*graph.Value
	shapes := map[string]tensor.Shape{}
	for i, v := range g.Inputs {
		if frozen[i] {
			v.Const, v.DType, v.Shape = s.inputs[i], s.inputs[i].DType, s.inputs[i].Shape
			st.frozen++
			continue
		}
		in := s.inputs[i]
		if in.DType == tensor.F16 && v.DType == tensor.F32 {
			in = widenF16(in) // float16 inputs were widened at import (importer/onnx/fp16.go)
		}
		kept = append(kept, v)
		inputs = append(inputs, in)
		shapes[v.Name] = in.Shape
	}
	g.Inputs = kept
	opts.InputShapes = shapes
	p, err := wrt.Compile(g, opts)
	if err != nil {
		return fmt.Errorf("compile: %w", err)
	}
	defer p.Close()
	outs, err := p.Run(context.Background(), inputs)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if len(outs) != len(s.outputs) {
		return &wrongResultError{fmt.Errorf("%d outputs, want %d", len(outs), len(s.outputs))}
	}
	for i, want := range s.outputs {
		if err := check(s.name, i, outs[i], want); err != nil {
			return &wrongResultError{fmt.Errorf("output %d (%s): %w", i, g.Outputs[i].Name, err)}
		}
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

// widenF16 converts a float16 tensor to float32.
func widenF16(t *tensor.Tensor) *tensor.Tensor {
	out := tensor.New(tensor.F32, t.Shape)
	for i, h := range t.F16() {
		out.F32()[i] = tensor.F16ToF32(h)
	}
	return out
}
