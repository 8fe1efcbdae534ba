package cpu

// VBMI: VNNI plus AVX512_VBMI (VPERMB, byte permutes across a whole zmm). Set in vbmi_x86.go's init,
// which runs after cpu_x86.go's (the go command presents a package's files, and so runs their init
// functions, in file-name order), so it can build on VNNI; false under purego.
var VBMI bool
