//go:build !amd64 || !gc || purego

package f32

func im2colAsm() bool { return false }

func im2colPanelAsm(panel, in []float32, hw int, ents []im2colEnt, nseg, used, taps, t0, kc, stride int) {
	panic("f32: no vector im2col in this build")
}
