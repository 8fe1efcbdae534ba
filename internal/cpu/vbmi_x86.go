//go:build (386 || amd64) && !purego

package cpu

import "golang.org/x/sys/cpu"

func init() {
	VBMI = VNNI && cpu.X86.HasAVX512VBMI
}
