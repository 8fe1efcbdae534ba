package ops

// InputsPacker is implemented by kernels that copied constant inputs into their own layout in Compile
// and never read those inputs again. The runtime then drops the inputs: a folded copy is freed, and
// the pages of a memory-mapped model file are released, so the weights are not held twice.
type InputsPacker interface {
	// PackedInputs lists the input indices the kernel no longer reads.
	PackedInputs() []int
}
