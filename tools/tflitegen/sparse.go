package tflitegen

import (
	flatbuffers "github.com/google/flatbuffers/go"

	fb "github.com/wanwu-ai/wanwu/internal/tflitefb"
)

// Sparsity is a TFLite SparsityParameters table: a traversal order over the dense dims (and block
// dims after them), a block map, and one DimMeta per traversal level.
type Sparsity struct {
	TraversalOrder []int32
	BlockMap       []int32
	Dims           []DimMeta
}

// DimMeta is one level: Dense with its size, or SPARSE_CSR with segments and indices, written as
// the SparseIndexVector types named by SegType/IdxType (Int32Vector, Uint16Vector, Uint8Vector).
type DimMeta struct {
	Sparse           bool
	DenseSize        int32
	Segments, Index  []int32
	SegType, IdxType fb.SparseIndexVector
}

// Sparsify encodes a dense tensor of the given shape as TFLite stores pruned weights: every level
// dense in the natural order except the last dim, which is SPARSE_CSR over the rows the other dims
// form; with block > 1 the last dim is cut into 1×block blocks (block map [rank-1], one extra dense
// level of size block) and a block is stored when any of its values is non-zero. It returns the
// stored values and the sparsity parameters.
func Sparsify(shape []int32, dense []float32, block int, segType, idxType fb.SparseIndexVector) ([]float32, *Sparsity) {
	r := len(shape)
	last := int(shape[r-1])
	rows := numel(shape[:r-1])
	if block < 1 || last%block != 0 {
		panic("tflitegen: Sparsify block does not divide the last dim")
	}
	cols := last / block
	sp := &Sparsity{}
	for i := 0; i < r; i++ {
		sp.TraversalOrder = append(sp.TraversalOrder, int32(i))
	}
	for i := 0; i < r-1; i++ {
		sp.Dims = append(sp.Dims, DimMeta{DenseSize: shape[i]})
	}
	csr := DimMeta{Sparse: true, SegType: segType, IdxType: idxType, Segments: []int32{0}}
	var data []float32
	for row := 0; row < rows; row++ {
		for c := 0; c < cols; c++ {
			vals := dense[row*last+c*block : row*last+(c+1)*block]
			nz := false
			for _, v := range vals {
				nz = nz || v != 0
			}
			if nz {
				csr.Index = append(csr.Index, int32(c))
				data = append(data, vals...)
			}
		}
		csr.Segments = append(csr.Segments, int32(len(csr.Index)))
	}
	sp.Dims = append(sp.Dims, csr)
	if block > 1 {
		sp.TraversalOrder = append(sp.TraversalOrder, int32(r))
		sp.BlockMap = []int32{int32(r - 1)}
		sp.Dims = append(sp.Dims, DimMeta{DenseSize: int32(block)})
	}
	return data, sp
}

func (s *Sparsity) build(b *flatbuffers.Builder) flatbuffers.UOffsetT {
	vec := func(typ fb.SparseIndexVector, v []int32) flatbuffers.UOffsetT {
		switch typ {
		case fb.SparseIndexVectorUint8Vector:
			bs := make([]byte, len(v))
			for i, x := range v {
				bs[i] = byte(x)
			}
			o := b.CreateByteVector(bs)
			fb.Uint8VectorStart(b)
			fb.Uint8VectorAddValues(b, o)
			return fb.Uint8VectorEnd(b)
		case fb.SparseIndexVectorUint16Vector:
			b.StartVector(2, len(v), 2)
			for i := len(v) - 1; i >= 0; i-- {
				b.PrependUint16(uint16(v[i]))
			}
			o := b.EndVector(len(v))
			fb.Uint16VectorStart(b)
			fb.Uint16VectorAddValues(b, o)
			return fb.Uint16VectorEnd(b)
		default:
			b.StartVector(4, len(v), 4)
			for i := len(v) - 1; i >= 0; i-- {
				b.PrependInt32(v[i])
			}
			o := b.EndVector(len(v))
			fb.Int32VectorStart(b)
			fb.Int32VectorAddValues(b, o)
			return fb.Int32VectorEnd(b)
		}
	}
	i32s := func(v []int32) flatbuffers.UOffsetT {
		b.StartVector(4, len(v), 4)
		for i := len(v) - 1; i >= 0; i-- {
			b.PrependInt32(v[i])
		}
		return b.EndVector(len(v))
	}
	dims := make([]flatbuffers.UOffsetT, len(s.Dims))
	for i, d := range s.Dims {
		var seg, idx flatbuffers.UOffsetT
		if d.Sparse {
			seg, idx = vec(d.SegType, d.Segments), vec(d.IdxType, d.Index)
		}
		fb.DimensionMetadataStart(b)
		if d.Sparse {
			fb.DimensionMetadataAddFormat(b, fb.DimensionTypeSPARSE_CSR)
			fb.DimensionMetadataAddArraySegmentsType(b, d.SegType)
			fb.DimensionMetadataAddArraySegments(b, seg)
			fb.DimensionMetadataAddArrayIndicesType(b, d.IdxType)
			fb.DimensionMetadataAddArrayIndices(b, idx)
		} else {
			fb.DimensionMetadataAddFormat(b, fb.DimensionTypeDENSE)
			fb.DimensionMetadataAddDenseSize(b, d.DenseSize)
		}
		dims[i] = fb.DimensionMetadataEnd(b)
	}
	to := i32s(s.TraversalOrder)
	var bm flatbuffers.UOffsetT
	if s.BlockMap != nil {
		bm = i32s(s.BlockMap)
	}
	b.StartVector(4, len(dims), 4)
	for i := len(dims) - 1; i >= 0; i-- {
		b.PrependUOffsetT(dims[i])
	}
	dv := b.EndVector(len(dims))
	fb.SparsityParametersStart(b)
	fb.SparsityParametersAddTraversalOrder(b, to)
	if bm != 0 {
		fb.SparsityParametersAddBlockMap(b, bm)
	}
	fb.SparsityParametersAddDimMetadata(b, dv)
	return fb.SparsityParametersEnd(b)
}
