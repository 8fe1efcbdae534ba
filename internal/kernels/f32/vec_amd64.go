//go:build amd64 && gc && !purego

package f32

import (
	"unsafe"

	"github.com/wanwu-ai/wanwu/internal/cpu"
)

//go:noescape
func addAVX512(dst, a, b *float32, n int)

// Add sets dst[i] = a[i] + b[i] over len(dst) elements (a and b at least as long; dst may be either).
func Add(dst, a, b []float32) {
	n := len(dst)
	a, b = a[:n], b[:n]
	done := 0
	if cpu.AVX512 {
		done = n &^ 63
		if done > 0 {
			addAVX512(unsafe.SliceData(dst), unsafe.SliceData(a), unsafe.SliceData(b), done)
		}
	}
	addGeneric(dst[done:], a[done:], b[done:])
}
