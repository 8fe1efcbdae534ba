package ops

import (
	"unsafe"

	"github.com/wanwu-ai/wanwu/tensor"
)

// InputsPacker is implemented by kernels that copied constant inputs into their own layout in Compile
// and never read those inputs again. The runtime then drops the inputs: a folded copy is freed, and
// the pages of a memory-mapped model file are released, so the weights are not held twice.
type InputsPacker interface {
	// PackedInputs lists the input indices the kernel no longer reads.
	PackedInputs() []int
}

// WeightCache shares the weights kernels repack at Compile (Def.CompileWith, CompileOptions.Weights) between the programs
// compiled from one graph, such as a model's batch sizes: the packing depends on the weight and the
// layout, not on the batch, so it is built once.
type WeightCache interface {
	// Packed returns n bytes, aligned for any element type, holding w repacked in layout (a string
	// naming the packing and every parameter it depends on). fill(dst) writes them the first time
	// (w, layout) is asked for; later calls return the same bytes. fill may also never be called (a
	// memory estimate returns bytes that are never written), so Compile must not read what it gets.
	Packed(w *tensor.Tensor, layout string, n int, fill func(dst []byte)) []byte
}

// packedWeights is o.Weights.Packed, or else n fresh bytes, filled now unless o.Estimate.
func packedWeights(o CompileOptions, w *tensor.Tensor, layout string, n int, fill func(dst []byte)) []byte {
	if o.Weights != nil {
		return o.Weights.Packed(w, layout, n, fill)
	}
	if n == 0 {
		return nil
	}
	words := make([]uint64, (n+7)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), n)
	if !o.Estimate {
		fill(b)
	}
	return b
}
