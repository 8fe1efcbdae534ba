// Package tensor defines element types, shapes and dense tensors viewed over raw bytes.
package tensor

import (
	"fmt"
	"strings"
	"unsafe"
)

// DType is the element type of a tensor.
type DType uint8

const (
	Invalid DType = iota
	F32
	F16
	I8
	U8
	I32
	I64
	Bool
)

var dtypeNames = [...]string{"invalid", "f32", "f16", "i8", "u8", "i32", "i64", "bool"}
var dtypeSizes = [...]int{0, 4, 2, 1, 1, 4, 8, 1}

// Size is the number of bytes one element occupies.
func (d DType) Size() int {
	if int(d) < len(dtypeSizes) {
		return dtypeSizes[d]
	}
	return 0
}

func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// Shape lists dimension sizes, outermost first. A negative entry means "not known yet"
// (a dynamic dimension such as the batch before the input size is fixed).
type Shape []int

// NumElements is the product of the dimensions (1 for a scalar); -1 if any dim is unknown.
func (s Shape) NumElements() int {
	n := 1
	for _, d := range s {
		if d < 0 {
			return -1
		}
		n *= d
	}
	return n
}

// Known reports whether every dimension is fixed.
func (s Shape) Known() bool {
	for _, d := range s {
		if d < 0 {
			return false
		}
	}
	return true
}

// Equal reports whether both shapes have the same rank and dims.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy that does not share memory with s.
func (s Shape) Clone() Shape {
	if s == nil {
		return nil
	}
	return append(Shape{}, s...)
}

// Strides returns row-major element strides.
func (s Shape) Strides() []int {
	st := make([]int, len(s))
	acc := 1
	for i := len(s) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= s[i]
	}
	return st
}

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		if d < 0 {
			parts[i] = "?"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Tensor is a dense row-major tensor. Data may view memory owned elsewhere
// (an arena, a memory-mapped model file); len(Data) >= Shape.NumElements()*DType.Size().
type Tensor struct {
	DType DType
	Shape Shape
	Data  []byte
}

// New allocates a zeroed tensor.
func New(dt DType, shape Shape) *Tensor {
	return &Tensor{DType: dt, Shape: shape.Clone(), Data: make([]byte, shape.NumElements()*dt.Size())}
}

// FromF32 wraps a copy of v.
func FromF32(shape Shape, v []float32) *Tensor {
	t := New(F32, shape)
	copy(t.F32(), v)
	return t
}

// FromI64 wraps a copy of v.
func FromI64(shape Shape, v []int64) *Tensor {
	t := New(I64, shape)
	copy(t.I64(), v)
	return t
}

// NumElements is the element count of the tensor.
func (t *Tensor) NumElements() int { return t.Shape.NumElements() }

// ByteSize is the number of bytes the elements occupy.
func (t *Tensor) ByteSize() int { return t.Shape.NumElements() * t.DType.Size() }

func view[T any](b []byte, n int) []T {
	if n == 0 || len(b) == 0 {
		return nil
	}
	var z T
	if len(b) < n*int(unsafe.Sizeof(z)) {
		panic("tensor: data shorter than shape")
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
}

// F32 views the data as float32 (panics if the dtype differs).
func (t *Tensor) F32() []float32 { t.must(F32); return view[float32](t.Data, t.NumElements()) }

// F16 views the data as raw IEEE half-precision bits.
func (t *Tensor) F16() []uint16 { t.must(F16); return view[uint16](t.Data, t.NumElements()) }

// I8 views the data as int8.
func (t *Tensor) I8() []int8 { t.must(I8); return view[int8](t.Data, t.NumElements()) }

// U8 views the data as uint8.
func (t *Tensor) U8() []uint8 { t.must(U8); return t.Data[:t.NumElements()] }

// I32 views the data as int32.
func (t *Tensor) I32() []int32 { t.must(I32); return view[int32](t.Data, t.NumElements()) }

// I64 views the data as int64.
func (t *Tensor) I64() []int64 { t.must(I64); return view[int64](t.Data, t.NumElements()) }

// Bool views the data as bytes holding 0 or 1.
func (t *Tensor) Bool() []uint8 { t.must(Bool); return t.Data[:t.NumElements()] }

func (t *Tensor) must(dt DType) {
	if t.DType != dt {
		panic("tensor: dtype is " + t.DType.String() + ", not " + dt.String())
	}
}

// Ints returns the elements of an integer tensor (i32/i64/u8/i8) as int64, for shape-like inputs.
func (t *Tensor) Ints() []int64 {
	out := make([]int64, t.NumElements())
	switch t.DType {
	case I64:
		copy(out, t.I64())
	case I32:
		for i, v := range t.I32() {
			out[i] = int64(v)
		}
	case I8:
		for i, v := range t.I8() {
			out[i] = int64(v)
		}
	case U8, Bool:
		for i, v := range t.Data[:len(out)] {
			out[i] = int64(v)
		}
	case F32:
		for i, v := range t.F32() {
			out[i] = int64(v)
		}
	default:
		panic("tensor: Ints on " + t.DType.String())
	}
	return out
}

// Clone deep-copies the tensor into fresh Go memory.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{DType: t.DType, Shape: t.Shape.Clone(), Data: make([]byte, t.ByteSize())}
	copy(c.Data, t.Data)
	return c
}
