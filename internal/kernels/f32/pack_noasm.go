//go:build !amd64 || !gc || purego

package f32

func packBPanelAsm(panel, b []float32, ldb, kc, cols int) bool { return false }

func packAPanelAsm(panel, a []float32, lda, kc int, alpha float32) bool { return false }
