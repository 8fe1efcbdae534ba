//go:build !unix

package runtime

// virtualBytes returns n zero bytes Estimate views as packed weights it does not compute; a fresh large
// allocation is not touched until read.
func virtualBytes(n int) ([]byte, func()) { return make([]byte, n), func() {} }

// arenaBytes allocates a Shared's arena on the Go heap; free leaves it to the collector.
func arenaBytes(n int) ([]byte, func()) { return alignedBytes(n), func() {} }
