// Package mmap maps model files read-only, so the importers' constants view weights in the page cache
// instead of copies on the Go heap, and drops the resident pages of parts of a mapping again once they
// have been read (graph.RangeReleaser).
package mmap

import "unsafe"

// span returns where p lies in region as byte offsets, rounded out to whole windows of win bytes
// (a power of two) from region's start and clipped to it; ok is false when p is empty or not inside
// region.
func span(region, p []byte, win uintptr) (s, e uintptr, ok bool) {
	if len(p) == 0 || len(region) == 0 {
		return 0, 0, false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(region)))
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	hi := lo + uintptr(len(p))
	if lo < base || hi > base+uintptr(len(region)) {
		return 0, 0, false
	}
	s = (lo - base) &^ (win - 1)
	e = min((hi-base+win-1)&^(win-1), uintptr(len(region)))
	return s, e, true
}
