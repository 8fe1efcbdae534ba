package wanwu

import "github.com/wanwu-ai/wanwu/runtime"

// int8: weights quantized per output channel at load, activations quantized dynamically per layer
// (docs/precision.md). The conversion streams through a memory-mapped model, releasing each float
// tensor's pages once it is converted, so a model larger than the budget can be loaded.
func init() {
	precisionOptions["int8"] = func(o *runtime.Options) { o.Precision = "int8" }
}

// fp16: Conv/Gemm/MatMul weights stored as IEEE half (half the weight memory), widened to f32 in the
// kernels (F16C/AVX-512 VCVTPH2PS), accumulation in f32; converted streaming like int8.
func init() {
	precisionOptions["fp16"] = func(o *runtime.Options) { o.Precision = "fp16" }
}
