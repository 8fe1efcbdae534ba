//go:build amd64 && gc && !purego

package f32

import "unsafe"

// im2colPanelAVX512 packs kc rows of one 32-wide im2col panel from an Im2col table (see _asm).
//
//go:noescape
func im2colPanelAVX512(panel, in *float32, hw int, ents *im2colEnt, nseg, used, taps, t0, kc, stride int)

func im2colAsm() bool { return (cur.id == idAVX512 || cur.id == idAVX512x8) && NR == 32 }

func im2colPanelAsm(panel, in []float32, hw int, ents []im2colEnt, nseg, used, taps, t0, kc, stride int) {
	if len(panel) < kc*32 || len(ents) < taps*nseg || used < 1 || used > nseg || t0 < 0 || (kc > 0 && len(in) < ((t0+kc-1)/taps+1)*hw) {
		panic("f32: im2col panel operands too short")
	}
	im2colPanelAVX512(unsafe.SliceData(panel), unsafe.SliceData(in), hw, unsafe.SliceData(ents), nseg, used, taps, t0, kc, stride)
}
