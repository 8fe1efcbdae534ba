package wanwu

import "github.com/wanwu-ai/wanwu/runtime"

// int8: weights quantized per output channel at load, activations quantized dynamically per layer
// (docs/precision.md). The conversion streams through a memory-mapped model, releasing each float
// tensor's pages once it is converted, so a model larger than the budget can be loaded.
func init() {
	precisionOptions["int8"] = func(o *runtime.Options) { o.Precision = "int8" }
}
