package ops

import "unsafe"

// bytesAsI32 views scratch bytes as int32s (scratch regions are 4-byte aligned).
func bytesAsI32(b []byte) []int32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&b[0])), len(b)/4)
}
