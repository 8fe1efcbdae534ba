package onnx

import (
	"fmt"
	"strings"
)

// UnsupportedOp is one node whose operator wanwu cannot run.
type UnsupportedOp struct {
	Op     string // op type as written in the model
	Domain string // "" for the default ONNX domain
	Node   string // node name (or "<op>_<index>" when the model leaves it empty)
	Opset  int    // opset version of the node's domain
}

func (u UnsupportedOp) String() string {
	op := u.Op
	if u.Domain != "" {
		op = u.Domain + "." + op
	}
	return fmt.Sprintf("%s (node %q, opset %d)", op, u.Node, u.Opset)
}

// UnsupportedError lists every unsupported node of a model, so one load attempt reports them all.
type UnsupportedError struct {
	File string // the model path ("" for Decode)
	Ops  []UnsupportedOp
}

func (e *UnsupportedError) Error() string {
	parts := make([]string, len(e.Ops))
	for i, u := range e.Ops {
		parts[i] = u.String()
	}
	noun := "ops"
	if len(e.Ops) == 1 {
		noun = "op"
	}
	prefix := e.File
	if prefix == "" {
		prefix = "onnx"
	}
	return fmt.Sprintf("%s: %d unsupported %s: %s", prefix, len(e.Ops), noun, strings.Join(parts, ", "))
}

// OpTypes returns the distinct unsupported op types in first-seen order.
func (e *UnsupportedError) OpTypes() []string {
	seen := map[string]bool{}
	var out []string
	for _, u := range e.Ops {
		if !seen[u.Op] {
			seen[u.Op] = true
			out = append(out, u.Op)
		}
	}
	return out
}
