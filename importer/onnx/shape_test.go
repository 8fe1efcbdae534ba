package onnx

import (
	"strings"
	"testing"

	"github.com/wanwu-ai/wanwu/internal/onnxpb"
	"github.com/wanwu-ai/wanwu/tensor"
)

// Input shapes are read with overflow checks: a shape whose bytes exceed tensor.MaxBytes (2^31×2^31
// images, dims past 2^48, products that wrap int64) is refused naming the input and the shape, while
// dynamic dims and large but representable shapes load.
func TestInputShapeOverflow(t *testing.T) {
	for _, tc := range []struct {
		dims []any
		want string // "" = loads with this shape
		ok   tensor.Shape
	}{
		{[]any{"N", 3, 224, 224}, "", tensor.Shape{-1, 3, 224, 224}},
		{[]any{1, 3, 1 << 20, 1 << 20}, "", tensor.Shape{1, 3, 1 << 20, 1 << 20}}, // 12 TiB: a budget refuses it later
		{[]any{1, 3, 1 << 31, 1 << 31}, `input "x": shape [1,3,2147483648,2147483648] of f32 is too large: it needs more than 256 TiB`, nil},
		{[]any{"N", 3, 1 << 31, 1 << 31}, `input "x": shape [?,3,2147483648,2147483648] of f32`, nil},
		{[]any{1, 1 << 49}, `input "x": shape [1,562949953421312]: dimension 1 is 562949953421312, more than any tensor can hold`, nil},
		{[]any{1 << 21, 1 << 21, 1 << 21, 1 << 21}, `input "x": shape [2097152,2097152,2097152,2097152] of f32`, nil}, // 2^86: wraps int64
	} {
		s := convModel()
		s.inputs = []*onnxpb.ValueInfoProto{valueInfo("x", onnxpb.TensorProto_FLOAT, tc.dims...)}
		g, err := Decode(s.bytes(t))
		if tc.want == "" {
			if err != nil {
				t.Errorf("%v: %v", tc.dims, err)
				continue
			}
			if !g.Inputs[0].Shape.Equal(tc.ok) {
				t.Errorf("%v: shape %s, want %s", tc.dims, g.Inputs[0].Shape, tc.ok)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want an error containing %q", tc.dims, err, tc.want)
		}
	}
}
