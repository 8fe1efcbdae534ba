//go:build !amd64 || !gc || purego

package f32

func archImpls() []*Impl { return nil }

// runKernel calls micro-kernel im on t; without assembly there is only the portable one.
func runKernel(im *Impl, t *tileArgs) {
	tileChecks(im.MR, im.NR, t)
	if im.id == idGeneric4x4 {
		genericKernel4x4(t)
		return
	}
	genericKernel2x4(t)
}

func depthwiseRowAsm(out, in, w []float32, k, s, ldin int, bias float32, clamp bool, lo, hi float32) bool {
	return false
}

// Dot returns sum_i x[i]*y[i] over len(x) elements (y at least as long).
func Dot(x, y []float32) float32 { return dotGeneric(x, y[:len(x)]) }

// Widen sets dst[i] = float32(src[i]) (IEEE half bits, exact) for i < len(dst).
func Widen(dst []float32, src []uint16) { widenGeneric(dst, src) }

// Dot16 returns sum_i x[i]*float32(y[i]) over len(x) elements (y, IEEE half bits, at least as long).
func Dot16(x []float32, y []uint16) float32 { return dot16Generic(x, y[:len(x)]) }

func winoAsm() bool { return false }

func winoInVec(m int, v []float32, ldv int, pad []float32, wp int, offs []int32, off int, tmp *[WinoPoints * 16]float32) {
	panic("f32: no vector Winograd kernels in this build")
}

func winoOutVec(tm int, o *[256]float32, m []float32, base, ldm int, bias float32, clamp bool, lo, hi float32, tmp *[WinoPoints * 16]float32) {
	panic("f32: no vector Winograd kernels in this build")
}

func fmaPeak(n int) bool { return false }

func im2colAsm() bool { return false }

func im2colPanelAsm(panel, in []float32, hw int, ents []im2colEnt, nseg, used, taps, t0, kc, stride int) {
	panic("f32: no vector im2col in this build")
}

func dwPlaneRung() bool { return false }

func dwPlaneAsm(out, in, w []float32, tab []dwEnt, g *ConvGeom, nvec int, bias float32, clamp bool, lo, hi float32) bool {
	return false
}

func packBPanelAsm(panel, b []float32, ldb, kc, cols int) bool { return false }

func packAPanelAsm(panel, a []float32, lda, kc int, alpha float32) bool { return false }

func maxPlaneAsm(out, in []float32, tab []dwEnt, g *ConvGeom, nvec int) bool { return false }

func deinterleaveAsm(even, odd, src []float32) bool { return false }
