//go:build amd64 && gc && !purego

package f32

import "unsafe"

//go:noescape
func dotAVX512(x, y *float32, n int) float32

//go:noescape
func dotAVX2(x, y *float32, n int) float32

// Dot returns sum_i x[i]*y[i] over len(x) elements (y at least as long).
func Dot(x, y []float32) float32 {
	n := len(x)
	y = y[:n]
	var s float32
	var done int
	switch cur.id {
	case idAVX512, idAVX512x8:
		done = n &^ 63
		if done > 0 {
			s = dotAVX512(unsafe.SliceData(x), unsafe.SliceData(y), done)
		}
	case idAVX2:
		done = n &^ 31
		if done > 0 {
			s = dotAVX2(unsafe.SliceData(x), unsafe.SliceData(y), done)
		}
	}
	return s + dotGeneric(x[done:], y[done:])
}
