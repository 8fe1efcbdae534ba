//go:build amd64 && gc && !purego

package f32

import (
	"unsafe"

	"github.com/wanwu-ai/wanwu/internal/cpu"
)

//go:noescape
func addAVX512(dst, a, b *float32, n int)

//go:noescape
func mulAVX512(dst, a, b *float32, n int)

//go:noescape
func scaleAVX512(dst, a *float32, s float32, n int)

// Add sets dst[i] = a[i] + b[i] over len(dst) elements (a and b at least as long; dst may be either).
func Add(dst, a, b []float32) {
	n := len(dst)
	a, b = a[:n], b[:n]
	done := 0
	if cpu.AVX512 {
		if done = n &^ 15; done > 0 {
			addAVX512(unsafe.SliceData(dst), unsafe.SliceData(a), unsafe.SliceData(b), done)
		}
	}
	addGeneric(dst[done:], a[done:], b[done:])
}

// Mul sets dst[i] = a[i] * b[i] over len(dst) elements (a and b at least as long; dst may be either).
func Mul(dst, a, b []float32) {
	n := len(dst)
	a, b = a[:n], b[:n]
	done := 0
	if cpu.AVX512 {
		if done = n &^ 15; done > 0 {
			mulAVX512(unsafe.SliceData(dst), unsafe.SliceData(a), unsafe.SliceData(b), done)
		}
	}
	mulGeneric(dst[done:], a[done:], b[done:])
}

// Scale sets dst[i] = a[i] * s over len(dst) elements (a at least as long; dst may be a).
func Scale(dst, a []float32, s float32) {
	n := len(dst)
	a = a[:n]
	done := 0
	if cpu.AVX512 {
		if done = n &^ 15; done > 0 {
			scaleAVX512(unsafe.SliceData(dst), unsafe.SliceData(a), s, done)
		}
	}
	scaleGeneric(dst[done:], a[done:], s)
}
