//go:build (386 || amd64) && !purego

package cpu

import "golang.org/x/sys/cpu"

func init() {
	x := &cpu.X86
	// OSXSAVE-gated: x/sys/cpu clears the AVX bits when the OS does not save the wider registers.
	AVX2FMA = x.HasAVX && x.HasAVX2 && x.HasFMA
	AVX512 = AVX2FMA && x.HasAVX512F && x.HasAVX512BW && x.HasAVX512DQ && x.HasAVX512VL
	VNNI = AVX512 && x.HasAVX512VNNI
}
