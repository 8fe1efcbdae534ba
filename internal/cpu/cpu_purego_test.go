//go:build purego || !(386 || amd64)

package cpu

import "testing"

func TestPuregoHasNoLevels(t *testing.T) {
	if AVX2FMA || AVX512 || VNNI {
		t.Fatal("purego build reports SIMD levels")
	}
}
