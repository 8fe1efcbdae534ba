//go:build !linux

package passes

// releaseFilePages is a no-op where /proc/self/maps cannot tell file mappings from the heap.
func releaseFilePages(b []byte) {}
