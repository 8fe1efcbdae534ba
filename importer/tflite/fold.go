package tflite

import (
	"encoding/binary"
	"fmt"
	"math"

	flatbuffers "github.com/google/flatbuffers/go"

	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Weights that reach an operator through DENSIFY and DEQUANTIZE are constants the converter
// computes at import, before any operator is converted:
//   - DENSIFY of a sparse constant (pruned weights: SparsityParameters with CSR levels and blocks)
//     gives the dense tensor;
//   - DEQUANTIZE of a constant gives float32: float16 weights (how MediaPipe and the TFLite
//     converter's float16 quantization ship every weight) widen exactly; int8/uint8 weights
//     (dynamic-range quantization) become (q - zero_point) * scale, per channel where they have
//     several scales.
// The folded values replace the operator outputs' tensors (tinfo.data), so CONV_2D and the others
// see constant float weights, as if the file had stored them.

// foldedTensor is an operator output computed at import.
type foldedTensor struct {
	dt   tensor.DType
	data []byte
}

// fold computes the DENSIFY and DEQUANTIZE outputs whose inputs are constants, in operator order
// (so DEQUANTIZE(DENSIFY(sparse float16)) folds too).
func (b *builder) fold() error {
	for i := 0; i < b.sg.OperatorsLength(); i++ {
		var op fb.Operator
		b.sg.Operators(&op, i)
		code, _ := b.builtin(&op)
		if (code != fb.BuiltinOperatorDENSIFY && code != fb.BuiltinOperatorDEQUANTIZE) || op.InputsLength() != 1 || op.OutputsLength() != 1 {
			continue
		}
		in, out := op.Inputs(0), op.Outputs(0)
		var err error
		var f *foldedTensor
		if code == fb.BuiltinOperatorDENSIFY {
			f, err = b.densify(in)
		} else {
			f, err = b.dequantizeConst(in)
		}
		if err != nil {
			return fmt.Errorf("tflite: operator %d (%s): %w", i, b.opName(&op), err)
		}
		if f != nil {
			b.folded[out] = f
		}
	}
	return nil
}

// dequantizeConst folds DEQUANTIZE of a constant; nil when the input is computed.
func (b *builder) dequantizeConst(ti int32) (*foldedTensor, error) {
	t, err := b.tensor(ti)
	if err != nil || t.data == nil {
		return nil, err
	}
	n := t.shape.NumElements()
	out := make([]byte, 4*n)
	put := func(i int, v float32) { binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v)) }
	switch {
	case t.dt == tensor.F16:
		for i := 0; i < n; i++ {
			put(i, tensor.F16ToF32(binary.LittleEndian.Uint16(t.data[2*i:])))
		}
	case t.dt == tensor.F32:
		copy(out, t.data[:4*n])
	case t.quantized():
		// Per channel: the channel of element i along qdim.
		inner := 1
		if len(t.scale) > 1 {
			if t.qdim < 0 || t.qdim >= len(t.shape) || t.shape[t.qdim] != len(t.scale) {
				return nil, fmt.Errorf("tensor %q: %d scales for dimension %d of %s", t.name, len(t.scale), t.qdim, t.shape)
			}
			for _, d := range t.shape[t.qdim+1:] {
				inner *= d
			}
		}
		for i := 0; i < n; i++ {
			c := 0
			if len(t.scale) > 1 {
				c = i / inner % len(t.scale)
			}
			q := float32(t.data[i])
			if t.dt == tensor.I8 {
				q = float32(int8(t.data[i]))
			}
			put(i, (q-float32(t.zp[c]))*t.scale[c])
		}
	default:
		return nil, fmt.Errorf("DEQUANTIZE of a %s constant", t.dt)
	}
	return &foldedTensor{dt: tensor.F32, data: out}, nil
}

