// Package lower rewrites an optimized graph into the engine's own ops (graph.ExtDomain) and weight layouts: fp16 and int8 weights packed for the kernels.
package lower
