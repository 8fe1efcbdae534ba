package wanwu

import (
	"github.com/wanwu-ai/wanwu/importer/onnx"
	"github.com/wanwu-ai/wanwu/ops"
)

// The ONNX importer reports every unsupported operator of a model at load time, but must not import
// the operator registry (and with it every kernel); the facade links both, so it connects them.
func init() { onnx.Supported = func(opType string) bool { return ops.Lookup(opType) != nil } }