// densify expands a sparse constant (TFLite's sparsity format, as its FormatConverter reads it):
// the levels of traversal_order walk the dims of the dense shape (each blocked dim by its number of
// blocks) and then the block dims; a DENSE level enumerates its dense_size, a SPARSE_CSR level the
// indices between segments[p] and segments[p+1] of its parent position p. Values are stored in
// traversal order.
func (b *builder) densify(ti int32) (*foldedTensor, error) {
	if ti < 0 || int(ti) >= b.sg.TensorsLength() {
		return nil, fmt.Errorf("tensor index %d out of range", ti)
	}
	var ft fb.Tensor
	b.sg.Tensors(&ft, int(ti))
	sp := ft.Sparsity(nil)
	if sp == nil {
		return nil, nil // a dense constant: DENSIFY is the identity, converted as such
	}
	dt, ok := dtypes[ft.Type()]
	if !ok {
		return nil, fmt.Errorf("sparse tensor %q: type %s not supported", ft.Name(), fb.EnumNamesTensorType[ft.Type()])
	}
	var shape []int
	for i := 0; i < ft.ShapeLength(); i++ {
		if d := int(ft.Shape(i)); d < 1 {
			return nil, fmt.Errorf("sparse tensor %q: dimension %d is %d", ft.Name(), i, d)
		} else {
			shape = append(shape, d)
		}
	}
	src, err := b.buffer(ft.Buffer())
	if err != nil {
		return nil, fmt.Errorf("sparse tensor %q: %w", ft.Name(), err)
	}
	// The dense tensor is not bounded by the file as stored weights are: refuse one more than 64
	// times the file (real pruned weights are a few times denser than their encoding).
	total := dt.Size()
	for _, s := range shape {
		if total > (64*len(b.data))/s+1 {
			return nil, fmt.Errorf("sparse tensor %q: dense shape %v is far larger than the %d-byte file", ft.Name(), shape, len(b.data))
		}
		total *= s
	}
	d, err := newDensifier(sp, shape, dt.Size(), src)
	if err != nil {
		return nil, fmt.Errorf("sparse tensor %q: %w", ft.Name(), err)
	}
	if err := d.walk(0, 0); err != nil {
		return nil, fmt.Errorf("sparse tensor %q: %w", ft.Name(), err)
	}
	if d.next*d.elem != len(src) {
		return nil, fmt.Errorf("sparse tensor %q: %d bytes of values, the sparsity pattern reads %d", ft.Name(), len(src), d.next*d.elem)
	}
	return &foldedTensor{dt: dt, data: d.dst}, nil
}

type densifier struct {
	shape     []int
	order     []int // traversal order: dim per level
	blockDim  []int // original dim of block j
	blockSize []int
	dense     []int     // level size of DENSE levels
	segs, idx [][]int32 // per SPARSE_CSR level
	coord     []int     // current index per level
	orig      []int     // scratch: the dense coordinate of a leaf
	elem      int
	src, dst  []byte
	next      int // values consumed
}

func newDensifier(sp *fb.SparsityParameters, shape []int, elem int, src []byte) (*densifier, error) {
	n := len(shape)
	levels := sp.TraversalOrderLength()
	k := sp.BlockMapLength()
	if k > 8 {
		return nil, fmt.Errorf("%d block dims (at most 8)", k)
	}
	if levels != n+k || sp.DimMetadataLength() != levels {
		return nil, fmt.Errorf("traversal order has %d levels and %d metadata for rank %d with %d block dims", levels, sp.DimMetadataLength(), n, k)
	}
	d := &densifier{shape: shape, elem: elem, src: src, order: make([]int, levels), blockDim: make([]int, k),
		blockSize: make([]int, k), dense: make([]int, levels), segs: make([][]int32, levels), idx: make([][]int32, levels),
		coord: make([]int, levels), orig: make([]int, n)}
	total := 1
	for _, s := range shape {
		total *= s
	}
	d.dst = make([]byte, total*elem)
	seen := make([]bool, levels)
	for l := 0; l < levels; l++ {
		o := int(sp.TraversalOrder(l))
		if o < 0 || o >= levels || seen[o] {
			return nil, fmt.Errorf("traversal order is not a permutation of 0..%d", levels-1)
		}
		seen[o] = true
		d.order[l] = o
	}
	for j := 0; j < k; j++ {
		bd := int(sp.BlockMap(j))
		if bd < 0 || bd >= n {
			return nil, fmt.Errorf("block map names dim %d of rank %d", bd, n)
		}
		d.blockDim[j] = bd
	}
	for l := 0; l < levels; l++ {
		var dm fb.DimensionMetadata
		sp.DimMetadata(&dm, l)
		switch dm.Format() {
		case fb.DimensionTypeDENSE:
			d.dense[l] = int(dm.DenseSize())
			if d.dense[l] < 1 {
				return nil, fmt.Errorf("level %d: dense size %d", l, d.dense[l])
			}
			if o := d.order[l]; o >= n {
				d.blockSize[o-n] = d.dense[l]
			}
		case fb.DimensionTypeSPARSE_CSR:
			if d.order[l] >= n {
				return nil, fmt.Errorf("level %d: a block dim must be dense", l)
			}
			var err error
			if d.segs[l], err = indexVector(&dm, true); err != nil {
				return nil, fmt.Errorf("level %d segments: %w", l, err)
			}
			if d.idx[l], err = indexVector(&dm, false); err != nil {
				return nil, fmt.Errorf("level %d indices: %w", l, err)
			}
		default:
			return nil, fmt.Errorf("level %d: unknown format %d", l, dm.Format())
		}
	}
	for j, bd := range d.blockDim {
		if d.blockSize[j] < 1 || shape[bd]%d.blockSize[j] != 0 {
			return nil, fmt.Errorf("block %d of size %d does not divide dim %d (%d)", j, d.blockSize[j], bd, shape[bd])
		}
	}
	for l := 0; l < levels; l++ {
		if d.dense[l] == 0 {
			continue
		}
		if want := d.levelSize(d.order[l]); d.dense[l] != want {
			return nil, fmt.Errorf("level %d: dense size %d, the shape gives %d", l, d.dense[l], want)
		}
	}
	return d, nil
}

