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

func fmaPeak(n int) bool { return false }

func halfPanels() bool { return false }
