// Package importer connects the format importers to the engine's operator set without importing it.
package importer

// Supported reports whether the engine runs a default-domain op type, so that an importer lists every
// node it cannot run in one error while it reads a model. Importers must not import the operator
// registry (and with it every kernel); package runtime, which links both, installs it. Nil (a
// program without the runtime) accepts every op and leaves unknown ones to shape inference.
var Supported func(opType string) bool