// levelSize is how many positions dim o (a dense dim or n+j for block j) has in the blocked shape.
func (d *densifier) levelSize(o int) int {
	n := len(d.shape)
	if o >= n {
		return d.blockSize[o-n]
	}
	s := d.shape[o]
	for j, bd := range d.blockDim {
		if bd == o {
			s /= d.blockSize[j]
		}
	}
	return s
}

func indexVector(dm *fb.DimensionMetadata, segments bool) ([]int32, error) {
	var tbl flatbuffers.Table
	typ := dm.ArrayIndicesType()
	ok := false
	if segments {
		typ = dm.ArraySegmentsType()
		ok = dm.ArraySegments(&tbl)
	} else {
		ok = dm.ArrayIndices(&tbl)
	}
	if !ok {
		return nil, fmt.Errorf("missing")
	}
	var out []int32
	switch typ {
	case fb.SparseIndexVectorInt32Vector:
		var v fb.Int32Vector
		v.Init(tbl.Bytes, tbl.Pos)
		for i := 0; i < v.ValuesLength(); i++ {
			out = append(out, v.Values(i))
		}
	case fb.SparseIndexVectorUint16Vector:
		var v fb.Uint16Vector
		v.Init(tbl.Bytes, tbl.Pos)
		for i := 0; i < v.ValuesLength(); i++ {
			out = append(out, int32(v.Values(i)))
		}
	case fb.SparseIndexVectorUint8Vector:
		var v fb.Uint8Vector
		v.Init(tbl.Bytes, tbl.Pos)
		for _, x := range v.ValuesBytes() {
			out = append(out, int32(x))
		}
	default:
		return nil, fmt.Errorf("index vector type %d", typ)
	}
	return out, nil
}

// walk visits level l below parent position prev; at the leaf it stores the next value.
func (d *densifier) walk(l, prev int) error {
	if l == len(d.order) {
		return d.store()
	}
	if d.dense[l] > 0 {
		for i := 0; i < d.dense[l]; i++ {
			d.coord[l] = i
			if err := d.walk(l+1, prev*d.dense[l]+i); err != nil {
				return err
			}
		}
		return nil
	}
	segs, idx := d.segs[l], d.idx[l]
	if prev+1 >= len(segs) {
		return fmt.Errorf("level %d: segment %d of %d", l, prev, len(segs)-1)
	}
	lo, hi := int(segs[prev]), int(segs[prev+1])
	if lo < 0 || hi < lo || hi > len(idx) {
		return fmt.Errorf("level %d: segment [%d, %d) outside %d indices", l, lo, hi, len(idx))
	}
	size := d.levelSize(d.order[l])
	for i := lo; i < hi; i++ {
		if c := int(idx[i]); c < 0 || c >= size {
			return fmt.Errorf("level %d: index %d outside %d", l, c, size)
		}
		d.coord[l] = int(idx[i])
		if err := d.walk(l+1, i); err != nil {
			return err
		}
	}
	return nil
}

func (d *densifier) store() error {
	n := len(d.shape)
	orig := d.orig
	var blk [8]int
	for l, o := range d.order {
		if o < n {
			orig[o] = d.coord[l]
		} else if o-n < len(blk) {
			blk[o-n] = d.coord[l]
		}
	}
	for j, bd := range d.blockDim {
		orig[bd] = orig[bd]*d.blockSize[j] + blk[j]
	}
	flat := 0
	for i, c := range orig {
		flat = flat*d.shape[i] + c
	}
	if (d.next+1)*d.elem > len(d.src) {
		return fmt.Errorf("the sparsity pattern reads more than the %d stored values", len(d.src)/d.elem)
	}
	copy(d.dst[flat*d.elem:(flat+1)*d.elem], d.src[d.next*d.elem:(d.next+1)*d.elem])
	d.next++
	return nil
}
