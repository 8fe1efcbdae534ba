package tensor

import (
	"errors"
	"math"
	"testing"
)

func TestShapeBytes(t *testing.T) {
	tests := []struct {
		shape Shape
		dt    DType
		want  int // -1: a *SizeError
	}{
		{Shape{}, F32, 4},
		{Shape{1, 3, 224, 224}, F32, 3 * 224 * 224 * 4},
		{Shape{-1, 3, 224, 224}, F32, 3 * 224 * 224 * 4}, // a dynamic dim counts as 1
		{Shape{8, 0, 5}, F16, 0},
		{Shape{1, 3, 1 << 31, 1 << 31}, F32, -1},                     // 2^64 bytes: overflows int64
		{Shape{-1, 3, 1 << 31, 1 << 31}, F32, -1},                    // dynamic batch, still too large
		{Shape{1 << 24, 1 << 24}, U8, MaxBytes},                      // exactly the limit
		{Shape{1 << 24, 1 << 24}, I8, MaxBytes},                      // exactly the limit
		{Shape{1 << 24, 1<<24 + 1}, U8, -1},                          // one row past it
		{Shape{1 << 23, 1 << 24}, I64, -1},                           // 2^50 bytes
		{Shape{math.MaxInt64, math.MaxInt64, math.MaxInt64}, U8, -1}, // wraps to a small product in int64
		{Shape{1 << 62, 4}, U8, -1},                                  // 2^64 wraps to 0 in int64
	}
	for _, tt := range tests {
		got, err := tt.shape.Bytes(tt.dt)
		var se *SizeError
		switch {
		case tt.want < 0 && !errors.As(err, &se):
			t.Errorf("%s %s: %d, %v; want a SizeError", tt.shape, tt.dt, got, err)
		case tt.want >= 0 && (err != nil || got != tt.want):
			t.Errorf("%s %s: %d, %v; want %d", tt.shape, tt.dt, got, err, tt.want)
		}
	}
	_, err := Shape{1, 3, 1 << 31, 1 << 31}.Bytes(F32)
	if want := "shape [1,3,2147483648,2147483648] of f32 needs more than 256 TiB: too large (the most one tensor may take)"; err == nil || err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestAddBytes(t *testing.T) {
	for _, tt := range []struct {
		a, b int
		sum  int
		ok   bool
	}{
		{1, 2, 3, true},
		{MaxBytes, 0, MaxBytes, true},
		{MaxBytes, 1, 0, false},
		{MaxBytes / 2, MaxBytes/2 + 1, 0, false},
		{-1, 5, 0, false},
		{math.MaxInt64, math.MaxInt64, 0, false},
	} {
		if s, ok := AddBytes(tt.a, tt.b); s != tt.sum || ok != tt.ok {
			t.Errorf("AddBytes(%d, %d) = %d, %v; want %d, %v", tt.a, tt.b, s, ok, tt.sum, tt.ok)
		}
	}
}
