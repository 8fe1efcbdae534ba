package passes

import (
	"testing"

	"github.com/wanwu-ai/wanwu/tensor"
)

func TestEliminateIdentity(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *builder)
		want  string
	}{
		{"middle", func(b *builder) {
			b.input("x", tensor.F32, tensor.Shape{2})
			b.node("Relu", "x", "a")
			b.node("Identity", "a", "b")
			b.node("Dropout", "b", "c")
			b.node("Relu", "c", "y")
			b.output("y")
		}, `
			input x f32[2]
			a = Relu(x)
			y = Relu(a)
			output y`},
		// The output name survives: the producer writes "y" directly and other readers follow.
		{"output kept by name", func(b *builder) {
			b.input("x", tensor.F32, tensor.Shape{2})
			b.node("Relu", "x", "a")
			b.node("Identity", "a", "y")
			b.node("Sigmoid", "a", "z")
			b.output("y", "z")
		}, `
			input x f32[2]
			y = Relu(x)
			z = Sigmoid(y)
			output y
			output z`},
		// Nothing to rename onto: input -> Identity -> output stays.
		{"input to output", func(b *builder) {
			b.input("x", tensor.F32, tensor.Shape{2})
			b.node("Identity", "x", "y")
			b.output("y")
		}, `
			input x f32[2]
			y = Identity(x)
			output y`},
		{"dropout mask used", func(b *builder) {
			b.input("x", tensor.F32, tensor.Shape{2})
			b.node("Dropout", "x", "y, mask")
			b.output("y", "mask")
		}, `
			input x f32[2]
			y, mask = Dropout(x)
			output y
			output mask`},
		{"both outputs", func(b *builder) {
			b.input("x", tensor.F32, tensor.Shape{2})
			b.node("Relu", "x", "a")
			b.node("Identity", "a", "y1")
			b.node("Identity", "a", "y2")
			b.output("y1", "y2")
		}, `
			input x f32[2]
			y1 = Relu(x)
			y2 = Identity(y1)
			output y1
			output y2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBuilder()
			tt.build(b)
			checkPass(t, b.g, EliminateIdentity, tt.want)
		})
	}
}

func TestEliminateDead(t *testing.T) {
	b := newBuilder()
	b.input("x", tensor.F32, tensor.Shape{2})
	b.input("unused", tensor.F32, tensor.Shape{2})
	b.constant("w", f32(tensor.Shape{2}, 1, 2))
	b.node("Relu", "x", "a")
	b.node("Add", "a, w", "dead1") // reads the only use of w
	b.node("Relu", "dead1", "dead2")
	b.node("MaxPool", "a", "y, idx") // idx unused but the node lives for y
	b.output("y")
	checkPass(t, b.g, EliminateDead, `
		input x f32[2]
		input unused f32[2]
		a = Relu(x)
		y, idx = MaxPool(a)
		output y`)
}
