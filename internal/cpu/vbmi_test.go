package cpu

import "testing"

// VBMI nests above VNNI (and so goes off with GODEBUG=cpu.avx512f=off or purego).
func TestVBMINests(t *testing.T) {
	if VBMI && !VNNI {
		t.Fatal("VBMI without VNNI")
	}
	t.Logf("VBMI %v", VBMI)
}
