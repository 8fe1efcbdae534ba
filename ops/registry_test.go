package ops

import (
	"testing"

	"github.com/wanwu-ai/wanwu/graph"
)

// A model may name a node like one of the engine's lowered ops; only the extension domain reaches
// those kernels, which trust private attributes a model does not set.
func TestExtOpsOnlyInTheirDomain(t *testing.T) {
	for _, op := range graph.ExtOps {
		if Lookup(op) != nil {
			t.Errorf("%s is registered in the default domain", op)
		}
		if LookupNode(&graph.Node{Op: op}) != nil {
			t.Errorf("a default-domain %s node finds a kernel", op)
		}
		if LookupNode(&graph.Node{Op: op, Domain: graph.ExtDomain}) == nil {
			t.Errorf("%s is not registered in %s", op, graph.ExtDomain)
		}
	}
	if !(Semantics{}).Known(&graph.Node{Op: "Conv"}) || (Semantics{}).Known(&graph.Node{Op: "Conv", Domain: graph.ExtDomain}) {
		t.Error("Conv must be known in the default domain only")
	}
}
