package runtime

import (
	"github.com/wanwu-ai/wanwu/importer"
	"github.com/wanwu-ai/wanwu/ops"
)

// Importers report every unsupported operator of a model while they read it, but must not import the
// operator registry (and with it every kernel); the runtime, which links both, tells them what runs.
func init() { importer.Supported = func(opType string) bool { return ops.Lookup(opType) != nil } }
