package tensor

import (
	"fmt"
	"math/bits"
)

// MaxBytes is the most bytes one tensor may take: 2^48 (256 TiB), more than any machine's memory and
// than the 47-bit user address space of amd64 and arm64 Linux. Every shape that enters a graph (model
// inputs, value infos, inferred outputs, sizes asked for) is checked against it, so the size products
// and sums that follow (arena offsets, scratch, memory predictions) stay far from int64 overflow, and a
// model that asks for more fails with an error naming the tensor rather than a wrong figure.
const MaxBytes = 1 << 48

// SizeError says that a shape's bytes exceed MaxBytes (or overflow 64 bits).
type SizeError struct {
	Shape Shape
	DType DType
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("shape %s of %s needs more than %d TiB: too large (the most one tensor may take)", e.Shape, e.DType, MaxBytes>>40)
}

// Bytes is the byte size of a tensor of shape s and element type dt, multiplied with overflow checks.
// Dynamic dims (< 0) count as 1, so a shape that is not fully known is checked on its fixed dims: a
// dynamic batch does not excuse a 2^31×2^31 image. An error (*SizeError) when the size exceeds
// MaxBytes.
func (s Shape) Bytes(dt DType) (int, error) {
	n := uint64(max(dt.Size(), 1))
	for _, d := range s {
		if d <= 0 {
			if d == 0 {
				n = 0
			}
			continue
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > MaxBytes {
			return 0, &SizeError{Shape: s.Clone(), DType: dt}
		}
		n = lo
	}
	if n > MaxBytes {
		return 0, &SizeError{Shape: s.Clone(), DType: dt}
	}
	if dt.Size() == 0 {
		return 0, nil
	}
	return int(n), nil
}

// AddBytes adds byte counts that are each at most MaxBytes, reporting ok false when the sum exceeds
// MaxBytes (so sums of sizes cannot overflow either).
func AddBytes(a, b int) (int, bool) {
	if a < 0 || b < 0 || a > MaxBytes || b > MaxBytes || a+b > MaxBytes {
		return 0, false
	}
	return a + b, true
}
