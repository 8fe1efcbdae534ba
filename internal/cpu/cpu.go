// Package cpu reports the instruction-set levels the kernels dispatch on, as conjunctions of the
// feature bits golang.org/x/sys/cpu reads (which already honours GODEBUG, e.g. cpu.avx512f=off).
// Built with the purego tag, every level is false so only the portable kernels run.
package cpu

import "strings"

// Levels are set once at package initialisation and never change afterwards.
var (
	// AVX2FMA: 256-bit integer/float SIMD with fused multiply-add (Haswell and later, Zen).
	AVX2FMA bool
	// AVX512: the F, BW, DQ and VL subsets together (Skylake-X and later, Zen 4/5), plus AVX2FMA.
	AVX512 bool
	// VNNI: AVX512 plus the AVX512_VNNI byte dot product (VPDPBUSD).
	VNNI bool
)

// Level names the best level available: "avx512-vnni", "avx512", "avx2-fma" or "generic".
func Level() string {
	switch {
	case VNNI:
		return "avx512-vnni"
	case AVX512:
		return "avx512"
	case AVX2FMA:
		return "avx2-fma"
	}
	return "generic"
}

// String lists the levels that are on, for logs and benchmark headers.
func String() string {
	var on []string
	for _, l := range []struct {
		name string
		on   bool
	}{{"avx2fma", AVX2FMA}, {"avx512", AVX512}, {"vnni", VNNI}} {
		if l.on {
			on = append(on, l.name)
		}
	}
	if len(on) == 0 {
		return "generic"
	}
	return strings.Join(on, ",")
}
