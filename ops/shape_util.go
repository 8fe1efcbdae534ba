package ops

import (
	"fmt"
	"unsafe"

	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Helpers shared by the light-weight operators (element-wise, shape and layout ops).

// elems views t's data as []T without checking the dtype; callers pick T from t.DType.
func elems[T any](t *tensor.Tensor) []T {
	n := t.NumElements()
	if n <= 0 || len(t.Data) == 0 {
		return nil
	}
	var z T
	if len(t.Data) < n*int(unsafe.Sizeof(z)) {
		panic("ops: tensor data shorter than its shape")
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&t.Data[0])), n)
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(n *graph.Node, axis int64, rank int) (int, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, fmt.Errorf("ops: node %q (%s): axis %d out of range for rank %d", n.Name, n.Op, axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}

// constInts returns the values of a constant integer input; ok is false when absent or not constant.
func constInts(v *graph.Value) ([]int64, bool) {
	if v == nil || v.Const == nil {
		return nil, false
	}
	return v.Const.Ints(), true
}

// intsInputOrAttr reads a list that moved from an attribute to input idx over opsets (axes, split, pads).
// present is false when neither is given; known is false when the input exists but is not constant.
func intsInputOrAttr(n *graph.Node, idx int, attr string) (vals []int64, present, known bool) {
	if v := n.Input(idx); v != nil {
		vals, known = constInts(v)
		return vals, true, known
	}
	if n.Has(attr) {
		return n.Ints(attr, nil), true, true
	}
	return nil, false, true
}

// onnxDTypes maps ONNX TensorProto.DataType codes (used by the Cast "to" attribute and tensor attributes)
// to wanwu dtypes.
var onnxDTypes = map[int64]tensor.DType{1: tensor.F32, 2: tensor.U8, 3: tensor.I8, 6: tensor.I32, 7: tensor.I64, 9: tensor.Bool, 10: tensor.F16}

func setOut(n *graph.Node, i int, dt tensor.DType, s tensor.Shape) {
	if i < len(n.Outputs) && n.Outputs[i] != nil {
		n.Outputs[i].DType = dt
		n.Outputs[i].Shape = s
	}
}

func needInputs(n *graph.Node, min int) error {
	if len(n.Inputs) < min {
		return fmt.Errorf("ops: node %q (%s): needs %d inputs, has %d", n.Name, n.Op, min, len(n.Inputs))
	}
	for i := 0; i < min; i++ {
		if n.Inputs[i] == nil {
			return fmt.Errorf("ops: node %q (%s): input %d is missing", n.Name, n.Op, i)
		}
	}
	if len(n.Outputs) == 0 || n.Outputs[0] == nil {
		return fmt.Errorf("ops: node %q (%s): has no output", n.Name, n.Op)
	}
	return nil
}

func errf(n *graph.Node, format string, args ...any) error {
	return fmt.Errorf("ops: node %q (%s): %s", n.Name, n.Op, fmt.Sprintf(format, args...))
}

// dynShape is a shape of the given rank with every dim unknown.
func dynShape(rank int) tensor.Shape {
	s := make(tensor.Shape, rank)
	for i := range s {
		s[i] = -1
	}
	return s
}

// copyKernel copies input 0 to output 0 byte for byte: what Alias ops run when the runtime does
// not alias them (and what Eval would do).
type copyKernel struct{}

func (copyKernel) ScratchBytes() int { return 0 }
func (copyKernel) Run(_ *Ctx, in, out []*tensor.Tensor) error {
	n := out[0].ByteSize()
	if n > 0 && &in[0].Data[0] != &out[0].Data[0] {
		copy(out[0].Data[:n], in[0].Data[:n])
	}
	return nil
}

// broadcastShapes is the multidirectional (numpy) broadcast of shapes; dynamic dims stay dynamic
// unless the other side fixes them (a dim > 1 wins over an unknown one).
func broadcastShapes(n *graph.Node, shapes ...tensor.Shape) (tensor.Shape, error) {
	rank := 0
	for _, s := range shapes {
		if s == nil {
			return nil, nil
		}
		rank = max(rank, len(s))
	}
	out := make(tensor.Shape, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			o := out[off+i]
			switch {
			case d == 1:
			case o == 1:
				out[off+i] = d
			case d < 0:
				// unknown vs known (>1) keeps the known one; unknown vs unknown stays unknown
			case o < 0:
				out[off+i] = d
			case d != o:
				return nil, errf(n, "shapes %v cannot be broadcast together", shapes)
			}
		}
	}
	return out, nil
}

