package cpu

import (
	"os"
	"strings"
	"testing"
)

// The levels must nest: a higher level implies every lower one, whatever GODEBUG switched off.
func TestLevelsNest(t *testing.T) {
	if VNNI && !AVX512 {
		t.Fatal("VNNI without AVX512")
	}
	if AVX512 && !AVX2FMA {
		t.Fatal("AVX512 without AVX2FMA")
	}
	t.Logf("level %s (%s)", Level(), String())
}

// GODEBUG=cpu.avx512f=off must drop the AVX-512 levels (x/sys/cpu applies it at init).
func TestGodebugHonoured(t *testing.T) {
	if strings.Contains(os.Getenv("GODEBUG"), "cpu.avx512f=off") && (AVX512 || VNNI) {
		t.Fatal("GODEBUG=cpu.avx512f=off but AVX512 is on")
	}
}
