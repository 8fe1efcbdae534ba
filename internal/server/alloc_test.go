package server

import "runtime"

// allocatedBy returns the heap bytes f allocates (TotalAlloc difference; single goroutine assumed).
func allocatedBy(f func()) int64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return int64(b.TotalAlloc - a.TotalAlloc)
}
