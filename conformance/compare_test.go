package conformance

import (
	"math"
	"testing"

	"github.com/wanwu-ai/wanwu/tensor"
)

// The comparison is the judge of the whole suite, so it gets its own cases: numpy.allclose
// semantics on floats, exactness elsewhere, and shape/dtype strictness.
func TestCompare(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	f := func(shape tensor.Shape, v ...float32) *tensor.Tensor { return tensor.FromF32(shape, v) }
	i64 := func(v ...int64) *tensor.Tensor { return tensor.FromI64(tensor.Shape{len(v)}, v) }
	boolT := func(v ...uint8) *tensor.Tensor {
		t := tensor.New(tensor.Bool, tensor.Shape{len(v)})
		copy(t.Data, v)
		return t
	}
	half := func(v ...float32) *tensor.Tensor {
		t := tensor.New(tensor.F16, tensor.Shape{len(v)})
		tensor.F32sToF16s(t.F16(), v)
		return t
	}
	tests := []struct {
		name      string
		got, want *tensor.Tensor
		ok        bool
	}{
		{"equal", f(tensor.Shape{2}, 1, 2), f(tensor.Shape{2}, 1, 2), true},
		{"within rtol", f(tensor.Shape{1}, 1000.9), f(tensor.Shape{1}, 1000), true},
		{"beyond rtol", f(tensor.Shape{1}, 1001.2), f(tensor.Shape{1}, 1000), false},
		{"within atol at zero", f(tensor.Shape{1}, 5e-8), f(tensor.Shape{1}, 0), true},
		{"beyond atol at zero", f(tensor.Shape{1}, 1e-6), f(tensor.Shape{1}, 0), false},
		{"nan matches nan", f(tensor.Shape{1}, nan), f(tensor.Shape{1}, nan), true},
		{"nan where number", f(tensor.Shape{1}, nan), f(tensor.Shape{1}, 1), false},
		{"number where nan", f(tensor.Shape{1}, 1), f(tensor.Shape{1}, nan), false},
		{"inf matches inf", f(tensor.Shape{1}, inf), f(tensor.Shape{1}, inf), true},
		{"inf sign", f(tensor.Shape{1}, -inf), f(tensor.Shape{1}, inf), false},
		{"shape", f(tensor.Shape{2, 1}, 1, 2), f(tensor.Shape{2}, 1, 2), false},
		{"scalar vs [1]", f(tensor.Shape{}, 1), f(tensor.Shape{1}, 1), false},
		{"ints exact", i64(1, 2, 3), i64(1, 2, 3), true},
		{"ints off by one", i64(1, 2, 4), i64(1, 2, 3), false},
		{"int dtype", tensor.FromF32(tensor.Shape{1}, []float32{1}), i64(1), false},
		{"bools", boolT(1, 0), boolT(1, 0), true},
		{"bools differ", boolT(1, 1), boolT(1, 0), false},
		{"f16 vs f16", half(1, 2.5), half(1, 2.5), true},
		{"f16 vs f16 off", half(1, 2.5), half(1, 2.75), false},
	}
	for _, tc := range tests {
		err := compare(tc.got, tc.want, ONNXTolerance)
		if (err == nil) != tc.ok {
			t.Errorf("%s: compare = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestMaxAbsDiff(t *testing.T) {
	d, s, err := maxAbsDiff(tensor.FromF32(tensor.Shape{3}, []float32{1, -2.5, 3}),
		tensor.FromF32(tensor.Shape{3}, []float32{1.5, -2, -4}))
	if err != nil || d != 7 || s != 4 {
		t.Fatalf("maxAbsDiff = %v, %v, %v; want 7, 4, nil", d, s, err)
	}
}