// bcast is a broadcast iteration plan over a concrete output shape, collapsed so that adjacent
// dimensions every operand walks contiguously (or not at all) merge. Rows are runs of the innermost
// dimension; within a row each operand's step is 0 (broadcast) or 1.
type bcast struct {
	outer   []int   // collapsed outer dims (row grid)
	strides [][]int // per operand, element stride per outer dim
	inner   int     // row length
	step    []int   // per operand, 0 or 1 within a row
	rows    int
}

func newBcast(out tensor.Shape, ins ...tensor.Shape) *bcast {
	r := len(out)
	k := len(ins)
	// Per-operand full strides aligned to out.
	st := make([][]int, k)
	for j, s := range ins {
		st[j] = make([]int, r)
		acc := 1
		for i := r - 1; i >= 0; i-- {
			si := i - (r - len(s))
			if si < 0 || (s[si] == 1 && out[i] != 1) {
				st[j][i] = 0
			} else {
				st[j][i] = acc
				acc *= s[si]
			}
		}
	}
	// Collapse: drop size-1 dims, merge d into its inner neighbour when every operand allows it.
	var dims []int
	cst := make([][]int, k)
	for i := 0; i < r; i++ {
		if out[i] == 1 {
			continue
		}
		if len(dims) > 0 {
			last := len(dims) - 1
			ok := true
			for j := range st {
				if cst[j][last] != st[j][i]*out[i] {
					ok = false
					break
				}
			}
			if ok {
				dims[last] *= out[i]
				for j := range st {
					cst[j][last] = st[j][i]
				}
				continue
			}
		}
		dims = append(dims, out[i])
		for j := range st {
			cst[j] = append(cst[j], st[j][i])
		}
	}
	b := &bcast{inner: 1, step: make([]int, k), strides: make([][]int, k), rows: 1}
	if len(dims) > 0 {
		last := len(dims) - 1
		b.inner = dims[last]
		for j := range st {
			b.step[j] = cst[j][last]
			b.strides[j] = cst[j][:last]
		}
		b.outer = dims[:last]
	}
	if out.NumElements() == 0 {
		b.inner, b.rows = 0, 0
	}
	for _, d := range b.outer {
		b.rows *= d
	}
	return b
}

// offset is operand j's element offset at the start of row.
func (b *bcast) offset(j, row int) int {
	off := 0
	st := b.strides[j]
	for d := len(b.outer) - 1; d >= 0 && row > 0; d-- {
		off += (row % b.outer[d]) * st[d]
		row /= b.outer[d]
	}
	return off
}

// operand returns the slice operand j reads for a row (length inner when its step is 1, else 1).
func operand[T any](b *bcast, j, row int, x []T, lo, hi int) []T {
	off := b.offset(j, row)
	if b.step[j] == 0 {
		return x[off : off+1]
	}
	return x[off+lo : off+hi]
}

// bcastTask splits a broadcast plan into parallel work items: rows, or chunks of one long row.
const chunkElems = 1 << 14

func (b *bcast) tasks() int {
	if b.rows == 1 {
		return (b.inner + chunkElems - 1) / chunkElems
	}
	return b.rows
}

// span maps a work item to (row, lo, hi) within the row.
func (b *bcast) span(t int) (row, lo, hi int) {
	if b.rows == 1 {
		lo = t * chunkElems
		return 0, lo, min(lo+chunkElems, b.inner)
	}
	return t, 0, b.inner
}

// grain is the minimum number of work items per parallel chunk so each chunk has real work.
func (b *bcast) grain() int {
	if b.rows == 1 {
		return 1
	}
	return max(1, chunkElems/max(1, b.inner))
}
