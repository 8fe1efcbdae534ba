package ops

import (
	"github.com/wanwu-ai/wanwu/graph"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Helpers shared by the layout operators (transpose.go, concat_split.go, slice.go, gather.go,
// expand_tile.go), which move elements of any dtype without arithmetic.

// bySize picks the kernel instantiation for an element width.
func bySize(dt tensor.DType, k1, k2, k4, k8 func() Kernel) (Kernel, error) {
	switch dt.Size() {
	case 1:
		return k1(), nil
	case 2:
		return k2(), nil
	case 4:
		return k4(), nil
	case 8:
		return k8(), nil
	}
	return nil, errf(&graph.Node{}, "unsupported dtype %s", dt)
}

type errorString string

func (e errorString) Error() string { return string(e) }
