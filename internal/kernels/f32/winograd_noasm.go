//go:build !amd64 || !gc || purego

package f32

func winoAsm() bool { return false }

func winoInVec(m int, v []float32, ldv int, pad []float32, wp int, offs []int32, off int, tmp *[WinoPoints * 16]float32) {
	panic("f32: no vector Winograd kernels in this build")
}

func winoOutVec(tm int, o *[256]float32, m []float32, base, ldm int, bias float32, clamp bool, lo, hi float32, tmp *[WinoPoints * 16]float32) {
	panic("f32: no vector Winograd kernels in this build")
}
